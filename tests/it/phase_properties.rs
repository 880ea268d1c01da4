//! The phase function's promises, over random schedules and random moments.

use jiff::{SignedDuration, Timestamp};
use orchestrate::schedule::phase::{Holdings, Phase, Times, due, observed};
use proptest::prelude::*;

fn times() -> impl Strategy<Value = Times> {
    // Start within a year; shows up to a day long; leads up to 3 h; grace up to 2 h.
    (0i64..31_536_000, 60i64..86_400, 0i64..10_800, 0i64..7_200).prop_map(
        |(s, len, lead, grace)| {
            let start = Timestamp::from_second(1_790_000_000 + s).unwrap();
            Times {
                start,
                end: start + SignedDuration::from_secs(len),
                lead: SignedDuration::from_secs(lead),
                grace: SignedDuration::from_secs(grace),
            }
        },
    )
}

fn moment(t: &Times, offset: i64) -> Timestamp {
    t.start + SignedDuration::from_secs(offset)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn never_provisions_before_start_minus_lead(t in times(), off in -20_000i64..100_000) {
        let now = moment(&t, off);
        if due(&t, now).needs_resources() {
            prop_assert!(now >= t.start - t.lead);
        }
        if now >= t.start - t.lead && now < t.end + t.grace {
            prop_assert!(due(&t, now).needs_resources(), "inside the window the resources are due");
        }
    }

    #[test]
    fn never_tears_down_before_end_plus_grace(t in times(), off in -20_000i64..100_000, recorded in 0usize..8) {
        let now = moment(&t, off);
        let h = Holdings { recorded, ready: recorded, desired: 5 };
        if matches!(observed(&t, now, h), Phase::Teardown | Phase::Done | Phase::Handoff) {
            prop_assert!(now >= t.end + t.grace);
        }
    }

    #[test]
    fn phases_only_move_forward(t in times(), mut offs in prop::collection::vec(-20_000i64..100_000, 2..40)) {
        offs.sort_unstable();
        let phases: Vec<Phase> = offs.iter().map(|&o| due(&t, moment(&t, o))).collect();
        for w in phases.windows(2) {
            prop_assert!(w[0] <= w[1], "{:?} then {:?}", w[0], w[1]);
        }
    }
}
