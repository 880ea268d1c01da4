//! Each place's signal chain: its thumbnail, a node per tier's resource, and the charts.

use std::fmt::Write as _;

use jiff::Timestamp;

use super::{Frame, esc};
use crate::console::auth::Role;
use crate::console::screen::{CHAIN, CHARTED, Health, Place, readings};
use crate::monitor::Metric;

pub(super) fn places(h: &mut String, f: &Frame<'_>) {
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
