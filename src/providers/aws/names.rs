//! Names AWS objects are created under. Each is derived from the owner and the resource id,
//! so a retried or resumed create finds the object the first attempt made, and two projects
//! (owners) sharing an account never collide.

use sha2::{Digest, Sha256};

use crate::model::{ResourceId, ResourceSpec, TAG_OWNER};

/// `orch-<hash of owner and resource id>-<event>-<suffix>`, at most `max` characters of
/// `[a-z0-9-]` (what S3 bucket names and MediaPackage ids both accept).
fn physical(owner: &str, id: &ResourceId, event: &str, suffix: &str, max: usize) -> String {
    let digest = Sha256::digest(format!("{owner}/{}", id.as_str()).as_bytes());
    let hash = hex::encode(&digest[..5]);
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect()
    };
    let mut name = format!("orch-{hash}-{}", clean(event));
    if !suffix.is_empty() {
        name.push('-');
        name.push_str(&clean(suffix));
    }
    name.truncate(max);
    name.trim_end_matches(['-', '.']).to_string()
}

fn owner(spec: &ResourceSpec) -> &str {
    spec.tags.get(TAG_OWNER).map_or("", String::as_str)
}

/// An S3 bucket's name: global, so only the hash and as much of the event as fits in 63.
pub fn bucket(spec: &ResourceSpec) -> String {
    physical(owner(spec), &spec.id, &spec.event, "", 63)
}

/// The name of `spec`'s own object (a MediaPackage channel id, a MediaLive input or channel
/// name, a CloudFront caller reference, a security group name).
pub fn own(spec: &ResourceSpec) -> String {
    physical(owner(spec), &spec.id, &spec.event, &spec.name, 128)
}

/// The name `own` gives a sibling resource `name` of the same event and region: how one
/// resource finds the objects of those it depends on.
pub fn sibling(spec: &ResourceSpec, name: &str) -> String {
    let id = ResourceId::new(&spec.event, &spec.region, name);
    physical(owner(spec), &id, &spec.event, name, 128)
}

/// The name `own` gives the resource `name` of the shared unit `unit` in `spec`'s region: how
/// an event's resource finds what its group shares.
pub fn shared(spec: &ResourceSpec, unit: &str, name: &str) -> String {
    let id = ResourceId::new(unit, &spec.region, name);
    physical(owner(spec), &id, unit, name, 128)
}

/// The MediaPackage v2 channel group of the shared unit `unit` in `spec`'s region, as the
/// unit's CDN makes it.
pub fn channel_group(spec: &ResourceSpec, unit: &str) -> String {
    channel_group_in(spec, unit, &spec.region)
}

/// The channel group of `unit` in `region`: named as a CDN of the unit there would be (the
/// CDN's own name in its own region), so that an event's origin finds it from its own region
/// whether the distribution is there or, global, elsewhere.
pub fn channel_group_in(spec: &ResourceSpec, unit: &str, region: &str) -> String {
    let id = ResourceId::new(unit, region, "cdn");
    physical(owner(spec), &id, unit, "cdn", 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(event: &str, name: &str) -> ResourceSpec {
        let mut s = ResourceSpec::bare("aws", event, "eu-west-1", name, "archive");
        s.tags.insert(TAG_OWNER.to_string(), "owner-1".to_string());
        s
    }

    #[test]
    fn bucket_names_are_valid_unique_and_stable() {
        let a = bucket(&spec("cup-final", "archive"));
        assert_eq!(a, bucket(&spec("cup-final", "archive")));
        assert!(a.starts_with("orch-") && a.ends_with("-cup-final"), "{a}");
        assert_ne!(a, bucket(&spec("cup-semi", "archive")));
        let long = bucket(&spec(&"x-".repeat(24), "archive"));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
        assert!(
            long.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        );
    }

    #[test]
    fn a_sibling_is_named_as_it_names_itself() {
        let enc = spec("cup-final", "encoder-a");
        assert_eq!(sibling(&enc, "input-a"), own(&spec("cup-final", "input-a")));
        assert_eq!(sibling(&enc, "origin"), own(&spec("cup-final", "origin")));
        assert_ne!(own(&enc), sibling(&enc, "encoder-b"));
        assert!(own(&enc).ends_with("-cup-final-encoder-a"));
    }

    #[test]
    fn an_event_names_its_groups_cdn_as_the_cdn_names_itself() {
        let origin = spec("cup-final", "origin");
        let cdn = spec("@aws-live+cup", "cdn");
        assert_eq!(shared(&origin, "@aws-live+cup", "cdn"), own(&cdn));
        assert!(own(&cdn).ends_with("-aws-live-cup-cdn"), "{}", own(&cdn));
        assert_ne!(
            shared(&origin, "@aws-live+cup", "cdn"),
            shared(&origin, "@aws-live+semi", "cdn")
        );
    }
}
