//! The simulated cloud: latencies, rate limits and faults from `providers/sim.yaml`, scaled in
//! time so that a three-minute channel start can take milliseconds. It keeps its inventory in
//! the state dir (`sim/inventory.db`) so that leaks survive the process and `sweep` can find
//! them. It is for scale and fault simulation, never a stand-in for a real provider.

mod inventory;
mod register;
mod settings;

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, LogNormal};
use serde_json::{Value, json};

pub use inventory::{Inventory, Item};
pub use register::REGISTRATION;
pub use settings::{Faults, SimSettings};

use super::{Created, InventoryItem, Provider, ProviderError};
use crate::clock;
use crate::model::{
    Catalog, Kind, Latency, RateLimit, RecordedResource, ResourceSpec, RetryPolicy,
};

/// Latency draws are capped at this multiple of the p95 when the catalog gives no `max`.
const TAIL_CAP: f64 = 4.0;
/// Scaled timeouts never go below this real time: the overhead a step meets on a busy machine
/// (commits, scheduling) does not shrink with simulated time.
const MIN_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Environment override of the catalog's time scale, for demos and tests.
pub const TIME_SCALE_ENV: &str = "ORCHESTRATE_SIM_TIME_SCALE";

pub struct SimProvider {
    catalog: Catalog,
    scale: f64,
    faults: Faults,
    rng: Mutex<StdRng>,
    /// With a seed, each latency is drawn from the seed and what is being done (the step, the
    /// resource, and how many times this process did that step on it before), not from a shared
    /// stream: the same season draws the same latencies however its applies interleave.
    seed: Option<u64>,
    done: Mutex<std::collections::HashMap<String, u32>>,
    inventory: Inventory,
}

impl SimProvider {
    pub fn open(
        state_dir: &std::path::Path,
        catalog: Catalog,
        scale_override: Option<f64>,
        seed_override: Option<u64>,
    ) -> Result<Self, crate::providers::registration::CannotOpen> {
        let settings = SimSettings::read(catalog.settings.as_ref())?;
        let env_scale = std::env::var(TIME_SCALE_ENV)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s > 0.0);
        let scale = scale_override.or(env_scale).unwrap_or(settings.time_scale);
        let seed = seed_override.or(settings.seed);
        let rng = match seed {
            Some(s) => StdRng::seed_from_u64(s),
            None => StdRng::from_os_rng(),
        };
        Ok(Self {
            inventory: Inventory::open(&state_dir.join("sim"))?,
            catalog,
            scale,
            faults: settings.faults,
            rng: Mutex::new(rng),
            seed,
            done: Mutex::default(),
        })
    }

    fn scaled(&self, d: Duration) -> Duration {
        d.mul_f64(self.scale)
    }

    /// `step` on `id`, numbered by how many times it was done before in this process: what a
    /// seeded draw is for. Unseeded, nothing is counted.
    fn nth(&self, step: &str, id: &str) -> String {
        if self.seed.is_none() {
            return String::new();
        }
        let key = format!("{step} {id}");
        let mut done = self.done.lock().unwrap_or_else(|p| p.into_inner());
        let n = done.entry(key.clone()).or_default();
        *n += 1;
        format!("{key} #{n}")
    }

    /// A log-normal draw with the given median and p95, capped at the catalog's `max` (else
    /// 4 × p95): real provisioning times are bounded in practice, and an unbounded tail would
    /// now and then outlast the step timeout for no reason a real cloud would give.
    fn sample(&self, l: Latency, what: &str) -> Duration {
        let median = l.median.0.as_secs_f64().max(1e-6);
        let p95 = l.p95.0.as_secs_f64().max(median);
        // p95 = median · e^(1.645 σ)
        let sigma = (p95 / median).ln() / 1.644_854;
        let secs = match LogNormal::new(median.ln(), sigma) {
            Ok(d) => match self.seed {
                Some(seed) => d.sample(&mut StdRng::seed_from_u64(draw_seed(seed, what))),
                None => d.sample(&mut *self.rng.lock().unwrap_or_else(|p| p.into_inner())),
            },
            Err(_) => median,
        };
        let cap = l
            .max
            .map_or(TAIL_CAP * p95, |m| m.0.as_secs_f64().max(median));
        self.scaled(Duration::from_secs_f64(secs.min(cap)))
    }

    fn roll(&self, p: f64) -> bool {
        p > 0.0
            && self
                .rng
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .random::<f64>()
                < p
    }

    /// The faults that strike before the call takes effect.
    async fn before_call(&self) -> Result<(), ProviderError> {
        if self.roll(self.faults.hang) {
            std::future::pending::<()>().await;
        }
        if self.roll(self.faults.throttle) {
            return Err(ProviderError::Throttled { retry_after: None });
        }
        if self.roll(self.faults.transient) {
            return Err(ProviderError::Transient(
                "simulated 503 Service Unavailable".into(),
            ));
        }
        if self.roll(self.faults.permanent) {
            return Err(ProviderError::Permanent("simulated quota exceeded".into()));
        }
        Ok(())
    }

    fn lost_response(&self) -> Result<(), ProviderError> {
        if self.roll(self.faults.lost_response) {
            return Err(ProviderError::Transient(
                "simulated 500 after the call took effect".into(),
            ));
        }
        Ok(())
    }

    fn kind(
        &self,
        spec_kind: Kind,
        region: &str,
    ) -> Result<&crate::model::KindEntry, ProviderError> {
        if !self.catalog.regions.contains_key(region) {
            return Err(ProviderError::Permanent(format!(
                "unknown region `{region}`"
            )));
        }
        self.catalog
            .kinds
            .get(&spec_kind)
            .ok_or_else(|| ProviderError::Permanent(format!("unknown resource kind `{spec_kind}`")))
    }
}

/// A draw's own seed: the run's seed and what the draw is for, hashed with a function that
/// does not change between builds (unlike `std`'s hasher).
fn draw_seed(seed: u64, what: &str) -> u64 {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(what.as_bytes())
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

fn outputs(item: &Item) -> Value {
    json!({
        "id": item.provider_id,
        "endpoint": format!("sim://{}/{}/{}", item.region, item.kind, item.provider_id),
    })
}

#[async_trait]
impl Provider for SimProvider {
    async fn preflight(&self, _needs: &crate::plan::peaks::Needs) -> Vec<crate::providers::Check> {
        vec![crate::providers::Check::pass(
            "simulated",
            "the sim cloud runs in this process: no credentials, roles or quotas to check",
        )]
    }

    fn name(&self) -> &str {
        "sim"
    }

    fn rate_limit(&self, region: &str) -> RateLimit {
        let l = self.catalog.rate_limit_for(region);
        RateLimit {
            requests_per_second: l.requests_per_second / self.scale,
            burst: l.burst,
        }
    }

    fn retry_policy(&self) -> RetryPolicy {
        let mut r = self.catalog.retry;
        r.base_delay.0 = self.scaled(r.base_delay.0);
        r.max_delay.0 = self.scaled(r.max_delay.0);
        r
    }

    fn step_timeout(&self, kind: Kind) -> Duration {
        let t = self.catalog.step_timeout(kind, DEFAULT_TIMEOUT);
        self.scaled(t).max(MIN_TIMEOUT)
    }

    async fn create(&self, spec: &ResourceSpec, token: &str) -> Result<Created, ProviderError> {
        let entry = self.kind(spec.kind, &spec.region)?;
        self.before_call().await?;
        let (item, persisted) = match self.inventory.by_token(token) {
            Some(existing) => (existing, None),
            None => {
                let (item, persisted) = self.inventory.insert(
                    spec,
                    token,
                    clock::from_real(
                        self.sample(entry.provision, &self.nth("create", spec.id.as_str())),
                    ),
                );
                (item, Some(persisted))
            }
        };
        inventory::sleep_until_ms(item.ready_at_ms).await;
        // Created means recorded: the write overlapped the wait and must be done by now.
        if let Some(p) = persisted {
            p.await
                .map_err(|e| ProviderError::Transient(e.to_string()))?;
        }
        self.lost_response()?;
        Ok(Created {
            provider_id: item.provider_id.clone(),
            outputs: outputs(&item),
        })
    }

    async fn update(
        &self,
        rec: &RecordedResource,
        spec: &ResourceSpec,
    ) -> Result<Value, ProviderError> {
        let entry = self.kind(spec.kind, &spec.region)?;
        self.before_call().await?;
        let id = rec
            .provider_id
            .as_deref()
            .ok_or_else(|| ProviderError::Permanent(format!("{} has no provider id", spec.id)))?;
        let what = self.nth("update", spec.id.as_str());
        let latency = self.sample(entry.update.unwrap_or(entry.provision), &what);
        tokio::time::sleep(latency).await;
        let item = self
            .inventory
            .update(id)
            .ok_or_else(|| ProviderError::Permanent(format!("{id} does not exist")))?;
        self.lost_response()?;
        Ok(outputs(&item))
    }

    async fn delete(&self, rec: &RecordedResource) -> Result<(), ProviderError> {
        self.before_call().await?;
        let found = match (&rec.provider_id, &rec.client_token) {
            (Some(id), _) => self.inventory.get(id),
            (None, Some(token)) => self.inventory.by_token(token),
            (None, None) => None,
        };
        let Some(item) = found else {
            return Ok(());
        };
        let latency = self
            .catalog
            .kinds
            .get(&item.kind)
            .map_or(Duration::ZERO, |k| {
                clock::from_real(self.sample(k.destroy, &self.nth("delete", &item.name)))
            });
        let gone_at = self
            .inventory
            .mark_deleting(&item.provider_id, latency)
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        inventory::sleep_until_ms(gone_at).await;
        self.inventory
            .remove(&item.provider_id)
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        self.lost_response()
    }

    async fn list(&self) -> Result<Vec<InventoryItem>, ProviderError> {
        Ok(self
            .inventory
            .all()
            .into_iter()
            .map(|i| InventoryItem {
                provider: "sim".into(),
                status: i.status(inventory::now_ms()).into(),
                provider_id: i.provider_id,
                kind: i.kind,
                part: None,
                region: i.region,
                name: i.name,
                client_token: Some(i.client_token),
                tags: i.tags,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sim(seed: Option<u64>) -> (tempfile::TempDir, SimProvider) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let catalog =
            crate::config::load_catalogs(root, &crate::providers::registry::Registry::builtin())
                .unwrap()["sim"]
                .clone();
        let dir = tempfile::tempdir().unwrap();
        let p = SimProvider::open(dir.path(), catalog, Some(1.0), seed).unwrap();
        (dir, p)
    }

    #[test]
    fn a_seed_draws_each_steps_latency_whatever_the_order() {
        let (_a, one) = sim(Some(7));
        let (_b, two) = sim(Some(7));
        let l = one.catalog.kinds[&Kind::Encoder].provision;
        let draw = |p: &SimProvider, id: &str| p.sample(l, &p.nth("create", id));
        let (x1, y1) = (draw(&one, "x"), draw(&one, "y"));
        let (y2, x2) = (draw(&two, "y"), draw(&two, "x"));
        assert_eq!((x1, y1), (x2, y2));
        // The second create of the same resource is a draw of its own.
        assert_ne!(draw(&one, "x"), x1);
        // Another seed, other draws.
        let (_c, three) = sim(Some(8));
        assert_ne!(draw(&three, "x"), x1);
    }
}
