//! The task that acts on alerts: it picks each firing alert's reactions, asks hooks, holds
//! decisions for approval, checks the guardrails and carries the action out through the
//! provider, publishing each step on the health bus.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinSet;

use super::guard::Guard;
use super::plan::{Plan, Resources, Step, step};
use super::{Act, ActionRecord, ActionState, call};
use crate::config::profile::{NotifierSpec, ReactionKind};
use crate::monitor::SignalRecord;
use crate::monitor::engine::{Alert, Window};
use crate::monitor::health::Health;
use crate::monitor::stream::metrics::Metrics;
use crate::providers::Provider;

/// An event in one region, as the actions see it.
pub struct Place {
    pub event: String,
    pub region: String,
    pub window: Window,
    pub provider: Arc<dyn Provider>,
    pub plan: Arc<Plan>,
    pub resources: Resources,
}

impl Place {
    pub fn key(&self) -> String {
        format!("{}/{}", self.event, self.region)
    }
}

pub enum Input {
    /// Sets (or with `None`, forgets) the place with this key.
    Place(String, Option<Arc<Place>>),
    /// An alert fired or resolved, with the place's recent signals (for hooks).
    Alert(Alert, Vec<Arc<Health>>),
    Verdict {
        id: String,
        approve: bool,
        by: String,
        reply: oneshot::Sender<Result<ActionRecord, String>>,
    },
    /// An operator fails a place's edge over to `pipeline`, by hand.
    Failover {
        place: String,
        pipeline: String,
        by: String,
        reply: oneshot::Sender<Result<ActionRecord, String>>,
    },
}

/// What a hook answers.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Answer {
    pub action: Act,
    #[serde(default)]
    pub reason: String,
    /// Where to fail over to, or whose encoder to restart.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// The notifier, for `notify`.
    #[serde(default)]
    pub notify: Option<String>,
}

/// What is sent to a hook.
#[derive(Serialize)]
struct Question<'a> {
    version: u32,
    alert: &'a Alert,
    signals: Vec<&'a SignalRecord>,
    pipelines: Vec<String>,
    notifiers: Vec<&'a String>,
    actions: [Act; 5],
}

/// What is sent to a notifier.
#[derive(Serialize)]
struct Notice<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    sent_at: Timestamp,
    alert: &'a Alert,
}

struct Awaiting {
    record: ActionRecord,
    step: Step,
    place: Arc<Place>,
}

struct Answered {
    place: Arc<Place>,
    alert: Alert,
    hook: String,
    require_approval: bool,
    answer: Result<Answer, String>,
}

/// Which decisions wait for approval now (for `/v1/status` and the approve endpoint).
pub type AwaitingView = Arc<Mutex<Vec<ActionRecord>>>;

/// Where the runner's records go: the health bus, and the actions counter of `/metrics`.
#[derive(Clone)]
pub struct Outlet {
    pub bus: broadcast::Sender<Arc<Health>>,
    pub metrics: Arc<Metrics>,
}

impl Outlet {
    fn publish(&self, rec: ActionRecord) {
        self.metrics.action(&rec);
        let _ = self.bus.send(Arc::new(Health::Action(rec)));
    }
}

struct Runner {
    out: Outlet,
    client: reqwest::Client,
    places: HashMap<String, Arc<Place>>,
    guard: Guard,
    awaiting: HashMap<String, Awaiting>,
    view: AwaitingView,
    hooks: JoinSet<Answered>,
    work: JoinSet<()>,
}

/// Runs until `input` closes or `stop`; then expires what awaits approval and lets the actions
/// under way finish (for at most ten seconds).
pub async fn run(
    mut input: mpsc::UnboundedReceiver<Input>,
    out: Outlet,
    client: reqwest::Client,
    view: AwaitingView,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut r = Runner {
        out,
        client,
        places: HashMap::new(),
        guard: Guard::default(),
        awaiting: HashMap::new(),
        view,
        hooks: JoinSet::new(),
        work: JoinSet::new(),
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            i = input.recv() => match i {
                Some(i) => r.input(i),
                None => break,
            },
            Some(a) = r.hooks.join_next(), if !r.hooks.is_empty() => {
                if let Ok(a) = a {
                    r.answered(a);
                }
            }
            Some(_) = r.work.join_next(), if !r.work.is_empty() => {}
            _ = tick.tick() => r.expire(Timestamp::now(), None),
            () = stop.cancelled() => break,
        }
    }
    r.expire(
        Timestamp::now(),
        Some("the monitor stopped before it was approved"),
    );
    r.hooks.abort_all();
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        while r.work.join_next().await.is_some() {}
    })
    .await;
}

fn new_id() -> String {
    use rand::Rng;
    format!("act-{:08x}", rand::rng().random::<u32>())
}

impl Runner {
    fn publish(&self, rec: ActionRecord) {
        self.out.publish(rec);
    }

    fn sync_view(&self) {
        let mut v: Vec<ActionRecord> = self.awaiting.values().map(|a| a.record.clone()).collect();
        v.sort_by_key(|a| a.at);
        *self.view.lock().unwrap_or_else(|p| p.into_inner()) = v;
    }

    fn input(&mut self, i: Input) {
        match i {
            Input::Place(key, Some(p)) => {
                self.places.insert(key, p);
            }
            Input::Place(key, None) => {
                self.places.remove(&key);
                self.guard.forget(&key);
            }
            Input::Alert(alert, recent) => self.alert(alert, &recent),
            Input::Verdict {
                id,
                approve,
                by,
                reply,
            } => {
                let _ = reply.send(self.verdict(&id, approve, &by));
            }
            Input::Failover {
                place,
                pipeline,
                by,
                reply,
            } => {
                let _ = reply.send(self.manual_failover(&place, &pipeline, &by));
            }
        }
    }

    /// A failover an operator asked for: carried out at once, past the guardrails (they hold
    /// back automatic reactions, not a human's decision), and recorded like the others.
    fn manual_failover(
        &mut self,
        key: &str,
        pipeline: &str,
        by: &str,
    ) -> Result<ActionRecord, String> {
        let place = self
            .places
            .get(key)
            .cloned()
            .ok_or_else(|| format!("`{key}` is not monitored now"))?;
        let labels = crate::monitor::Labels {
            event: place.event.as_str().into(),
            region: place.region.as_str().into(),
            tier: crate::monitor::Tier::Edge,
            resource: "cdn".into(),
            rendition: None,
        };
        let s = step(Act::Failover, &place.resources, &labels, Some(pipeline))?;
        let rec = ActionRecord {
            id: new_id(),
            action: Act::Failover,
            state: ActionState::Approved,
            at: Timestamp::now(),
            alert: String::new(),
            rule: "manual".into(),
            alert_state: crate::monitor::engine::AlertState::Resolved,
            source: by.to_string(),
            reason: format!("asked for by {by}"),
            target: Some(s.target()),
            detail: None,
            labels,
        };
        self.publish(rec.clone());
        self.carry_out(place, rec.clone(), s);
        Ok(rec)
    }

    fn record(alert: &Alert, act: Act, source: &str, reason: String) -> ActionRecord {
        ActionRecord {
            id: new_id(),
            action: act,
            state: ActionState::Done,
            at: Timestamp::now(),
            alert: alert.id.clone(),
            rule: alert.rule.clone(),
            alert_state: alert.state,
            source: source.to_string(),
            reason,
            target: None,
            detail: None,
            labels: alert.labels.clone(),
        }
    }

    fn alert(&mut self, alert: Alert, recent: &[Arc<Health>]) {
        let key = format!("{}/{}", alert.labels.event, alert.labels.region);
        let Some(place) = self.places.get(&key).cloned() else {
            return;
        };
        let why = format!(
            "{} {} on {}",
            alert.rule,
            match alert.state {
                crate::monitor::engine::AlertState::Resolved => "resolved",
                _ => "firing",
            },
            alert.labels.resource
        );
        for r in place.plan.reactions_to(&alert) {
            match r.action {
                ReactionKind::Notify => {
                    let name = r.notify.clone().unwrap_or_default();
                    let rec = Self::record(&alert, Act::Notify, "profile", why.clone());
                    self.notify(&place, &alert, rec, &name);
                }
                ReactionKind::Ask => {
                    let name = r.hook.clone().unwrap_or_default();
                    self.ask(&place, &alert, recent, &name, r.require_approval);
                }
                k => {
                    let rec = Self::record(&alert, Act::from(k), "profile", why.clone());
                    self.decide(&place, &alert, rec, None, r.require_approval);
                }
            }
        }
    }

    fn notify(&mut self, place: &Arc<Place>, alert: &Alert, mut rec: ActionRecord, name: &str) {
        rec.target = Some(name.to_string());
        let Some(spec) = place.plan.notifiers.get(name).cloned() else {
            rec.state = ActionState::Failed;
            rec.detail = Some(format!("no notifier is named `{name}`"));
            return self.publish(rec);
        };
        let body = serde_json::to_vec(&Notice {
            kind: "alert",
            sent_at: Timestamp::now(),
            alert,
        })
        .unwrap_or_default();
        let (client, out) = (self.client.clone(), self.out.clone());
        self.work.spawn(async move {
            let r = send_notice(&client, &spec, body).await;
            rec.at = Timestamp::now();
            (rec.state, rec.detail) = match r {
                Ok(()) => (ActionState::Done, Some("sent".into())),
                Err(e) => (ActionState::Failed, Some(e)),
            };
            out.publish(rec);
        });
    }

    fn ask(
        &mut self,
        place: &Arc<Place>,
        alert: &Alert,
        recent: &[Arc<Health>],
        name: &str,
        require_approval: bool,
    ) {
        let Some(spec) = place.plan.hooks.get(name).cloned() else {
            let mut rec = Self::record(alert, Act::None, &format!("hook:{name}"), String::new());
            rec.state = ActionState::Failed;
            rec.detail = Some(format!("no hook is named `{name}`"));
            return self.publish(rec);
        };
        let from = alert.at
            - jiff::SignedDuration::try_from(spec.window.0).unwrap_or(jiff::SignedDuration::ZERO);
        let signals = recent
            .iter()
            .filter_map(|h| match &**h {
                Health::Signal(s) if s.at >= from => Some(s),
                _ => None,
            })
            .collect();
        let body = serde_json::to_vec(&Question {
            version: 1,
            alert,
            signals,
            pipelines: place.resources.pipelines(),
            notifiers: place.plan.notifiers.keys().collect(),
            actions: Act::ALL,
        })
        .unwrap_or_default();
        let (client, place, alert, hook) = (
            self.client.clone(),
            place.clone(),
            alert.clone(),
            name.to_string(),
        );
        self.hooks.spawn(async move {
            let answer = ask_hook(&client, &spec, body).await.and_then(|raw| {
                serde_json::from_slice::<Answer>(&raw)
                    .map_err(|e| format!("its answer is not a decision: {e}"))
            });
            Answered {
                place,
                alert,
                hook,
                require_approval,
                answer,
            }
        });
    }

    fn answered(&mut self, a: Answered) {
        let source = format!("hook:{}", a.hook);
        match a.answer {
            Err(e) => {
                let mut rec = Self::record(&a.alert, Act::None, &source, String::new());
                rec.state = ActionState::Failed;
                rec.detail = Some(format!("hook `{}`: {e}", a.hook));
                self.publish(rec);
            }
            Ok(ans) => {
                let rec = Self::record(&a.alert, ans.action, &source, ans.reason.clone());
                match ans.action {
                    Act::None => {
                        let mut rec = rec;
                        rec.state = ActionState::Declined;
                        self.publish(rec);
                    }
                    Act::Notify => {
                        let name = ans.notify.clone().unwrap_or_default();
                        self.notify(&a.place, &a.alert, rec, &name);
                    }
                    _ => self.decide(
                        &a.place,
                        &a.alert,
                        rec,
                        ans.pipeline.as_deref(),
                        a.require_approval,
                    ),
                }
            }
        }
    }

    /// Makes the action concrete, holds it to the guardrails, and acts or waits for approval.
    fn decide(
        &mut self,
        place: &Arc<Place>,
        alert: &Alert,
        mut rec: ActionRecord,
        pipeline: Option<&str>,
        require_approval: bool,
    ) {
        let s = match step(rec.action, &place.resources, &alert.labels, pipeline) {
            Ok(s) => s,
            Err(e) => {
                rec.state = ActionState::Failed;
                rec.detail = Some(e);
                return self.publish(rec);
            }
        };
        rec.target = Some(s.target());
        if let Err(why) = self.check(place, &rec) {
            rec.state = ActionState::Suppressed;
            rec.detail = Some(why);
            return self.publish(rec);
        }
        if require_approval {
            rec.state = ActionState::AwaitingApproval;
            rec.detail = Some(format!(
                "run `orchestrate approve {0}` or `orchestrate reject {0}`",
                rec.id
            ));
            self.publish(rec.clone());
            self.awaiting.insert(
                rec.id.clone(),
                Awaiting {
                    record: rec,
                    step: s,
                    place: place.clone(),
                },
            );
            return self.sync_view();
        }
        self.execute(place.clone(), rec, s);
    }

    fn check(&self, place: &Place, rec: &ActionRecord) -> Result<(), String> {
        self.guard.check(
            &place.plan.guardrails,
            &place.key(),
            rec.action,
            rec.target.as_deref().unwrap_or(""),
            Timestamp::now(),
        )
    }

    fn execute(&mut self, place: Arc<Place>, rec: ActionRecord, s: Step) {
        self.guard.record(
            &place.plan.guardrails,
            &place.key(),
            rec.action,
            rec.target.as_deref().unwrap_or(""),
            Timestamp::now(),
        );
        self.carry_out(place, rec, s);
    }

    /// Runs the step through the provider and publishes how it ended.
    fn carry_out(&mut self, place: Arc<Place>, mut rec: ActionRecord, s: Step) {
        let out = self.out.clone();
        self.work.spawn(async move {
            let p = &place.provider;
            let r = match &s {
                Step::Failover { via, to } => p.failover(via, &place.event, to).await,
                Step::Restart { encoder, pipeline } => {
                    p.restart(encoder, pipeline.as_deref()).await
                }
                Step::Scale { resource } => p.scale(resource).await,
            };
            rec.at = Timestamp::now();
            (rec.state, rec.detail) = match r {
                Ok(()) => (ActionState::Done, None),
                Err(e) => (ActionState::Failed, Some(e.to_string())),
            };
            out.publish(rec);
        });
    }

    fn verdict(&mut self, id: &str, approve: bool, by: &str) -> Result<ActionRecord, String> {
        let a = self
            .awaiting
            .remove(id)
            .ok_or_else(|| format!("no action `{id}` is awaiting approval"))?;
        self.sync_view();
        let mut rec = a.record;
        rec.at = Timestamp::now();
        if !approve {
            rec.state = ActionState::Rejected;
            rec.detail = Some(format!("rejected by {by}"));
            self.publish(rec.clone());
            return Ok(rec);
        }
        rec.state = ActionState::Approved;
        rec.detail = Some(format!("approved by {by}"));
        self.publish(rec.clone());
        // The guardrails are read again: another action may have been taken meanwhile.
        if let Err(why) = self.check(&a.place, &rec) {
            let mut s = rec.clone();
            s.state = ActionState::Suppressed;
            s.detail = Some(why);
            self.publish(s.clone());
            return Ok(s);
        }
        self.execute(a.place, rec.clone(), a.step);
        Ok(rec)
    }

    /// Expires approvals whose event went off air or is no longer monitored (all of them, with
    /// `why`, when the monitor stops).
    fn expire(&mut self, now: Timestamp, why: Option<&str>) {
        let gone: Vec<String> = self
            .awaiting
            .iter()
            .filter(|(_, a)| {
                why.is_some()
                    || now >= a.place.window.end
                    || !self.places.contains_key(&a.place.key())
            })
            .map(|(id, _)| id.clone())
            .collect();
        if gone.is_empty() {
            return;
        }
        for id in gone {
            if let Some(a) = self.awaiting.remove(&id) {
                let mut rec = a.record;
                rec.at = now;
                rec.state = ActionState::Expired;
                rec.detail = Some(
                    why.unwrap_or("the event went off air before it was approved")
                        .to_string(),
                );
                self.publish(rec);
            }
        }
        self.sync_view();
    }
}

async fn send_notice(
    client: &reqwest::Client,
    spec: &NotifierSpec,
    body: Vec<u8>,
) -> Result<(), String> {
    let timeout = spec.timeout.0;
    if let Some(url) = &spec.webhook {
        let var = spec.secret_env.as_deref().unwrap_or("");
        let secret = std::env::var(var).map_err(|_| {
            format!("the environment variable {var} (secret_env) is not set; the webhook is not sent unsigned")
        })?;
        let sig = call::sign(secret.as_bytes(), &body);
        call::post(client, url, body, &[(call::SIGNATURE_HEADER, sig)], timeout).await?;
        return Ok(());
    }
    let argv = spec.command.as_deref().unwrap_or_default();
    call::command(argv, body, timeout).await.map(|_| ())
}

async fn ask_hook(
    client: &reqwest::Client,
    spec: &crate::config::profile::HookSpec,
    body: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let timeout = spec.timeout.0;
    if let Some(url) = &spec.url {
        let mut headers = Vec::new();
        if let Some(var) = &spec.token_env {
            let token = std::env::var(var)
                .map_err(|_| format!("the environment variable {var} (token_env) is not set"))?;
            headers.push(("Authorization", format!("Bearer {token}")));
        }
        return call::post(client, url, body, &headers, timeout).await;
    }
    call::command(spec.command.as_deref().unwrap_or_default(), body, timeout).await
}
