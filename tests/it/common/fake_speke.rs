//! `FakeSpekeServer`, a fake key server on loopback that follows the published SPEKE v2.0
//! contract: a CPIX 2.3 document in (`X-Speke-Version: 2.0`), the same document back with the
//! content key in clear (`pskc:PlainValue`) and, for each `cpix:DRMSystem` asked for, a `pssh`
//! box of that system (version 0, the system id, and data of the fake's own, as a DRM vendor's
//! would carry its licence-server details). No real key server can run here.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// A key the fake issued.
#[derive(Debug, Clone)]
pub struct Issued {
    pub content_id: String,
    pub kid: String,
    pub scheme: String,
    pub key: [u8; 16],
    /// The `pssh` boxes it answered, whole, by system id as asked (`8-4-4-4-12`).
    pub pssh: Vec<(String, Vec<u8>)>,
}

impl Issued {
    /// The system ids it answered a box for, in the order asked.
    pub fn systems(&self) -> Vec<&str> {
        self.pssh.iter().map(|(id, _)| id.as_str()).collect()
    }
}

#[derive(Clone, Default)]
pub struct FakeSpekeServer {
    pub issued: Arc<Mutex<Vec<Issued>>>,
    /// Answer with this instead of a CPIX document (to test a broken server).
    pub broken: Option<(u16, &'static str)>,
}

/// The value of `attr="…"` after the first `element` in `xml` (a fake's parser, separate from
/// the client's).
fn attr(xml: &str, element: &str, attr: &str) -> Option<String> {
    let at = xml.find(element)?;
    let rest = &xml[at..];
    let start = rest.find(&format!("{attr}=\""))? + attr.len() + 2;
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_string())
}

/// Every `systemId="…"` of the request's DRM systems, in order.
fn system_ids(xml: &str) -> Vec<String> {
    xml.split("systemId=\"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .map(String::from)
        .collect()
}

/// A version-0 `pssh` box of `system_id` (`8-4-4-4-12`) carrying `data`.
pub fn pssh_box(system_id: &str, data: &[u8]) -> Vec<u8> {
    let id = hex::decode(system_id.replace('-', "")).expect("a UUID");
    let mut b = ((32 + data.len()) as u32).to_be_bytes().to_vec();
    b.extend_from_slice(b"pssh");
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(&id);
    b.extend_from_slice(&(data.len() as u32).to_be_bytes());
    b.extend_from_slice(data);
    b
}

async fn copy_protection(
    axum::extract::State(fake): axum::extract::State<FakeSpekeServer>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if let Some((status, body)) = fake.broken {
        return (StatusCode::from_u16(status).unwrap(), body).into_response();
    }
    if headers.get("x-speke-version").and_then(|v| v.to_str().ok()) != Some("2.0") {
        return (StatusCode::BAD_REQUEST, "Unsupported SPEKE version").into_response();
    }
    let (Some(content_id), Some(kid), Some(scheme)) = (
        attr(&body, "CPIX", "contentId"),
        attr(&body, "ContentKey ", "kid"),
        attr(&body, "ContentKey ", "commonEncryptionScheme"),
    ) else {
        return (StatusCode::BAD_REQUEST, "Malformed CPIX").into_response();
    };
    let key: [u8; 16] = rand_key();
    let pssh: Vec<(String, Vec<u8>)> = system_ids(&body)
        .into_iter()
        .map(|id| {
            let data = format!("FakeSpekeServer licence for {kid}");
            let b = pssh_box(&id, data.as_bytes());
            (id, b)
        })
        .collect();
    let drm: String = pssh
        .iter()
        .map(|(id, b)| {
            format!(
                r#"    <cpix:DRMSystem kid="{kid}" systemId="{id}">
      <cpix:PSSH>{}</cpix:PSSH>
    </cpix:DRMSystem>
"#,
                B64.encode(b)
            )
        })
        .collect();
    fake.issued.lock().unwrap().push(Issued {
        content_id: content_id.clone(),
        kid: kid.clone(),
        scheme: scheme.clone(),
        key,
        pssh,
    });
    let cpix = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cpix:CPIX contentId="{content_id}" version="2.3" xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc">
  <cpix:ContentKeyList>
    <cpix:ContentKey kid="{kid}" commonEncryptionScheme="{scheme}">
      <cpix:Data><pskc:Secret><pskc:PlainValue>{}</pskc:PlainValue></pskc:Secret></cpix:Data>
    </cpix:ContentKey>
  </cpix:ContentKeyList>
  <cpix:DRMSystemList>
{drm}  </cpix:DRMSystemList>
</cpix:CPIX>"#,
        B64.encode(key)
    );
    (
        [
            ("content-type", "application/xml"),
            ("x-speke-version", "2.0"),
            ("x-speke-user-agent", "FakeSpekeServer"),
        ],
        cpix,
    )
        .into_response()
}

fn rand_key() -> [u8; 16] {
    // Distinct per call without a shared RNG: the time and a counter through SHA-256.
    use sha2::Digest;
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let d = sha2::Sha256::digest(format!("{n}-{:?}", std::time::SystemTime::now()));
    d[..16].try_into().unwrap()
}

fn router(fake: FakeSpekeServer) -> Router {
    Router::new()
        .route("/speke/v2.0/copyProtection", post(copy_protection))
        .with_state(fake)
}

/// Serves the fake on a free loopback port of the current runtime; the URL of its
/// copyProtection endpoint.
pub async fn serve(fake: FakeSpekeServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, router(fake)).await });
    format!("http://127.0.0.1:{port}/speke/v2.0/copyProtection")
}

/// The fake on a thread of its own, for tests without a runtime; it stops when dropped.
pub struct Background {
    /// The URL of its copyProtection endpoint.
    pub url: String,
    _served: super::served::Served,
}

impl Background {
    pub fn start(fake: FakeSpekeServer) -> Self {
        let served = super::served::Served::start(router(fake));
        Self {
            url: format!("{}/speke/v2.0/copyProtection", served.url),
            _served: served,
        }
    }
}
