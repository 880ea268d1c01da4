//! Field-level differences between two definitions, as dotted paths.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Dotted path in the definition, e.g. `ladder[1].bitrate`.
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The catalog lists this field, or one holding it, in the kind's `replace_on`.
    pub forces_replacement: bool,
    /// Why, as the catalog's `replace_why` says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

/// The changes from `before` to `after`; a change forces a replacement where `replace_on`
/// names its field or one holding it (`channel` holds `channel.ChannelClass` and
/// `channel.Outputs[0]`), with the reason `replace_why` gives that entry.
pub fn diff_values(
    before: &Value,
    after: &Value,
    replace_on: &[String],
    replace_why: &std::collections::BTreeMap<String, String>,
) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    for c in &mut out {
        let holder = replace_on.iter().find(|r| holds(r, &c.field));
        c.forces_replacement = holder.is_some();
        c.why = holder.and_then(|r| replace_why.get(r).cloned());
    }
    out
}

/// Whether the field at `path` is `field` or lies within it.
fn holds(field: &str, path: &str) -> bool {
    path.strip_prefix(field)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<Change>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for (k, va) in x {
                let p = join(path, k);
                match y.get(k) {
                    Some(vb) => walk(&p, va, vb, out),
                    None => out.push(change(p, Some(va), None)),
                }
            }
            for (k, vb) in y {
                if !x.contains_key(k) {
                    out.push(change(join(path, k), None, Some(vb)));
                }
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (va, vb)) in x.iter().zip(y).enumerate() {
                walk(&format!("{path}[{i}]"), va, vb, out);
            }
        }
        _ if a != b => out.push(change(path.to_string(), Some(a), Some(b))),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn change(field: String, before: Option<&Value>, after: Option<&Value>) -> Change {
    Change {
        field,
        before: before.cloned(),
        after: after.cloned(),
        forces_replacement: false,
        why: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_changes_have_paths() {
        let a = json!({"codec": "h264", "ladder": [{"b": 1}, {"b": 2}], "gone": 1});
        let b = json!({"codec": "h265", "ladder": [{"b": 1}, {"b": 3}], "new": 2});
        let c = diff_values(&a, &b, &["codec".to_string()], &Default::default());
        let fields: Vec<_> = c
            .iter()
            .map(|c| (c.field.as_str(), c.forces_replacement))
            .collect();
        assert_eq!(
            fields,
            vec![
                ("codec", true),
                ("gone", false),
                ("ladder[1].b", false),
                ("new", false)
            ]
        );
    }

    #[test]
    fn a_replace_on_entry_holds_the_fields_within_it_and_says_why() {
        let a =
            json!({"channel": {"ChannelClass": "SINGLE_PIPELINE", "Outputs": [1]}, "channelx": 1});
        let b = json!({"channel": {"ChannelClass": "STANDARD", "Outputs": [2]}, "channelx": 2});
        let why = [(
            "channel.ChannelClass".to_string(),
            "a class changes only by a new channel".to_string(),
        )]
        .into();
        let c = diff_values(&a, &b, &["channel.ChannelClass".to_string()], &why);
        let by: std::collections::BTreeMap<_, _> = c
            .iter()
            .map(|c| (c.field.as_str(), (c.forces_replacement, c.why.clone())))
            .collect();
        assert_eq!(
            by["channel.ChannelClass"],
            (
                true,
                Some("a class changes only by a new channel".to_string())
            )
        );
        assert_eq!(by["channel.Outputs[0]"], (false, None));
        // A name that merely starts the same is not within it.
        assert_eq!(by["channelx"], (false, None));
        let c = diff_values(&a, &b, &["channel".to_string()], &Default::default());
        assert!(
            c.iter()
                .filter(|c| c.field.starts_with("channel."))
                .all(|c| c.forces_replacement)
        );
    }
}
