//! The kinds of resource an event is made of, and which kinds use which. A provider makes
//! some of them (its registration lists which); the blueprint picks them per profile.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Keeps every segment for the VOD; deleted only after a verified VOD.
    Archive,
    /// Packages the live stream (HLS, DASH) behind the CDN.
    Origin,
    /// Where a managed encoder takes its feed (a slate is one too).
    Input,
    /// A managed encoder: a cloud's encoding service, or the local ffmpeg process.
    Encoder,
    /// What admits traffic to an instance encoder (it admits nothing).
    Firewall,
    /// An encoder on a virtual machine (`encoder.engine: instance`).
    Instance,
    Cdn,
    /// The VOD hand-off's resource; published VODs outlive their event.
    Vod,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Archive,
        Kind::Origin,
        Kind::Input,
        Kind::Encoder,
        Kind::Firewall,
        Kind::Instance,
        Kind::Cdn,
        Kind::Vod,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Archive => "archive",
            Kind::Origin => "origin",
            Kind::Input => "input",
            Kind::Encoder => "encoder",
            Kind::Firewall => "firewall",
            Kind::Instance => "instance",
            Kind::Cdn => "cdn",
            Kind::Vod => "vod",
        }
    }

    /// The kinds a resource of this kind may depend on (the blueprint's arrows): it is
    /// created after them and deleted before them. The VOD reads the archive by its place,
    /// not through a dependency: the archive goes once the VOD is verified, and the VOD stays.
    pub fn uses(self) -> &'static [Kind] {
        match self {
            Kind::Archive | Kind::Input | Kind::Firewall | Kind::Vod => &[],
            Kind::Origin => &[Kind::Archive],
            Kind::Encoder => &[Kind::Input, Kind::Origin],
            Kind::Instance => &[Kind::Firewall, Kind::Origin],
            Kind::Cdn => &[Kind::Origin],
        }
    }

    /// Where this kind goes in a teardown without recorded dependencies (sweep): after every
    /// kind that may use it. 0 for what nothing uses; the longest chain of users otherwise.
    pub fn teardown_rank(self) -> u8 {
        Kind::ALL
            .iter()
            .filter(|k| k.uses().contains(&self))
            .map(|k| k.teardown_rank() + 1)
            .max()
            .unwrap_or(0)
    }

    /// Whether resources of this kind encode the ladder (and are watched as tier 1).
    pub fn is_encoder(self) -> bool {
        matches!(self, Kind::Encoder | Kind::Instance)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown resource kind `{0}` (kinds: archive, origin, input, encoder, firewall, instance, cdn, vod)"
)]
pub struct UnknownKind(pub String);

impl FromStr for Kind {
    type Err = UnknownKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_text_and_json() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(k));
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
        }
        assert!("bucket".parse::<Kind>().is_err());
    }

    /// Users go first, what they use after: the archive last, behind the origin.
    #[test]
    fn the_teardown_order_follows_the_dependencies() {
        let rank = |k: Kind| k.teardown_rank();
        for k in Kind::ALL {
            for used in k.uses() {
                assert!(rank(*used) > rank(k), "{k} uses {used}");
            }
        }
        assert_eq!(
            Kind::ALL.map(rank),
            [2, 1, 1, 0, 1, 0, 0, 0],
            "archive, origin, input, encoder, firewall, instance, cdn, vod"
        );
    }
}
