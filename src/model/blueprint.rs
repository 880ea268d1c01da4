//! Which resources one event needs in one region, and how they depend on each other.
//!
//! Order of creation (and the reverse for teardown): the archive the origin writes to, then the
//! origin; each pipeline's input, then its encoder (which pushes to the origin); the CDN in front
//! of the origin. A CDN shared by an event group (`cdn.shared`) routes to each event's origin
//! by path and so depends on none of them. The VOD, when the profile asks for one, is made
//! from the archive after the show, and the rest waits for it before going.

use super::{Kind, Profile};
use crate::model::profile_spec::{Engine, Redundancy};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slot {
    /// Unique within an event and region: `encoder`, or `encoder-a`/`encoder-b` when dual.
    pub name: String,
    /// The catalog kind, which also names the template.
    pub kind: Kind,
    /// Pipeline letter for redundant resources.
    pub pipeline: Option<char>,
    pub depends_on: Vec<String>,
    /// Kept once per event group and region (the profile's `cdn.shared`) rather than per event;
    /// a global service's, once per group (see [`crate::model::Catalog::shared_region`]).
    /// A shared slot depends on nothing of any one event.
    pub shared: bool,
    /// Made when the show is over (the VOD), not before it: outside the lead time, and the
    /// event's teardown waits for it.
    pub after_show: bool,
}

pub fn blueprint(profile: &Profile) -> Vec<Slot> {
    let mut slots = Vec::with_capacity(7);
    let archive = profile.origin.archive || profile.vod.enabled;
    if archive {
        slots.push(slot("archive", Kind::Archive, None, &[]));
    }
    let origin_deps: &[&str] = if archive { &["archive"] } else { &[] };
    slots.push(slot("origin", Kind::Origin, None, origin_deps));
    // One encoder (and its inputs) runs both pipelines where the service does so itself.
    let pipelines: &[Option<char>] = match profile.encoder.redundancy {
        Redundancy::Dual if !profile.pipelines_in_one_encoder => &[Some('a'), Some('b')],
        _ => &[None],
    };
    for &p in pipelines {
        let encoder = suffixed("encoder", p);
        match profile.encoder.engine {
            Engine::Managed => {
                let input = suffixed("input", p);
                slots.push(slot(&input, Kind::Input, p, &[]));
                // A backup contribution the channel fails over to by itself.
                let backup = suffixed("backup", p);
                let with_backup = profile.encoder.input.backup.is_some();
                if with_backup {
                    slots.push(slot(&backup, Kind::Input, p, &[]));
                }
                if profile.encoder.slate.is_some() {
                    // A second input the channel loops outside the show.
                    let slate = suffixed("slate", p);
                    slots.push(slot(&slate, Kind::Input, p, &[]));
                    slots.push(slot(
                        &encoder,
                        Kind::Encoder,
                        p,
                        &[&input, &slate, "origin"],
                    ));
                } else {
                    slots.push(slot(&encoder, Kind::Encoder, p, &[&input, "origin"]));
                }
                if with_backup && let Some(enc) = slots.last_mut() {
                    enc.depends_on.push(backup);
                }
            }
            // The machine reads the contribution itself; its firewall admits nothing and
            // can go only once the machine is gone.
            Engine::Instance => {
                let firewall = suffixed("firewall", p);
                slots.push(slot(&firewall, Kind::Firewall, p, &[]));
                slots.push(slot(&encoder, Kind::Instance, p, &[&firewall, "origin"]));
            }
        }
    }
    if profile.vod.enabled {
        // Reads the archive by its place, not through a dependency: the archive is deleted
        // once the VOD is verified, and the VOD stays.
        let mut vod = slot("vod", Kind::Vod, None, &[]);
        vod.after_show = true;
        slots.push(vod);
    }
    if profile.cdn.enabled {
        if profile.cdn.shared {
            let mut cdn = slot("cdn", Kind::Cdn, None, &[]);
            cdn.shared = true;
            slots.push(cdn);
        } else {
            slots.push(slot("cdn", Kind::Cdn, None, &["origin"]));
        }
    }
    slots
}

/// The kinds a profile needs, for checking them against a catalog.
pub fn kinds(profile: &Profile) -> Vec<Kind> {
    let mut k: Vec<_> = blueprint(profile).into_iter().map(|s| s.kind).collect();
    k.sort_unstable();
    k.dedup();
    k
}

fn suffixed(base: &str, p: Option<char>) -> String {
    match p {
        Some(c) => format!("{base}-{c}"),
        None => base.to_string(),
    }
}

fn slot(name: &str, kind: Kind, pipeline: Option<char>, deps: &[&str]) -> Slot {
    Slot {
        name: name.to_string(),
        kind,
        pipeline,
        depends_on: deps.iter().map(|d| d.to_string()).collect(),
        shared: false,
        after_show: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::catalog_spec::Pricing;

    fn names(p: &Profile) -> Vec<String> {
        blueprint(p).into_iter().map(|s| s.name).collect()
    }

    #[test]
    fn one_encoder_runs_both_pipelines_where_the_catalog_says_so_and_is_billed_for_both() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config =
            crate::config::load(root, &[], &crate::providers::registry::Registry::builtin())
                .unwrap();
        let mut dual = config.profiles["sim-dual"].clone();
        assert!(!dual.pipelines_in_one_encoder);
        let per_pipeline = names(&dual);
        for n in ["input-a", "encoder-a", "input-b", "encoder-b"] {
            assert!(per_pipeline.iter().any(|x| x == n), "{per_pipeline:?}");
        }
        let mut catalog = config.catalogs["sim"].clone();
        if let Some(k) = catalog.kinds.get_mut(&Kind::Encoder) {
            k.hourly_price = 0.0;
            k.pricing = Some(Pricing {
                source: "https://example.com/pricing".into(),
                as_of: "2026-12-07".into(),
                per_input_hour: Some(1.0),
                per_output_hour: [("hd".to_string(), 10.0), ("sd".to_string(), 5.0)].into(),
                ..Pricing::default()
            });
        }
        let one = catalog.hourly_price_for(&dual, "eu-west-1", Kind::Encoder);

        dual.pipelines_in_one_encoder = true;
        let together = names(&dual);
        assert!(together.iter().any(|x| x == "encoder"), "{together:?}");
        assert!(together.iter().any(|x| x == "input"), "{together:?}");
        assert!(
            !together
                .iter()
                .any(|x| x.ends_with("-a") || x.ends_with("-b"))
        );
        // The one channel costs what the two did.
        let both = catalog.hourly_price_for(&dual, "eu-west-1", Kind::Encoder);
        let factor = catalog.price_factor("eu-west-1");
        assert!((one - 16.0 * factor).abs() < 1e-9, "{one}");
        assert!((both - 2.0 * one).abs() < 1e-9, "{both} against {one}");
    }
}
