//! The executor against the sim provider with faults injected: retries, timeouts,
//! permanent failures, and both stages of cancellation.

use crate::common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use common::postgres::Postgres;
use common::{Project, expected_names};
use orchestrate::apply::progress::Silent;
use orchestrate::apply::{ApplyOptions, ApplyReport, apply};
use orchestrate::model::ResourceStatus;
use orchestrate::plan::Scope;
use orchestrate::providers::ProviderOptions;
use orchestrate::providers::registry::Providers;
use orchestrate::shutdown::Shutdown;
use orchestrate::state::StateStore;
use orchestrate::workspace::{Workspace, make_plan};

/// A shutdown that asks to stop (and, with `force`, forces) after `delay`.
struct Run {
    report: ApplyReport,
    state: Arc<dyn StateStore>,
}

/// Where a test's state lives: SQLite in the project (`None`), or this PostgreSQL database.
type Backend = Option<String>;

async fn up(p: &Project, shutdown: &Shutdown) -> Run {
    up_on(p, shutdown, Arc::new(Silent), &None).await
}

async fn up_reporting(
    p: &Project,
    shutdown: &Shutdown,
    reporter: Arc<dyn orchestrate::apply::progress::Reporter>,
) -> Run {
    up_on(p, shutdown, reporter, &None).await
}

/// Asks for a graceful stop as soon as the first step finishes, whatever the machine's load.
/// With `force`, it abandons the steps in flight too.
struct StopOnFirstDone(Shutdown, bool);
impl orchestrate::apply::progress::Reporter for StopOnFirstDone {
    fn event(&self, e: &orchestrate::apply::progress::ApplyEvent) {
        if matches!(e, orchestrate::apply::progress::ApplyEvent::StepDone { .. }) {
            self.0.graceful.cancel();
            if self.1 {
                self.0.force.cancel();
            }
        }
    }
}

async fn up_on(
    p: &Project,
    shutdown: &Shutdown,
    reporter: Arc<dyn orchestrate::apply::progress::Reporter>,
    backend: &Backend,
) -> Run {
    let mut ws = Workspace::new(p.path(), None, Duration::from_secs(5));
    ws.state_url.clone_from(backend);
    let config = ws.load_config(&[]).expect("config");
    let renderer = ws.renderer().expect("templates");
    let state = ws.open_state().await.expect("state");
    let plan = make_plan(&config, &renderer, state.as_ref(), &Scope::All)
        .await
        .expect("plan");
    let providers = Providers::new(
        &ws.state_dir,
        config.catalogs.clone(),
        ProviderOptions::default(),
        ws.registry.clone(),
    );
    let report = apply(
        Arc::new(plan),
        &providers,
        state.clone(),
        reporter,
        &ApplyOptions::default(),
        shutdown,
    )
    .await
    .expect("apply");
    Run { report, state }
}

/// Every live inventory item appears once, and the state records exactly those.
async fn assert_consistent(p: &Project, state: &dyn StateStore) {
    let inv = p.inventory();
    let mut names: Vec<String> = inv.iter().map(|i| i.0.clone()).collect();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "duplicates in the sim inventory: {inv:?}");
    let recorded: HashMap<String, Option<String>> = state
        .resources()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status == ResourceStatus::Ready)
        .map(|r| (r.spec.id.0.clone(), r.provider_id.clone()))
        .collect();
    for (name, id, _) in &inv {
        if let Some(rec) = recorded.get(name) {
            assert_eq!(
                rec.as_deref(),
                Some(id.as_str()),
                "{name}: state and provider disagree"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_transient_errors_are_retried_without_duplicates() {
    retried_without_duplicates(&None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_transient_errors_are_retried_without_duplicates_on_postgresql() {
    let pg = Postgres::start();
    retried_without_duplicates(&Some(pg.database("faults"))).await;
}

async fn retried_without_duplicates(backend: &Backend) {
    // lost_response: the create happens but the answer is lost; the retry must not duplicate.
    let p = Project::new(
        "sim:\n  time_scale: 0.001\n  seed: 7\n  faults: { throttle: 0.2, transient: 0.2, lost_response: 0.3 }\n",
    );
    let catalog = p.read("providers/sim.yaml").replace(
        "retry: { max_attempts: 6, base_delay: 500ms, max_delay: 30s }",
        "retry: { max_attempts: 30, base_delay: 500ms, max_delay: 5s }",
    );
    p.write("providers/sim.yaml", &catalog);
    let run = up_on(&p, &Shutdown::new(), Arc::new(Silent), backend).await;
    assert!(run.report.success(), "{:?}", run.report);
    assert_eq!(run.report.done, 17);
    assert_eq!(
        p.inventory_names(),
        expected_names(),
        "exactly one of each resource"
    );
    let journal = run.state.journal(100).await.unwrap();
    assert!(
        journal.iter().any(|e| e.attempts.unwrap_or(0) > 1),
        "faults at these rates must have caused retries: {journal:?}"
    );
    assert_consistent(&p, run.state.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_call_times_out_and_its_dependents_are_skipped() {
    let p = Project::new("sim:\n  time_scale: 0.0001\n  faults: { hang: 1.0 }\n");
    let run = up(&p, &Shutdown::new()).await;
    let r = &run.report;
    assert_eq!(r.done, 0);
    // Roots (archives, inputs) time out; everything after them is skipped.
    assert_eq!(r.failed.len(), 7, "{r:?}");
    assert_eq!(r.skipped, 10, "{r:?}");
    assert!(
        r.failed
            .iter()
            .all(|f| f.error.starts_with("timed out after")),
        "{r:?}"
    );
    let states: Vec<ResourceStatus> = run
        .state
        .resources()
        .await
        .unwrap()
        .iter()
        .map(|r| r.status)
        .collect();
    assert!(
        states.iter().all(|s| *s == ResourceStatus::Failed),
        "{states:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_errors_fail_at_once_and_the_next_run_retries_them() {
    let p = Project::new("sim:\n  time_scale: 0.001\n  faults: { permanent: 1.0 }\n");
    let run = up(&p, &Shutdown::new()).await;
    assert_eq!(run.report.failed.len(), 7);
    let journal = run.state.journal(100).await.unwrap();
    assert!(
        journal.iter().all(|e| e.attempts == Some(1)),
        "no retries on a permanent error"
    );
    drop(run);
    p.set_sim("sim:\n  time_scale: 0.001\n");
    let run = up(&p, &Shutdown::new()).await;
    assert!(run.report.success(), "{:?}", run.report);
    assert_eq!(p.inventory().len(), 17);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_lets_in_flight_steps_finish_and_leaves_state_consistent() {
    let p = Project::new("sim:\n  time_scale: 0.01\n");
    let shutdown = Shutdown::new();
    let run = up_reporting(
        &p,
        &shutdown,
        Arc::new(StopOnFirstDone(shutdown.clone(), false)),
    )
    .await;
    let r = run.report.clone();
    assert!(r.done > 0 && r.not_started > 0, "{r:?}");
    assert_eq!(r.abandoned, 0);
    assert_eq!(r.done + r.not_started, 17, "{r:?}");
    let journal = run.state.journal(100).await.unwrap();
    assert!(
        journal.iter().all(|e| e.finished_at.is_some()),
        "no step left open: {journal:?}"
    );
    let recorded = run.state.resources().await.unwrap();
    assert_eq!(recorded.len(), r.done);
    assert!(recorded.iter().all(|x| x.status == ResourceStatus::Ready));
    assert_eq!(
        p.inventory().len(),
        r.done,
        "the provider holds exactly what the state records"
    );
    assert_consistent(&p, run.state.as_ref()).await;
    drop(run);
    let run = up(&p, &Shutdown::new()).await;
    assert!(run.report.success());
    assert_eq!(
        run.report.done,
        17 - r.done,
        "the second run does only what was left"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_stop_abandons_in_flight_steps_and_the_next_run_resumes_them() {
    forced_stop_then_resume(&None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_stop_abandons_in_flight_steps_and_the_next_run_resumes_them_on_postgresql() {
    let pg = Postgres::start();
    forced_stop_then_resume(&Some(pg.database("resume"))).await;
}

async fn forced_stop_then_resume(backend: &Backend) {
    let p = Project::new("sim:\n  time_scale: 0.01\n");
    let shutdown = Shutdown::new();
    let run = up_on(
        &p,
        &shutdown,
        Arc::new(StopOnFirstDone(shutdown.clone(), true)),
        backend,
    )
    .await;
    assert!(run.report.abandoned > 0, "{:?}", run.report);
    let creating: Vec<String> = run
        .state
        .resources()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.status == ResourceStatus::Creating)
        .map(|r| r.spec.id.0)
        .collect();
    // A step abandoned before its intent was committed leaves no trace; one abandoned after
    // leaves its resource marked in progress with its journal entry open.
    assert!(creating.len() <= run.report.abandoned, "{creating:?}");
    let mut open: Vec<String> = run
        .state
        .journal(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.finished_at.is_none())
        .map(|e| e.resource)
        .collect();
    open.sort();
    assert_eq!(
        open, creating,
        "every resource in progress has an open intent"
    );
    drop(run);
    let run = up_on(&p, &Shutdown::new(), Arc::new(Silent), backend).await;
    assert!(run.report.success(), "{:?}", run.report);
    assert_eq!(
        p.inventory_names(),
        expected_names(),
        "resumed creates reused their client tokens"
    );
    assert_consistent(&p, run.state.as_ref()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallelism_caps_steps_in_flight() {
    let p = Project::new("sim:\n  time_scale: 0.001\n");
    let ws = Workspace::new(p.path(), None, Duration::from_secs(5));
    let config = ws.load_config(&[]).unwrap();
    let state = ws.open_state().await.unwrap();
    let plan = make_plan(
        &config,
        &ws.renderer().unwrap(),
        state.as_ref(),
        &Scope::All,
    )
    .await
    .unwrap();
    let providers = Providers::new(
        &ws.state_dir,
        config.catalogs.clone(),
        ProviderOptions::default(),
        ws.registry.clone(),
    );
    let counter = Arc::new(InFlight::default());
    let report = apply(
        Arc::new(plan),
        &providers,
        state.clone(),
        counter.clone(),
        &ApplyOptions {
            parallelism: Some(2),
        },
        &Shutdown::new(),
    )
    .await
    .unwrap();
    assert!(report.success());
    assert_eq!(counter.max.load(std::sync::atomic::Ordering::SeqCst), 2);
}

#[derive(Default)]
struct InFlight {
    now: std::sync::atomic::AtomicUsize,
    max: std::sync::atomic::AtomicUsize,
}

impl orchestrate::apply::Reporter for InFlight {
    fn event(&self, e: &orchestrate::apply::ApplyEvent) {
        use orchestrate::apply::ApplyEvent::*;
        use std::sync::atomic::Ordering::SeqCst;
        match e {
            StepStarted { .. } => {
                let n = self.now.fetch_add(1, SeqCst) + 1;
                self.max.fetch_max(n, SeqCst);
            }
            StepDone { .. } | StepFailed { .. } => {
                self.now.fetch_sub(1, SeqCst);
            }
            _ => {}
        }
    }
}
