//! The live stream encrypted at MediaPackage on aws, against moto_server: each origin endpoint
//! carries a SPEKE key provider with the profile's key server, the DRM systems' ids as
//! MediaPackage lists them, the catalog's origin role and the endpoint as the resource id;
//! DASH under cenc over SPEKE v2 (presets 1), HLS (TS) under AES-128 over SPEKE v1 with the key
//! rotation asked for. `validate` refuses what would leave an endpoint in the clear, and an
//! encrypted origin without the role. moto keeps what it is given and calls no key server:
//! `doctor` asks the profiles' key server, the SPEKE stand-in here, for a key and each
//! system's PSSH, as MediaPackage will (the packaging of those answers is tested on the local
//! VOD: `speke.rs`, `handoff.rs`).
#![cfg(feature = "aws")]

use crate::common;

use aws_sdk_mediapackage::types::EncryptionMethod;
use common::aws::{
    MOTO_ENV, against_moto, example_profile, mediapackage_in_ireland, ok, orchestrate, project_of,
    schedule, uncomment_in_catalog,
};

const ROLE: &str = "arn:aws:iam::123456789012:role/SpekeAccess";

#[test]
fn origin_endpoints_are_encrypted_through_the_profiles_key_server_on_aws() {
    against_moto(module_path!(), "live_drm_against_moto");
}

/// examples/aws-moto's MediaLive profile with `origin` replaced.
fn profile(origin: &str) -> String {
    let live = example_profile("aws-live");
    let at = live.find("origin:\n").unwrap();
    let end = at + live[at..].find("cdn:\n").unwrap();
    format!("{}{origin}{}", &live[..at], &live[end..])
}

#[tokio::test]
#[ignore = "run by origin_endpoints_are_encrypted_through_the_profiles_key_server_on_aws, with moto and credentials"]
async fn live_drm_against_moto() {
    let moto = std::env::var(MOTO_ENV).expect("run through the outer test");
    let speke = common::fake_speke::FakeSpekeServer::default();
    let issued = speke.issued.clone();
    let keys = common::fake_speke::Background::start(speke);
    let keys = keys.url.as_str();
    let dir = tempfile::tempdir().unwrap();
    let dash = profile(&format!(
        "origin:\n  packaging: [dash]\n  drm: {{ scheme: cenc, url: \"{keys}\", systems: [widevine, playready] }}\n"
    ));
    let hls = profile(&format!(
        "origin:\n  packaging: [hls]\n  drm: {{ scheme: aes-128, url: \"{keys}\", key_rotation: 10m }}\n"
    ));
    let events = |p: &str| {
        [1, 2]
            .iter()
            .map(|i| {
                let profile = if *i == 1 { p } else { "aws-hls" };
                format!(
                    "  - id: show-{i}\n    start: 2030-12-05T19:45:00Z\n    end: 2030-12-05T22:00:00Z\n    profile: {profile}\n    regions: [eu-west-1]\n"
                )
            })
            .collect::<Vec<_>>()
    };
    project_of(
        &moto,
        dir.path(),
        ("aws-dash", &dash),
        &schedule(&events("aws-dash")),
    );
    std::fs::write(dir.path().join("profiles/aws-hls.yaml"), &hls).unwrap();

    // The shipped catalog leaves the origin's role to the account: refused without it.
    let out = orchestrate(dir.path(), &["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("`origin.drm` needs `kinds.origin.role`"),
        "{err}"
    );
    uncomment_in_catalog(dir.path(), &format!("    role: {ROLE}"));

    // An endpoint the scheme cannot encrypt is refused, never served in the clear.
    std::fs::write(
        dir.path().join("profiles/aws-hls.yaml"),
        hls.replace("packaging: [hls]", "packaging: [hls, dash]"),
    )
    .unwrap();
    let out = orchestrate(dir.path(), &["validate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("origin.packaging: MediaPackage encrypts its DASH endpoint with `cenc` only"),
        "{err}"
    );
    std::fs::write(dir.path().join("profiles/aws-hls.yaml"), &hls).unwrap();

    let plan = ok(dir.path(), &["plan"]);
    assert!(plan.contains(keys) && plan.contains(ROLE), "{plan}");
    ok(dir.path(), &["up", "--yes"]);

    let mp = mediapackage_in_ireland(&moto).await;
    let endpoints = mp.list_origin_endpoints().send().await.unwrap();
    let endpoints = endpoints.origin_endpoints();
    assert_eq!(endpoints.len(), 2, "{endpoints:?}");
    let dash = endpoints
        .iter()
        .find(|e| e.dash_package().is_some())
        .unwrap();
    let enc = dash
        .dash_package()
        .unwrap()
        .encryption()
        .expect("DASH encrypted");
    let speke = enc.speke_key_provider().unwrap();
    assert_eq!(speke.url(), Some(keys));
    assert_eq!(speke.role_arn(), Some(ROLE));
    assert_eq!(speke.resource_id(), dash.id());
    assert_eq!(
        speke.system_ids(),
        [
            "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
            "9a04f079-9840-4286-ab92-e65be0885f95"
        ]
    );
    let contract = speke.encryption_contract_configuration().expect("SPEKE v2");
    assert_eq!(
        contract.preset_speke20_video().map(|p| p.as_str()),
        Some("PRESET-VIDEO-1")
    );

    let hls = endpoints
        .iter()
        .find(|e| e.hls_package().is_some())
        .unwrap();
    let enc = hls
        .hls_package()
        .unwrap()
        .encryption()
        .expect("HLS encrypted");
    assert_eq!(enc.encryption_method(), Some(&EncryptionMethod::Aes128));
    assert_eq!(enc.key_rotation_interval_seconds(), Some(600));
    let speke = enc.speke_key_provider().unwrap();
    assert_eq!(speke.system_ids(), ["3ea8778f-7742-4bf9-b18b-e834b2acbd47"]);
    assert!(
        speke.encryption_contract_configuration().is_none(),
        "SPEKE v1"
    );

    // The key server answers each profile as MediaPackage will ask it.
    let out = orchestrate(dir.path(), &["doctor"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no `{name}` line:\n{text}"))
            .to_string()
    };
    let dash = line("key server aws-dash origin.drm");
    assert!(
        dash.starts_with("  PASS") && dash.contains("a PSSH for Widevine, PlayReady"),
        "{text}"
    );
    assert!(
        line("key server aws-hls origin.drm").starts_with("  PASS"),
        "{text}"
    );
    let asked: Vec<Vec<String>> = issued
        .lock()
        .unwrap()
        .iter()
        .map(|i| i.systems().iter().map(|s| s.to_string()).collect())
        .collect();
    assert!(
        asked.contains(&vec![
            "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed".to_string(),
            "9a04f079-9840-4286-ab92-e65be0885f95".to_string()
        ]),
        "{asked:?}"
    );

    ok(dir.path(), &["down", "--yes"]);
    let left = mp.list_origin_endpoints().send().await.unwrap();
    assert!(left.origin_endpoints().is_empty());
}
