//! Where viewers and contribution feeds reach an event in a region, read from what its
//! resources' providers returned: the edge's `url` (own or the group's shared edge), the
//! encoder's `manifest`, each input's `ingest_url`, and the published VOD's manifests.

use serde::Serialize;

use super::RecordedResource;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Endpoints {
    /// The manifest at the edge.
    pub playback_url: Option<String>,
    /// Where the (primary) contribution feed is pushed, for SRT and RTMP inputs.
    pub ingest_url: Option<String>,
    /// The backup pipeline's ingest, for dual pipelines.
    pub backup_ingest_url: Option<String>,
    /// The published VOD's HLS and DASH manifests, where the provider keeps them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vod_hls: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vod_dash: Option<String>,
    /// The VOD's path on a VOD server (`orchestrate vod serve` for the local provider).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vod_url_path: Option<String>,
}

/// `own` are the event's resources in the region; `shared_cdn` the group's edge there, if any.
pub fn endpoints(
    event: &str,
    own: &[RecordedResource],
    shared_cdn: Option<&RecordedResource>,
) -> Endpoints {
    let by_name = |n: &str| own.iter().find(|r| r.spec.name == n);
    let str_of = |r: Option<&RecordedResource>, k: &str| {
        r.and_then(|r| r.outputs.get(k))
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    let manifest = own
        .iter()
        .filter(|r| super::is_encoder(&r.spec.kind))
        .find_map(|r| r.outputs.get("manifest").and_then(|m| m.as_str()));
    let cdn = by_name("cdn").or(shared_cdn);
    let playback_url = match (str_of(cdn, "url"), manifest) {
        (Some(url), Some(m)) => Some(format!("{url}/{event}/{m}")),
        _ => None,
    };
    let vod = own
        .iter()
        .find(|r| r.spec.kind == super::VOD_KIND && r.status == super::ResourceStatus::Ready);
    Endpoints {
        playback_url,
        ingest_url: str_of(by_name("input").or(by_name("input-a")), "ingest_url"),
        backup_ingest_url: str_of(by_name("input-b"), "ingest_url"),
        vod_hls: str_of(vod, "hls"),
        vod_dash: str_of(vod, "dash"),
        vod_url_path: str_of(vod, "url_path"),
    }
}
