//! The console's pages as HTML (pure): server-rendered, so that a page opened late shows the
//! show so far, and one fragment (`#screen`) that the page's script fetches again whenever the
//! health bus says something changed. States are always written, never shown by colour alone.

use std::fmt::Write as _;

use jiff::{SignedDuration, Timestamp};

mod chain;
mod schedule;
mod tables;

use super::auth::Role;
use super::screen::Screen;
use crate::ops::tick::TickReport;

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
    pub(super) fn shown(&self, event: &str) -> bool {
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
    schedule::schedule(&mut h, f);
    schedule::approvals(&mut h, f);
    chain::places(&mut h, f);
    tables::alerts(&mut h, f);
    tables::actions(&mut h, f);
    tables::after(&mut h, f);
    h
}

pub(super) fn countdown(h: &mut String, label: &str, at: Timestamp, now: Timestamp) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::tick::{EventTick, HandoffReport};
    use crate::schedule::handoff::Handoff;
    use crate::schedule::lead::LeadOrigin;
    use crate::schedule::phase::Phase;

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
