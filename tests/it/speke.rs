//! The SPEKE v2 client against `FakeSpekeServer` (`common/fake_speke.rs`), a fake key server on
//! loopback that follows the published SPEKE v2.0 contract (CPIX 2.3 in, CPIX with clear
//! content keys and each DRM system's `pssh` out, `X-Speke-Version` both ways). No real key
//! server can run here.

use crate::common;

use common::fake_speke::{FakeSpekeServer, serve};
use orchestrate::vod::package::Scheme;
use orchestrate::vod::pssh::DrmSystem;
use orchestrate::vod::speke::{SpekeError, fetch_key, uuid};

fn client() -> reqwest::Client {
    orchestrate::http::client(
        std::time::Duration::from_secs(10),
        std::time::Duration::from_secs(300),
    )
    .unwrap()
}

#[tokio::test]
async fn the_client_gets_the_key_the_server_issued_for_its_kid() {
    let fake = FakeSpekeServer::default();
    let url = serve(fake.clone()).await;
    let client = client();
    let got = fetch_key(&client, &url, "cup-final/eu-west-1", Scheme::Cbcs, &[])
        .await
        .expect("a key");
    let issued = fake.issued.lock().unwrap()[0].clone();
    assert_eq!(fake.issued.lock().unwrap().len(), 1);
    assert_eq!(issued.content_id, "cup-final/eu-west-1");
    assert_eq!(issued.kid, uuid(&got.key.key_id));
    assert_eq!(issued.scheme, "cbcs");
    assert_eq!(issued.key, got.key.key);
    // Naming no DRM system asks for ClearKey's signalling, and carries no box to the packager.
    assert_eq!(
        issued.systems(),
        [orchestrate::vod::speke::CLEARKEY_SYSTEM_ID]
    );
    assert!(got.pssh.is_empty());
    // Each request asks for a new key id.
    let again = fetch_key(&client, &url, "cup-final/eu-west-1", Scheme::Cenc, &[])
        .await
        .unwrap();
    assert_ne!(again.key.key_id, got.key.key_id);
    assert_eq!(fake.issued.lock().unwrap()[1].scheme, "cenc");
}

#[tokio::test]
async fn the_client_asks_for_each_drm_system_and_keeps_the_boxes_the_server_gave() {
    let fake = FakeSpekeServer::default();
    let url = serve(fake.clone()).await;
    let client = client();
    let systems = [DrmSystem::Widevine, DrmSystem::Playready];
    let got = fetch_key(&client, &url, "final/eu-west-1", Scheme::Cenc, &systems)
        .await
        .expect("a key");
    let issued = fake.issued.lock().unwrap()[0].clone();
    // The request named Widevine's and PlayReady's system ids; each box came back as given.
    assert_eq!(
        issued.systems(),
        [
            "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
            "9a04f079-9840-4286-ab92-e65be0885f95"
        ]
    );
    assert_eq!(got.pssh.len(), 2);
    for (p, (_, b)) in got.pssh.iter().zip(&issued.pssh) {
        assert_eq!(&p.data, b);
    }
    assert_eq!(got.pssh[0].system_id, DrmSystem::Widevine.system_id_bytes());
}

#[tokio::test]
async fn refusals_and_broken_answers_are_clear_errors() {
    let client = client();
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
            broken: Some(broken),
            ..FakeSpekeServer::default()
        })
        .await;
        let err = fetch_key(&client, &url, "e", Scheme::Cenc, &[])
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
    let err = fetch_key(&client, &url, "e", Scheme::Cenc, &[])
        .await
        .unwrap_err();
    assert!(matches!(err, SpekeError::Unreachable { .. }), "{err}");
}
