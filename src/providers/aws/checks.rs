//! What the aws provider checks of its catalog and of the profiles that name it, reported
//! by validation with every other error.

use std::collections::BTreeMap;

use crate::config::Finding;
use crate::config::catalog::KindEntry;
use crate::config::profile::{InputKind, Packaging, ProfileFile, ReactionKind};
use crate::model::Kind;

/// The addresses a MediaLive pull input reads from.
pub const AWS_INPUT_SCHEMES: &[&str] = &["s3://", "s3ssl://", "https://", "http://"];

/// What the aws provider can build today: MediaLive inputs pulling from a URL or taking an
/// RTMP push from listed networks, EC2 encoders pulling from a URL, and a CDN per event (see
/// docs/providers.md).
pub fn profile(p: &ProfileFile, kinds: &BTreeMap<Kind, KindEntry>) -> Vec<Finding> {
    let mut out = Vec::new();
    let address = p.encoder.input.address.as_deref().unwrap_or("");
    let url = AWS_INPUT_SCHEMES.iter().any(|s| address.starts_with(s));
    let managed = p.encoder.engine == crate::config::profile::Engine::Managed;
    // A shared CDN fronts a MediaPackage v2 channel group: its origins are v2 channels.
    let v2 = p.cdn.enabled && p.cdn.shared;
    let reader = if managed {
        "MediaLive"
    } else {
        "an EC2 encoder"
    };
    match p.encoder.input.kind {
        InputKind::File if !address.is_empty() && !url => {
            out.push(Finding::new(
                "encoder.input.address",
                format!("{reader} reads a file from an s3:// or https:// URL, not `{address}`"),
            ));
        }
        InputKind::File => {}
        InputKind::Rtmp if managed => {
            if p.encoder.input.address.is_some() {
                out.push(Finding::new(
                    "encoder.input.address",
                    "MediaLive chooses where an RTMP push input listens: leave `address` out; `orchestrate status` shows the push URL once it exists",
                ));
            }
            if p.encoder.input.allow.is_empty() {
                out.push(Finding::new(
                    "encoder.input.allow",
                    "a MediaLive RTMP push input admits only the networks listed here: name the contribution's source networks, such as `allow: [203.0.113.0/24]`",
                ));
            }
        }
        // MediaLive calls out to the contribution encoder, which listens.
        InputKind::Srt if managed => {
            if crate::config::srt_listener(address).is_none() {
                out.push(Finding::new(
                    "encoder.input.address",
                    format!(
                        "MediaLive calls the contribution's SRT listener (SRT_CALLER): give its address as srt://host:port, not `{address}`"
                    ),
                ));
            }
        }
        _ if managed => {
            out.push(Finding::new(
                "encoder.input.type",
                "MediaLive takes the feed from a URL (`file` with an s3:// or https:// address), as an RTMP push (`rtmp` with `allow`), or by calling an SRT listener (`srt` with its address)",
            ));
        }
        _ => {
            out.push(Finding::new(
                "encoder.input.type",
                "an EC2 encoder reads the feed from a URL: use `file` with an s3:// or https:// address",
            ));
        }
    }
    if let Some(b) = &p.encoder.input.backup {
        backup(p, b, managed, &mut out);
    }
    if p.encoder.slate.is_some() && !managed {
        out.push(Finding::new(
            "encoder.slate",
            "only MediaLive (`engine: managed`) shows a slate and switches to the feed on schedule",
        ));
    }
    if let Some(slate) = &p.encoder.slate
        && !AWS_INPUT_SCHEMES.iter().any(|s| slate.starts_with(s))
    {
        out.push(Finding::new(
            "encoder.slate",
            format!("MediaLive reads the slate from an s3:// or https:// URL, not `{slate}`"),
        ));
    }
    // Two EC2 encoders push to the MediaPackage channel's two ingest endpoints, one each;
    // on MediaLive, one STANDARD channel runs both pipelines, which the catalog must say.
    let dual = p.encoder.redundancy == crate::config::profile::Redundancy::Dual;
    // Without a catalog, its absence is the error reported.
    let standard = managed
        && dual
        && kinds
            .get(&Kind::Encoder)
            .is_none_or(|k| k.pipelines == Some(2));
    if managed && dual && !standard {
        out.push(Finding::new(
            "provider",
            "`redundancy: dual` on MediaLive is one STANDARD channel running both pipelines: the aws catalog's encoder kind needs `pipelines: 2`",
        ));
    }
    for (i, a) in p.monitoring.actions.iter().enumerate() {
        if a.action == ReactionKind::Failover && !standard {
            out.push(Finding::new(
                format!("monitoring.actions[{i}].do"),
                "on aws, `failover` switches between the two pipelines of a MediaLive STANDARD channel: it needs `encoder.engine: managed` and `redundancy: dual`",
            ));
        }
    }
    if p.vod.enabled {
        vod(p, &mut out);
    }
    if let Some(d) = &p.origin.drm {
        live_drm(p, d, kinds, &mut out);
    }
    if v2 && !managed {
        out.push(Finding::new(
            "cdn.shared",
            "a CDN shared by an event group puts its origins on MediaPackage v2, which only MediaLive (`encoder.engine: managed`) feeds here",
        ));
    }
    // The EC2 encoder reads its ingest credentials at boot, as this role.
    if !managed && kinds.get(&Kind::Instance).is_some_and(|k| k.role.is_none()) {
        out.push(Finding::new(
            "provider",
            "`encoder.engine: instance` needs `kinds.instance.role` in the aws catalog: an IAM instance profile allowed mediapackage:DescribeChannel (and s3:GetObject for an s3:// input)",
        ));
    }
    // MediaLive reads its inputs and writes to MediaPackage as this role: a real account
    // refuses a channel without one.
    if managed
        && kinds
            .get(&Kind::Encoder)
            .is_some_and(|k| !k.role.as_deref().is_some_and(|r| r.starts_with("arn:")))
    {
        out.push(Finding::new(
            "provider",
            "`encoder.engine: managed` needs `kinds.encoder.role` in the aws catalog: the ARN of the IAM role MediaLive assumes (trusting medialive.amazonaws.com), such as MediaLiveAccessRole",
        ));
    }
    // MediaPackage (v1) writes the harvested VOD into S3 as this role; v2's harvester is let
    // write by the VOD bucket's policy instead.
    if p.vod.enabled && !v2 && kinds.get(&Kind::Vod).is_some_and(|k| k.role.is_none()) {
        out.push(Finding::new(
            "provider",
            "`vod.enabled` needs `kinds.vod.role` in the aws catalog: the ARN of an IAM role MediaPackage may assume, allowed to write to S3",
        ));
    }
    out
}

/// The services the aws provider calls, as a catalog's `service_rate_limits` names them.
pub const SERVICES: &[&str] = &[
    "s3",
    "medialive",
    "mediapackage",
    "mediapackagev2",
    "cloudfront",
    "ec2",
];

/// A backup contribution: MediaLive's automatic input failover, from an input of the same
/// type, addressed as the primary is.
fn backup(
    p: &ProfileFile,
    b: &crate::model::profile_spec::BackupInput,
    managed: bool,
    out: &mut Vec<Finding>,
) {
    const FIELD: &str = "encoder.input.backup.address";
    if !managed {
        out.push(Finding::new(
            "encoder.input.backup",
            "only MediaLive (`encoder.engine: managed`) fails over to a backup contribution; an EC2 encoder reads one",
        ));
        return;
    }
    let address = b.address.as_deref().unwrap_or("");
    match p.encoder.input.kind {
        InputKind::Rtmp if b.address.is_some() => out.push(Finding::new(
            FIELD,
            "MediaLive chooses where the backup RTMP push input listens too: leave `address` out",
        )),
        InputKind::File if !AWS_INPUT_SCHEMES.iter().any(|s| address.starts_with(s)) => {
            out.push(Finding::new(
                FIELD,
                format!(
                    "MediaLive reads the backup from an s3:// or https:// URL, not `{address}`"
                ),
            ));
        }
        InputKind::Srt if crate::config::srt_listener(address).is_none() => {
            out.push(Finding::new(
                FIELD,
                format!("MediaLive calls the backup's SRT listener: give it as srt://host:port, not `{address}`"),
            ));
        }
        _ => {}
    }
}

/// MediaPackage encrypts each endpoint as its segments allow, with keys from the key server it
/// calls as the catalog's `kinds.origin.role`. v1: DASH with `cenc` (SPEKE v2: Widevine,
/// PlayReady), HLS over TS with `cbcs` (SAMPLE-AES: FairPlay) or `aes-128` (SPEKE v1, which
/// alone rotates keys). v2 (the origins of a group sharing its CDN): HLS and DASH on CMAF with
/// `cenc` or `cbcs`, HLS over TS with `aes-128`, all over SPEKE v2, all rotating.
fn live_drm(
    p: &ProfileFile,
    d: &crate::model::profile_spec::LiveDrmSpec,
    kinds: &BTreeMap<Kind, KindEntry>,
    out: &mut Vec<Finding>,
) {
    use crate::model::profile_spec::{DrmScheme, DrmSystem};
    let has = |k: Packaging| p.origin.packaging.contains(&k);
    let v2 = p.cdn.enabled && p.cdn.shared;
    match d.scheme {
        DrmScheme::Aes128 if v2 && has(Packaging::Dash) => out.push(Finding::new(
            "origin.packaging",
            "`aes-128` encrypts HLS over TS; MediaPackage v2's DASH endpoint (CMAF) takes `cenc` or `cbcs`, and would stay in the clear: drop `dash`",
        )),
        _ if v2 => {}
        DrmScheme::Cenc if has(Packaging::Hls) => out.push(Finding::new(
            "origin.packaging",
            "`cenc` encrypts MediaPackage's DASH endpoint; its HLS endpoint (TS) takes `cbcs` or `aes-128`, and would stay in the clear: drop `hls`",
        )),
        DrmScheme::Cbcs | DrmScheme::Aes128 if has(Packaging::Dash) => out.push(Finding::new(
            "origin.packaging",
            format!(
                "MediaPackage encrypts its DASH endpoint with `cenc` only, and would leave it in the clear under `{}`: drop `dash`",
                if d.scheme == DrmScheme::Cbcs { "cbcs" } else { "aes-128" }
            ),
        )),
        _ => {}
    }
    if !v2
        && d.scheme == DrmScheme::Cbcs
        && let Some(i) = d.systems.iter().position(|s| *s != DrmSystem::Fairplay)
    {
        out.push(Finding::new(
            format!("origin.drm.systems[{i}]"),
            "MediaPackage's HLS endpoint (TS) signals FairPlay only under `cbcs` (a group sharing its CDN, on MediaPackage v2, signals Widevine and PlayReady too)",
        ));
    }
    if !v2 && d.scheme == DrmScheme::Cenc && d.key_rotation.is_some() {
        out.push(Finding::new(
            "origin.drm.key_rotation",
            "MediaPackage rotates no keys with SPEKE v2, which its DASH endpoint uses: leave `key_rotation` out",
        ));
    }
    if kinds
        .get(&Kind::Origin)
        .is_some_and(|k| !k.role.as_deref().is_some_and(|r| r.starts_with("arn:")))
    {
        out.push(Finding::new(
            "provider",
            "`origin.drm` needs `kinds.origin.role` in the aws catalog: the ARN of the IAM role MediaPackage assumes to call the key server (its API Gateway)",
        ));
    }
}

/// The aws VOD is a MediaPackage harvest of the origin's HLS endpoint, written to S3 as HLS
/// in the clear.
fn vod(p: &ProfileFile, out: &mut Vec<Finding>) {
    if !p.origin.packaging.contains(&Packaging::Hls) {
        out.push(Finding::new(
            "origin.packaging",
            "the aws VOD is harvested from the origin's HLS endpoint: add `hls`",
        ));
    }
    if p.vod.formats.iter().any(|f| *f != Packaging::Hls) {
        out.push(Finding::new(
            "vod.formats",
            "the aws VOD is HLS (a MediaPackage harvest); other formats are not built yet",
        ));
    }
}
