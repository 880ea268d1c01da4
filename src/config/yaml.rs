//! YAML → typed config, with every failure mapped to a [`Diagnostic`] carrying file:line:col.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::{Error as YamlError, Location};

use super::diagnostic::Diagnostic;
pub use crate::suggest::nearest;

/// Parses one YAML document. Unknown fields are rejected by the target types
/// (`deny_unknown_fields`); the error then suggests the closest valid name.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Diagnostic> {
    serde_saphyr::from_str::<T>(text).map_err(|e| to_diagnostic(path, &e))
}

fn to_diagnostic(path: &Path, err: &YamlError) -> Diagnostic {
    let (line, column) = err.location().map(position).unwrap_or((1, 1));
    let message = match innermost(err) {
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => unknown_name("field", field, expected),
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => unknown_name("value", variant, expected),
        YamlError::SerdeMissingField { field, .. } => format!("missing required field `{field}`"),
        other => strip_location(&plain_message(other)),
    };
    Diagnostic::new(path, line, column, "", message)
}

pub(crate) fn position(loc: Location) -> (u64, u64) {
    (loc.line().max(1), loc.column().max(1))
}

/// "unknown field `leed`, did you mean `lead`? expected one of: …"
pub fn unknown_name(what: &str, got: &str, expected: &[&str]) -> String {
    let mut msg = format!("unknown {what} `{got}`");
    if let Some(best) = nearest(got, expected.iter().copied()) {
        msg.push_str(&format!(", did you mean `{best}`?"));
    }
    if !expected.is_empty() {
        let list: Vec<String> = expected.iter().map(|e| format!("`{e}`")).collect();
        msg.push_str(&format!(" (expected one of {})", list.join(", ")));
    }
    msg
}

/// The error itself, out of the wrappers that add source snippets and alias locations.
fn innermost(mut err: &YamlError) -> &YamlError {
    loop {
        match err {
            YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } => {
                err = error
            }
            other => return other,
        }
    }
}

fn plain_message(err: &YamlError) -> String {
    let text = err.without_snippet().to_string();
    text.lines()
        .next()
        .unwrap_or("invalid YAML")
        .trim()
        .to_string()
}

/// Drops the "error: line N column M: " and " at line N column M" that messages carry: the
/// diagnostic prints its own position.
fn strip_location(msg: &str) -> String {
    let mut m = msg.trim_start_matches("error: ");
    if let Some(rest) = m.strip_prefix("line ")
        && let Some(i) = rest.find(": ")
    {
        m = &rest[i + 2..];
    }
    match m.find(" at line ") {
        Some(i) => m[..i].to_string(),
        None => m.to_string(),
    }
}
