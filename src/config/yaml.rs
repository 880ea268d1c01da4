//! YAML → typed config, with every failure mapped to a [`Diagnostic`] carrying file:line:col.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_saphyr::{Error as YamlError, Location};

use super::diagnostic::Diagnostic;

/// Parses one YAML document. Unknown fields are rejected by the target types
/// (`deny_unknown_fields`); the error then suggests the closest valid name.
pub fn parse<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, Diagnostic> {
    serde_saphyr::from_str::<T>(text).map_err(|e| to_diagnostic(path, &e))
}

fn to_diagnostic(path: &Path, err: &YamlError) -> Diagnostic {
    let (line, column) = err.location().map(position).unwrap_or((1, 1));
    let message = match err {
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

/// The closest candidate by edit distance, if it is close enough to be a plausible typo.
pub fn nearest<'a>(got: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(got, c), c))
        .filter(|(d, c)| *d <= (c.len().max(got.len()) / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn plain_message(err: &YamlError) -> String {
    // The crate's Display renders a source snippet; the first line is the message.
    let text = err.to_string();
    text.lines().next().unwrap_or("invalid YAML").trim().to_string()
}

/// Drops a trailing " at line N column M" that some messages carry: we print our own position.
fn strip_location(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}
