//! Two pipelines on MediaLive, against moto_server and the fake front (helpers in
//! `common/aws.rs`), with examples/aws-moto's dual profile:
//! - a dual event is one STANDARD channel, fed by a standard-class input with a source per
//!   pipeline, into one MediaPackage channel (MediaLive sends each pipeline to one of its two
//!   ingest endpoints);
//! - on air under `orchestrate run`, T1 reads each pipeline (`encoder/a`, `encoder/b`); an
//!   alert MediaLive raises on pipeline 0 fails over to pipeline b, by pausing pipeline 0
//!   through the channel's schedule, and T1 then reads pipeline a paused and b serving;
//! - `restart` restarts only the pipeline it names (RestartChannelPipelines);
//! - `down` leaves nothing.
//!
//! moto has neither schedules, alerts nor pipeline restarts: the fake front serves them, and
//! checks their requests against the channel's class as moto describes it.
#![cfg(feature = "aws")]

use crate::common;

use aws_sdk_medialive::types::{ChannelClass, InputClass};
use common::aws::{
    MOTO_ENV, against_moto, example_profile, from_now, inventory_of, medialive_in_ireland, ok,
    project_of, run_daemon, schedule,
};
use common::daemon::wait_for;
use serde_json::Value;

#[test]
fn a_dual_event_is_one_standard_channel_that_fails_over_between_its_pipelines() {
    against_moto(module_path!(), "dual_pipelines_against_moto");
}

// Not a tokio test: it polls the daemon with a blocking client, and runs the SDK on its own
// runtime.
#[test]
#[ignore = "run by a_dual_event_is_one_standard_channel_that_fails_over_between_its_pipelines, with moto and credentials"]
fn dual_pipelines_against_moto() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let moto = std::env::var(MOTO_ENV).expect("run through the outer test");
    let front = common::faultproxy::FaultProxy::start(&moto, 0, 0, &[]);
    let dir = tempfile::tempdir().unwrap();
    // Watched at the encoder only: MediaPackage's playlists on moto hold nothing.
    let profile = format!("{}  tiers: [encoder]\n", example_profile("aws-dual"));
    let aws = project_of(
        &front.url,
        dir.path(),
        ("aws-dual", &profile),
        &schedule(&[format!(
            "  - id: derby\n    start: {}\n    end: {}\n    profile: aws-dual\n    regions: [eu-west-1]\n",
            from_now(-60),
            from_now(3600)
        )]),
    );
    let plan = ok(dir.path(), &["plan"]);
    assert!(
        plan.contains("ChannelClass: STANDARD") || plan.contains("\"ChannelClass\": \"STANDARD\""),
        "{plan}"
    );
    assert!(
        !plan.contains("encoder-b"),
        "one channel runs both pipelines:\n{plan}"
    );

    let (daemon, get) = run_daemon(dir.path());
    // `orchestrate_encoder_paused{…resource="encoder/a"…} 1`
    let paused = |pipeline: &str| -> Option<f64> {
        get("/metrics")
            .lines()
            .find(|l| {
                l.starts_with("orchestrate_encoder_paused{")
                    && l.contains(&format!("resource=\"encoder/{pipeline}\""))
            })
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    };
    wait_for("each pipeline to be read", 180, || {
        (paused("a") == Some(0.0) && paused("b") == Some(0.0)).then_some(())
    });

    // What was made: one STANDARD channel, its input standard-class with two sources.
    let ml = rt.block_on(medialive_in_ireland(&moto));
    let channels = rt.block_on(ml.list_channels().send()).unwrap();
    let [channel] = channels.channels() else {
        panic!("{channels:?}")
    };
    assert_eq!(channel.channel_class(), Some(&ChannelClass::Standard));
    let id = channel.id().unwrap().to_string();
    let inputs = rt.block_on(ml.list_inputs().send()).unwrap();
    let [input] = inputs.inputs() else {
        panic!("{inputs:?}")
    };
    assert_eq!(input.sources().len(), 2, "{input:?}");
    if let Some(class) = input.input_class() {
        assert_eq!(class, &InputClass::Standard);
    }
    let dest = channel.destinations();
    assert_eq!(dest.len(), 1);
    assert_eq!(dest[0].media_package_settings().len(), 1, "{dest:?}");

    // MediaLive raises an alert on pipeline 0: monitoring fails over to pipeline b.
    front
        .channel_alerts()
        .set_on(&id, "0", "Video Not Detected", "no video on input");
    let actions = || -> Vec<Value> {
        ok(
            dir.path(),
            &[
                "watch",
                "--replay",
                "--no-follow",
                "--type",
                "action",
                "--output",
                "ndjson",
            ],
        )
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
    };
    let done = wait_for("the failover", 60, || {
        actions()
            .into_iter()
            .find(|a| a["action"] == "failover" && a["state"] != "pending")
    });
    assert_eq!(done["state"], "done", "{done}");
    assert_eq!(done["target"], "pipeline b", "{done}");
    assert_eq!(done["resource"], "encoder/a", "{done}");
    let pauses: Vec<Value> = front
        .schedules()
        .of(&id)
        .into_iter()
        .filter_map(|a| {
            a["scheduleActionSettings"]
                .get("pauseStateSettings")
                .cloned()
        })
        .collect();
    assert_eq!(
        pauses,
        [serde_json::json!({ "pipelines": [{ "pipelineId": "PIPELINE_0" }] })]
    );
    // The monitoring sees pipeline a held back and b serving.
    wait_for("pipeline a to read paused", 30, || {
        (paused("a") == Some(1.0) && paused("b") == Some(0.0)).then_some(())
    });
    daemon.finish();

    // A restart names its pipeline.
    let recorded: Value = serde_json::from_str(&ok(
        dir.path(),
        &[
            "state",
            "show",
            "derby/eu-west-1/encoder",
            "--output",
            "json",
        ],
    ))
    .unwrap();
    assert_eq!(
        recorded["outputs"]["pipelines"],
        serde_json::json!(["a", "b"])
    );
    let rec: orchestrate::model::RecordedResource = serde_json::from_value(recorded).unwrap();
    rt.block_on(aws.restart(&rec, Some("b"))).unwrap();
    assert_eq!(
        front.schedules().restarts(&id),
        [vec!["PIPELINE_1".to_string()]]
    );
    let e = rt.block_on(aws.restart(&rec, Some("c"))).unwrap_err();
    assert!(e.to_string().contains("not `c`"), "{e}");

    ok(dir.path(), &["down", "--yes"]);
    assert!(rt.block_on(inventory_of(&aws, "derby")).is_empty());
}
