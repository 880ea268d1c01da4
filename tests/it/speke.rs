//! The SPEKE v2 client against `FakeSpekeServer`, a fake key server on loopback that follows the
//! published SPEKE v2.0 contract (CPIX 2.3 in, CPIX with clear content keys out,
//! `X-Speke-Version` both ways). No real key server can run here.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use orchestrate::vod::package::Scheme;
use orchestrate::vod::speke::{SpekeError, fetch_key, uuid};

/// What the fake was asked, and what it answered.
#[derive(Default)]
struct Issued {
    /// (content id, kid, scheme, key)
    keys: Vec<(String, String, String, [u8; 16])>,
}

#[derive(Clone)]
struct FakeSpekeServer {
    issued: Arc<Mutex<Issued>>,
    /// Answer with this instead of a CPIX document (to test a broken server).
    broken: Option<(u16, &'static str)>,
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
    fake.issued
        .lock()
        .unwrap()
        .keys
        .push((content_id.clone(), kid.clone(), scheme.clone(), key));
    let cpix = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cpix:CPIX contentId="{content_id}" version="2.3" xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc">
  <cpix:ContentKeyList>
    <cpix:ContentKey kid="{kid}" commonEncryptionScheme="{scheme}">
      <cpix:Data><pskc:Secret><pskc:PlainValue>{}</pskc:PlainValue></pskc:Secret></cpix:Data>
    </cpix:ContentKey>
  </cpix:ContentKeyList>
  <cpix:DRMSystemList>
    <cpix:DRMSystem kid="{kid}" systemId="e2719d58-a985-b3c9-781a-b030af78d30e">
      <cpix:PSSH>AAAAAA==</cpix:PSSH>
    </cpix:DRMSystem>
  </cpix:DRMSystemList>
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

/// Serves the fake on a free loopback port; the URL of its copyProtection endpoint.
async fn serve(fake: FakeSpekeServer) -> String {
    let app = Router::new()
        .route("/speke/v2.0/copyProtection", post(copy_protection))
        .with_state(fake);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://127.0.0.1:{port}/speke/v2.0/copyProtection")
}

#[tokio::test]
async fn the_client_gets_the_key_the_server_issued_for_its_kid() {
    let fake = FakeSpekeServer {
        issued: Arc::default(),
        broken: None,
    };
    let url = serve(fake.clone()).await;
    let client = orchestrate::http::client(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(300),
    )
    .unwrap();
    let key = fetch_key(&client, &url, "cup-final/eu-west-1", Scheme::Cbcs)
        .await
        .expect("a key");
    let (content_id, kid, scheme, served) = fake.issued.lock().unwrap().keys[0].clone();
    assert_eq!(fake.issued.lock().unwrap().keys.len(), 1);
    assert_eq!(content_id, "cup-final/eu-west-1");
    assert_eq!(kid, uuid(&key.key_id));
    assert_eq!(scheme, "cbcs");
    assert_eq!(served, key.key);
    // Each request asks for a new key id.
    let again = fetch_key(&client, &url, "cup-final/eu-west-1", Scheme::Cenc)
        .await
        .unwrap();
    assert_ne!(again.key_id, key.key_id);
    assert_eq!(fake.issued.lock().unwrap().keys[1].2, "cenc");
}

#[tokio::test]
async fn refusals_and_broken_answers_are_clear_errors() {
    let client = orchestrate::http::client(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(300),
    )
    .unwrap();
    for (broken, expect) in [
        (
            (403, "Forbidden: unknown content"),
            "answered 403: Forbidden",
        ),
        ((200, "<html>not cpix</html>"), "no cpix:CPIX element"),
        (
            (200, "<cpix:CPIX xmlns:cpix=\"urn:dashif:org:cpix\"/>"),
            "no content key for kid",
        ),
    ] {
        let url = serve(FakeSpekeServer {
            issued: Arc::default(),
            broken: Some(broken),
        })
        .await;
        let err = fetch_key(&client, &url, "e", Scheme::Cenc)
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains(expect), "{text}");
        assert!(
            text.contains(&url),
            "the error names the key server: {text}"
        );
    }
    // Nothing listening: unreachable, with the URL.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let url = format!("http://127.0.0.1:{port}/speke");
    let err = fetch_key(&client, &url, "e", Scheme::Cenc)
        .await
        .unwrap_err();
    assert!(matches!(err, SpekeError::Unreachable { .. }), "{err}");
}
