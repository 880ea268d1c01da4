//! `orchestrate vod serve`: the local provider's published VODs and their keys over HTTP.
//!
//! - `GET /vod/<region>/<event>/…`: the packaged files. Public: they are encrypted.
//! - `GET /v1/keys/<label>`: the 16-byte AES-128 key an AES-128 playlist's `#EXT-X-KEY` URI
//!   names (a root-relative URI, so it resolves to this server).
//! - `POST /v1/clearkey`: a W3C ClearKey license: `{"kids": [base64url…]}` in, a JWK set out.
//!
//! Keys go only to a request with the bearer token kept (0600) in `<state>/vod-token`.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use serde::Deserialize;
use serde_json::json;

use super::{content_type, safe_join};
use crate::vod::keys::LocalKeys;

pub struct VodServer {
    pub state_dir: PathBuf,
    pub token: String,
}

pub fn router(server: VodServer) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/vod/{region}/{event}/{*path}", get(file))
        .route("/v1/keys/{label}", get(aes_key))
        .route("/v1/clearkey", post(clearkey))
        .with_state(Arc::new(server))
}

/// The token file under the state dir, made on first use.
pub fn token(state_dir: &std::path::Path) -> std::io::Result<String> {
    crate::files::token(&state_dir.join("vod-token"))
}

async fn file(
    State(s): State<Arc<VodServer>>,
    UrlPath((region, event, path)): UrlPath<(String, String, String)>,
) -> Response {
    let root = safe_join(
        &s.state_dir.join("local"),
        &format!("{region}/{event}/vod/media"),
    );
    let Some(file) = root.and_then(|r| safe_join(&r, &path)) else {
        return text(StatusCode::BAD_REQUEST, "bad path");
    };
    match tokio::fs::read(&file).await {
        Ok(body) => ([(header::CONTENT_TYPE, content_type(&path))], body).into_response(),
        Err(_) => text(StatusCode::NOT_FOUND, "not found"),
    }
}

async fn aes_key(
    State(s): State<Arc<VodServer>>,
    headers: HeaderMap,
    UrlPath(label): UrlPath<String>,
) -> Response {
    if !super::bearer_ok(&headers, &s.token) {
        return text(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    }
    if !label
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    {
        return text(StatusCode::BAD_REQUEST, "bad key label");
    }
    match LocalKeys::new(&s.state_dir).existing(&label) {
        Ok(Some(k)) => no_store(
            (
                [(header::CONTENT_TYPE, "application/octet-stream")],
                k.key.to_vec(),
            )
                .into_response(),
        ),
        Ok(None) => text(StatusCode::NOT_FOUND, "no such key"),
        Err(_) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the key store is damaged",
        ),
    }
}

#[derive(Deserialize)]
struct LicenseRequest {
    kids: Vec<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

async fn clearkey(
    State(s): State<Arc<VodServer>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if !super::bearer_ok(&headers, &s.token) {
        return text(StatusCode::UNAUTHORIZED, "a valid bearer token is required");
    }
    let Ok(req) = serde_json::from_slice::<LicenseRequest>(&body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "expected a ClearKey license request: {\"kids\": [base64url key ids]}",
        );
    };
    let store = LocalKeys::new(&s.state_dir);
    let mut keys = Vec::new();
    for kid in &req.kids {
        let Some(id) = B64URL
            .decode(kid.trim_end_matches('='))
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
        else {
            return text(
                StatusCode::BAD_REQUEST,
                "a kid is not 16 bytes of base64url",
            );
        };
        match store.find(&id) {
            Ok(Some((_, k))) => keys.push(json!({
                "kty": "oct",
                "kid": B64URL.encode(k.key_id),
                "k": B64URL.encode(k.key),
            })),
            Ok(None) => {}
            Err(_) => {
                return text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the key store is damaged",
                );
            }
        }
    }
    let kind = req.kind.unwrap_or_else(|| "temporary".into());
    no_store(axum::Json(json!({ "keys": keys, "type": kind })).into_response())
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn text(status: StatusCode, msg: &'static str) -> Response {
    no_store((status, msg).into_response())
}
