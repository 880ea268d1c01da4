//! How long before `start` an event's resources must be created.
//!
//! Explicit leads (the event's, else its profile's) are taken as given. `auto` is learned: each
//! create is allowed the p95 of its kind's recorded durations in the region times a safety
//! factor, or its tail with a margin where that is longer (see `allow`; the catalog's p95 and
//! `max` where fewer than [`MIN_SAMPLES`] were recorded). The event's lead is the longest chain
//! of these through the profile's dependencies, each create at its typical time and the chain's
//! longest tail counted once, plus time for readiness checks, rounded up to the catalog's lead
//! step (a minute unless it says), and the largest over its regions. Each
//! resource on the chain has a lead of its own, the part of the chain from it to the show, so
//! that quick creates are not made at the start of the slow one's lead and left idle (see
//! [`Leads::slots`]).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::model::HistoryEntry;
use crate::model::{
    Catalog, Event, Kind, KindEntry, Lead, LeadSource, Profile, Slot, Window, blueprint,
};

/// Safety factor over the p95 of each create on the critical path.
pub const SAFETY: f64 = 1.25;
/// Margin over the longest recorded create (or the catalog's `max`): provisioning times have
/// heavy tails (a MediaLive start is usually done in 3 minutes and may take 10), and the p95
/// alone would leave one event in fifty late.
pub const TAIL: f64 = 1.1;
/// Recorded creates needed before a kind's own history replaces the catalog's figure.
pub const MIN_SAMPLES: usize = 5;
/// Recorded creates (in every region together) needed before their p95 may scale the
/// catalog's `max` down. From fewer, a p95 is a guess that one quick week makes short, and a
/// tail shortened on it leaves the next slow deploy late; it may scale the tail up at once.
pub const TRUST_P95: usize = 50;

/// Where a lead came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeadOrigin {
    Event,
    Profile,
    /// `auto`, with recorded durations for at least one kind on the chain.
    Learned,
    /// `auto`, from the catalog's typical times only.
    Catalog,
}

impl LeadOrigin {
    pub fn as_str(self) -> &'static str {
        match self {
            LeadOrigin::Event => "event",
            LeadOrigin::Profile => "profile",
            LeadOrigin::Learned => "learned",
            LeadOrigin::Catalog => "catalog",
        }
    }
}

/// Recorded create durations per (provider, region, kind), and per (provider, kind) over all
/// regions, from the state's history.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    kinds: HashMap<(String, String, Kind), Sampled>,
    everywhere: HashMap<(String, Kind), Sampled>,
}

/// What the recorded creates of one kind say (in one region, or in all of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sampled {
    pub p95: Duration,
    /// The longest.
    pub max: Duration,
    /// How many creates.
    pub count: usize,
}

impl Learned {
    pub fn from_history(history: &[HistoryEntry]) -> Self {
        let mut samples: HashMap<(String, String, Kind), Vec<u64>> = HashMap::new();
        let mut everywhere: HashMap<(String, Kind), Vec<u64>> = HashMap::new();
        for h in history.iter().filter(|h| h.op == "create") {
            samples
                .entry((h.provider.clone(), h.region.clone(), h.kind))
                .or_default()
                .push(h.duration_ms);
            everywhere
                .entry((h.provider.clone(), h.kind))
                .or_default()
                .push(h.duration_ms);
        }
        Self {
            kinds: summarise(samples),
            everywhere: summarise(everywhere),
        }
    }

    pub fn get(&self, provider: &str, region: &str, kind: Kind) -> Option<Sampled> {
        self.kinds
            .get(&(provider.to_string(), region.to_string(), kind))
            .copied()
    }

    /// The kind's records in every region together.
    pub fn everywhere(&self, provider: &str, kind: Kind) -> Option<Sampled> {
        self.everywhere.get(&(provider.to_string(), kind)).copied()
    }
}

fn summarise<K: std::hash::Hash + Eq>(samples: HashMap<K, Vec<u64>>) -> HashMap<K, Sampled> {
    samples
        .into_iter()
        .filter(|(_, v)| v.len() >= MIN_SAMPLES)
        .map(|(k, mut v)| {
            v.sort_unstable();
            let q = |p: f64| {
                let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
                Duration::from_millis(v[i])
            };
            let sampled = Sampled {
                p95: q(0.95),
                max: q(1.0),
                count: v.len(),
            };
            (k, sampled)
        })
        .collect()
}

/// How long to allow for one create: the region's p95 × [`SAFETY`], and never less than the
/// tail × [`TAIL`]. The tail is read from the kind's records in every region together (`wide`;
/// a service's tail is its own, and seven regions show it seven times as often): the longest
/// recorded create, and never less than the catalog's `max` (the longest known in practice,
/// where it gives one) scaled by how the recorded p95 compares with the catalog's, down only
/// from [`TRUST_P95`] records. A hundred creates often miss a deploy that takes its 20 minutes
/// one time in fifty, and a provider twice as fast as its catalog says has a tail half as long.
/// Without any record, the catalog's p95 and `max`.
fn allow(
    sampled: Option<Sampled>,
    wide: Option<Sampled>,
    catalog: Option<&KindEntry>,
) -> Allowance {
    let p95 = catalog.map_or(Duration::ZERO, |k| k.provision.p95.0);
    let max = catalog.and_then(|k| k.provision.max).map(|m| m.0);
    let (p95, tail) = match sampled {
        Some(s) => {
            let shape = match max {
                Some(m) if !p95.is_zero() => m.as_secs_f64() / p95.as_secs_f64(),
                _ => 0.0,
            };
            let wide = wide.unwrap_or(s);
            let scaled = wide.p95.mul_f64(shape);
            let known = match max {
                Some(m) if wide.count < TRUST_P95 => scaled.max(m),
                _ => scaled,
            };
            let tail = s.max.max(wide.max).max(known);
            (s.p95, tail)
        }
        None => (p95, max.unwrap_or_default()),
    };
    let typical = p95.mul_f64(SAFETY);
    Allowance {
        typical,
        whole: typical.max(tail.mul_f64(TAIL)),
    }
}

/// What one create is allowed: its typical time, and the whole of it with its tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Allowance {
    /// The p95 × [`SAFETY`].
    typical: Duration,
    /// Never less than `typical`.
    whole: Duration,
}

impl Allowance {
    /// How much longer than typical the create may run.
    fn excess(self) -> Duration {
        self.whole.saturating_sub(self.typical)
    }
}

/// Which of a profile's resources a lead must cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Covering {
    /// All of them.
    All,
    /// The event's own, when its group's shared ones are already up.
    Own,
    /// Only the shared ones.
    Shared,
}

/// How long before `start` each of a profile's resources is created in one region, and the
/// lead of the whole (the longest of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leads {
    pub lead: Duration,
    pub origin: LeadOrigin,
    /// Per blueprint slot. With `auto`, each resource is created as late as the chain of what
    /// depends on it allows: the archive before the origin before the encoder, each by its own
    /// learned time, so that nothing waits idle for the slowest create of the event. A fixed
    /// lead is the same for every slot.
    pub slots: BTreeMap<String, Duration>,
}

impl Leads {
    fn fixed(lead: Duration, origin: LeadOrigin, profile: &Profile, covering: Covering) -> Self {
        Self {
            lead,
            origin,
            slots: covered(profile, covering).map(|s| (s.name, lead)).collect(),
        }
    }

    /// Slot by slot, the longer of two.
    fn max(mut self, other: Self) -> Self {
        for (name, d) in other.slots {
            let e = self.slots.entry(name).or_insert(d);
            *e = (*e).max(d);
        }
        if other.lead > self.lead {
            self.lead = other.lead;
            self.origin = other.origin;
        }
        self
    }
}

fn covered(profile: &Profile, covering: Covering) -> impl Iterator<Item = Slot> {
    blueprint(profile)
        .into_iter()
        .filter(|s| !s.after_show)
        .filter(move |s| match covering {
            Covering::All => true,
            Covering::Own => !s.shared,
            Covering::Shared => s.shared,
        })
}

/// The learned (or catalog) leads for a profile in one region. Walking back from the show:
/// what nothing depends on must be ready a readiness check before start; anything else must
/// be ready before the first of its dependents is created. Each create is given what `allow`
/// says (from the catalog's p95 and `max` until enough are recorded): its typical time, and
/// each chain of creates its longest tail once. Each lead is rounded up to the catalog's step,
/// so that a `tick` every step creates each resource at its time.
pub fn region_leads(
    profile: &Profile,
    catalog: &Catalog,
    region: &str,
    learned: &Learned,
    covering: Covering,
) -> Leads {
    let mut used_history = false;
    let slots: Vec<Slot> = covered(profile, covering).collect();
    let readiness = catalog.readiness.as_millis() as u64;
    // Per slot, each chain of creates from it to the show, as milliseconds of typical time
    // (readiness included) and the largest excess of one create on it over its typical.
    let mut chains: HashMap<&str, Vec<(u64, u64)>> = HashMap::new();
    // The blueprint lists dependencies before dependents: walk it backwards.
    for s in slots.iter().rev() {
        let sampled = learned.get(&profile.provider, region, s.kind);
        used_history |= sampled.is_some();
        let wide = learned.everywhere(&profile.provider, s.kind);
        let own = allow(sampled, wide, catalog.kinds.get(&s.kind));
        let (typical, excess) = (
            own.typical.as_millis() as u64,
            own.excess().as_millis() as u64,
        );
        let mut mine: Vec<(u64, u64)> = slots
            .iter()
            .filter(|d| d.depends_on.contains(&s.name))
            .filter_map(|d| chains.get(d.name.as_str()))
            .flatten()
            .map(|&(t, x)| (t + typical, x.max(excess)))
            .collect();
        if mine.is_empty() {
            mine.push((readiness + typical, excess));
        }
        chains.insert(s.name.as_str(), mine);
    }
    // A chain is allowed its typical times and one tail, its longest: independent creates
    // seldom both run to their tails, and a create begun late because the one before it ran
    // long is late only if it then runs long too. A tail for every create of the chain would
    // leave what begins it (the archive, for minutes of seconds-long creates) waiting for a sum
    // of tails that no show meets.
    let begin: HashMap<&str, u64> = chains
        .iter()
        .map(|(name, c)| (*name, c.iter().map(|(t, x)| t + x).max().unwrap_or(0)))
        .collect();
    let step = (catalog.lead_step.as_millis() as u64).max(1);
    let round = |ms: u64| Duration::from_millis(ms.div_ceil(step) * step);
    let slots: BTreeMap<String, Duration> = slots
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                round(begin.get(s.name.as_str()).copied().unwrap_or(0)),
            )
        })
        .collect();
    Leads {
        lead: slots
            .values()
            .copied()
            .max()
            .unwrap_or_else(|| round(readiness)),
        origin: if used_history {
            LeadOrigin::Learned
        } else {
            LeadOrigin::Catalog
        },
        slots,
    }
}

/// The leads an event uses, and where they came from, when they must cover `covering`
/// (fixed leads are taken as given); with several regions, the longest of each.
pub fn resolve_leads(
    event: &Event,
    profile: &Profile,
    catalog: &Catalog,
    learned: &Learned,
    covering: Covering,
) -> Leads {
    match (event.lead, event.lead_source) {
        (Lead::Fixed(d), LeadSource::Profile) => {
            Leads::fixed(d, LeadOrigin::Profile, profile, covering)
        }
        (Lead::Fixed(d), _) => Leads::fixed(d, LeadOrigin::Event, profile, covering),
        (Lead::Auto, _) => event
            .regions
            .iter()
            .map(|r| region_leads(profile, catalog, r, learned, covering))
            .reduce(Leads::max)
            .unwrap_or_else(|| region_leads(profile, catalog, "", learned, covering)),
    }
}

/// From `start − lead` to `end + grace`: when the event's resources should exist.
pub fn window(event: &Event, lead: Duration) -> Window {
    let sub = crate::config::duration::signed(lead);
    let add = crate::config::duration::signed(event.grace);
    Window {
        from: event.start.checked_sub(sub).unwrap_or(event.start),
        to: event.end.checked_add(add).unwrap_or(event.end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(kind: &str, ms: u64) -> HistoryEntry {
        HistoryEntry {
            provider: "sim".into(),
            region: "eu-west-1".into(),
            kind: kind.parse().unwrap(),
            op: "create".into(),
            duration_ms: ms,
            at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn p95_needs_enough_samples() {
        let few: Vec<_> = (1..MIN_SAMPLES as u64)
            .map(|i| entry("cdn", i * 1000))
            .collect();
        assert_eq!(
            Learned::from_history(&few).get("sim", "eu-west-1", Kind::Cdn),
            None
        );
        let many: Vec<_> = (1..=20).map(|i| entry("cdn", i * 1000)).collect();
        let l = Learned::from_history(&many);
        let s = l.get("sim", "eu-west-1", Kind::Cdn).unwrap();
        assert_eq!(s.p95, Duration::from_secs(19));
        assert_eq!(s.max, Duration::from_secs(20));
        assert_eq!(l.get("sim", "us-east-1", Kind::Cdn), None);
        assert_eq!(l.everywhere("sim", Kind::Cdn), Some(s));
    }

    fn kind(p95: u64, max: Option<u64>) -> KindEntry {
        let max = max.map_or(String::new(), |m| format!(", max: {m}s"));
        let yaml = format!(
            "hourly_price: 0\nprovision: {{ median: 1s, p95: {p95}s{max} }}\n\
             destroy: {{ median: 1s, p95: 1s }}"
        );
        serde_saphyr::from_str(&yaml).unwrap()
    }

    #[test]
    fn a_create_is_allowed_its_p95_with_a_margin_or_its_tail() {
        let secs = Duration::from_secs;
        // No record: the catalog's p95 × 1.25, or its max × 1.1 when that is longer.
        assert_eq!(allow(None, None, Some(&kind(100, None))).whole, secs(125));
        assert_eq!(
            allow(None, None, Some(&kind(100, Some(200)))).whole,
            secs(220)
        );
        // Records rarely show the tail: the catalog's stands in for it, scaled to the recorded
        // p95 once there are enough of them (here 0.9 of the catalog's, so the tail is 180 s
        // rather than 200 s)...
        let few = Sampled {
            p95: secs(90),
            max: secs(150),
            count: TRUST_P95,
        };
        assert_eq!(
            allow(Some(few), None, Some(&kind(100, Some(200)))).whole,
            secs(198)
        );
        // ...but not down from fewer, up at once.
        let early = Sampled {
            count: TRUST_P95 - 1,
            ..few
        };
        assert_eq!(
            allow(Some(early), None, Some(&kind(100, Some(200)))).whole,
            secs(220)
        );
        let slow = Sampled {
            p95: secs(150),
            ..early
        };
        assert_eq!(
            allow(Some(slow), None, Some(&kind(100, Some(200)))).whole,
            secs(330)
        );
        assert_eq!(
            allow(Some(few), None, Some(&kind(100, None))).whole,
            secs(165)
        );
        // ...and a longer recorded one replaces it.
        let long = Sampled {
            max: secs(300),
            ..few
        };
        assert_eq!(
            allow(Some(long), None, Some(&kind(100, Some(200)))).whole,
            secs(330)
        );
        let light_tail = Sampled {
            max: secs(95),
            ..few
        };
        assert_eq!(
            allow(Some(light_tail), None, None).whole,
            Duration::from_millis(112_500)
        );
        // The tail seen in other regions counts here too, as their p95 does for scaling it.
        let elsewhere = Sampled {
            p95: secs(100),
            max: secs(260),
            count: TRUST_P95,
        };
        assert_eq!(
            allow(Some(few), Some(elsewhere), Some(&kind(100, None))).whole,
            secs(286)
        );
        assert_eq!(
            allow(Some(few), Some(elsewhere), Some(&kind(100, Some(300)))).whole,
            secs(330)
        );
    }

    #[test]
    fn a_chain_is_allowed_its_longest_tail_once() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config =
            crate::config::load(root, &[], &crate::providers::registry::Registry::builtin())
                .unwrap();
        let profile = &config.profiles["sim-league"];
        let mut catalog = config.catalogs["sim"].clone();
        catalog.lead_step = Duration::from_millis(1);
        // A hundred creates of each kind, each kind once at its tail.
        let history = |input_tail: u64| -> Vec<HistoryEntry> {
            [
                ("archive", 2_000, 20_000),
                ("origin", 5_000, 60_000),
                ("input", 10_000, input_tail),
                ("encoder", 200_000, 600_000),
            ]
            .into_iter()
            .flat_map(|(kind, usual, tail)| {
                (0..100).map(move |i| entry(kind, if i == 0 { tail } else { usual }))
            })
            .collect()
        };
        let leads = |h: &[HistoryEntry]| {
            let learned = Learned::from_history(h);
            region_leads(profile, &catalog, "eu-west-1", &learned, Covering::Own).slots
        };
        let ms = Duration::from_millis;
        // Typical: p95 × 1.25 (archive 2.5 s, origin 6.25 s, input 12.5 s, encoder 250 s).
        // Tails × 1.1: 22 s, 66 s, 132 s, 660 s. The encoder's excess (410 s) is the longest,
        // and its chain is the readiness minute, its typical and that excess: 720 s. What comes
        // before it adds its typical time only, not its own tail as well.
        let l = leads(&history(120_000));
        assert_eq!(l["encoder"], ms(720_000));
        assert_eq!(l["input"], ms(732_500));
        assert_eq!(l["origin"], ms(726_250));
        assert_eq!(l["archive"], ms(728_750));
        // An input once far slower than any encoder: its own tail is the chain's longest.
        let l = leads(&history(900_000));
        assert_eq!(l["encoder"], ms(720_000));
        assert_eq!(l["input"], ms(60_000 + 250_000 + 990_000));
        assert_eq!(l["origin"], ms(726_250));
    }
}
