//! The console's pages as HTML (pure): server-rendered, so that a page opened late shows the
//! show so far, and one fragment (`#screen`) that the page's script fetches again whenever the
//! health bus says something changed. States are always written, never shown by colour alone.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};

use super::auth::Role;
use super::screen::{CHAIN, CHARTED, Health, Place, Screen, readings};
use crate::monitor::Metric;
use crate::monitor::actions::ActionRecord;
use crate::monitor::engine::AlertState;
use crate::ops::tick::TickReport;
use crate::schedule::phase::Phase;

/// Everything one rendering reads.
pub struct Frame<'a> {
    pub screen: &'a Screen,
    pub tick: Option<&'a TickReport>,
    pub role: Role,
    pub now: Timestamp,
    /// `event/region` of the places probed now (their thumbnails are live).
    pub probed: &'a [String],
}

impl Frame<'_> {
    /// Whether the schedule still has `event`: the stored stream goes back a week, and what
    /// the schedule dropped is not shown.
    fn shown(&self, event: &str) -> bool {
        self.tick
            .is_none_or(|t| t.events.iter().any(|e| e.id == event))
    }
}

/// `&`, `<`, `>`, `"` and `'` escaped, for text and attribute values alike.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole page around `body`.
pub fn page(title: &str, csrf: Option<&str>, role: Option<Role>, body: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title>",
        esc(title)
    );
    if let Some(c) = csrf {
        let _ = write!(h, "<meta name=\"csrf\" content=\"{}\">", esc(c));
    }
    h.push_str(
        "<link rel=\"stylesheet\" href=\"/console/assets/console.css\">\
         <script defer src=\"/console/assets/console.js\"></script></head><body>",
    );
    let _ = write!(
        h,
        "<header><h1><a href=\"/\">orchestrate</a></h1><span id=\"conn\" class=\"conn live\" \
         role=\"status\">● live</span>"
    );
    if let Some(r) = role {
        let _ = write!(
            h,
            "<span class=\"role\">signed in as <b>{}</b></span>\
             <button id=\"logout\" type=\"button\">Sign out</button>",
            r.as_str()
        );
    }
    let _ = writeln!(h, "</header>{body}</body></html>");
    h
}

pub fn login(error: Option<&str>) -> String {
    let mut body = String::from("<main class=\"login\"><h2>Sign in to the console</h2>");
    if let Some(e) = error {
        let _ = write!(body, "<p class=\"error\" role=\"alert\">{}</p>", esc(e));
    }
    body.push_str(
        "<form method=\"post\" action=\"/login\"><label>Token \
         <input name=\"token\" type=\"password\" autocomplete=\"off\" required></label>\
         <button type=\"submit\">Sign in</button></form>\
         <p>Use the link <code>orchestrate run</code> printed, or a token from \
         <code>&lt;state&gt;/console-operator-token</code> (may approve and reject) or \
         <code>&lt;state&gt;/console-viewer-token</code> (reads only).</p></main>",
    );
    page("orchestrate: sign in", None, None, &body)
}

/// The main page: the screen fragment inside the page.
pub fn console(f: &Frame<'_>, csrf: &str) -> String {
    let body = format!("<main id=\"screen\">{}</main>", screen(f));
    page("orchestrate console", Some(csrf), Some(f.role), &body)
}

/// `#screen`'s content.
pub fn screen(f: &Frame<'_>) -> String {
    let mut h = String::new();
    schedule(&mut h, f);
    approvals(&mut h, f);
    places(&mut h, f);
    alerts(&mut h, f);
    actions(&mut h, f);
    after(&mut h, f);
    h
}

fn countdown(h: &mut String, label: &str, at: Timestamp, now: Timestamp) {
    let _ = write!(
        h,
        "<span class=\"countdown\" data-at=\"{}\" data-label=\"{}\">{} {}</span>",
        at,
        esc(label),
        esc(label),
        span(at.duration_since(now))
    );
}

/// `4m 05s`, `2h 10m`, or `now`.
pub fn span(d: SignedDuration) -> String {
    let s = d.as_secs();
    if s <= 0 {
        return "now".into();
    }
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

fn phase_icon(p: Phase) -> &'static str {
    match p {
        Phase::Scheduled => "◷",
        Phase::Provisioning => "⟳",
        Phase::Ready => "✓",
        Phase::Live => "●",
        Phase::Handoff => "⇢",
        Phase::Teardown => "⌫",
        Phase::Done => "✔",
    }
}

fn schedule(h: &mut String, f: &Frame<'_>) {
    h.push_str("<section id=\"schedule\"><h2>Schedule</h2>");
    let Some(tick) = f.tick else {
        h.push_str("<p class=\"muted\">Waiting for the first reconciliation…</p></section>");
        return;
    };
    if tick.events.is_empty() {
        h.push_str("<p class=\"muted\">No events in the schedule.</p></section>");
        return;
    }
    h.push_str(
        "<table><thead><tr><th>Event</th><th>Phase</th><th>On air</th><th>Next</th>\
         <th>Regions</th></tr></thead><tbody>",
    );
    for e in &tick.events {
        let _ = write!(
            h,
            "<tr data-event=\"{id}\"><td>{id}</td><td><span class=\"phase phase-{p}\">{icon} {p}\
             </span></td><td>{} → {}</td><td>",
            e.start.strftime("%Y-%m-%d %H:%M:%S UTC"),
            e.end.strftime("%H:%M:%S"),
            id = esc(&e.id),
            p = e.phase.as_str(),
            icon = phase_icon(e.phase),
        );
        // The next step, and always the start and the teardown while they are ahead.
        if f.now < e.provision_at {
            countdown(h, "provisioning in", e.provision_at, f.now);
            h.push_str("<br>");
        }
        if f.now < e.start {
            countdown(h, "on air in", e.start, f.now);
            h.push_str("<br>");
        } else if f.now < e.end {
            countdown(h, "ends in", e.end, f.now);
            h.push_str("<br>");
        }
        if f.now < e.release_at {
            countdown(h, "teardown in", e.release_at, f.now);
        } else {
            h.push('—');
        }
        let _ = write!(h, "</td><td>{}</td></tr>", esc(&e.regions.join(", ")));
    }
    h.push_str("</tbody></table></section>");
}

fn approvals(h: &mut String, f: &Frame<'_>) {
    let waiting: Vec<&ActionRecord> = f.screen.awaiting().collect();
    if waiting.is_empty() {
        return;
    }
    h.push_str("<section id=\"approvals\"><h2>Awaiting approval</h2><ul>");
    for a in waiting {
        let _ = write!(
            h,
            "<li class=\"approval\" data-action=\"{id}\"><b>⚠ {act}</b> {target} on {ev} in {rg}: \
             {reason} <span class=\"muted\">[{id}]</span>",
            id = esc(&a.id),
            act = a.action,
            target = esc(a.target.as_deref().unwrap_or("")),
            ev = esc(&a.labels.event),
            rg = esc(&a.labels.region),
            reason = esc(&a.reason),
        );
        if f.role == Role::Operator {
            let _ = write!(
                h,
                " <button class=\"verdict approve\" data-id=\"{id}\" data-verdict=\"approve\">\
                 Approve</button> <button class=\"verdict reject\" data-id=\"{id}\" \
                 data-verdict=\"reject\">Reject</button>",
                id = esc(&a.id)
            );
        } else {
            h.push_str(" <span class=\"muted\">(an operator decides)</span>");
        }
        h.push_str("</li>");
    }
    h.push_str("</ul></section>");
}

fn places(h: &mut String, f: &Frame<'_>) {
    h.push_str("<section id=\"places\"><h2>Signal chain</h2>");
    if f.screen.places.is_empty() {
        h.push_str(
            "<p class=\"muted\">Nothing probed yet: probes start when an event goes on air.</p>",
        );
    }
    for (event, regions) in f.screen.places.iter().filter(|(e, _)| f.shown(e)) {
        for (region, place) in regions {
            chain(h, f, event, region, place);
        }
    }
    h.push_str("</section>");
}

fn chain(h: &mut String, f: &Frame<'_>, event: &str, region: &str, place: &Place) {
    let key = format!("{event}/{region}");
    let live = f.probed.contains(&key);
    let _ = write!(
        h,
        "<article class=\"place\" data-place=\"{}\"><h3>{} <span class=\"muted\">in</span> {}{}</h3>",
        esc(&key),
        esc(event),
        esc(region),
        if live {
            " <span class=\"onair\">● on air</span>"
        } else {
            ""
        }
    );
    let pipelines: Vec<&str> = place
        .nodes
        .keys()
        .filter(|(t, _)| *t == crate::monitor::Tier::Encoder)
        .filter_map(|(_, r)| r.strip_prefix("encoder-"))
        .collect();
    if pipelines.len() > 1 || place.serving.is_some() {
        let _ = write!(
            h,
            "<p class=\"serving\">The edge serves <b>{}</b>.",
            esc(place.serving.as_deref().unwrap_or("the primary pipeline"))
        );
        if f.role == Role::Operator && live {
            for p in &pipelines {
                let _ = write!(
                    h,
                    " <button class=\"failover\" data-event=\"{e}\" data-region=\"{r}\" \
                     data-pipeline=\"{p}\">Fail over to pipeline {p}</button>",
                    e = esc(event),
                    r = esc(region),
                    p = esc(p)
                );
            }
        }
        h.push_str("</p>");
    }
    h.push_str("<div class=\"row\">");
    if live {
        let _ = write!(
            h,
            "<img class=\"thumb\" alt=\"A still of {k} at the edge\" \
             src=\"/console/thumb/{e}/{r}\" data-src=\"/console/thumb/{e}/{r}\" width=\"320\" height=\"180\">",
            k = esc(&key),
            e = esc(event),
            r = esc(region)
        );
    }
    h.push_str("<ol class=\"chain\">");
    for tier in CHAIN {
        let nodes: Vec<_> = place
            .nodes
            .iter()
            .filter(|((t, _), _)| *t == tier)
            .collect();
        if nodes.is_empty() {
            continue;
        }
        if !h.ends_with("<ol class=\"chain\">") {
            h.push_str("<li class=\"arrow\" aria-hidden=\"true\">→</li>");
        }
        let _ = write!(h, "<li class=\"tier\"><h4>{}</h4>", tier.as_str());
        for ((_, resource), node) in nodes {
            let mut health = f.screen.health(event, region, tier, resource, node);
            // Probes stop with the show: its last readings are history, not health.
            if !live && health <= Health::Stale {
                health = Health::OffAir;
            }
            let _ = write!(
                h,
                "<div class=\"node {c}\" data-tier=\"{t}\" data-resource=\"{r}\" data-health=\"{c}\">\
                 <div class=\"name\">{r}</div><div class=\"state\">{label}</div><dl>",
                c = health.class(),
                t = tier.as_str(),
                r = esc(resource),
                label = health.label(),
            );
            for m in readings(tier) {
                if let Some(v) = node.values.get(m) {
                    let _ = write!(h, "<dt>{}</dt><dd>{}</dd>", short(*m), value(*m, *v));
                }
            }
            h.push_str("</dl></div>");
        }
        h.push_str("</li>");
    }
    h.push_str("</ol></div><div class=\"charts\">");
    for m in CHARTED {
        if let Some(series) = place.series.get(&m) {
            chart(h, m, series);
        }
    }
    h.push_str("</div></article>");
}

fn short(m: Metric) -> &'static str {
    match m {
        Metric::EncoderSpeed => "speed",
        Metric::EncoderFps => "fps",
        Metric::EncoderBitrateKbps => "kbit/s",
        Metric::PlaylistAgeS => "playlist age",
        Metric::MediaSequence => "sequence",
        Metric::EdgeTtfbMs => "TTFB",
        Metric::EdgeHitRatio => "cache hits",
        Metric::EdgeLagSegments => "lag",
        Metric::ViewerStall => "stalls",
        Metric::ViewerDownloadRatio => "download ratio",
        Metric::ContentBlackS => "black",
        Metric::ContentFreezeS => "frozen",
        Metric::ContentSilenceS => "silent",
        Metric::LoudnessLufs => "loudness",
        other => other.as_str(),
    }
}

fn value(m: Metric, v: f64) -> String {
    match m {
        Metric::EncoderSpeed | Metric::ViewerDownloadRatio => format!("{v:.2}×"),
        Metric::PlaylistAgeS
        | Metric::ContentBlackS
        | Metric::ContentFreezeS
        | Metric::ContentSilenceS => {
            format!("{v:.1} s")
        }
        Metric::EdgeTtfbMs => format!("{v:.0} ms"),
        Metric::EdgeHitRatio => format!("{:.0} %", v * 100.0),
        Metric::EdgeLagSegments => format!("{v:.0} segments"),
        Metric::ViewerStall => (if v > 0.0 { "stalling" } else { "none" }).into(),
        Metric::LoudnessLufs => format!("{v:.1} LUFS"),
        _ => format!("{v:.0}"),
    }
}

/// A small line chart of the last minutes as inline SVG, with its latest value written beside.
fn chart(h: &mut String, m: Metric, series: &std::collections::VecDeque<(Timestamp, f64)>) {
    let (Some((first, _)), Some((last, latest))) = (series.front(), series.back()) else {
        return;
    };
    let (w, ht) = (240.0, 48.0);
    let span = (last.duration_since(*first).as_secs_f64()).max(1.0);
    let max = series.iter().map(|(_, v)| *v).fold(f64::MIN, f64::max);
    let min = series
        .iter()
        .map(|(_, v)| *v)
        .fold(f64::MAX, f64::min)
        .min(0.0);
    let range = (max - min).max(f64::EPSILON);
    let mut points = String::new();
    for (at, v) in series {
        let x = at.duration_since(*first).as_secs_f64() / span * w;
        let y = ht - (v - min) / range * (ht - 4.0) - 2.0;
        let _ = write!(points, "{x:.1},{y:.1} ");
    }
    let _ = write!(
        h,
        "<figure class=\"chart\" data-metric=\"{name}\"><figcaption>{label}: {val}</figcaption>\
         <svg viewBox=\"0 0 {w} {ht}\" width=\"{w}\" height=\"{ht}\" role=\"img\" \
         aria-label=\"{label} over the last minutes, latest {val}\">\
         <polyline fill=\"none\" stroke=\"currentColor\" stroke-width=\"1.5\" points=\"{points}\"/>\
         </svg></figure>",
        name = m.as_str(),
        label = short(m),
        val = value(m, *latest),
        points = points.trim_end(),
    );
}

fn alerts(h: &mut String, f: &Frame<'_>) {
    h.push_str("<section id=\"alerts\"><h2>Alerts</h2>");
    if f.screen.open.is_empty() && f.screen.resolved.is_empty() {
        h.push_str("<p class=\"muted\">No alert so far.</p></section>");
        return;
    }
    h.push_str(
        "<table><thead><tr><th>State</th><th>Since</th><th>Where</th><th>Rule</th>\
         <th>What</th></tr></thead><tbody>",
    );
    let open = f.screen.open.values();
    let resolved = f.screen.resolved.iter().rev();
    for a in open.chain(resolved).filter(|a| f.shown(&a.event)) {
        let (class, word) = match a.state {
            AlertState::Firing => ("alert", "✖ firing"),
            AlertState::Pending => ("warn", "! pending"),
            AlertState::Resolved => ("ok", "✓ resolved"),
        };
        let _ = write!(
            h,
            "<tr class=\"{class}\" data-alert=\"{id}\" data-rule=\"{rule}\" data-state=\"{st}\">\
             <td>{word}</td>\
             <td>{since}</td><td>{ev} / {rg} / {tier} / {res}</td><td>{rule} ({sev})</td>\
             <td>{msg}</td></tr>",
            id = esc(&a.id),
            st = match a.state {
                AlertState::Firing => "firing",
                AlertState::Pending => "pending",
                AlertState::Resolved => "resolved",
            },
            since = a.since.strftime("%H:%M:%S"),
            ev = esc(&a.event),
            rg = esc(&a.region),
            tier = a.tier.as_str(),
            res = esc(&a.resource),
            rule = esc(&a.rule),
            sev = esc(&a.severity),
            msg = esc(&a.message),
        );
    }
    h.push_str("</tbody></table></section>");
}

fn actions(h: &mut String, f: &Frame<'_>) {
    if f.screen.actions.is_empty() {
        return;
    }
    h.push_str(
        "<section id=\"actions\"><h2>Actions</h2><table><thead><tr><th>At</th><th>Action</th>\
         <th>State</th><th>Where</th><th>Why</th><th>Outcome</th></tr></thead><tbody>",
    );
    for a in f
        .screen
        .actions
        .iter()
        .rev()
        .filter(|a| f.shown(&a.labels.event))
    {
        let _ = write!(
            h,
            "<tr data-action=\"{id}\" data-state=\"{st}\"><td>{at}</td><td>{act} {target}</td>\
             <td>{st}</td><td>{ev} / {rg}</td><td>{reason} <span class=\"muted\">({src}, \
             alert {rule} {ast})</span></td><td>{detail}</td></tr>",
            id = esc(&a.id),
            at = a.at.strftime("%H:%M:%S"),
            act = a.action,
            target = esc(a.target.as_deref().unwrap_or("")),
            st = a.state.as_str(),
            ev = esc(&a.labels.event),
            rg = esc(&a.labels.region),
            reason = esc(&a.reason),
            src = esc(&a.source),
            rule = esc(&a.rule),
            ast = match a.alert_state {
                AlertState::Firing => "firing",
                AlertState::Pending => "pending",
                AlertState::Resolved => "resolved",
            },
            detail = esc(a.detail.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</tbody></table></section>");
}

/// After the show: each region's hand-off to VOD and a link to the event's report.
fn after(h: &mut String, f: &Frame<'_>) {
    let Some(tick) = f.tick else { return };
    let over: Vec<_> = tick.events.iter().filter(|e| f.now >= e.end).collect();
    if over.is_empty() {
        return;
    }
    h.push_str("<section id=\"after\"><h2>After the show</h2><ul>");
    for e in over {
        let _ = write!(h, "<li data-event=\"{id}\"><b>{id}</b>: ", id = esc(&e.id));
        let handoffs: Vec<_> = tick.handoffs.iter().filter(|x| x.event == e.id).collect();
        if handoffs.is_empty() {
            h.push_str("no hand-off recorded yet. ");
        }
        for x in handoffs {
            let said = serde_json::to_value(&x.handoff).unwrap_or_default();
            let state = said["state"]
                .as_str()
                .unwrap_or("unknown")
                .replace('_', " ");
            let _ = write!(h, "VOD in {}: <b>{}</b>", esc(&x.region), esc(&state));
            if let Some(reason) = said["reason"].as_str() {
                let _ = write!(h, " ({})", esc(reason));
            }
            h.push_str(". ");
        }
        let _ = write!(
            h,
            "<a href=\"/console/report/{id}\">Report: cost, efficiency, availability, VOD and \
             its protection</a></li>",
            id = esc(&e.id)
        );
    }
    h.push_str("</ul></section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tick::{EventTick, HandoffReport};
    use crate::schedule::handoff::Handoff;
    use crate::schedule::lead::LeadOrigin;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    /// A show on air with a frozen encoder: an alert firing, a restart waiting for an operator,
    /// and a finished event whose VOD is published.
    fn frame_parts() -> (Screen, TickReport) {
        let mut s = Screen::default();
        let signal = |t: &str, metric: &str, v: f64, tier: &str, res: &str| {
            format!(
                r#"{{"at":"{t}","metric":"{metric}","value":{v},"event":"final","region":"eu-west","tier":"{tier}","resource":"{res}"}}"#
            )
        };
        for (i, t) in ["2030-01-01T20:00:00Z", "2030-01-01T20:00:02Z"]
            .iter()
            .enumerate()
        {
            s.apply(
                "signal",
                &signal(
                    t,
                    "encoder_speed",
                    1.0 - i as f64 * 0.5,
                    "encoder",
                    "encoder",
                ),
            );
            s.apply(
                "signal",
                &signal(
                    t,
                    "playlist_age_s",
                    1.0 + i as f64 * 4.0,
                    "origin",
                    "origin/main",
                ),
            );
            s.apply("signal", &signal(t, "edge_ttfb_ms", 12.0, "edge", "cdn"));
            s.apply("signal", &signal(t, "edge_hit_ratio", 0.9, "edge", "cdn"));
            s.apply(
                "signal",
                &signal(t, "viewer_stall", 0.0, "viewer", "viewer"),
            );
        }
        s.apply(
            "alert",
            r#"{"id":"al-1","rule":"playlist-stale","severity":"critical","state":"firing","at":"2030-01-01T20:00:02Z","since":"2030-01-01T20:00:01Z","metric":"playlist_age_s","value":5.0,"event":"final","region":"eu-west","tier":"origin","resource":"origin/main","message":"the <playlist> is stale"}"#,
        );
        s.apply(
            "action",
            r#"{"id":"act-1","action":"restart","state":"awaiting_approval","at":"2030-01-01T20:00:02Z","alert":"al-1","rule":"playlist-stale","alert_state":"firing","source":"hook:brain","reason":"the encoder looks frozen","target":"encoder","event":"final","region":"eu-west","tier":"origin","resource":"origin/main"}"#,
        );
        let tick = TickReport {
            now: at("2030-01-01T20:00:03Z"),
            events: vec![
                EventTick {
                    id: "final".into(),
                    phase: Phase::Live,
                    start: at("2030-01-01T19:59:00Z"),
                    end: at("2030-01-01T21:00:00Z"),
                    regions: vec!["eu-west".into()],
                    provision_at: at("2030-01-01T19:50:00Z"),
                    release_at: at("2030-01-01T21:05:00Z"),
                    lead: "9m".into(),
                    lead_from: LeadOrigin::Catalog,
                },
                EventTick {
                    id: "semi".into(),
                    phase: Phase::Done,
                    start: at("2030-01-01T17:00:00Z"),
                    end: at("2030-01-01T19:00:00Z"),
                    regions: vec!["eu-west".into()],
                    provision_at: at("2030-01-01T16:50:00Z"),
                    release_at: at("2030-01-01T19:05:00Z"),
                    lead: "10m".into(),
                    lead_from: LeadOrigin::Catalog,
                },
            ],
            removed_events: vec![],
            changes: Default::default(),
            apply: None,
            next_change: None,
            handoffs: vec![HandoffReport {
                event: "semi".into(),
                region: "eu-west".into(),
                handoff: Handoff::Published,
            }],
            alerts: vec![],
        };
        (s, tick)
    }

    #[test]
    fn the_screen_an_operator_reads() {
        let (sc, tick) = frame_parts();
        let probed = vec!["final/eu-west".to_string()];
        let f = Frame {
            screen: &sc,
            tick: Some(&tick),
            role: Role::Operator,
            now: at("2030-01-01T20:00:03Z"),
            probed: &probed,
        };
        let html = screen(&f).replace("><", ">\n<");
        insta::assert_snapshot!(html);
    }

    #[test]
    fn a_viewer_gets_no_buttons_and_nothing_is_unescaped() {
        let (sc, tick) = frame_parts();
        let f = Frame {
            screen: &sc,
            tick: Some(&tick),
            role: Role::Viewer,
            now: at("2030-01-01T20:00:03Z"),
            probed: &[],
        };
        let html = screen(&f);
        assert!(html.contains("act-1") && html.contains("an operator decides"));
        assert!(!html.contains("<button"));
        assert!(html.contains("the &lt;playlist&gt; is stale"));
        assert!(!html.contains("<playlist>"));
        // Off air: no thumbnail is asked for.
        assert!(!html.contains("/console/thumb/"));
    }

    #[test]
    fn text_and_attributes_are_escaped() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn spans_read_as_a_countdown() {
        assert_eq!(span(SignedDuration::from_secs(-3)), "now");
        assert_eq!(span(SignedDuration::from_secs(42)), "42s");
        assert_eq!(span(SignedDuration::from_secs(245)), "4m 05s");
        assert_eq!(span(SignedDuration::from_secs(7800)), "2h 10m");
    }
}
