//! The planner's invariants over random recorded states: acyclic, creates after what they
//! depend on, deletes after what depends on them, deterministic, and converged when the state
//! matches the schedule.

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use orchestrate::model::{Config, RecordedResource, ResourceStatus};
use orchestrate::plan::{DesiredState, Op, Scope, desired_state, plan};
use orchestrate::render::Renderer;
use proptest::prelude::*;

struct Fixture {
    config: Config,
    renderer: Renderer,
    desired: DesiredState,
}

/// Loaded once per test process: the project files do not change between cases.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let p = common::Project::fast();
        let config = orchestrate::config::load(
            p.path(),
            &[],
            &orchestrate::providers::registry::Registry::builtin(),
        )
        .unwrap();
        let renderer = Renderer::load(&p.path().join("templates")).unwrap();
        let desired =
            desired_state(&config, &renderer, OWNER, &Scope::All, &Default::default()).unwrap();
        Fixture {
            config,
            renderer,
            desired,
        }
    })
}

const OWNER: &str = "0123456789abcdef";

const STATUSES: [ResourceStatus; 5] = [
    ResourceStatus::Creating,
    ResourceStatus::Ready,
    ResourceStatus::Updating,
    ResourceStatus::Deleting,
    ResourceStatus::Failed,
];

fn recorded_from(desired: &DesiredState, picks: &[(u8, u8, bool)]) -> Vec<RecordedResource> {
    let now = jiff::Timestamp::now();
    desired
        .resources
        .values()
        .zip(picks)
        .filter(|(_, (keep, _, _))| keep % 3 != 0)
        .map(|(spec, (_, status, changed))| {
            let mut spec = spec.clone();
            if *changed {
                spec.spec_hash.push('x');
            }
            RecordedResource {
                spec,
                status: STATUSES[*status as usize % STATUSES.len()],
                provider_id: (status % 2 == 0).then(|| "p".to_string()),
                client_token: Some("t".into()),
                outputs: serde_json::Value::Null,
                created_at: now,
                updated_at: now,
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn plans_respect_dependencies(
        picks in prop::collection::vec((any::<u8>(), any::<u8>(), any::<bool>()), 17),
        drop_events in prop::collection::vec(any::<bool>(), 2),
    ) {
        let f = fixture();
        let mut config = f.config.clone();
        let recorded = recorded_from(&f.desired, &picks);
        // Dropping events from the schedule turns their recorded resources into deletes.
        let keep: Vec<bool> = drop_events.iter().map(|d| !d).collect();
        let mut i = 0;
        config.events.retain(|_| { let k = keep[i]; i += 1; k });
        let desired = desired_state(&config, &f.renderer, OWNER, &Scope::All, &Default::default()).unwrap();
        let plan_a = plan(desired.clone(), &recorded, &config.catalogs, &Scope::All, "o", 1, jiff::Timestamp::UNIX_EPOCH).unwrap();
        let plan_b = plan(desired, &recorded, &config.catalogs, &Scope::All, "o", 1, jiff::Timestamp::UNIX_EPOCH).unwrap();
        prop_assert_eq!(&plan_a, &plan_b, "deterministic");
        plan_a.check().unwrap();

        let index: HashMap<&str, usize> = plan_a.actions.iter().enumerate().map(|(i, a)| (a.id.as_str(), i)).collect();
        let by_id: BTreeMap<&str, &RecordedResource> = recorded.iter().map(|r| (r.spec.id.as_str(), r)).collect();
        for a in &plan_a.actions {
            match a.op {
                Op::Create | Op::Update | Op::Replace => {
                    for dep in &a.desired.as_ref().unwrap().depends_on {
                        let j = index[dep.as_str()];
                        if matches!(plan_a.actions[j].op, Op::Create | Op::Update | Op::Replace) {
                            prop_assert!(a.after.contains(&(j as u32)), "{} must wait for {}", a.id, dep);
                        }
                    }
                }
                Op::Delete => {
                    for (id, r) in &by_id {
                        if r.spec.depends_on.contains(&a.id)
                            && let Some(&j) = index.get(id)
                                && plan_a.actions[j].op == Op::Delete {
                                    prop_assert!(a.after.contains(&(j as u32)), "{} must wait for the delete of {}", a.id, id);
                                }
                    }
                }
                Op::NoOp => prop_assert!(a.after.is_empty()),
            }
        }
    }
}

#[test]
fn a_state_matching_the_schedule_plans_no_change() {
    let f = fixture();
    let (config, desired) = (&f.config, f.desired.clone());
    let now = jiff::Timestamp::now();
    let recorded: Vec<RecordedResource> = desired
        .resources
        .values()
        .map(|spec| RecordedResource {
            spec: spec.clone(),
            status: ResourceStatus::Ready,
            provider_id: Some("p".into()),
            client_token: None,
            outputs: serde_json::Value::Null,
            created_at: now,
            updated_at: now,
        })
        .collect();
    let p = plan(
        desired,
        &recorded,
        &config.catalogs,
        &Scope::All,
        "o",
        1,
        now,
    )
    .unwrap();
    assert!(p.is_empty());
    assert_eq!(p.counts().unchanged, 17);
}
