//! Durations as people write them in YAML: `15m`, `1h30m`, `90s`, `500ms`, or ISO 8601 (`PT15M`).

use std::fmt;
use std::time::Duration;

use jiff::SignedDuration;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

/// Parses a non-negative duration. The error text is meant to follow "field: ".
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let signed: SignedDuration = t
        .parse()
        .map_err(|_| format!("malformed duration `{s}` (expected e.g. `90s`, `15m`, `1h30m`)"))?;
    if signed.is_negative() {
        return Err(format!("duration `{s}` must not be negative"));
    }
    Duration::try_from(signed).map_err(|_| format!("duration `{s}` is out of range"))
}

/// Formats a duration the way it is written in the YAML files (`1h30m`, `45s`, `250ms`).
/// `d` as a signed duration for timestamp arithmetic; zero when it is too long to represent.
pub fn signed(d: Duration) -> SignedDuration {
    SignedDuration::try_from(d).unwrap_or(SignedDuration::ZERO)
}

pub fn format_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    if !ms.is_multiple_of(1000) && ms < 60_000 {
        return format!("{:.1}s", ms as f64 / 1000.0);
    }
    // Hours are the largest unit: days are calendar units that the parser rejects.
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// A duration field that fails deserialization (with its position) when malformed.
/// Used in the catalogs; schedules and profiles keep raw strings so that validation
/// can report every bad value at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct HumanDuration(pub Duration);

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for HumanDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse_duration(&s)
            .map(HumanDuration)
            .map_err(de::Error::custom)
    }
}

impl Serialize for HumanDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_duration(self.0))
    }
}

impl JsonSchema for HumanDuration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A duration: `90s`, `15m`, `1h30m`, `500ms` or ISO 8601 `PT15M`"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("PT15M"), Ok(Duration::from_secs(900)));
    }

    #[test]
    fn rejects_negative_and_garbage() {
        assert!(parse_duration("-5m").unwrap_err().contains("negative"));
        assert!(parse_duration("soon").unwrap_err().contains("malformed"));
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["15m", "1h30m", "45s", "250ms", "26h", "1.5s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
    }
}
