//! The executor: walks the plan's DAG with as much concurrency as the dependencies allow,
//! bounded by each provider's per-region API rate limit (token buckets), not by a fixed global
//! parallelism. No resource ever has two steps in flight: each action is one task.

pub mod progress;
mod retry;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde::Serialize;
use tokio::task::JoinSet;

pub use crate::ratelimit::TokenBucket;
pub use progress::{ApplyEvent, Reporter};
pub use retry::backoff;

use crate::model::{RecordedResource, ResourceId, ResourceSpec, ResourceStatus};
use crate::plan::{Action, Op, Plan};
use crate::providers::registry::{OpenError, Providers};
use crate::providers::{Provider, ProviderError};
use crate::shutdown::Shutdown;
use crate::state::{Commit, Intent, Outcome, StateError, StateStore};

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// Caps steps in flight (Terraform's `-parallelism`); none by default.
    pub parallelism: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Provider(#[from] OpenError),
    #[error(transparent)]
    State(#[from] StateError),
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub id: ResourceId,
    pub op: Op,
    pub error: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ApplyReport {
    pub done: usize,
    pub failed: Vec<Failure>,
    /// Not run because something they depend on failed.
    pub skipped: usize,
    /// Not started because of a stop request.
    pub not_started: usize,
    /// Abandoned in flight by a forced stop (the next run resumes them).
    pub abandoned: usize,
    pub elapsed_ms: u64,
}

impl ApplyReport {
    pub fn success(&self) -> bool {
        self.failed.is_empty() && self.skipped == 0 && self.not_started == 0 && self.abandoned == 0
    }
}

enum StepEnd {
    Done,
    Failed(String),
    NotStarted,
}

struct Step {
    plan: Arc<Plan>,
    index: usize,
    /// See [`ranks`].
    rank: u64,
    provider: Arc<dyn Provider>,
    /// The provider of the recorded resource, for the delete half of a replace across providers.
    old_provider: Arc<dyn Provider>,
    bucket: Arc<TokenBucket>,
    state: Arc<dyn StateStore>,
    reporter: Arc<dyn Reporter>,
    shutdown: Shutdown,
}

pub async fn apply(
    plan: Arc<Plan>,
    providers: &Providers,
    state: Arc<dyn StateStore>,
    reporter: Arc<dyn Reporter>,
    options: &ApplyOptions,
    shutdown: &Shutdown,
) -> Result<ApplyReport, ApplyError> {
    let started = crate::clock::Stopwatch::start();
    let n = plan.actions.len();
    let runnable: Vec<bool> = plan.actions.iter().map(|a| a.op != Op::NoOp).collect();

    // Providers and one token bucket per (provider, region), opened before anything starts.
    let mut provs: HashMap<String, Arc<dyn Provider>> = HashMap::new();
    let mut buckets: HashMap<(String, String), Arc<TokenBucket>> = HashMap::new();
    for a in plan.actions.iter().filter(|a| a.op != Op::NoOp) {
        for spec in [a.desired.as_ref(), a.recorded.as_ref().map(|r| &r.spec)]
            .into_iter()
            .flatten()
        {
            if !provs.contains_key(&spec.provider) {
                provs.insert(spec.provider.clone(), providers.get(&spec.provider)?);
            }
            let key = (spec.provider.clone(), spec.region.clone());
            if let std::collections::hash_map::Entry::Vacant(slot) = buckets.entry(key) {
                slot.insert(providers.bucket(&spec.provider, &spec.region)?);
            }
        }
    }

    let mut indegree: Vec<usize> = plan.actions.iter().map(|a| a.after.len()).collect();
    let dependents = dependents(&plan);
    let mut per_region: HashMap<String, usize> = HashMap::new();
    for a in plan.actions.iter().filter(|a| a.op != Op::NoOp) {
        *per_region.entry(a.region().to_string()).or_default() += 1;
    }
    let mut regions: Vec<(String, usize)> = per_region.into_iter().collect();
    regions.sort();
    reporter.event(&ApplyEvent::Started {
        total: runnable.iter().filter(|r| **r).count(),
        regions,
    });

    let rank = ranks(&plan, &dependents, |a| {
        a.spec().map_or(Duration::ZERO, |s| {
            providers.typical(&s.provider, s.kind, a.op)
        })
    });
    // Critical path first: of the steps ready at once, those with the most work after them.
    let mut ready: BinaryHeap<(u64, Reverse<usize>)> = (0..n)
        .filter(|&i| runnable[i] && indegree[i] == 0)
        .map(|i| (rank[i], Reverse(i)))
        .collect();
    let mut settled = vec![false; n];
    let mut report = ApplyReport::default();
    let mut set: JoinSet<(usize, StepEnd, Vec<Commit>)> = JoinSet::new();
    // Completion records being committed; dependents do not wait for them. They are queued
    // in the store already (a commit progresses unpolled), so they are awaited only at the end,
    // without a task each competing with the steps for the two cores.
    let mut pending: Vec<Commit> = Vec::new();
    // Which action each task runs, so that even a panicked task is attributed.
    let mut task_action: HashMap<tokio::task::Id, usize> = HashMap::new();
    let mut in_flight = 0usize;
    let cap = options.parallelism.unwrap_or(usize::MAX).max(1);
    let mut stop_announced = false;

    loop {
        while in_flight < cap && !shutdown.graceful.is_cancelled() {
            let Some((_, Reverse(i))) = ready.pop() else {
                break;
            };
            let a = &plan.actions[i];
            let spec = a
                .spec()
                .map(|s| (s.provider.clone(), s.region.clone()))
                .unwrap_or_default();
            let old = a.recorded.as_ref().map_or(&spec.0, |r| &r.spec.provider);
            let step = Step {
                plan: plan.clone(),
                index: i,
                rank: rank[i],
                provider: provs[&spec.0].clone(),
                old_provider: provs[old].clone(),
                bucket: buckets[&spec].clone(),
                state: state.clone(),
                reporter: reporter.clone(),
                shutdown: shutdown.clone(),
            };
            let handle = set.spawn(async move {
                let (end, commits) = step.run().await;
                (i, end, commits)
            });
            task_action.insert(handle.id(), i);
            in_flight += 1;
        }
        if in_flight == 0 {
            break;
        }
        tokio::select! {
            biased;
            () = shutdown.force.cancelled() => {
                report.abandoned += in_flight;
                set.abort_all();
                while set.join_next().await.is_some() {}
                break;
            }
            joined = set.join_next() => {
                let Some(joined) = joined else { break };
                in_flight -= 1;
                let (i, end, commits) = match joined {
                    Ok(r) => r,
                    Err(e) => match task_action.get(&e.id()) {
                        Some(&i) => (i, StepEnd::Failed(format!("the step crashed: {e}")), Vec::new()),
                        None => continue,
                    },
                };
                settled[i] = true;
                pending.extend(commits);
                match end {
                    StepEnd::Done => {
                        report.done += 1;
                        for &d in &dependents[i] {
                            indegree[d] -= 1;
                            if indegree[d] == 0 && !settled[d] {
                                ready.push((rank[d], Reverse(d)));
                            }
                        }
                    }
                    StepEnd::Failed(error) => {
                        let a = &plan.actions[i];
                        report.failed.push(Failure { id: a.id.clone(), op: a.op, error });
                        skip_dependents(i, &dependents, &mut settled, &plan, reporter.as_ref(), &mut report);
                    }
                    StepEnd::NotStarted => report.not_started += 1,
                }
            }
            () = shutdown.graceful.cancelled(), if !stop_announced => {
                stop_announced = true;
                reporter.event(&ApplyEvent::Stopping { in_flight });
            }
        }
    }
    for c in pending {
        c.await?;
    }
    // Steps abandoned by a forced stop may have queued their results already.
    state.settle().await?;
    // Whatever never became ready or was left in the queue by a stop.
    let unsettled = (0..n).filter(|&i| runnable[i] && !settled[i]).count();
    report.not_started += unsettled.saturating_sub(report.abandoned);
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    reporter.event(&ApplyEvent::Finished {
        report: report.clone(),
    });
    Ok(report)
}

/// For each action, the actions that wait for it.
fn dependents(plan: &Plan) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); plan.actions.len()];
    for (i, a) in plan.actions.iter().enumerate() {
        for &j in &a.after {
            out[j as usize].push(i);
        }
    }
    out
}

/// Each action's rank: its typical duration plus the largest rank among its dependents, in ms
/// (the "upward rank" of list scheduling). The longest chains start first, and their intents
/// are written first, when thousands of steps are ready at once.
fn ranks(
    plan: &Plan,
    dependents: &[Vec<usize>],
    typical: impl Fn(&Action) -> Duration,
) -> Vec<u64> {
    let order = crate::plan::topological_order(&plan.actions).unwrap_or_default();
    let mut rank = vec![0u64; plan.actions.len()];
    for &i in order.iter().rev() {
        let after = dependents[i].iter().map(|&d| rank[d]).max().unwrap_or(0);
        rank[i] = after.saturating_add(typical(&plan.actions[i]).as_millis() as u64);
    }
    rank
}

fn skip_dependents(
    failed: usize,
    dependents: &[Vec<usize>],
    settled: &mut [bool],
    plan: &Plan,
    reporter: &dyn Reporter,
    report: &mut ApplyReport,
) {
    let mut stack = dependents[failed].clone();
    while let Some(d) = stack.pop() {
        if settled[d] {
            continue;
        }
        settled[d] = true;
        report.skipped += 1;
        let a = &plan.actions[d];
        reporter.event(&ApplyEvent::StepSkipped {
            id: a.id.clone(),
            region: a.region().to_string(),
            because: plan.actions[failed].id.clone(),
        });
        stack.extend(dependents[d].iter().copied());
    }
}

fn new_token() -> String {
    format!("ct-{:032x}", rand::rng().random::<u128>())
}

impl Step {
    fn action(&self) -> &Action {
        &self.plan.actions[self.index]
    }

    async fn run(self) -> (StepEnd, Vec<Commit>) {
        let a = self.action();
        let mut commits = Vec::new();
        let result = match a.op {
            Op::Create => self.create(&mut commits).await,
            Op::Update => self.update(&mut commits).await,
            Op::Delete => self.delete(&mut commits).await,
            Op::Replace => match self.delete(&mut commits).await {
                Ok(true) => {
                    // The new resource's intent must not overtake the old one's removal.
                    let mut settled = Ok(true);
                    for c in commits.drain(..) {
                        if let Err(e) = c.await {
                            settled = Err(chain(e));
                        }
                    }
                    match settled {
                        Ok(_) => self.create(&mut commits).await,
                        Err(e) => Err(e),
                    }
                }
                other => other,
            },
            Op::NoOp => Ok(true),
        };
        let end = match result {
            Ok(true) => StepEnd::Done,
            Ok(false) => StepEnd::NotStarted,
            Err(e) => StepEnd::Failed(e),
        };
        (end, commits)
    }

    /// Journals, calls the provider with retries inside the kind's timeout, and queues the
    /// outcome's record into `commits` (awaited by the caller; dependents need not wait for it).
    /// `Ok(false)` when a stop request came before the step started.
    async fn journaled<T, F, Fut>(
        &self,
        provider: &Arc<dyn Provider>,
        intent: Intent<'_>,
        call: F,
        outcome: impl FnOnce(T) -> Outcome,
        commits: &mut Vec<Commit>,
    ) -> Result<bool, String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        if self.shutdown.graceful.is_cancelled() {
            return Ok(false);
        }
        let a = self.action();
        let region = intent.spec.region.clone();
        let seq = self.state.begin(&intent).await.map_err(chain)?;
        self.reporter.event(&ApplyEvent::StepStarted {
            id: a.id.clone(),
            op: intent.op,
            region: region.clone(),
        });
        let started = crate::clock::Stopwatch::start();
        let timeout = provider.step_timeout(intent.spec.kind);
        let policy = provider.retry_policy();
        let mut attempts = 0u32;
        let attempt_loop = async {
            loop {
                attempts += 1;
                self.bucket.acquire().await;
                match call().await {
                    Ok(v) => return Ok(v),
                    Err(e) if e.retryable() && attempts < policy.max_attempts => {
                        let retry_after = match &e {
                            ProviderError::Throttled { retry_after } => *retry_after,
                            _ => None,
                        };
                        let delay = backoff(&policy, attempts, retry_after);
                        self.reporter.event(&ApplyEvent::StepRetry {
                            id: a.id.clone(),
                            attempt: attempts,
                            error: e.to_string(),
                            delay_ms: delay.as_millis() as u64,
                        });
                        tokio::time::sleep(delay).await;
                    }
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        let result = match tokio::time::timeout(timeout, attempt_loop).await {
            Ok(r) => r,
            Err(_) => Err(format!(
                "timed out after {} ({attempts} attempt{})",
                crate::config::duration::format_duration(timeout),
                if attempts == 1 { "" } else { "s" }
            )),
        };
        let elapsed = started.elapsed();
        let (end, out) = match result {
            Ok(v) => (Ok(true), outcome(v)),
            Err(e) => (Err(e.clone()), Outcome::Failed { error: e }),
        };
        commits.push(self.state.finish(seq, &intent, out, attempts, elapsed));
        match &end {
            Ok(_) => self.reporter.event(&ApplyEvent::StepDone {
                id: a.id.clone(),
                op: intent.op,
                region,
                elapsed_ms: elapsed.as_millis() as u64,
            }),
            Err(e) => self.reporter.event(&ApplyEvent::StepFailed {
                id: a.id.clone(),
                op: intent.op,
                region,
                error: e.clone(),
            }),
        }
        end
    }

    async fn create(&self, commits: &mut Vec<Commit>) -> Result<bool, String> {
        let a = self.action();
        let Some(spec) = a.desired.as_ref() else {
            return Err("create without a desired spec".into());
        };
        // Resuming an unfinished or failed create reuses its token, so it cannot duplicate.
        let resumable = a.recorded.as_ref().filter(|r| {
            a.op == Op::Create
                && (r.status == ResourceStatus::Creating
                    || (r.status == ResourceStatus::Failed && r.provider_id.is_none()))
        });
        let token = resumable
            .and_then(|r| r.client_token.clone())
            .unwrap_or_else(new_token);
        let intent = Intent {
            op: Op::Create,
            spec,
            client_token: Some(token.clone()),
            provider_id: None,
            resuming: left_mid_step(a.recorded.as_ref()),
            rank: self.rank,
        };
        let p = self.provider.clone();
        self.journaled(
            &self.provider,
            intent,
            || p.create(spec, &token),
            |c| Outcome::Created {
                provider_id: c.provider_id,
                outputs: c.outputs,
            },
            commits,
        )
        .await
    }

    async fn update(&self, commits: &mut Vec<Commit>) -> Result<bool, String> {
        let a = self.action();
        let (Some(spec), Some(rec)) = (a.desired.as_ref(), a.recorded.as_ref()) else {
            return Err("update without desired and recorded specs".into());
        };
        let intent = Intent {
            op: Op::Update,
            spec,
            client_token: rec.client_token.clone(),
            provider_id: rec.provider_id.clone(),
            resuming: left_mid_step(Some(rec)),
            rank: self.rank,
        };
        let p = self.provider.clone();
        self.journaled(
            &self.provider,
            intent,
            || p.update(rec, spec),
            |outputs| Outcome::Updated { outputs },
            commits,
        )
        .await
    }

    async fn delete(&self, commits: &mut Vec<Commit>) -> Result<bool, String> {
        let a = self.action();
        let Some(rec) = a.recorded.as_ref() else {
            return Err("delete without a recorded resource".into());
        };
        let intent = deletion_intent(rec, &rec.spec, self.rank);
        let p = self.old_provider.clone();
        self.journaled(
            &self.old_provider,
            intent,
            || p.delete(rec),
            |()| Outcome::Deleted,
            commits,
        )
        .await
    }
}

fn deletion_intent<'a>(rec: &'a RecordedResource, spec: &'a ResourceSpec, rank: u64) -> Intent<'a> {
    Intent {
        op: Op::Delete,
        spec,
        client_token: rec.client_token.clone(),
        provider_id: rec.provider_id.clone(),
        resuming: left_mid_step(Some(rec)),
        rank,
    }
}

/// Whether an earlier run may have left a journal entry open on this resource.
fn left_mid_step(rec: Option<&RecordedResource>) -> bool {
    rec.is_some_and(|r| r.status != ResourceStatus::Ready)
}

/// An error and its causes on one line, for step failures that are reported as data.
fn chain(e: StateError) -> String {
    let mut s = e.to_string();
    let mut cur: Option<&dyn std::error::Error> = std::error::Error::source(&e);
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// How long a plan's steps would take one after the other along the longest chain, given each
/// action's duration: the lower bound on any schedule's makespan.
pub fn critical_path(plan: &Plan, duration: impl Fn(&Action) -> Duration) -> Duration {
    let order = crate::plan::topological_order(&plan.actions).unwrap_or_default();
    let mut finish = vec![Duration::ZERO; plan.actions.len()];
    for i in order {
        let a = &plan.actions[i];
        let after = a
            .after
            .iter()
            .map(|&j| finish[j as usize])
            .max()
            .unwrap_or_default();
        finish[i] = after + duration(a);
    }
    finish.into_iter().max().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rank_is_the_longest_typical_chain_from_the_step_on() {
        // archive → origin → cdn, and input → encoder beside them.
        let plan = Plan::of(vec![
            Action::bare("archive", Op::Create, vec![]),
            Action::bare("origin", Op::Create, vec![0]),
            Action::bare("cdn", Op::Create, vec![1]),
            Action::bare("input", Op::Create, vec![]),
            Action::bare("encoder", Op::Create, vec![3, 1]),
        ]);
        let secs = |a: &Action| {
            Duration::from_secs(match a.id.as_str() {
                "archive" => 2,
                "origin" => 5,
                "cdn" => 300,
                "input" => 10,
                _ => 150,
            })
        };
        assert_eq!(
            ranks(&plan, &dependents(&plan), secs),
            [307_000, 305_000, 300_000, 160_000, 150_000]
        );
    }
}
