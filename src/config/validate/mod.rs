//! Pure validation: every problem in every file, reported at once, each at its place.

mod catalog;
mod drm;
mod monitoring;
mod profile;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde_saphyr::Spanned;

use super::duration::parse_duration;
use super::locate::Locator;
use super::rules::{Finding, ProviderSet};
use super::schedule::EventEntry;
use super::yaml::{nearest, position};
use super::{API_VERSION, Diagnostic, Diagnostics, Parsed};
use crate::model::{Config, DEFAULT_GRACE, Event, Lead, LeadSource};

struct Ctx<'a> {
    file: &'a Path,
    diags: &'a mut Diagnostics,
    /// Positions for fields the typed structs do not carry spans for.
    source: Option<Locator>,
}

impl Ctx<'_> {
    fn at<T>(&mut self, s: &Spanned<T>, field: impl Into<String>, msg: impl Into<String>) {
        let (line, col) = position(s.referenced);
        self.diags
            .push(Diagnostic::new(self.file, line, col, field, msg));
    }
    fn top(&mut self, field: impl Into<String>, msg: impl Into<String>) {
        let field = field.into();
        let (line, col) = self.source.as_ref().map_or((1, 1), |l| l.find(&field));
        self.diags
            .push(Diagnostic::new(self.file, line, col, field, msg));
    }
    /// What a provider found, each at its field.
    fn findings(&mut self, found: Vec<Finding>) -> bool {
        let ok = found.is_empty();
        for f in found {
            self.top(f.field, f.message);
        }
        ok
    }
    fn header(&mut self, api: &Spanned<String>, kind: &Spanned<String>, want: &str) {
        if api.value != API_VERSION {
            self.at(
                api,
                "apiVersion",
                format!(
                    "unsupported apiVersion `{}` (expected `{API_VERSION}`)",
                    api.value
                ),
            );
        }
        if kind.value != want {
            self.at(
                kind,
                "kind",
                format!("expected `kind: {want}`, found `{}`", kind.value),
            );
        }
    }
    fn duration(&mut self, s: &Spanned<String>, field: &str) -> Option<Duration> {
        match parse_duration(&s.value) {
            Ok(d) => Some(d),
            Err(e) => {
                self.at(s, field, e);
                None
            }
        }
    }
    fn lead(&mut self, s: &Spanned<String>, field: &str) -> Option<Lead> {
        if s.value.trim() == "auto" {
            return Some(Lead::Auto);
        }
        match parse_duration(&s.value) {
            Ok(d) => Some(Lead::Fixed(d)),
            Err(e) => {
                self.at(s, field, format!("{e}, or `auto`"));
                None
            }
        }
    }
}

/// Checks everything parsed against each other and against what the `providers` can do.
pub fn validate(parsed: &Parsed, providers: &dyn ProviderSet) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut config = Config::default();

    for (file, name, cat, text) in &parsed.catalogs {
        let mut cx = Ctx {
            file,
            diags: &mut diags,
            source: Some(Locator::new(text)),
        };
        if let Some(c) = catalog::catalog(&mut cx, name, cat, providers) {
            config.catalogs.insert(c.provider.clone(), c);
        }
    }
    let catalog_files: Vec<&str> = parsed
        .catalogs
        .iter()
        .map(|(_, n, _, _)| n.as_str())
        .collect();
    for (file, name, prof, text) in &parsed.profiles {
        let mut cx = Ctx {
            file,
            diags: &mut diags,
            source: Some(Locator::new(text)),
        };
        if let Some(p) = profile::profile(
            &mut cx,
            name,
            prof,
            &config.catalogs,
            &catalog_files,
            providers,
        ) {
            config.profiles.insert(p.name.clone(), p);
        }
    }
    let profile_names: Vec<&str> = parsed
        .profiles
        .iter()
        .map(|(_, n, _, _)| n.as_str())
        .collect();
    let mut seen: HashMap<String, (std::path::PathBuf, u64)> = HashMap::new();
    for (file, sched) in &parsed.schedules {
        let mut cx = Ctx {
            file,
            diags: &mut diags,
            source: None,
        };
        cx.header(&sched.api_version, &sched.kind, "Schedule");
        for (i, entry) in sched.events.iter().enumerate() {
            let field = format!("events[{i}]");
            if let Some((prev_file, prev_line)) = seen.get(&entry.id.value) {
                let msg = format!(
                    "duplicate event id `{}` (first defined at {}:{prev_line})",
                    entry.id.value,
                    prev_file.display()
                );
                cx.at(&entry.id, format!("{field}.id"), msg);
            } else {
                seen.insert(
                    entry.id.value.clone(),
                    (file.clone(), position(entry.id.referenced).0),
                );
            }
            if let Some(ev) = event(&mut cx, &field, entry, &config, &profile_names) {
                config.events.push(ev);
            }
        }
    }
    diags.into_result().map(|()| config)
}

fn event(
    cx: &mut Ctx<'_>,
    field: &str,
    e: &EventEntry,
    config: &Config,
    profile_names: &[&str],
) -> Option<Event> {
    let mut ok = true;
    if !valid_id(&e.id.value) {
        cx.at(
            &e.id,
            format!("{field}.id"),
            format!("invalid id `{}`: use 1 to 48 of a-z, 0-9 and -", e.id.value),
        );
        ok = false;
    }
    let start = time(cx, &e.start, &format!("{field}.start"));
    let end = time(cx, &e.end, &format!("{field}.end"));
    if let (Some(s), Some(en)) = (start, end)
        && en <= s
    {
        cx.at(
            &e.end,
            format!("{field}.end"),
            format!("end {} is not after start {}", e.end.value, e.start.value),
        );
        ok = false;
    }
    let profile = config.profiles.get(&e.profile.value);
    if profile.is_none() {
        let mut msg = format!("unknown profile `{}`", e.profile.value);
        if profile_names.contains(&e.profile.value.as_str()) {
            msg = format!("profile `{}` is invalid (see its errors)", e.profile.value);
        } else if let Some(n) = nearest(&e.profile.value, profile_names.iter().copied()) {
            msg.push_str(&format!(", did you mean `{n}`?"));
        } else {
            msg.push_str(&format!(" (no profiles/{}.yaml)", e.profile.value));
        }
        cx.at(&e.profile, format!("{field}.profile"), msg);
        ok = false;
    }
    if e.regions.value.is_empty() {
        cx.at(
            &e.regions,
            format!("{field}.regions"),
            "at least one region is required",
        );
        ok = false;
    }
    let catalog = profile.and_then(|p| config.catalogs.get(&p.provider));
    let mut regions = Vec::new();
    for (j, r) in e.regions.value.iter().enumerate() {
        let rf = format!("{field}.regions[{j}]");
        if regions.contains(&r.value) {
            cx.at(r, rf, format!("region `{}` is listed twice", r.value));
            ok = false;
            continue;
        }
        if let Some(cat) = catalog
            && !cat.regions.contains_key(&r.value)
        {
            let mut msg = format!(
                "region `{}` is not in the `{}` provider's catalog",
                r.value, cat.provider
            );
            if let Some(n) = nearest(&r.value, cat.regions.keys().map(String::as_str)) {
                msg.push_str(&format!(", did you mean `{n}`?"));
            }
            cx.at(r, rf, msg);
            ok = false;
            continue;
        }
        regions.push(r.value.clone());
    }
    let lead = match &e.lead {
        Some(l) => cx
            .lead(l, &format!("{field}.lead"))
            .map(|l| (l, LeadSource::Event)),
        None => Some(match profile.and_then(|p| p.lead) {
            Some(l) => (l, LeadSource::Profile),
            None => (Lead::Auto, LeadSource::Default),
        }),
    };
    let grace = match &e.grace {
        Some(g) => cx.duration(g, &format!("{field}.grace")),
        None => Some(profile.and_then(|p| p.grace).unwrap_or(DEFAULT_GRACE)),
    };
    let (start, end, (lead, lead_source), grace, profile) = (start?, end?, lead?, grace?, profile?);
    if !ok {
        return None;
    }
    let vod_enabled = e
        .vod
        .as_ref()
        .and_then(|v| v.enabled)
        .unwrap_or(profile.vod.enabled);
    if let Some(g) = &e.group
        && !valid_id(&g.value)
    {
        cx.at(
            g,
            format!("{field}.group"),
            format!("invalid group `{}`: use 1 to 48 of a-z, 0-9 and -", g.value),
        );
        return None;
    }
    if let Some(a) = e.audience.filter(|a| a.average_bitrate.0 == 0) {
        cx.at(
            &e.id,
            format!("{field}.audience.average_bitrate"),
            format!(
                "must be above zero ({} viewers at 0 b/s carry nothing)",
                a.peak_viewers
            ),
        );
        return None;
    }
    Some(Event {
        id: e.id.value.clone(),
        title: e.title.clone(),
        start,
        end,
        profile: profile.name.clone(),
        regions,
        lead,
        lead_source,
        grace,
        vod_enabled,
        group: e.group.as_ref().map(|g| g.value.clone()),
        audience: e.audience,
    })
}

fn valid_id(id: &str) -> bool {
    (1..=48).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

fn time(cx: &mut Ctx<'_>, s: &Spanned<String>, field: &str) -> Option<Timestamp> {
    match s.value.trim().parse::<Timestamp>() {
        Ok(t) => Some(t),
        Err(_) => {
            let msg = if s.value.trim().parse::<jiff::civil::DateTime>().is_ok() {
                format!(
                    "time `{}` has no UTC offset: add one, e.g. `{}Z` or `{}+01:00`",
                    s.value, s.value, s.value
                )
            } else {
                format!(
                    "malformed time `{}` (expected RFC 3339 with an offset, e.g. 2026-12-05T19:45:00Z)",
                    s.value
                )
            };
            cx.at(s, field, msg);
            None
        }
    }
}
