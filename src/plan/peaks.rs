//! How many resources of each kind a season holds at once, per region and in all (pure): what
//! `orchestrate doctor` holds each provider's quotas to.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use super::DesiredState;
use crate::model::{Kind, Window};

/// What one provider's resources need of it over the season.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Needs {
    pub kinds: BTreeSet<Kind>,
    /// The most resources of a kind existing at once in a region.
    pub per_region: BTreeMap<(String, Kind), usize>,
    /// The most existing at once in all regions together (for an account-wide quota).
    pub overall: BTreeMap<Kind, usize>,
}

/// Each provider's needs, from the windows the desired resources exist in (a shared
/// resource's own spans, not their hull).
pub fn needs(desired: &DesiredState) -> BTreeMap<String, Needs> {
    let mut windows: BTreeMap<(&str, &str, Kind), Vec<Window>> = BTreeMap::new();
    for (id, spec) in &desired.resources {
        let spans = desired
            .shared_spans
            .get(id)
            .cloned()
            .unwrap_or_else(|| vec![spec.window]);
        windows
            .entry((spec.provider.as_str(), spec.region.as_str(), spec.kind))
            .or_default()
            .extend(spans);
    }
    let mut out: BTreeMap<String, Needs> = BTreeMap::new();
    let mut all: BTreeMap<(&str, Kind), Vec<Window>> = BTreeMap::new();
    for ((provider, region, kind), w) in &windows {
        let n = out.entry(provider.to_string()).or_default();
        n.kinds.insert(*kind);
        n.per_region.insert(
            (region.to_string(), *kind),
            peak_concurrency(w.iter().copied()),
        );
        all.entry((provider, *kind)).or_default().extend(w);
    }
    for ((provider, kind), w) in all {
        if let Some(n) = out.get_mut(provider) {
            n.overall.insert(kind, peak_concurrency(w.into_iter()));
        }
    }
    out
}

/// The most windows open at one instant; one that ends as another starts does not overlap it.
pub fn peak_concurrency(windows: impl Iterator<Item = Window>) -> usize {
    let mut edges: Vec<(Timestamp, i32)> =
        windows.flat_map(|w| [(w.from, 1), (w.to, -1)]).collect();
    // Ends before starts at the same instant.
    edges.sort();
    let (mut open, mut peak) = (0i32, 0i32);
    for (_, d) in edges {
        open += d;
        peak = peak.max(open);
    }
    usize::try_from(peak).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ResourceId, ResourceSpec};

    fn w(from_h: i64, to_h: i64) -> Window {
        let t = |h: i64| Timestamp::from_second(1_900_000_000 + h * 3600).unwrap();
        Window {
            from: t(from_h),
            to: t(to_h),
        }
    }

    fn add(d: &mut DesiredState, event: &str, region: &str, kind: &str, window: Window) {
        let mut spec = ResourceSpec::bare("aws", event, region, kind, kind);
        spec.window = window;
        d.resources
            .insert(ResourceId::new(event, region, kind), spec);
    }

    #[test]
    fn peaks_count_what_overlaps_per_region_and_in_all() {
        let mut d = DesiredState::default();
        add(&mut d, "a", "eu-west-1", "encoder", w(0, 3));
        add(&mut d, "b", "eu-west-1", "encoder", w(2, 4));
        // Starts as `a` ends: not at once.
        add(&mut d, "c", "eu-west-1", "encoder", w(3, 5));
        add(&mut d, "d", "us-east-1", "encoder", w(2, 3));
        let n = &needs(&d)["aws"];
        assert_eq!(n.per_region[&("eu-west-1".into(), Kind::Encoder)], 2);
        assert_eq!(n.per_region[&("us-east-1".into(), Kind::Encoder)], 1);
        assert_eq!(n.overall[&Kind::Encoder], 3);
        assert_eq!(n.kinds, BTreeSet::from([Kind::Encoder]));
    }

    #[test]
    fn a_shared_resource_counts_in_its_spans_not_their_hull() {
        let mut d = DesiredState::default();
        add(&mut d, "@p+g", "us-east-1", "cdn", w(0, 10));
        add(&mut d, "x", "us-east-1", "cdn", w(4, 5));
        d.shared_spans.insert(
            ResourceId::new("@p+g", "us-east-1", "cdn"),
            vec![w(0, 2), w(6, 8)],
        );
        assert_eq!(needs(&d)["aws"].overall[&Kind::Cdn], 1);
    }

    #[test]
    fn concurrency_of_windows() {
        assert_eq!(peak_concurrency([w(0, 2), w(2, 4), w(4, 6)].into_iter()), 1);
        assert_eq!(peak_concurrency([w(0, 3), w(2, 4), w(1, 5)].into_iter()), 3);
        assert_eq!(peak_concurrency(std::iter::empty()), 0);
    }
}
