//! `monitoring`: rules, actions, notifiers, hooks and guardrails.

use super::{Ctx, valid_id};

/// The rules must each say one thing to watch for, with a `clear` on the resolving side.
pub(super) fn monitoring(cx: &mut Ctx<'_>, m: &crate::config::profile::MonitoringSpec) -> bool {
    let mut ok = true;
    if !(m.stale_after.is_finite() && m.stale_after >= 1.0) {
        cx.top(
            "monitoring.stale_after",
            format!(
                "{} target durations is too soon: a healthy live playlist changes once per target duration",
                m.stale_after
            ),
        );
        ok = false;
    }
    let c = &m.content;
    if c.every == 0 {
        cx.top(
            "monitoring.content.every",
            "0 segments between samples: give at least 1",
        );
        ok = false;
    }
    if !(c.cpu_budget.is_finite() && c.cpu_budget > 0.0) {
        cx.top(
            "monitoring.content.cpu_budget",
            format!(
                "{} cores: give a positive share of the monitor host's CPU (e.g. 0.5); drop `content` from `tiers` to turn the tier off",
                c.cpu_budget
            ),
        );
        ok = false;
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, r) in m.rules.iter().enumerate() {
        let f = format!("monitoring.rules[{i}]");
        let mut bad = |field: &str, msg: String| {
            cx.top(format!("{f}{field}"), msg);
            false
        };
        if !valid_id(&r.name) {
            ok &= bad(
                ".name",
                format!(
                    "`{}` is not a rule name ([a-z0-9-], 1 to 48 characters)",
                    r.name
                ),
            );
        } else if names.contains(&r.name.as_str())
            || (m.default_rules
                && crate::config::profile::BUILT_IN_RULES.contains(&r.name.as_str()))
        {
            ok &= bad(
                ".name",
                format!(
                    "rule `{}` is defined twice (built-in rules: {}; set `default_rules: false` to replace them)",
                    r.name,
                    crate::config::profile::BUILT_IN_RULES.join(", ")
                ),
            );
        }
        names.push(&r.name);
        let conditions = usize::from(r.above.is_some())
            + usize::from(r.below.is_some())
            + usize::from(r.anomaly.is_some());
        if conditions != 1 {
            ok &= bad(
                "",
                "give exactly one of `above`, `below` or `anomaly`".into(),
            );
            continue;
        }
        for (field, v) in [
            (".above", r.above),
            (".below", r.below),
            (".clear", r.clear),
        ] {
            if v.is_some_and(|v| !v.is_finite()) {
                ok &= bad(field, "must be a finite number".into());
            }
        }
        match (r.above, r.below, r.clear) {
            (Some(a), _, Some(c)) if c > a => {
                ok &= bad(
                    ".clear",
                    format!(
                        "{c} is above the threshold {a}: an alert firing above {a} resolves at or below `clear`"
                    ),
                );
            }
            (_, Some(b), Some(c)) if c < b => {
                ok &= bad(
                    ".clear",
                    format!(
                        "{c} is below the threshold {b}: an alert firing below {b} resolves at or above `clear`"
                    ),
                );
            }
            _ => {}
        }
        if let Some(a) = &r.anomaly {
            if r.clear.is_some() {
                ok &= bad(".clear", "an anomaly resolves once values are back within `sigma`; `clear` is for thresholds".into());
            }
            if !(a.sigma.is_finite() && a.sigma > 0.0) {
                ok &= bad(
                    ".anomaly.sigma",
                    format!("{} must be a positive number", a.sigma),
                );
            }
            if !(a.alpha > 0.0 && a.alpha <= 1.0) {
                ok &= bad(".anomaly.alpha", format!("{} is outside (0, 1]", a.alpha));
            }
            if a.window.0.is_zero() {
                ok &= bad(".anomaly.window", "must be longer than zero".into());
            }
        }
    }
    ok &= reactions(cx, m, &names);
    ok
}

/// `monitoring.actions`, `notifiers`, `hooks` and `guardrails`.
fn reactions(cx: &mut Ctx<'_>, m: &crate::config::profile::MonitoringSpec, rules: &[&str]) -> bool {
    use crate::config::profile::ReactionKind;
    let mut ok = true;
    let known = |name: &str| {
        name == "*"
            || rules.contains(&name)
            || (m.default_rules && crate::config::profile::BUILT_IN_RULES.contains(&name))
    };
    for (i, a) in m.actions.iter().enumerate() {
        let f = format!("monitoring.actions[{i}]");
        if a.on.is_empty() {
            cx.top(format!("{f}.on"), "name at least one rule, or `*` for all");
            ok = false;
        }
        for (j, name) in a.on.iter().enumerate() {
            if !known(name) {
                let mut all: Vec<&str> = rules.to_vec();
                if m.default_rules {
                    all.extend(crate::config::profile::BUILT_IN_RULES);
                }
                let mut msg = format!("no rule is named `{name}`");
                if let Some(n) = crate::config::yaml::nearest(name, all.iter().copied()) {
                    msg.push_str(&format!(", did you mean `{n}`?"));
                }
                msg.push_str(&format!(" (rules: {})", all.join(", ")));
                cx.top(format!("{f}.on[{j}]"), msg);
                ok = false;
            }
        }
        let (wants_notify, wants_hook) = (
            a.action == ReactionKind::Notify,
            a.action == ReactionKind::Ask,
        );
        match (&a.notify, wants_notify) {
            (None, true) => {
                cx.top(format!("{f}.notify"), "`do: notify` names a notifier");
                ok = false;
            }
            (Some(_), false) => {
                cx.top(format!("{f}.notify"), "only `do: notify` takes a notifier");
                ok = false;
            }
            (Some(n), true) if !m.notifiers.contains_key(n) => {
                cx.top(
                    format!("{f}.notify"),
                    format!("no notifier is named `{n}` under monitoring.notifiers"),
                );
                ok = false;
            }
            _ => {}
        }
        match (&a.hook, wants_hook) {
            (None, true) => {
                cx.top(format!("{f}.hook"), "`do: ask` names a hook");
                ok = false;
            }
            (Some(_), false) => {
                cx.top(format!("{f}.hook"), "only `do: ask` takes a hook");
                ok = false;
            }
            (Some(h), true) if !m.hooks.contains_key(h) => {
                cx.top(
                    format!("{f}.hook"),
                    format!("no hook is named `{h}` under monitoring.hooks"),
                );
                ok = false;
            }
            _ => {}
        }
        if a.require_approval && wants_notify {
            cx.top(
                format!("{f}.require_approval"),
                "a notification is sent at once; approval is for actions that change the event",
            );
            ok = false;
        }
    }
    for (name, n) in &m.notifiers {
        let f = format!("monitoring.notifiers.{name}");
        ok &= one_endpoint(
            cx,
            &f,
            "webhook",
            n.webhook.as_deref(),
            n.command.as_deref(),
        );
        if n.webhook.is_some() && n.secret_env.as_deref().is_none_or(|e| !env_name(e)) {
            cx.top(
                format!("{f}.secret_env"),
                "a webhook is signed: name the environment variable that holds its secret (A-Z, 0-9, _)",
            );
            ok = false;
        }
        ok &= positive(cx, &format!("{f}.timeout"), n.timeout);
    }
    for (name, h) in &m.hooks {
        let f = format!("monitoring.hooks.{name}");
        ok &= one_endpoint(cx, &f, "url", h.url.as_deref(), h.command.as_deref());
        if h.token_env.as_deref().is_some_and(|e| !env_name(e)) {
            cx.top(
                format!("{f}.token_env"),
                "is an environment variable's name (A-Z, 0-9, _)",
            );
            ok = false;
        }
        ok &= positive(cx, &format!("{f}.timeout"), h.timeout);
        if h.window.0 > std::time::Duration::from_secs(600) {
            cx.top(
                format!("{f}.window"),
                format!(
                    "{} is longer than the 10m of signals the monitor keeps",
                    h.window
                ),
            );
            ok = false;
        }
    }
    let g = &m.guardrails;
    if g.max_actions == 0 {
        cx.top(
            "monitoring.guardrails.max_actions",
            "0 would forbid every action; remove `actions` instead",
        );
        ok = false;
    }
    ok &= positive(cx, "monitoring.guardrails.per", g.per);
    ok
}

/// A notifier or hook has exactly one of an HTTP endpoint and a command.
fn one_endpoint(
    cx: &mut Ctx<'_>,
    f: &str,
    url_field: &str,
    url: Option<&str>,
    command: Option<&[String]>,
) -> bool {
    match (url, command) {
        (Some(u), None) => {
            let ok = (u.starts_with("http://") || u.starts_with("https://"))
                && u.split("://").nth(1).is_some_and(|h| !h.is_empty());
            if !ok {
                cx.top(
                    format!("{f}.{url_field}"),
                    format!("`{u}` is not an http:// or https:// URL"),
                );
            }
            ok
        }
        (None, Some(c)) => {
            let ok = c.first().is_some_and(|p| !p.trim().is_empty());
            if !ok {
                cx.top(
                    format!("{f}.command"),
                    "give the program and its arguments, e.g. [/usr/local/bin/page, --team, live]",
                );
            }
            ok
        }
        _ => {
            cx.top(
                f.to_string(),
                format!("give exactly one of `{url_field}` or `command`"),
            );
            false
        }
    }
}

fn positive(cx: &mut Ctx<'_>, f: &str, d: crate::config::duration::HumanDuration) -> bool {
    if d.0.is_zero() {
        cx.top(f.to_string(), "must be longer than zero");
        return false;
    }
    true
}

fn env_name(e: &str) -> bool {
    !e.is_empty()
        && !e.starts_with(|c: char| c.is_ascii_digit())
        && e.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}
