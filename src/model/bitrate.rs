//! Bitrates written the way engineers write them: `3000k`, `4.5M`, or plain bits per second.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer, de};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bitrate(pub u64);

impl Bitrate {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let (num, mult) = match t.char_indices().last() {
            Some((i, 'k' | 'K')) => (&t[..i], 1_000.0),
            Some((i, 'm' | 'M')) => (&t[..i], 1_000_000.0),
            _ => (t, 1.0),
        };
        let v: f64 = num.trim().parse().map_err(|_| {
            format!("invalid bitrate `{s}` (expected e.g. `3000k`, `4.5M` or `800000`)")
        })?;
        if !v.is_finite() || v <= 0.0 {
            return Err(format!("bitrate `{s}` must be positive"));
        }
        Ok(Bitrate((v * mult).round() as u64))
    }
}

impl fmt::Display for Bitrate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(1_000_000) {
            write!(f, "{}M", self.0 / 1_000_000)
        } else if self.0.is_multiple_of(1000) {
            write!(f, "{}k", self.0 / 1000)
        } else {
            write!(f, "{}", self.0)
        }
    }
}

impl Serialize for Bitrate {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Bitrate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Bitrate;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a bitrate such as `3000k`, `4.5M` or 800000")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Bitrate, E> {
                if v == 0 {
                    return Err(E::custom("bitrate must be positive"));
                }
                Ok(Bitrate(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Bitrate, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("bitrate must be positive"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Bitrate, E> {
                Bitrate::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Bitrate, E> {
                Bitrate::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl JsonSchema for Bitrate {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Bitrate".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Bits per second: `3000k`, `4.5M` or a plain number",
            "anyOf": [
                {"type": "integer", "minimum": 1},
                {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?[kKmM]?$"}
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn parses_suffixes() {
        assert_eq!(Bitrate::parse("3000k"), Ok(Bitrate(3_000_000)));
        assert_eq!(Bitrate::parse("4.5M"), Ok(Bitrate(4_500_000)));
        assert_eq!(Bitrate::parse("800000"), Ok(Bitrate(800_000)));
        assert!(Bitrate::parse("fast").is_err());
        assert!(Bitrate::parse("-1k").is_err());
    }
}
