//! Where viewers and contribution feeds reach an event in a region, read from what its
//! resources' providers returned: the edge's `url` (own or the group's shared edge), the
//! encoder's `manifest`, each input's `ingest_url`, and the published VOD's manifests.

use serde::Serialize;

use super::RecordedResource;

/// The output naming a resource's HLS master playlist in full, for origins and CDNs whose
/// paths are the service's own (MediaPackage, CloudFront).
pub const HLS_MANIFEST: &str = "hls_manifest";

/// The output of a CDN shared by a group whose origins' manifests are asked of it at their
/// own paths (CloudFront in front of a MediaPackage v2 channel group): its base URL.
pub const EDGE_FOR_ORIGIN_PATHS: &str = "edge_for_origin_paths";

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

/// The manifest viewers of `event` ask the CDN `cdn` for: the one its provider named
/// (`HLS_MANIFEST`), else the origin's own path at the CDN (`EDGE_FOR_ORIGIN_PATHS`), else the
/// event's `manifest` under the CDN's `url`.
pub fn edge_manifest(
    event: &str,
    cdn: &RecordedResource,
    origin: Option<&RecordedResource>,
    manifest: Option<&str>,
) -> Option<String> {
    let str_of = |r: &RecordedResource, k: &str| {
        r.outputs
            .get(k)
            .and_then(|v| v.as_str())
            .map(|s| s.trim_end_matches('/').to_string())
    };
    str_of(cdn, HLS_MANIFEST)
        .or_else(|| {
            let base = str_of(cdn, EDGE_FOR_ORIGIN_PATHS)?;
            let at_origin = str_of(origin?, HLS_MANIFEST)?;
            let path = reqwest::Url::parse(&at_origin).ok()?.path().to_string();
            Some(format!("{base}{path}"))
        })
        .or_else(|| Some(format!("{}/{event}/{}", str_of(cdn, "url")?, manifest?)))
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
        .filter(|r| r.spec.kind.is_encoder())
        .find_map(|r| r.outputs.get("manifest").and_then(|m| m.as_str()));
    let cdn = by_name("cdn").or(shared_cdn);
    let origin = own.iter().find(|r| r.spec.kind == super::Kind::Origin);
    // A CDN whose only manifest is not HLS (a DASH-only origin) still names it.
    let playback_url = cdn.and_then(|c| {
        edge_manifest(event, c, origin, manifest).or_else(|| str_of(Some(c), "manifest_url"))
    });
    let vod = own
        .iter()
        .find(|r| r.spec.kind == super::Kind::Vod && r.status == super::ResourceStatus::Ready);
    Endpoints {
        playback_url,
        ingest_url: str_of(by_name("input").or(by_name("input-a")), "ingest_url"),
        backup_ingest_url: str_of(by_name("input-b"), "ingest_url"),
        vod_hls: str_of(vod, "hls"),
        vod_dash: str_of(vod, "dash"),
        vod_url_path: str_of(vod, "url_path"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceSpec;
    use serde_json::json;

    fn rec(event: &str, name: &str, kind: &str, outputs: serde_json::Value) -> RecordedResource {
        RecordedResource::ready(
            ResourceSpec::bare("p", event, "eu-west-1", name, kind),
            outputs,
        )
    }

    #[test]
    fn viewers_get_the_cdns_manifest_however_the_provider_names_it() {
        // A CDN that names its manifest (CloudFront in front of one event's endpoint).
        let own = [
            rec("cup", "encoder", "encoder", json!({ "channel_id": "1" })),
            rec(
                "cup",
                "cdn",
                "cdn",
                json!({ (HLS_MANIFEST): "https://d1.cloudfront.net/out/v1/x/index.m3u8" }),
            ),
        ];
        assert_eq!(
            endpoints("cup", &own, None).playback_url.as_deref(),
            Some("https://d1.cloudfront.net/out/v1/x/index.m3u8")
        );
        // A group's CDN asked at the event's own origin path (a MediaPackage v2 channel group).
        let own = [rec(
            "cup",
            "origin",
            "origin",
            json!({ (HLS_MANIFEST): "https://e.egress.example/out/v1/g/c/hls/index.m3u8" }),
        )];
        let group = rec(
            "@p+g",
            "cdn",
            "cdn",
            json!({ (EDGE_FOR_ORIGIN_PATHS): "https://d2.cloudfront.net/" }),
        );
        assert_eq!(
            endpoints("cup", &own, Some(&group)).playback_url.as_deref(),
            Some("https://d2.cloudfront.net/out/v1/g/c/hls/index.m3u8")
        );
        // An edge that routes by event to the encoder's manifest (the local provider's).
        let own = [
            rec(
                "cup",
                "encoder",
                "encoder",
                json!({ "manifest": "master.m3u8" }),
            ),
            rec(
                "cup",
                "cdn",
                "cdn",
                json!({ "url": "http://127.0.0.1:8080" }),
            ),
        ];
        assert_eq!(
            endpoints("cup", &own, None).playback_url.as_deref(),
            Some("http://127.0.0.1:8080/cup/master.m3u8")
        );
        // No CDN: no playback URL.
        assert_eq!(endpoints("cup", &own[..1], None).playback_url, None);
    }
}
