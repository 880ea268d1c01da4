//! Property tests over the parsers and the planner: arbitrary or mangled input never panics,
//! and every configuration error still names a file position.

use crate::common;

use std::path::Path;

use orchestrate::config::{
    Parsed, catalog::CatalogFile, profile::ProfileFile, schedule::ScheduleFile, validate, yaml,
};
use orchestrate::plan::Plan;
use proptest::prelude::*;

const SCHEDULE: &str = common::SCHEDULE;

fn profile_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles/sim-hd.yaml"))
        .unwrap()
}

fn catalog_text() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("providers/sim.yaml"))
        .unwrap()
}

/// Replaces, inserts or deletes a few bytes of `s` (kept valid UTF-8).
fn mangle(s: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = s.as_bytes().to_vec();
    for &(pos, kind, byte) in edits {
        if bytes.is_empty() {
            break;
        }
        let at = pos % bytes.len();
        const ALPHABET: &[u8] = b" :-[]{}#&*!|>'\"\n\tabz019";
        let b = ALPHABET[byte as usize % ALPHABET.len()];
        match kind % 3 {
            0 => bytes[at] = b,
            1 => bytes.insert(at, b),
            _ => {
                bytes.remove(at);
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_all(schedule: &str, profile: &str, catalog: &str) {
    let sp = Path::new("schedules/s.yaml");
    let pp = Path::new("profiles/sim-hd.yaml");
    let cp = Path::new("providers/sim.yaml");
    let mut parsed = Parsed::default();
    let mut failed = false;
    match yaml::parse::<ScheduleFile>(sp, schedule) {
        Ok(s) => parsed.schedules.push((sp.into(), s)),
        Err(d) => {
            assert!(d.line >= 1 && d.column >= 1, "{d}");
            failed = true;
        }
    }
    match yaml::parse::<ProfileFile>(pp, profile) {
        Ok(p) => parsed
            .profiles
            .push((pp.into(), "sim-hd".into(), p, profile.into())),
        Err(d) => {
            assert!(d.line >= 1, "{d}");
            failed = true;
        }
    }
    match yaml::parse::<CatalogFile>(cp, catalog) {
        Ok(c) => parsed
            .catalogs
            .push((cp.into(), "sim".into(), c, catalog.into())),
        Err(d) => {
            assert!(d.line >= 1, "{d}");
            failed = true;
        }
    }
    if !failed
        && let Err(diags) = validate(
            &parsed,
            &orchestrate::providers::registry::Registry::builtin(),
        )
    {
        assert!(!diags.is_empty());
        for d in &diags.0 {
            assert!(d.line >= 1 && d.column >= 1, "{d}");
            assert!(!d.message.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mangled_schedules_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)) {
        check_all(&mangle(SCHEDULE, &edits), &profile_text(), &catalog_text());
    }

    #[test]
    fn mangled_profiles_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)) {
        check_all(SCHEDULE, &mangle(&profile_text(), &edits), &catalog_text());
    }

    #[test]
    fn mangled_catalogs_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)) {
        check_all(SCHEDULE, &profile_text(), &mangle(&catalog_text(), &edits));
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check_all(&text, &text, &text);
    }

    #[test]
    fn mangled_plans_are_rejected_or_checked_never_panic(edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        let text = mangle(PLAN, &edits);
        if let Ok(plan) = serde_json::from_str::<Plan>(&text) {
            let _ = plan.check();
        }
    }
}

/// A small saved plan, as `orchestrate plan --out` writes it.
const PLAN: &str = r#"{"format":1,"owner":"0123456789abcdef","state_serial":3,"created_at":"2026-11-21T10:00:00Z","actions":[{"id":"e/r/archive","op":"create","desired":{"id":"e/r/archive","provider":"sim","region":"r","event":"e","kind":"archive","name":"archive","depends_on":[],"definition":{"bucket":"b"},"tags":{},"hourly_price":0.01,"window":{"from":"2026-11-21T10:00:00Z","to":"2026-11-21T12:00:00Z"},"spec_hash":"00"}},{"id":"e/r/origin","op":"create","desired":{"id":"e/r/origin","provider":"sim","region":"r","event":"e","kind":"origin","name":"origin","depends_on":["e/r/archive"],"definition":{"a":[1,2]},"tags":{},"hourly_price":0.4,"window":{"from":"2026-11-21T10:00:00Z","to":"2026-11-21T12:00:00Z"},"spec_hash":"01"},"after":[0]}],"cost":{"currency":"USD","events":[],"total":0.0}}"#;

#[test]
fn the_sample_plan_is_valid_and_a_cycle_is_refused() {
    let plan: Plan = serde_json::from_str(PLAN).unwrap();
    plan.check().unwrap();
    let cyclic = PLAN.replacen(
        r#""spec_hash":"00"}}"#,
        r#""spec_hash":"00"},"after":[1]}"#,
        1,
    );
    let plan: Plan = serde_json::from_str(&cyclic).unwrap();
    assert!(plan.check().unwrap_err().to_string().contains("cycle"));
}
