//! Pure validation: every problem in every file, reported at once, each at its place.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use serde_saphyr::Spanned;

use super::catalog::CatalogFile;
use super::duration::parse_duration;
use super::locate::Locator;
use super::profile::{InputKind, ProfileFile};
use super::schedule::EventEntry;
use super::yaml::{nearest, position};
use super::{API_VERSION, Diagnostic, Diagnostics, Parsed};
use crate::model::{
    Catalog, Config, DEFAULT_GRACE, Event, INSTANCE_KIND, Lead, LeadSource, Profile, VOD_KIND,
    blueprint_kinds,
};

const PROVIDERS: [&str; 5] = ["local", "aws", "azure", "kubernetes", "sim"];

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

pub fn validate(parsed: &Parsed) -> Result<Config, Diagnostics> {
    let mut diags = Diagnostics::default();
    let mut config = Config::default();

    for (file, name, cat, text) in &parsed.catalogs {
        let mut cx = Ctx {
            file,
            diags: &mut diags,
            source: Some(Locator::new(text)),
        };
        if let Some(c) = catalog(&mut cx, name, cat) {
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
        if let Some(p) = profile(&mut cx, name, prof, &config.catalogs, &catalog_files) {
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

fn profile(
    cx: &mut Ctx<'_>,
    name: &str,
    p: &ProfileFile,
    catalogs: &BTreeMap<String, Catalog>,
    catalog_files: &[&str],
) -> Option<Profile> {
    cx.header(&p.api_version, &p.kind, "Profile");
    let mut ok = true;
    let provider = &p.provider.value;
    if !PROVIDERS.contains(&provider.as_str()) {
        let mut msg = format!("unknown provider `{provider}`");
        if let Some(n) = nearest(provider, PROVIDERS) {
            msg.push_str(&format!(", did you mean `{n}`?"));
        }
        msg.push_str(&format!(" (expected one of {})", PROVIDERS.join(", ")));
        cx.at(&p.provider, "provider", msg);
        ok = false;
    } else if !catalogs.contains_key(provider) {
        cx.at(
            &p.provider,
            "provider",
            if catalog_files.contains(&provider.as_str()) {
                format!("the catalog providers/{provider}.yaml is invalid (see its errors)")
            } else {
                format!("no catalog for provider `{provider}`: add providers/{provider}.yaml")
            },
        );
        ok = false;
    }
    let lead = match &p.lead {
        Some(l) => Some(cx.lead(l, "lead")?),
        None => None,
    };
    let grace = match &p.grace {
        Some(g) => Some(cx.duration(g, "grace")?),
        None => None,
    };
    let segment_duration = match parse_duration(&p.encoder.segment_duration) {
        Ok(d) if d >= Duration::from_millis(500) => Some(d),
        Ok(_) => {
            cx.top("encoder.segment_duration", "must be at least 500ms");
            None
        }
        Err(e) => {
            cx.top("encoder.segment_duration", e);
            None
        }
    };
    if parse_duration(&p.origin.dvr_window).is_err() {
        cx.top(
            "origin.dvr_window",
            format!("malformed duration `{}`", p.origin.dvr_window),
        );
        ok = false;
    }
    if p.encoder.ladder.is_empty() {
        cx.top("encoder.ladder", "at least one rendition is required");
        ok = false;
    }
    let mut names = Vec::new();
    for (i, r) in p.encoder.ladder.iter().enumerate() {
        let f = format!("encoder.ladder[{i}]");
        if names.contains(&&r.name) {
            cx.top(
                format!("{f}.name"),
                format!("rendition `{}` is listed twice", r.name),
            );
            ok = false;
        }
        names.push(&r.name);
        if r.width == 0 || r.height == 0 || r.width % 2 == 1 || r.height % 2 == 1 {
            cx.top(
                f.clone(),
                format!(
                    "{}x{}: width and height must be even and positive",
                    r.width, r.height
                ),
            );
            ok = false;
        }
        if !(1.0..=120.0).contains(&r.fps) {
            cx.top(
                format!("{f}.fps"),
                format!("fps {} is outside 1..120", r.fps),
            );
            ok = false;
        }
    }
    if p.encoder.input.kind == InputKind::File && p.encoder.input.address.is_none() {
        cx.top(
            "encoder.input.address",
            "a `file` input needs the file's path in `address`",
        );
        ok = false;
    }
    if let Some(drm) = &p.vod.drm
        && drm.key_provider == super::profile::KeyProvider::Speke
        && drm.url.is_none()
    {
        cx.top(
            "vod.drm.url",
            "the `speke` key provider needs the key server's `url`",
        );
        ok = false;
    }
    ok &= monitoring(cx, &p.monitoring);
    for (i, net) in p.encoder.input.allow.iter().enumerate() {
        if net.parse::<ipnet::IpNet>().is_err() {
            cx.top(
                format!("encoder.input.allow[{i}]"),
                format!("`{net}` is not a network in CIDR form, such as 203.0.113.0/24"),
            );
            ok = false;
        }
    }
    let medialive = provider == "aws" && p.encoder.engine == super::profile::Engine::Managed;
    if p.encoder.slate.is_some() && !medialive {
        cx.top(
            "encoder.slate",
            "only MediaLive (provider aws, `engine: managed`) shows a slate and switches to the feed on schedule",
        );
        ok = false;
    }
    if provider == "aws" {
        ok &= aws_profile(cx, p);
    }
    let out = Profile {
        name: name.to_string(),
        provider: provider.clone(),
        lead,
        grace,
        encoder: p.encoder.clone(),
        segment_seconds: segment_duration?.as_secs_f64(),
        dvr_window_seconds: parse_duration(&p.origin.dvr_window).map_or(0.0, |d| d.as_secs_f64()),
        segment_duration: segment_duration?,
        origin: p.origin.clone(),
        cdn: p.cdn.clone(),
        vod: p.vod.clone(),
        monitoring: p.monitoring.clone(),
    };
    if let Some(cat) = catalogs.get(provider) {
        for kind in blueprint_kinds(&out) {
            match cat.kinds.get(kind) {
                None => {
                    cx.at(
                        &p.provider,
                        "provider",
                        format!("the `{provider}` catalog has no resource kind `{kind}`, which this profile needs"),
                    );
                    ok = false;
                }
                // The EC2 encoder reads its ingest credentials at boot, as this role.
                Some(k) if provider == "aws" && kind == INSTANCE_KIND && k.role.is_none() => {
                    cx.at(
                        &p.provider,
                        "provider",
                        "`encoder.engine: instance` needs `kinds.instance.role` in the aws catalog: an IAM instance profile allowed mediapackage:DescribeChannel (and s3:GetObject for an s3:// input)",
                    );
                    ok = false;
                }
                // MediaPackage writes the harvested VOD into S3 as this role.
                Some(k) if provider == "aws" && kind == VOD_KIND && k.role.is_none() => {
                    cx.at(
                        &p.provider,
                        "provider",
                        "`vod.enabled` needs `kinds.vod.role` in the aws catalog: the ARN of an IAM role MediaPackage may assume, allowed to write to S3",
                    );
                    ok = false;
                }
                Some(_) => {}
            }
        }
    }
    ok.then_some(out)
}

fn catalog(cx: &mut Ctx<'_>, name: &str, c: &CatalogFile) -> Option<Catalog> {
    cx.header(&c.api_version, &c.kind, "ProviderCatalog");
    let mut ok = true;
    let provider = &c.provider.value;
    if provider != name {
        cx.at(
            &c.provider,
            "provider",
            format!(
                "the catalog for `{provider}` must be named providers/{provider}.yaml, not {name}"
            ),
        );
        ok = false;
    }
    if c.regions.is_empty() {
        cx.top("regions", "at least one region is required");
        ok = false;
    }
    let mut limits = vec![("rate_limit".to_string(), c.rate_limit)];
    for (service, l) in &c.service_rate_limits {
        limits.push((format!("service_rate_limits.{service}"), *l));
        if provider != "aws" {
            cx.top(
                "service_rate_limits",
                "per-service rate limits are for the aws provider's services",
            );
            ok = false;
            break;
        }
        if !AWS_SERVICES.contains(&service.as_str()) {
            cx.top(
                format!("service_rate_limits.{service}"),
                format!(
                    "the aws provider calls no service `{service}`: {}",
                    AWS_SERVICES.join(", ")
                ),
            );
            ok = false;
        }
    }
    for (r, entry) in &c.regions {
        if let Some(l) = entry.rate_limit {
            limits.push((format!("regions.{r}.rate_limit"), l));
        }
        if entry
            .price_factor
            .is_some_and(|f| !(f.is_finite() && f > 0.0))
        {
            cx.top(format!("regions.{r}.price_factor"), "must be positive");
            ok = false;
        }
    }
    for (f, l) in limits {
        if !(l.requests_per_second.is_finite() && l.requests_per_second > 0.0) || l.burst == 0 {
            cx.top(f, "requests_per_second and burst must be positive");
            ok = false;
        }
    }
    if c.retry.max_attempts == 0 {
        cx.top("retry.max_attempts", "must be at least 1");
        ok = false;
    }
    for (k, entry) in &c.kinds {
        if !(entry.hourly_price.is_finite() && entry.hourly_price >= 0.0) {
            cx.top(format!("kinds.{k}.hourly_price"), "must be zero or more");
            ok = false;
        }
        let timings = [
            ("provision", Some(entry.provision)),
            ("destroy", Some(entry.destroy)),
            ("update", entry.update),
        ];
        for (what, l) in timings.iter().filter_map(|(w, l)| l.map(|l| (*w, l))) {
            if l.p95 < l.median {
                cx.top(
                    format!("kinds.{k}.{what}"),
                    "p95 must not be below the median",
                );
                ok = false;
            }
            if let Some(t) = entry.timeout.filter(|t| *t < l.p95) {
                cx.top(
                    format!("kinds.{k}.timeout"),
                    format!(
                        "{t} is below the {what} p95 ({}): one step in twenty would time out",
                        l.p95
                    ),
                );
                ok = false;
            }
        }
    }
    match (&c.sim, provider == "sim") {
        (Some(_), false) => {
            cx.top("sim", "the `sim` section is only for the sim provider");
            ok = false;
        }
        (Some(s), true) => {
            if !(s.time_scale.is_finite() && s.time_scale > 0.0) {
                cx.top("sim.time_scale", "must be positive");
                ok = false;
            }
            let f = s.faults;
            for (n, p) in [
                ("throttle", f.throttle),
                ("transient", f.transient),
                ("lost_response", f.lost_response),
                ("hang", f.hang),
                ("permanent", f.permanent),
            ] {
                if !(0.0..=1.0).contains(&p) {
                    cx.top(format!("sim.faults.{n}"), "a probability between 0 and 1");
                    ok = false;
                }
            }
        }
        _ => {}
    }
    if c.lead_step.is_some_and(|s| s.0.is_zero()) {
        cx.top("lead_step", "must be longer than zero");
        ok = false;
    }
    if c.local.is_some() && provider != "local" {
        cx.top(
            "local",
            "the `local` section is only for the local provider",
        );
        ok = false;
    }
    ok.then(|| Catalog {
        provider: provider.clone(),
        regions: c.regions.clone(),
        rate_limit: c.rate_limit,
        service_rate_limits: c.service_rate_limits.clone(),
        retry: c.retry,
        readiness: c
            .readiness
            .map_or(crate::schedule::lead::READINESS, |d| d.0),
        lead_step: c
            .lead_step
            .map_or(crate::schedule::lead::LEAD_STEP, |d| d.0),
        kinds: c.kinds.clone(),
        sim: c.sim.clone(),
        local: c.local.clone(),
    })
}

/// The rules must each say one thing to watch for, with a `clear` on the resolving side.
fn monitoring(cx: &mut Ctx<'_>, m: &super::profile::MonitoringSpec) -> bool {
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
            || (m.default_rules && crate::monitor::rules::BUILT_IN.contains(&r.name.as_str()))
        {
            ok &= bad(
                ".name",
                format!(
                    "rule `{}` is defined twice (built-in rules: {}; set `default_rules: false` to replace them)",
                    r.name,
                    crate::monitor::rules::BUILT_IN.join(", ")
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
fn reactions(cx: &mut Ctx<'_>, m: &super::profile::MonitoringSpec, rules: &[&str]) -> bool {
    use super::profile::ReactionKind;
    let mut ok = true;
    let known = |name: &str| {
        name == "*"
            || rules.contains(&name)
            || (m.default_rules && crate::monitor::rules::BUILT_IN.contains(&name))
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
                    all.extend(crate::monitor::rules::BUILT_IN);
                }
                let mut msg = format!("no rule is named `{name}`");
                if let Some(n) = super::yaml::nearest(name, all.iter().copied()) {
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

fn positive(cx: &mut Ctx<'_>, f: &str, d: super::duration::HumanDuration) -> bool {
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

/// The addresses a MediaLive pull input reads from.
pub const AWS_INPUT_SCHEMES: &[&str] = &["s3://", "s3ssl://", "https://", "http://"];

/// What the aws provider can build today: MediaLive inputs pulling from a URL or taking an
/// RTMP push from listed networks, EC2 encoders pulling from a URL, and a CDN per event (see
/// docs/providers.md).
fn aws_profile(cx: &mut Ctx<'_>, p: &super::profile::ProfileFile) -> bool {
    let mut ok = true;
    let address = p.encoder.input.address.as_deref().unwrap_or("");
    let url = AWS_INPUT_SCHEMES.iter().any(|s| address.starts_with(s));
    let managed = p.encoder.engine == super::profile::Engine::Managed;
    let reader = if managed {
        "MediaLive"
    } else {
        "an EC2 encoder"
    };
    match p.encoder.input.kind {
        InputKind::File if !address.is_empty() && !url => {
            cx.top(
                "encoder.input.address",
                format!("{reader} reads a file from an s3:// or https:// URL, not `{address}`"),
            );
            ok = false;
        }
        InputKind::File => {}
        InputKind::Rtmp if managed => {
            if p.encoder.input.address.is_some() {
                cx.top(
                    "encoder.input.address",
                    "MediaLive chooses where an RTMP push input listens: leave `address` out; `orchestrate status` shows the push URL once it exists",
                );
                ok = false;
            }
            if p.encoder.input.allow.is_empty() {
                cx.top(
                    "encoder.input.allow",
                    "a MediaLive RTMP push input admits only the networks listed here: name the contribution's source networks, such as `allow: [203.0.113.0/24]`",
                );
                ok = false;
            }
        }
        // MediaLive calls out to the contribution encoder, which listens.
        InputKind::Srt if managed => {
            if super::srt_listener(address).is_none() {
                cx.top(
                    "encoder.input.address",
                    format!(
                        "MediaLive calls the contribution's SRT listener (SRT_CALLER): give its address as srt://host:port, not `{address}`"
                    ),
                );
                ok = false;
            }
        }
        _ if managed => {
            cx.top(
                "encoder.input.type",
                "MediaLive takes the feed from a URL (`file` with an s3:// or https:// address), as an RTMP push (`rtmp` with `allow`), or by calling an SRT listener (`srt` with its address)",
            );
            ok = false;
        }
        _ => {
            cx.top(
                "encoder.input.type",
                "an EC2 encoder reads the feed from a URL: use `file` with an s3:// or https:// address",
            );
            ok = false;
        }
    }
    if let Some(slate) = &p.encoder.slate
        && !AWS_INPUT_SCHEMES.iter().any(|s| slate.starts_with(s))
    {
        cx.top(
            "encoder.slate",
            format!("MediaLive reads the slate from an s3:// or https:// URL, not `{slate}`"),
        );
        ok = false;
    }
    // Two EC2 encoders push to the MediaPackage channel's two ingest endpoints, one each.
    if managed && p.encoder.redundancy == super::profile::Redundancy::Dual {
        // Two single-pipeline channels would both push to the MediaPackage channel's first
        // ingest endpoint; two pipelines into one origin need a STANDARD channel.
        cx.top(
            "encoder.redundancy",
            "the aws provider makes single-pipeline MediaLive channels; `dual` (a STANDARD channel feeding both MediaPackage ingest endpoints) is not built yet",
        );
        ok = false;
    }
    if p.vod.enabled {
        ok &= aws_vod(cx, p);
    }
    // A shared CDN fronts a MediaPackage v2 channel group: its origins are v2 channels.
    if p.cdn.enabled && p.cdn.shared {
        if !managed {
            cx.top(
                "cdn.shared",
                "a CDN shared by an event group puts its origins on MediaPackage v2, which only MediaLive (`encoder.engine: managed`) feeds here",
            );
            ok = false;
        }
        if p.vod.enabled {
            cx.top(
                "cdn.shared",
                "a CDN shared by an event group puts its origins on MediaPackage v2, whose VOD harvest is not built yet: turn `vod` off or the CDN's sharing",
            );
            ok = false;
        }
    }
    ok
}

/// The services the aws provider calls, as a catalog's `service_rate_limits` names them.
const AWS_SERVICES: &[&str] = &[
    "s3",
    "medialive",
    "mediapackage",
    "mediapackagev2",
    "cloudfront",
    "ec2",
];

/// The aws VOD is a MediaPackage harvest of the origin's HLS endpoint, written to S3 as HLS
/// in the clear.
fn aws_vod(cx: &mut Ctx<'_>, p: &super::profile::ProfileFile) -> bool {
    use super::profile::{DrmScheme, Packaging};
    let mut ok = true;
    if !p.origin.packaging.contains(&Packaging::Hls) {
        cx.top(
            "origin.packaging",
            "the aws VOD is harvested from the origin's HLS endpoint: add `hls`",
        );
        ok = false;
    }
    if p.vod.formats.iter().any(|f| *f != Packaging::Hls) {
        cx.top(
            "vod.formats",
            "the aws VOD is HLS (a MediaPackage harvest); other formats are not built yet",
        );
        ok = false;
    }
    if p.vod
        .drm
        .as_ref()
        .is_some_and(|d| d.scheme != DrmScheme::None)
    {
        cx.top(
            "vod.drm",
            "DRM on the aws VOD (MediaPackage VOD packaging with SPEKE) is not built yet",
        );
        ok = false;
    }
    ok
}
