//! What users read when their YAML is wrong: every error at once, each at file:line:col.

use crate::common;

use common::{Project, stderr, stdout};

fn validate_with(schedule: &str) -> (Option<i32>, String) {
    let p = Project::fast();
    p.write("schedules/main.yaml", schedule);
    let out = p.run(&["validate"]);
    (out.status.code(), stderr(&out))
}

#[test]
fn every_schedule_error_is_reported_at_once_with_its_position() {
    let (code, err) = validate_with(
        "apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: cup-final
    start: 2030-12-05T19:45:00
    end: 2030-12-05T22:00:00Z
    profile: sim-hdd
    regions: [eu-west-1, eu-wset-1]
    lead: -5m
  - id: cup-final
    start: 2030-12-05T19:45:00Z
    end: 2030-12-05T18:00:00Z
    profile: sim-hd
    regions: [eu-west-1, eu-west-1]
    grace: soon
  - id: Bad_ID
    start: yesterday
    end: 2030-12-05T18:00:00Z
    profile: sim-hd
    regions: []
",
    );
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(err);
}

#[test]
fn unknown_field_suggests_the_nearest_name() {
    let (code, err) = validate_with(
        "apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: x
    start: 2030-12-05T19:45:00Z
    end: 2030-12-05T22:00:00Z
    profile: sim-hd
    regions: [eu-west-1]
    leed: 5m
",
    );
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(err);
}

#[test]
fn yaml_syntax_errors_and_missing_fields_have_positions() {
    let (code, err) =
        validate_with("apiVersion: orchestrate/v1\nkind: Schedule\nevents: [ {id: x\n");
    assert_eq!(code, Some(2));
    insta::assert_snapshot!("syntax", err);
    let (code, err) = validate_with(
        "apiVersion: orchestrate/v2\nkind: Schedules\nevents:\n  - id: x\n    start: 2030-12-05T19:45:00Z\n",
    );
    assert_eq!(code, Some(2));
    insta::assert_snapshot!("missing_field", err);
}

#[test]
fn wrong_header_and_region_outside_the_catalog() {
    let (code, err) = validate_with(
        "apiVersion: orchestrate/v2
kind: Schedules
events:
  - id: x
    start: 2030-12-05T19:45:00+01:00
    end: 2030-12-05T22:00:00+01:00
    profile: sim-hd
    regions: [eu-wset-1, mars-1]
",
    );
    assert_eq!(code, Some(2));
    insta::assert_snapshot!(err);
}

#[test]
fn profile_and_catalog_errors_name_their_files() {
    let p = Project::fast();
    let prof = p.read("profiles/sim-hd.yaml");
    p.write(
        "profiles/sim-hd.yaml",
        &prof.replace("redundancy: single", "redundancy: tripple"),
    );
    p.write(
        "profiles/broken.yaml",
        "apiVersion: orchestrate/v1\nkind: Profile\nprovider: aws\nencoder:\n  input: { type: file }\n  ladder:\n    - { name: a, width: 641, height: 360, bitrate: 800k, fps: 500 }\n    - { name: a, width: 640, height: 360, bitrate: fast }\n",
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&out));
    p.write(
        "profiles/broken.yaml",
        "apiVersion: orchestrate/v1\nkind: Profile\nprovider: aws\nencoder:\n  input: { type: file }\n  segment_duration: 100ms\n  ladder:\n    - { name: a, width: 641, height: 360, bitrate: 800k, fps: 500 }\n",
    );
    p.write("profiles/sim-hd.yaml", &prof);
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("profile_semantics", stderr(&out));
}

/// `validate` of a project whose aws profile is `encoder` (the lines under `encoder:`) and
/// `rest`: refused, as configuration.
fn refused_on_aws(p: &Project, encoder: &str, rest: &str) -> String {
    p.write(
        "profiles/on-aws.yaml",
        &format!(
            "apiVersion: orchestrate/v1\nkind: Profile\nprovider: aws\nencoder:\n{encoder}  ladder:\n    - {{ name: a, width: 640, height: 360, bitrate: 800k }}\n{rest}"
        ),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("profiles/on-aws.yaml"), "{err}");
    err
}

#[test]
fn an_aws_profile_asks_only_for_what_the_aws_provider_builds() {
    let p = Project::fast();
    let err = refused_on_aws(
        &p,
        "  input: { type: testsrc }\n  redundancy: dual\n",
        "cdn:\n  enabled: true\n  shared: true\n",
    );
    insta::assert_snapshot!(err);
    let err = refused_on_aws(&p, "  input: { type: file, address: /srv/clip.mp4 }\n", "");
    insta::assert_snapshot!("aws_file_address", err);
    // An RTMP push: MediaLive chooses the address, and admits only the networks listed.
    let err = refused_on_aws(
        &p,
        "  input: { type: rtmp, address: \"rtmp://0.0.0.0:1935/live\", allow: [10.0.0.0/8, 300.1.2.0/24] }\n",
        "",
    );
    insta::assert_snapshot!("aws_rtmp_address_and_networks", err);
    let err = refused_on_aws(&p, "  input: { type: rtmp }\n", "");
    insta::assert_snapshot!("aws_rtmp_without_networks", err);
    // SRT: MediaLive calls the contribution encoder, which listens.
    let err = refused_on_aws(
        &p,
        "  input: { type: srt, address: \"0.0.0.0:9000\" }\n",
        "",
    );
    insta::assert_snapshot!("aws_srt_address", err);
    // A backup contribution is addressed as the primary is; MediaLive alone fails over.
    let err = refused_on_aws(
        &p,
        "  input: { type: srt, address: \"srt://203.0.113.9:9000\", backup: { address: \"0.0.0.0:9001\" } }\n",
        "",
    );
    assert!(
        err.contains("encoder.input.backup.address: MediaLive calls the backup's SRT listener"),
        "{err}"
    );
    let err = refused_on_aws(
        &p,
        "  engine: instance\n  input: { type: file, address: \"s3://media/clip.mp4\", backup: { address: \"s3://media/b.mp4\" } }\n",
        "",
    );
    assert!(
        err.contains("encoder.input.backup: only MediaLive (`encoder.engine: managed`) fails over"),
        "{err}"
    );
    // The VOD is a harvest of the HLS endpoint, as HLS in the clear.
    let clip = "  input: { type: file, address: \"s3://media/clip.mp4\" }\n";
    let err = refused_on_aws(
        &p,
        clip,
        "origin:\n  packaging: [dash]\nvod:\n  enabled: true\n  formats: [hls, dash]\n  drm: { scheme: cenc }\n",
    );
    insta::assert_snapshot!("aws_vod", err);
    // A slate is a MediaLive clip, switched to on schedule.
    let err = refused_on_aws(
        &p,
        &format!("  engine: instance\n  slate: /srv/slate.mp4\n{clip}"),
        "",
    );
    insta::assert_snapshot!("aws_slate", err);
    // On aws, a failover switches a MediaLive STANDARD channel's pipelines; nothing scales.
    let err = refused_on_aws(
        &p,
        clip,
        "monitoring:\n  actions:\n    - on: [encoder-alerts]\n      do: failover\n    - on: [encoder-down]\n      do: restart\n    - on: [edge-errors]\n      do: scale\n",
    );
    insta::assert_snapshot!("aws_actions", err);
    // Live DRM: every field checked, and on aws what each endpoint's container can carry.
    let err = refused_on_aws(
        &p,
        clip,
        "origin:\n  packaging: [hls]\n  drm: { scheme: cenc, url: keys.example.com, systems: [widevine, widevine, fairplay], key_rotation: 10m }\n",
    );
    insta::assert_snapshot!("aws_live_drm", err);
    // A shared CDN fronts a MediaPackage v2 channel group, which MediaLive feeds and whose
    // DASH endpoint (CMAF) takes no `aes-128`.
    let err = refused_on_aws(
        &p,
        &format!("  engine: instance\n{clip}"),
        "origin:\n  packaging: [hls, dash]\n  drm: { scheme: aes-128, url: \"https://keys.example.com\" }\ncdn:\n  enabled: true\n  shared: true\nvod:\n  enabled: true\n",
    );
    insta::assert_snapshot!("aws_shared_cdn", err);
    // With the shipped catalog, which names the EC2 encoders' instance profile but leaves the
    // harvest's role (an ARN, of the account) to be filled in.
    let catalog = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("providers/aws.yaml"),
    )
    .unwrap();
    p.write("providers/aws.yaml", &catalog);
    let err = refused_on_aws(
        &p,
        &format!("  engine: instance\n{clip}"),
        "vod:\n  enabled: true\n",
    );
    insta::assert_snapshot!("aws_roles", err);
    // MediaLive runs a channel as the catalog's role: without it, a managed encoder is refused.
    let role = "    role: arn:aws:iam::123456789012:role/MediaLiveAccessRole\n";
    assert!(catalog.contains(role));
    p.write("providers/aws.yaml", &catalog.replace(role, ""));
    let err = refused_on_aws(&p, clip, "");
    assert!(
        err.contains("`encoder.engine: managed` needs `kinds.encoder.role`"),
        "{err}"
    );
}

#[test]
fn valid_project_exits_zero_and_json_lists_errors() {
    let p = Project::fast();
    assert_eq!(
        p.ok(&["validate"]).trim(),
        "Valid: 2 events, 2 profiles, provider catalog: sim."
    );
    p.write(
        "schedules/main.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents:\n  - id: x\n",
    );
    let out = p.run(&["validate", "--output", "json"]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(v["valid"], false);
    assert_eq!(v["errors"][0]["line"], 4);
    assert_eq!(v["errors"][0]["file"], "./schedules/main.yaml");
}

#[test]
fn schedule_flag_selects_files_and_missing_files_are_config_errors() {
    let p = Project::fast();
    p.write(
        "other/one.yaml",
        "apiVersion: orchestrate/v1\nkind: Schedule\nevents: []\n",
    );
    assert!(
        p.ok(&["validate", "-s", "other/one.yaml"])
            .contains("Valid: 0 events")
    );
    let out = p.run(&["validate", "-s", "nope.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot read nope.yaml"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_describes_the_formats() {
    let p = Project::fast();
    for (kind, field) in [
        ("schedule", "events"),
        ("profile", "encoder"),
        ("catalog", "kinds"),
    ] {
        let v: serde_json::Value = serde_json::from_str(&p.ok(&["schema", kind])).expect("json");
        assert!(
            v["properties"][field].is_object(),
            "{kind} schema lacks {field}: {v}"
        );
        assert!(
            v["required"]
                .as_array()
                .is_some_and(|r| r.contains(&"apiVersion".into()))
        );
    }
}

#[test]
fn a_catalog_timeout_below_a_p95_is_rejected_and_profiles_say_the_catalog_is_invalid() {
    let p = Project::fast();
    let cat = p.read("providers/sim.yaml");
    p.write(
        "providers/sim.yaml",
        &cat.replacen("    timeout: 10m", "    timeout: 4s", 1),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn a_provider_that_encrypts_no_live_stream_says_so() {
    let p = Project::fast();
    let hd = p.read("profiles/sim-hd.yaml");
    assert!(
        hd.contains("\norigin:\n"),
        "sim-hd.yaml's origin section changed"
    );
    p.write(
        "profiles/sim-hd.yaml",
        &hd.replacen(
            "\norigin:\n",
            "\norigin:\n  drm: { scheme: aes-128, url: https://keys.example.com/speke }\n",
            1,
        ),
    );
    let out = p.run(&["validate"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("origin.drm.scheme: the `sim` provider encrypts no live stream yet"),
        "{err}"
    );
}

#[test]
fn only_an_encoder_kind_runs_both_pipelines() {
    let p = Project::fast();
    let cat = p.read("providers/sim.yaml");
    let with = |cat: String, kind: &str, n: u8| {
        let at = cat.find(&format!("\n  {kind}: ")).expect("the kind") + 1;
        let eol = at + cat[at..].find('\n').unwrap() + 1;
        format!("{}    pipelines: {n}\n{}", &cat[..eol], &cat[eol..])
    };
    let cat = with(with(cat, "encoder", 3), "origin", 2);
    p.write("providers/sim.yaml", &cat);
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("kinds.encoder.pipelines: a resource runs one pipeline or both of a dual profile (1 or 2), not 3"),
        "{err}"
    );
    assert!(
        err.contains("kinds.origin.pipelines: only the `encoder` kind"),
        "{err}"
    );
}

#[test]
fn service_rate_limits_name_the_aws_providers_services_only() {
    let p = Project::fast();
    let sim = p.read("providers/sim.yaml");
    p.write(
        "providers/sim.yaml",
        &format!(
            "{sim}service_rate_limits:\n  medialive: {{ requests_per_second: 5, burst: 30 }}\n"
        ),
    );
    let aws = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("providers/aws.yaml"),
    )
    .unwrap();
    let shipped = "  ec2: { requests_per_second: 20, burst: 50 }\n";
    assert!(
        aws.contains(shipped),
        "providers/aws.yaml's EC2 limit changed"
    );
    p.write(
        "providers/aws.yaml",
        &aws.replace(
            shipped,
            "  ec2: { requests_per_second: 0, burst: 50 }\n  mediastore: { requests_per_second: 5, burst: 5 }\n",
        ),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&out));
}

#[test]
fn bad_monitoring_actions_name_their_field() {
    let p = Project::fast();
    let profile = std::fs::read_to_string(p.path().join("profiles/sim-hd.yaml")).unwrap();
    p.write(
        "profiles/sim-hd.yaml",
        &format!(
            "{profile}monitoring:
  rules:
    - {{ name: slow, signal: encoder_speed, below: 0.9 }}
  actions:
    - on: [slow, playlist-stael]
      do: notify
    - on: ['*']
      do: ask
      hook: nobody
    - on: []
      do: failover
      notify: ops
    - on: [slow]
      do: notify
      notify: ops
      require_approval: true
  notifiers:
    ops:
      webhook: ftp://example
    both:
      webhook: http://127.0.0.1:9/x
      secret_env: lower_case
      command: [/bin/true]
  hooks:
    brain:
      command: []
      window: 1h
  guardrails:
    max_actions: 0
  content:
    every: 0
    cpu_budget: -1
"
        ),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&out));
}

/// A catalog's own section is the one named after its provider; any other unknown field, and
/// a setting the provider refuses, is an error at its line.
#[test]
fn a_catalog_takes_its_own_providers_section_only() {
    let p = Project::fast();
    let sim = p.read("providers/sim.yaml");
    p.write(
        "providers/sim.yaml",
        &format!(
            "{}\nkinds_extra: {{}}\nlocal:\n  stop_grace: 5s\n",
            sim.replacen("  time_scale: 0.001", "  time_scale: -1", 1)
                .trim_end()
        ),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!(stderr(&out));
    // A required field mistyped: the parser finds it missing, and the mistyped key is named.
    p.write(
        "providers/sim.yaml",
        &sim.replacen("\nregions:", "\nregoins:", 1),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    insta::assert_snapshot!("mistyped_required_field", stderr(&out));
}

#[test]
fn drm_systems_belong_to_a_cmaf_vod_and_are_named_once() {
    let p = Project::fast();
    let prof = p.read("profiles/sim-hd.yaml");
    let drm_line = "  drm: { scheme: cenc, key_provider: local }";
    assert!(prof.contains(drm_line));
    let with = |drm: &str| prof.replace(drm_line, &format!("  drm: {drm}"));
    p.write(
        "profiles/sim-hd.yaml",
        &with("{ scheme: aes-128, systems: [widevine] }"),
    );
    let out = p.run(&["validate"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("vod.drm.systems: DRM systems signal a cenc or cbcs VOD"),
        "{err}"
    );
    p.write(
        "profiles/sim-hd.yaml",
        &with("{ scheme: cenc, systems: [widevine, playready, widevine] }"),
    );
    let err = stderr(&p.run(&["validate"]));
    assert!(
        err.contains("vod.drm.systems[2]: `widevine` is listed twice"),
        "{err}"
    );
    p.write(
        "profiles/sim-hd.yaml",
        &with("{ scheme: cbcs, systems: [fairplay] }"),
    );
    let err = stderr(&p.run(&["validate"]));
    assert!(
        err.contains("vod.drm.systems[0]: FairPlay signalling of a VOD is not built"),
        "{err}"
    );
    p.write(
        "profiles/sim-hd.yaml",
        &with("{ scheme: cbcs, systems: [widevine, playready] }"),
    );
    p.ok(&["validate"]);
}
