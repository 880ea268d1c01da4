//! The HTTP servers behind the local provider's origins and edges. Each runs as its own process
//! (`orchestrate serve-local …`, started by the provider), so that it outlives the `up` that
//! created it and is stopped with its resource.

pub mod edge;
pub mod origin;
pub mod serve;

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
