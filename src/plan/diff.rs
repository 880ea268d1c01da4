//! Field-level differences between two definitions, as dotted paths.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Dotted path in the definition, e.g. `ladder[1].bitrate`.
    pub field: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// The catalog lists this field's top level in the kind's `replace_on`.
    pub forces_replacement: bool,
}

pub fn diff_values(before: &Value, after: &Value, replace_on: &[String]) -> Vec<Change> {
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    for c in &mut out {
        let top = c.field.split(['.', '[']).next().unwrap_or("");
        c.forces_replacement = replace_on.iter().any(|f| f == top);
    }
    out
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
        let c = diff_values(&a, &b, &["codec".to_string()]);
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
}
