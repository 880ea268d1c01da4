//! The report as `orchestrate report` prints it (pure).

use std::fmt::Write as _;

use super::Report;
use crate::plan::display::money;

pub fn text(r: &Report, start: jiff::Timestamp, end: jiff::Timestamp) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: on air {} → {} ({:.0} min)",
        r.event,
        start.strftime("%Y-%m-%d %H:%M"),
        end.strftime("%H:%M"),
        r.on_air_minutes
    );
    if r.resources == 0 {
        let _ = writeln!(out, "Nothing has been provisioned for it.");
        return out;
    }
    let _ = writeln!(
        out,
        "  {:<9} {:<16} {:>9} {:>12} {:>10}",
        "KIND", "REGION", "RESOURCES", "BILLED MIN", "COST"
    );
    for u in &r.by_kind {
        let _ = writeln!(
            out,
            "  {:<9} {:<16} {:>9} {:>12.1} {:>10}",
            u.kind.as_str(),
            u.region,
            u.resources,
            u.billed_minutes,
            money(u.cost)
        );
    }
    let _ = writeln!(
        out,
        "  {:<9} {:<16} {:>9} {:>12.1} {:>10}",
        "compute",
        "",
        r.resources,
        r.billed_minutes,
        money(r.compute_cost)
    );
    if let Some(d) = &r.delivery {
        let _ = writeln!(
            out,
            "  {:<9} {:<16} {:>9} {:>12} {:>10}",
            "delivery",
            format!("{:.0} GB", d.ingest_gb + d.origin_out_gb + d.viewers_gb),
            "",
            "",
            money(d.cost)
        );
    }
    let _ = writeln!(
        out,
        "  {:<9} {:<16} {:>9} {:>12} {:>10}",
        "total",
        "",
        "",
        "",
        money(r.cost)
    );
    let _ = writeln!(
        out,
        "Cost is an estimate: billed minutes at the catalog's prices, and delivery from the \
         ladder's bitrates{}.",
        match &r.delivery {
            Some(d) if d.viewers_gb > 0.0 => format!(
                " (ingest {:.1} GB, origin out {:.1} GB, to viewers {:.1} GB at the peak \
                 audience for the whole show)",
                d.ingest_gb, d.origin_out_gb, d.viewers_gb
            ),
            Some(d) => format!(
                " (ingest {:.1} GB, origin out {:.1} GB)",
                d.ingest_gb, d.origin_out_gb
            ),
            None => String::new(),
        }
    );
    if let Some(d) = r.delivery.as_ref().filter(|d| !d.unpriced.is_empty()) {
        let _ = writeln!(out, "Not counted: {}.", d.unpriced.join("; "));
    }
    let _ = writeln!(
        out,
        "Provisioning took {:.1} resource-minutes. Billed before the show: {:.1} (creating, \
         then ready and waiting); after it: {:.1} (grace, teardown).",
        r.provisioning_minutes, r.before_show_minutes, r.after_show_minutes
    );
    if let Some(e) = r.efficiency {
        let _ = writeln!(
            out,
            "Efficiency, billed / (on-air + minimum provisioning): {e:.2} (1.00: each resource \
             created exactly when needed and gone when the show ends)."
        );
    }
    if let Some(n) = r.billed_over_needed {
        let _ = writeln!(
            out,
            "Billed over needed, billed / (on-air + grace + minimum provisioning): {n:.2}."
        );
    }
    if r.still_running > 0 {
        let _ = writeln!(
            out,
            "{} resource(s) still exist and are billed until now.",
            r.still_running
        );
    }
    if let Some(h) = &r.health {
        health(&mut out, h);
    }
    for v in &r.vod {
        let s = |k: &str| v[k].as_str().unwrap_or("-").to_string();
        let _ = writeln!(
            out,
            "VOD in {} ({}): {} {:.0} s, on air {} → {}, packaged in {:.1} s: {}",
            s("region"),
            s("status"),
            s("scheme"),
            v["duration_s"].as_f64().unwrap_or(0.0),
            s("on_air_from"),
            s("on_air_to"),
            v["packaging_ms"].as_f64().unwrap_or(0.0) / 1000.0,
            s("hls"),
        );
    }
    out
}

fn health(out: &mut String, h: &crate::report::health::HealthReport) {
    let _ = writeln!(out, "Availability while on air (no critical alert firing):");
    let _ = writeln!(
        out,
        "  {:<16} {:<8} {:>8} {:>8}",
        "REGION", "TIER", "UP", "DOWN S"
    );
    for a in &h.availability {
        let _ = writeln!(
            out,
            "  {:<16} {:<8} {:>7.2}% {:>8.1}",
            a.region, a.tier, a.percent, a.down_s
        );
    }
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |s| format!("{s:.1} s"));
    let _ = writeln!(
        out,
        "Alerts fired: {}; mean time to detect {}, to recover {}.",
        h.incidents.len(),
        fmt(h.mean_ttd_s),
        fmt(h.mean_ttr_s)
    );
    if !h.timeline.is_empty() {
        let _ = writeln!(out, "Timeline:");
        for t in &h.timeline {
            let _ = writeln!(
                out,
                "  {}  {:<6} {:<10} {:<17} {} {}",
                t.at.strftime("%H:%M:%S"),
                t.kind,
                t.region,
                t.state,
                t.tier,
                t.text
            );
        }
    }
}
