//! The local provider's `vod`: the event's archive in a region packaged into `<vod>/media/`,
//! verified, and described in the outputs `status` and `report` show. The archive is only read;
//! the hand-off deletes it once this has succeeded.

use std::path::Path;

use serde::Deserialize;
use serde_json::{Value, json};

use super::ProviderError;
use crate::tools::Tools;
use crate::vod::keys::{ContentKey, LocalKeys};
use crate::vod::package::{Scheme, Signalling};
use crate::vod::pssh::DrmSystem;
use crate::vod::{Request, package_archive, verify::verify};

#[derive(Debug, Deserialize)]
struct VodDef {
    event: String,
    start: jiff::Timestamp,
    end: jiff::Timestamp,
    #[serde(default)]
    trim: bool,
    segment_duration_s: f64,
    pipelines: Vec<String>,
    scheme: String,
    #[serde(default)]
    key_provider: Option<String>,
    #[serde(default)]
    key_server: Option<String>,
    #[serde(default)]
    rotate_keys: bool,
    #[serde(default)]
    drm_systems: Vec<DrmSystem>,
}

/// Where the local key endpoint (`orchestrate vod serve`) answers for a key label.
pub fn key_path(label: &str) -> String {
    format!("/v1/keys/{label}")
}

/// The label a VOD's key is kept under: the event's, or its own when the profile rotates keys.
fn key_label(event: &str, rotate: bool) -> String {
    if rotate {
        format!("{event}.vod")
    } else {
        event.to_string()
    }
}

pub async fn create(
    state_dir: &Path,
    tools: &Tools,
    media: &Path,
    out: &Path,
    def: &Value,
    region: &str,
) -> Result<Value, ProviderError> {
    let def = VodDef::deserialize(def)
        .map_err(|e| ProviderError::Permanent(format!("vod definition: {e}")))?;
    let scheme = Scheme::parse(&def.scheme).ok_or_else(|| {
        ProviderError::Permanent(format!(
            "vod.drm.scheme: `{}` is not a scheme the local provider packages",
            def.scheme
        ))
    })?;
    let label = key_label(&def.event, def.rotate_keys);
    // A key server gives each DRM system's box; with a local key the packager makes them.
    let mut signalling = if def.drm_systems.is_empty() {
        Signalling::Common
    } else {
        Signalling::Systems(def.drm_systems.clone())
    };
    let key: Option<ContentKey> = match (scheme, def.key_provider.as_deref()) {
        (Scheme::Clear, _) => None,
        (_, Some("speke")) => {
            let url = def.key_server.as_deref().unwrap_or_default();
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .map_err(|e| ProviderError::Permanent(e.to_string()))?;
            let content_id = format!("{label}/{region}");
            let got =
                crate::vod::speke::fetch_key(&client, url, &content_id, scheme, &def.drm_systems)
                    .await
                    .map_err(|e| ProviderError::Transient(e.to_string()))?;
            if !got.pssh.is_empty() {
                signalling = Signalling::Boxes(got.pssh);
            }
            Some(got.key)
        }
        _ => Some(
            LocalKeys::new(state_dir)
                .key_for(&label)
                .map_err(|e| ProviderError::Permanent(e.to_string()))?,
        ),
    };
    let pipeline = best_pipeline(media, &def.pipelines).ok_or_else(|| {
        ProviderError::Permanent(format!(
            "the archive in {} has no pipeline with a master playlist",
            media.display()
        ))
    })?;
    let media_dir = media.join(&pipeline);
    let (out, tools) = (out.to_path_buf(), tools.clone());
    let key_uri = key_path(&label);
    let trim = def.trim.then_some((def.start, def.end));
    let seg = def.segment_duration_s;
    let k = key.clone();
    let systems = def.drm_systems.clone();
    let packaged = tokio::task::spawn_blocking(move || {
        let _ = std::fs::remove_dir_all(&out);
        let packaged = package_archive(&Request {
            media_dir: &media_dir,
            out_dir: &out,
            segment_duration_s: seg,
            scheme,
            key: k.as_ref(),
            signalling: &signalling,
            trim,
            key_uri: &key_uri,
            tools: &tools,
        })
        .map_err(|e| e.to_string())?;
        verify(&out, &packaged, scheme, k.as_ref(), seg, &systems).map_err(|e| e.to_string())?;
        Ok::<_, String>((packaged, out))
    })
    .await
    .map_err(|e| ProviderError::Transient(e.to_string()))?;
    let (packaged, out) = packaged.map_err(ProviderError::Permanent)?;
    let dash = (scheme != Scheme::Aes128).then(|| out.join("manifest.mpd"));
    Ok(json!({
        "path": out,
        "hls": out.join("master.m3u8"),
        "dash": dash,
        "url_path": format!("/vod/{region}/{}/master.m3u8", def.event),
        "scheme": scheme.as_str(),
        "key_id": key.as_ref().map(ContentKey::key_id_hex),
        "key_label": key.as_ref().map(|_| label),
        "pipeline": pipeline,
        "renditions": packaged.renditions,
        "segments": packaged.segments,
        "duration_s": packaged.duration_s,
        "on_air_from": packaged.on_air.0,
        "on_air_to": packaged.on_air.1,
        "trimmed": def.trim,
        "packaging_ms": packaged.packaging_ms,
        "verified": true,
    }))
}

/// Of the pipelines with an archive, the one whose first rendition lists the most segments: a
/// pipeline that was down for part of the show has fewer.
/// Whether any pipeline of the archive in `media` has a media playlist with a segment in it.
pub fn holds_media(media: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(media) else {
        return false;
    };
    let pipelines: Vec<String> = entries
        .flatten()
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    best_pipeline(media, &pipelines)
        .and_then(|p| segments(&media.join(p)))
        .is_some_and(|n| n > 0)
}

/// The segments listed by the first media playlist of a pipeline's master playlist.
fn segments(dir: &Path) -> Option<usize> {
    let master = std::fs::read_to_string(dir.join("master.m3u8")).ok()?;
    let first = master
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    Some(std::fs::read_to_string(dir.join(first)).map_or(0, |t| t.matches("#EXTINF").count()))
}

fn best_pipeline(media: &Path, pipelines: &[String]) -> Option<String> {
    // Reversed: of equal ones, `max_by_key` keeps the last, and the first pipeline is preferred.
    pipelines
        .iter()
        .rev()
        .filter_map(|p| Some((segments(&media.join(p))?, p.clone())))
        .max_by_key(|(n, _)| *n)
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_archive_holds_media_once_a_playlist_lists_a_segment() {
        let dir = tempfile::tempdir().unwrap();
        let media = dir.path();
        assert!(!holds_media(media), "nothing yet");
        let pipeline = media.join("main");
        std::fs::create_dir_all(pipeline.join("360p")).unwrap();
        std::fs::write(
            pipeline.join("master.m3u8"),
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n360p/index.m3u8\n",
        )
        .unwrap();
        std::fs::write(
            pipeline.join("360p/index.m3u8"),
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n",
        )
        .unwrap();
        assert!(!holds_media(media), "a playlist with no segment");
        std::fs::write(
            pipeline.join("360p/index.m3u8"),
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000,\nseg_0.ts\n",
        )
        .unwrap();
        assert!(holds_media(media));
    }
}
