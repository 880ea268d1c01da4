//! `terraform plan`-style text for people.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, Op, Plan};
use crate::config::duration::format_duration;

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    let c = plan.counts();
    if plan.is_empty() {
        out.push_str("No changes. The infrastructure matches the schedule.\n");
    } else {
        out.push_str(
            "Resource actions are shown with these symbols:\n  + create\n  ~ update in place\n-/+ destroy and then create a replacement\n  - destroy\n\norchestrate will perform the following actions:\n",
        );
        for a in plan.actions.iter().filter(|a| a.op != Op::NoOp) {
            out.push('\n');
            action(&mut out, a);
        }
    }
    let _ = writeln!(
        out,
        "\nPlan: {} to add, {} to change, {} to replace, {} to destroy, {} unchanged.",
        c.create, c.update, c.replace, c.delete, c.unchanged
    );
    cost(&mut out, plan);
    out
}

fn action(out: &mut String, a: &Action) {
    let (sym, verb) = match a.op {
        Op::Create => ("  +", "will be created"),
        Op::Update => ("  ~", "will be updated in place"),
        Op::Replace => ("-/+", "must be replaced"),
        Op::Delete => ("  -", "will be destroyed"),
        Op::NoOp => return,
    };
    let _ = write!(out, "  # {} {verb}", a.id);
    if let Some(r) = &a.reason {
        let _ = write!(out, " ({r})");
    }
    out.push('\n');
    let _ = writeln!(out, "{sym} {} \"{}\" {{", a.kind(), a.id);
    match a.op {
        Op::Create => fields(out, "+", a.desired.as_ref().map(|s| s.definition.value())),
        Op::Delete => fields(
            out,
            "-",
            a.recorded.as_ref().map(|r| r.spec.definition.value()),
        ),
        _ if a.changes.is_empty() => {
            fields(out, " ", a.desired.as_ref().map(|s| s.definition.value()))
        }
        _ => {
            for ch in &a.changes {
                let (s, text) = match (&ch.before, &ch.after) {
                    (Some(b), Some(n)) => ("~", format!("{} -> {}", scalar(b), scalar(n))),
                    (None, Some(n)) => ("+", scalar(n)),
                    (Some(b), None) => ("-", format!("{} -> null", scalar(b))),
                    (None, None) => continue,
                };
                let forces = match (ch.forces_replacement, &ch.why) {
                    (true, Some(why)) => format!(" # forces replacement: {why}"),
                    (true, None) => " # forces replacement".to_string(),
                    (false, _) => String::new(),
                };
                let _ = writeln!(out, "      {s} {} = {text}{forces}", ch.field);
            }
        }
    }
    out.push_str("    }\n");
}

fn fields(out: &mut String, sym: &str, def: Option<Value>) {
    match def {
        Some(Value::Object(map)) => {
            let map = &map;
            let width = map.keys().map(String::len).max().unwrap_or(0);
            for (k, v) in map {
                let _ = writeln!(out, "      {sym} {k:<width$} = {}", block(v, 8));
            }
        }
        Some(other) => {
            let _ = writeln!(out, "      {sym} {}", scalar(&other));
        }
        None => {}
    }
}

fn scalar(v: &Value) -> String {
    v.to_string()
}

/// Compact JSON longer than this, when nested, is shown one member per line.
const WIDE: usize = 120;

/// A field's value as a reader takes it in, its later lines indented by `indent`: text of
/// several lines (a cloud-init user-data) as a heredoc, a long list of flat rows (a ladder)
/// one row per line, a long nested document (a MediaLive channel) as indented JSON, the rest
/// as compact JSON.
fn block(v: &Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    match v {
        Value::String(s) if s.contains('\n') => {
            let mut text = String::from("<<-EOT\n");
            for line in s.lines() {
                if !line.is_empty() {
                    text.push_str(&pad);
                    text.push_str("    ");
                    text.push_str(line);
                }
                text.push('\n');
            }
            text.push_str(&pad);
            text.push_str("EOT");
            text
        }
        Value::Array(rows)
            if nested(v) && !rows.iter().any(nested) && v.to_string().len() > WIDE =>
        {
            let mut text = String::from("[\n");
            for row in rows {
                text.push_str(&pad);
                text.push_str("    ");
                text.push_str(&row.to_string());
                text.push_str(",\n");
            }
            text.push_str(&pad);
            text.push(']');
            text
        }
        Value::Object(_) | Value::Array(_) if nested(v) && v.to_string().len() > WIDE => {
            let pretty = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
            pretty.replace('\n', &format!("\n{pad}"))
        }
        _ => v.to_string(),
    }
}

fn nested(v: &Value) -> bool {
    let deep = |x: &Value| matches!(x, Value::Object(_) | Value::Array(_));
    match v {
        Value::Object(m) => m.values().any(deep),
        Value::Array(a) => a.iter().any(deep),
        _ => false,
    }
}

fn cost(out: &mut String, plan: &Plan) {
    let est = &plan.cost;
    if est.events.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nEstimated cost ({}): compute from the catalogs' prices over each window, delivery \
         per GB from the ladder and each event's audience. An estimate, not a bill.",
        est.currency
    );
    let w = est
        .events
        .iter()
        .map(|e| e.event.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let row = |out: &mut String, cells: [&str; 7]| {
        let [a, b, c, d, e, f, g] = cells;
        let _ = writeln!(
            out,
            "  {a:<w$}  {b:<34}  {c:<16}  {d:>9}  {e:>10}  {f:>10}  {g:>10}"
        );
    };
    row(
        out,
        [
            "EVENT",
            "WINDOW (UTC)",
            "LEAD",
            "RESOURCES",
            "COMPUTE",
            "DELIVERY",
            "COST",
        ],
    );
    for e in &est.events {
        let span =
            std::time::Duration::from_secs((e.to.as_second() - e.from.as_second()).max(0) as u64);
        let window = format!(
            "{} → {} ({})",
            e.from.strftime("%Y-%m-%d %H:%M"),
            e.to.strftime("%H:%M"),
            format_duration(span)
        );
        let lead = match e.lead_from {
            Some(from) => format!("{} ({})", e.lead, from.as_str()),
            None => e.lead.clone(),
        };
        let delivery = e
            .delivery
            .as_ref()
            .map_or("–".to_string(), |d| money(d.cost));
        row(
            out,
            [
                &e.event,
                &window,
                &lead,
                &e.resources.to_string(),
                &money(e.compute),
                &delivery,
                &money(e.cost),
            ],
        );
    }
    row(
        out,
        [
            "total",
            "",
            "",
            "",
            &money(est.compute),
            &money(est.delivery),
            &money(est.total),
        ],
    );
    if !est.unpriced.is_empty() {
        let _ = writeln!(out, "Not counted: {}.", est.unpriced.join("; "));
    }
    // Equal up to rounding when one window is all there is: nothing to compare.
    if est.always_on > est.total * 1.001 && est.always_on > 0.0 {
        let _ = writeln!(
            out,
            "Always on from the first window to the last (one set of resources per show on air at once in each region), it would cost {} ({:.0}% more).",
            money(est.always_on),
            (est.always_on / est.total.max(f64::MIN_POSITIVE) - 1.0) * 100.0
        );
    }
}

pub fn money(v: f64) -> String {
    format!("${v:.2}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn text_of_several_lines_is_a_heredoc() {
        let v = json!("#cloud-config\n\nruncmd: []\n");
        assert_eq!(
            block(&v, 8),
            "<<-EOT\n            #cloud-config\n\n            runcmd: []\n        EOT"
        );
    }

    #[test]
    fn only_long_nested_documents_are_spread_over_lines() {
        let tags = json!({"orchestrate:event": "a-rather-long-event-name", "orchestrate:owner": "0c6eb0bc9bc3046e", "orchestrate:region": "eu-west-1"});
        assert_eq!(block(&tags, 8), tags.to_string());
        let short = json!({"a": {"b": 1}});
        assert_eq!(block(&short, 8), r#"{"a":{"b":1}}"#);
        let ladder = json!([{"name": "720p", "width": 1280, "height": 720, "bitrate": 3000000, "fps": 30}, {"name": "360p", "width": 640, "height": 360, "bitrate": 800000, "fps": 30}]);
        assert_eq!(
            block(&ladder, 8),
            format!(
                "[\n            {},\n            {},\n        ]",
                ladder[0], ladder[1]
            )
        );
        let channel = json!({"EncoderSettings": {"VideoDescriptions": [{"Name": "video_720p", "Width": 1280, "Height": 720}, {"Name": "video_360p", "Width": 640, "Height": 360}]}});
        let text = block(&channel, 8);
        assert!(
            text.starts_with("{\n          \"EncoderSettings\": {"),
            "{text}"
        );
        assert!(text.ends_with("\n        }"), "{text}");
    }
}
