//! The origin: serves what the event's encoders write under `media/<pipeline>/`, with the
//! Content-Type players expect and a Cache-Control that lets an edge keep segments for long and
//! manifests for half a segment (a manifest older than that is already behind).

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{content_type, is_manifest, safe_join};

#[derive(Debug, Clone)]
pub struct OriginConfig {
    pub media: PathBuf,
    pub segment_duration_s: f64,
}

pub fn router(cfg: OriginConfig) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/{*path}", get(serve))
        .with_state(Arc::new(cfg))
}

/// Cache-Control for a manifest: half a target duration, at least one second.
pub fn manifest_max_age(segment_duration_s: f64) -> u64 {
    ((segment_duration_s / 2.0).floor() as u64).max(1)
}

async fn serve(State(cfg): State<Arc<OriginConfig>>, UrlPath(path): UrlPath<String>) -> Response {
    let resp = match safe_join(&cfg.media, &path) {
        None => plain(StatusCode::BAD_REQUEST, "bad path"),
        Some(file) => match tokio::fs::read(&file).await {
            Ok(body) => {
                let cache = if is_manifest(&path) {
                    format!(
                        "public, max-age={}",
                        manifest_max_age(cfg.segment_duration_s)
                    )
                } else {
                    "public, max-age=31536000, immutable".to_string()
                };
                (
                    [
                        (header::CONTENT_TYPE, content_type(&path).to_string()),
                        (header::CACHE_CONTROL, cache),
                    ],
                    body,
                )
                    .into_response()
            }
            Err(_) => plain(StatusCode::NOT_FOUND, "not found"),
        },
    };
    // The access log (the resource's log file): one line per request, read by tests and people.
    println!("GET /{path} {}", resp.status().as_u16());
    resp
}

fn plain(status: StatusCode, msg: &'static str) -> Response {
    let mut r = (status, msg).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Component, Path};

    #[test]
    fn paths_stay_under_the_root() {
        let root = Path::new("/m");
        assert_eq!(
            safe_join(root, "a/720p/index.m3u8"),
            Some(PathBuf::from("/m/a/720p/index.m3u8"))
        );
        assert_eq!(safe_join(root, "../etc/passwd"), None);
        assert_eq!(safe_join(root, "a/../../x"), None);
        assert_eq!(safe_join(root, "/etc/passwd"), None);
    }

    proptest::proptest! {
        #[test]
        fn no_request_path_leaves_the_root(path in "[a-z./%~]{0,40}") {
            if let Some(p) = safe_join(Path::new("/m"), &path) {
                proptest::prop_assert!(p.starts_with("/m"));
                proptest::prop_assert!(!p.components().any(|c| matches!(c, Component::ParentDir)));
            }
        }
    }

    #[test]
    fn manifests_live_half_a_segment() {
        assert_eq!(manifest_max_age(2.0), 1);
        assert_eq!(manifest_max_age(6.0), 3);
        assert_eq!(manifest_max_age(0.5), 1);
    }
}
