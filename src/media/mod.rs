//! The HTTP servers behind the local provider's origins and edges. Each runs as its own process
//! (`orchestrate serve-local …`, started by the provider), so that it outlives the `up` that
//! created it and is stopped with its resource.

pub mod edge;
pub mod origin;
pub mod serve;
pub mod vod;

use std::path::{Component, Path, PathBuf};

/// Content-Type of a media file, by extension.
pub fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "m3u8" => "application/vnd.apple.mpegurl",
        "mpd" => "application/dash+xml",
        "ts" => "video/mp2t",
        "m4s" => "video/iso.segment",
        "mp4" => "video/mp4",
        "m4a" => "audio/mp4",
        "aac" => "audio/aac",
        "vtt" => "text/vtt",
        _ => "application/octet-stream",
    }
}

/// Manifests change at every segment; segments never change once listed.
pub fn is_manifest(path: &str) -> bool {
    path.ends_with(".m3u8") || path.ends_with(".mpd")
}

/// `root/path`, or `None` when the path tries to leave `root`.
pub fn safe_join(root: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path);
    rel.components()
        .all(|c| matches!(c, Component::Normal(_)))
        .then(|| root.join(rel))
}

/// Whether the request carries `Authorization: Bearer <token>` (compared in constant time).
pub fn bearer_ok(headers: &axum::http::HeaderMap, token: &str) -> bool {
    let want = format!("Bearer {token}");
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|got| constant_time_eq(got.as_bytes(), want.as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
