//! What to probe now (pure): each event and region whose encoders and origin the state holds
//! ready, from when they are ready until `end + grace`. Alerts are scoped to `start..end`
//! by the engine; probing starts earlier so that detectors learn the stream before it airs.

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::Tier;
use super::actions::plan::{Plan, Resources};
use super::engine::Window;
use super::probes::content::Rung;
use super::rules::{Rule, compile};
use crate::config::profile::ContentSpec;
use crate::model::{Config, HLS_MANIFEST, Kind, RecordedResource, ResourceStatus, edge_manifest};

#[derive(Debug, Clone)]
pub struct Target {
    pub event: String,
    pub region: String,
    pub window: Window,
    pub rules: Arc<Vec<Rule>>,
    pub plan: Arc<Plan>,
    pub tiers: Vec<Tier>,
    pub segment_s: f64,
    pub provider: String,
    pub encoders: Vec<RecordedResource>,
    /// `(resource label, master playlist URL)` per pipeline at the origin.
    pub origin_masters: Vec<(String, String)>,
    /// The master playlist at the edge.
    pub edge_master: Option<String>,
    /// The edge serving it (the group's, when shared).
    pub cdn: Option<RecordedResource>,
    /// The profile's name: its content analysis shares one CPU budget.
    pub profile: String,
    pub content: ContentSpec,
    pub ladder: Vec<Rung>,
}

impl Target {
    pub fn key(&self) -> String {
        format!("{}/{}", self.event, self.region)
    }

    pub fn resources(&self) -> Resources {
        Resources {
            encoders: self.encoders.clone(),
            cdn: self.cdn.clone(),
        }
    }

    /// Changes whenever the probes would have to start anew (a resource replaced, a URL moved,
    /// the show's start moved: the content tier counts runs from it).
    pub fn fingerprint(&self) -> String {
        let encoders: Vec<&str> = self
            .encoders
            .iter()
            .map(|r| r.provider_id.as_deref().unwrap_or(""))
            .collect();
        format!(
            "{:?}|{:?}|{:?}|{:?}|{}|{:?}|{:?}|{}",
            encoders,
            self.origin_masters,
            self.edge_master,
            self.tiers,
            self.segment_s,
            self.content,
            self.ladder,
            self.window.start
        )
    }
}

/// The HLS master of a pipeline: the encoder's manifest, or for DASH the HLS playlists the
/// encoder writes beside its MPD.
fn hls_master(manifest: &str) -> String {
    if manifest.ends_with(".mpd") {
        let dir = manifest.rsplit_once('/').map_or("", |(d, _)| d);
        if dir.is_empty() {
            "master.m3u8".into()
        } else {
            format!("{dir}/master.m3u8")
        }
    } else {
        manifest.to_string()
    }
}

/// Each profile's rules and actions, compiled once per configuration.
pub type Compiled = BTreeMap<String, (Arc<Vec<Rule>>, Arc<Plan>)>;

pub fn targets(
    config: &Config,
    resources: &[RecordedResource],
    now: Timestamp,
    compiled: &mut Compiled,
) -> Vec<Target> {
    let mut by_place: BTreeMap<(&str, &str), Vec<&RecordedResource>> = BTreeMap::new();
    for r in resources {
        if r.status == ResourceStatus::Ready {
            by_place
                .entry((r.spec.event.as_str(), r.spec.region.as_str()))
                .or_default()
                .push(r);
        }
    }
    let str_of = |r: &RecordedResource, k: &str| {
        r.outputs
            .get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.trim_end_matches('/').to_string())
    };
    let mut out = Vec::new();
    for event in &config.events {
        let Some(profile) = config.profiles.get(&event.profile) else {
            continue;
        };
        if !profile.monitoring.enabled || now >= event.release_at() {
            continue;
        }
        let (rules, plan) = compiled
            .entry(profile.name.clone())
            .or_insert_with(|| (Arc::new(compile(profile)), Arc::new(Plan::of(profile))))
            .clone();
        let shared = event.shared_unit(profile);
        for region in &event.regions {
            let Some(own) = by_place.get(&(event.id.as_str(), region.as_str())) else {
                continue;
            };
            let encoders: Vec<RecordedResource> = own
                .iter()
                .filter(|r| r.spec.kind.is_encoder())
                .map(|r| (*r).clone())
                .collect();
            let Some(origin) = own.iter().find(|r| r.spec.kind == Kind::Origin) else {
                continue;
            };
            let Some(first) = encoders.first() else {
                continue;
            };
            let manifest = hls_master(&str_of(first, "manifest").unwrap_or_default());
            // An origin that packages the pipelines itself (MediaPackage) names the one
            // manifest viewers get; a plain HTTP origin serves each pipeline under its name.
            let origin_masters: Vec<(String, String)> =
                match (str_of(origin, HLS_MANIFEST), str_of(origin, "url")) {
                    (Some(m), _) => vec![("origin/main".to_string(), m)],
                    (None, Some(origin_url)) => encoders
                        .iter()
                        .filter_map(|e| {
                            let p = str_of(e, "pipeline")?;
                            Some((
                                format!("origin/{p}"),
                                format!("{origin_url}/{p}/{manifest}"),
                            ))
                        })
                        .collect(),
                    (None, None) => continue,
                };
            let cdn = own
                .iter()
                .find(|r| r.spec.kind == Kind::Cdn)
                .copied()
                .or_else(|| {
                    let unit = shared.as_deref()?;
                    let home = config
                        .catalogs
                        .get(&profile.provider)
                        .map_or(region.as_str(), |c| c.shared_region(profile, region));
                    by_place
                        .get(&(unit, home))?
                        .iter()
                        .find(|r| r.spec.kind == Kind::Cdn)
                        .copied()
                });
            let edge_master =
                cdn.and_then(|c| edge_manifest(&event.id, c, Some(origin), Some(&manifest)));
            out.push(Target {
                event: event.id.clone(),
                region: region.clone(),
                window: Window {
                    start: event.start,
                    end: event.end,
                },
                rules: rules.clone(),
                plan: plan.clone(),
                // The content tier decodes the picture, which an encrypted stream hides.
                tiers: profile
                    .monitoring
                    .tiers
                    .iter()
                    .copied()
                    .filter(|t| *t != Tier::Content || profile.origin.drm.is_none())
                    .collect(),
                segment_s: profile.segment_duration.as_secs_f64(),
                provider: profile.provider.clone(),
                encoders,
                origin_masters,
                edge_master,
                cdn: cdn.cloned(),
                profile: profile.name.clone(),
                content: profile.monitoring.content.clone(),
                ladder: profile
                    .encoder
                    .ladder
                    .iter()
                    .map(|r| Rung {
                        name: r.name.clone(),
                        width: r.width,
                        height: r.height,
                        bitrate: r.bitrate.0,
                    })
                    .collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::EDGE_FOR_ORIGIN_PATHS;

    fn rec(name: &str, kind: &str, outputs: serde_json::Value) -> RecordedResource {
        RecordedResource::ready(
            crate::model::ResourceSpec::bare("aws", "cup-final", "eu-west-1", name, kind),
            outputs,
        )
    }

    /// A project of the repository's aws catalog, these files (copied from the repository, or
    /// written), loaded.
    fn aws_config(copied: &[(&str, &str)], written: &[(&str, &str)]) -> Config {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let dir = tempfile::tempdir().unwrap();
        let at = |to: &str| {
            let path = dir.path().join(to);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            path
        };
        for (from, to) in [("providers/aws.yaml", "providers/aws.yaml")]
            .iter()
            .chain(copied)
        {
            std::fs::copy(repo.join(from), at(to)).unwrap();
        }
        for (to, text) in written {
            std::fs::write(at(to), text).unwrap();
        }
        crate::config::load(
            dir.path(),
            &[],
            &crate::providers::registry::Registry::builtin(),
        )
        .unwrap()
    }

    /// An encoder, an origin naming its HLS manifest, and `cdn`.
    fn probed(origin_hls: &str, cdn: RecordedResource) -> [RecordedResource; 3] {
        [
            rec(
                "encoder",
                "encoder",
                serde_json::json!({ "channel_id": "1" }),
            ),
            rec(
                "origin",
                "origin",
                serde_json::json!({ (HLS_MANIFEST): origin_hls }),
            ),
            cdn,
        ]
    }

    #[test]
    fn a_packaging_origin_and_its_cdn_are_probed_at_the_manifests_they_name() {
        let config = aws_config(
            &[
                (
                    "examples/aws-moto/profiles/aws-live.yaml",
                    "profiles/aws-live.yaml",
                ),
                (
                    "examples/aws-moto/schedules/aws-moto.yaml",
                    "schedules/aws-moto.yaml",
                ),
            ],
            &[],
        );
        let origin_hls = "https://abc.mediapackage.eu-west-1.amazonaws.com/out/v1/x/index.m3u8";
        let edge_hls = "https://d111.cloudfront.net/out/v1/x/index.m3u8";
        let cdn = rec(
            "cdn",
            "cdn",
            serde_json::json!({ (HLS_MANIFEST): edge_hls }),
        );
        let resources = probed(origin_hls, cdn);
        let start = config.events[0].start;
        let t = targets(&config, &resources, start, &mut Compiled::new());
        let eu: Vec<&Target> = t.iter().filter(|t| t.region == "eu-west-1").collect();
        assert_eq!(eu.len(), 1);
        assert_eq!(
            eu[0].origin_masters,
            [("origin/main".to_string(), origin_hls.to_string())]
        );
        assert_eq!(eu[0].edge_master.as_deref(), Some(edge_hls));
        assert_eq!(eu[0].encoders.len(), 1);
    }

    #[test]
    fn a_groups_cdn_is_probed_at_each_events_own_origin_path() {
        let config = aws_config(
            &[(
                "examples/aws-moto/profiles/aws-shared.yaml",
                "profiles/aws-shared.yaml",
            )],
            &[(
                "schedules/cup.yaml",
                "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - id: cup-final\n    start: 2026-12-05T19:45:00Z\n    end: 2026-12-05T22:00:00Z\n    profile: aws-shared\n    group: cup\n    regions: [eu-west-1]\n",
            )],
        );
        let origin_hls =
            "https://e1.egress.x.mediapackagev2.eu-west-1.amazonaws.com/out/v1/g/c/hls/index.m3u8";
        // The group's distribution is global: kept in us-east-1, it fronts the eu-west-1 show.
        let cdn = RecordedResource::ready(
            crate::model::ResourceSpec::bare("aws", "@aws-shared+cup", "us-east-1", "cdn", "cdn"),
            serde_json::json!({ (EDGE_FOR_ORIGIN_PATHS): "https://d222.cloudfront.net" }),
        );
        let resources = probed(origin_hls, cdn);
        let t = targets(
            &config,
            &resources,
            config.events[0].start,
            &mut Compiled::new(),
        );
        assert_eq!(t.len(), 1);
        assert_eq!(
            t[0].edge_master.as_deref(),
            Some("https://d222.cloudfront.net/out/v1/g/c/hls/index.m3u8")
        );
    }

    #[test]
    fn dash_pipelines_are_probed_through_their_hls_playlists() {
        assert_eq!(hls_master("manifest.mpd"), "master.m3u8");
        assert_eq!(hls_master("x/manifest.mpd"), "x/master.m3u8");
        assert_eq!(hls_master("master.m3u8"), "master.m3u8");
    }
}
