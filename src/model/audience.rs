//! What carrying an event's video costs: its expected audience, and the gigabytes each service
//! billed per GB carries over the show (pure). An estimate: the ladder's nominal bitrates, the
//! peak audience for the whole show, and the CDN fetching each rendition once.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::bitrate::Bitrate;
use super::{Catalog, Event, Kind, Profile, Redundancy};

/// An event's expected audience: the most viewers at once and the average bitrate they
/// receive. Delivery is estimated as if the peak watched the whole show: an upper bound.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    pub peak_viewers: u64,
    /// Bits per second: `3000k`, `4.5M` or a plain number.
    #[schemars(with = "String")]
    pub average_bitrate: Bitrate,
}

/// The per-GB part of an event's cost, over all its regions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// Received by the origins: the ladder, from each pipeline.
    pub ingest_gb: f64,
    /// Sent by the origins: to the CDN, which fetches each rendition once; to the viewers
    /// when there is no CDN.
    pub origin_out_gb: f64,
    /// Sent to the viewers: peak viewers × average bitrate over the show; 0 without an
    /// audience.
    pub viewers_gb: f64,
    pub cost: f64,
    /// Charges left out of the estimate: what the catalog names without a price (see
    /// [`Catalog::unpriced`]), or delivery to viewers when the event gives no audience.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpriced: Vec<String>,
}

const BYTES_PER_GB: f64 = 1e9;

pub fn delivery(event: &Event, profile: &Profile, catalog: &Catalog) -> Delivery {
    let seconds = (event.end.as_second() - event.start.as_second()).max(0) as f64;
    let gb = |bps: f64| bps * seconds / 8.0 / BYTES_PER_GB;
    let ladder: f64 = profile
        .encoder
        .ladder
        .iter()
        .map(|r| r.bitrate.0 as f64)
        .sum();
    let pipelines = match profile.encoder.redundancy {
        Redundancy::Single => 1.0,
        Redundancy::Dual => 2.0,
    };
    let regions = event.regions.len().max(1) as f64;
    let viewers = event.audience.map_or(0.0, |a| {
        gb(a.peak_viewers as f64 * a.average_bitrate.0 as f64)
    });
    let cdn = profile.cdn.enabled;
    let pricing = |kind: Kind| catalog.kinds.get(&kind).and_then(|k| k.pricing.as_ref());
    // Each region carries the same gigabytes; only its price factor differs.
    let ingest = gb(ladder * pipelines);
    let to_viewers = viewers / regions;
    let origin_out = if cdn { gb(ladder) } else { to_viewers };
    let per = |price: Option<f64>| price.unwrap_or(0.0);
    let mut cost = 0.0;
    if let Some(p) = pricing(Kind::Origin) {
        cost += per(p.per_gb_in) * ingest + per(p.per_gb_out) * origin_out;
    }
    if cdn && let Some(p) = pricing(Kind::Cdn) {
        cost += per(p.per_gb_out) * to_viewers;
    }
    let factors: f64 = event.regions.iter().map(|r| catalog.price_factor(r)).sum();
    let n = event.regions.len() as f64;
    let mut d = Delivery {
        ingest_gb: ingest * n,
        origin_out_gb: origin_out * n,
        viewers_gb: viewers,
        cost: cost * factors,
        unpriced: Vec::new(),
    };
    d.unpriced = catalog.unpriced(profile);
    let billed_to_viewers =
        pricing(if cdn { Kind::Cdn } else { Kind::Origin }).is_some_and(|p| p.per_gb_out.is_some());
    if event.audience.is_none() && billed_to_viewers {
        d.unpriced
            .push("delivery to viewers (the event gives no `audience`)".to_string());
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::catalog_spec::Pricing;

    /// The repository's configuration: its first event moved to one hour in one region under
    /// `sim-league` (a ladder of 6 + 3 + 0.8 Mb/s, one pipeline, a CDN), and the sim catalog
    /// with `kind` priced by `p`.
    fn fixture(kind: Kind, p: Pricing) -> (Event, Profile, Catalog) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let config =
            crate::config::load(root, &[], &crate::providers::registry::Registry::builtin())
                .unwrap();
        let mut event = config.events[0].clone();
        event.start = "2030-12-05T20:00:00Z".parse().unwrap();
        event.end = "2030-12-05T21:00:00Z".parse().unwrap();
        event.regions = vec!["eu-west-1".into()];
        let mut catalog = config.catalogs["sim"].clone();
        if let Some(k) = catalog.kinds.get_mut(&kind) {
            k.pricing = Some(p);
        }
        (event, config.profiles["sim-league"].clone(), catalog)
    }

    #[test]
    fn gigabytes_follow_the_ladder_the_pipelines_and_the_audience() {
        let source = || Pricing {
            source: "https://example.com/pricing".into(),
            as_of: "2026-12-07".into(),
            ..Pricing::default()
        };
        let (mut event, profile, c) = fixture(
            Kind::Cdn,
            Pricing {
                per_gb_out: Some(0.085),
                ..source()
            },
        );
        event.audience = Some(Audience {
            peak_viewers: 10_000,
            average_bitrate: Bitrate(4_000_000),
        });
        let d = delivery(&event, &profile, &c);
        let hour = |bps: f64| bps * 3600.0 / 8.0 / 1e9;
        assert!((d.ingest_gb - hour(9.8e6)).abs() < 1e-9, "{d:?}");
        assert!((d.origin_out_gb - hour(9.8e6)).abs() < 1e-9, "{d:?}");
        assert!((d.viewers_gb - hour(4e10)).abs() < 1e-6, "{d:?}");
        assert!((d.cost - 0.085 * hour(4e10)).abs() < 1e-6, "{d:?}");
        assert!(d.unpriced.is_empty(), "{d:?}");

        // A charge named without a price, and no audience: both said, neither guessed.
        event.audience = None;
        let (_, _, c) = fixture(
            Kind::Cdn,
            Pricing {
                per_gb_out: Some(0.085),
                unpriced: vec!["per GB in".into()],
                ..source()
            },
        );
        let d = delivery(&event, &profile, &c);
        assert_eq!(d.cost, 0.0);
        assert_eq!(
            d.unpriced,
            [
                "cdn per GB in (no price in the catalog)",
                "delivery to viewers (the event gives no `audience`)"
            ]
        );
    }
}
