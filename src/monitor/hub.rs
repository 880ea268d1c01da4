//! The running monitor: starts and stops each event's probes as the state changes, feeds their
//! signals through the rule engine on one task, and publishes signals and alerts on the health
//! bus (a broadcast channel: the store, the SSE endpoint and the metrics read it). Alerts that
//! fire or resolve go on to the actions runner, which publishes its decisions on the same bus.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::actions::ActionRecord;
use super::actions::runner::{self, AwaitingView, Input, Place};
use super::engine::{Alert, AlertState, Engine, Window};
use super::health::Health;
use super::probes::content::budget::Budget;
use super::probes::{self, Emitter, OriginHeads};
use super::rules::Rule;
use super::stream::metrics::Metrics;
use super::targets::Target;
use super::{Signal, SignalRecord, Tier};
use crate::providers::registry::Providers;

enum Control {
    /// An event's window and rules, and how long its signals are kept for hooks.
    Set(String, Window, Arc<Vec<Rule>>, Duration),
    Remove(String),
}

struct Running {
    fingerprint: String,
    stop: CancellationToken,
}

/// What the endpoints read of the running monitor.
#[derive(Clone)]
pub struct View {
    pub bus: broadcast::Sender<Arc<Health>>,
    pub metrics: Arc<Metrics>,
    open: Arc<Mutex<Vec<Alert>>>,
    probed: Arc<Mutex<Vec<String>>>,
    /// The edge's master playlist of each place probed, by `event/region`.
    edges: Arc<Mutex<HashMap<String, String>>>,
    awaiting: AwaitingView,
    actions: mpsc::UnboundedSender<Input>,
}

impl View {
    /// The alerts pending or firing now.
    pub fn open_alerts(&self) -> Vec<Alert> {
        self.open.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The actions awaiting approval.
    pub fn awaiting(&self) -> Vec<ActionRecord> {
        self.awaiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Approves or rejects an action awaiting approval; its record after the verdict.
    pub async fn verdict(&self, id: &str, approve: bool, by: &str) -> Result<ActionRecord, String> {
        self.ask(|reply| Input::Verdict {
            id: id.to_string(),
            approve,
            by: by.to_string(),
            reply,
        })
        .await
    }

    /// Fails the edge of a place probed now (`event/region`) over to `pipeline`, by hand.
    pub async fn failover(
        &self,
        place: &str,
        pipeline: &str,
        by: &str,
    ) -> Result<ActionRecord, String> {
        self.ask(|reply| Input::Failover {
            place: place.to_string(),
            pipeline: pipeline.to_string(),
            by: by.to_string(),
            reply,
        })
        .await
    }

    /// Sends the actions runner a request and waits for its answer.
    async fn ask(
        &self,
        input: impl FnOnce(tokio::sync::oneshot::Sender<Result<ActionRecord, String>>) -> Input,
    ) -> Result<ActionRecord, String> {
        let stopping = || "the monitor is stopping".to_string();
        let (reply, answer) = tokio::sync::oneshot::channel();
        self.actions.send(input(reply)).map_err(|_| stopping())?;
        answer.await.map_err(|_| stopping())?
    }

    /// The master playlist at the edge of a place probed now (`event/region`).
    pub fn edge(&self, key: &str) -> Option<String> {
        self.edges
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(key)
            .cloned()
    }

    /// The events and regions probed now, `event/region`.
    pub fn probed(&self) -> Vec<String> {
        self.probed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

pub struct Monitor {
    client: reqwest::Client,
    signals: mpsc::Sender<Signal>,
    control: mpsc::UnboundedSender<Control>,
    running: HashMap<String, Running>,
    events: HashMap<String, Window>,
    /// Each profile's content-analysis CPU budget, shared by its events.
    budgets: HashMap<String, Arc<Budget>>,
    probes: JoinSet<()>,
    stop: CancellationToken,
    hub: tokio::task::JoinHandle<()>,
    actions: mpsc::UnboundedSender<Input>,
    runner: tokio::task::JoinHandle<()>,
    view: View,
}

impl Monitor {
    pub fn start() -> Result<Self, crate::http::ClientError> {
        let (signals, rx) = mpsc::channel(4096);
        let (control, ctl) = mpsc::unbounded_channel();
        let (bus, _) = broadcast::channel(16_384);
        let metrics = Arc::new(Metrics::new());
        let open = Arc::new(Mutex::new(Vec::new()));
        let stop = CancellationToken::new();
        let client = crate::http::client(Duration::from_secs(2), Duration::from_secs(10))?;
        let (actions, inputs) = mpsc::unbounded_channel();
        let awaiting = AwaitingView::default();
        let runner = tokio::spawn(runner::run(
            inputs,
            runner::Outlet {
                bus: bus.clone(),
                metrics: metrics.clone(),
            },
            client.clone(),
            awaiting.clone(),
            stop.clone(),
        ));
        let hub = tokio::spawn(hub(
            rx,
            ctl,
            bus.clone(),
            metrics.clone(),
            open.clone(),
            actions.clone(),
            stop.clone(),
        ));
        Ok(Self {
            client,
            signals,
            control,
            running: HashMap::new(),
            events: HashMap::new(),
            budgets: HashMap::new(),
            probes: JoinSet::new(),
            stop,
            hub,
            actions: actions.clone(),
            runner,
            view: View {
                bus,
                metrics,
                open,
                probed: Arc::new(Mutex::new(Vec::new())),
                edges: Arc::new(Mutex::new(HashMap::new())),
                awaiting,
                actions,
            },
        })
    }

    pub fn view(&self) -> View {
        self.view.clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Health>> {
        self.view.bus.subscribe()
    }

    /// Probes exactly `targets`: starts the new ones, restarts the changed ones, stops the rest.
    pub fn reconcile(&mut self, targets: Vec<Target>, providers: &Providers) {
        while self.probes.try_join_next().is_some() {}
        let mut wanted_events: HashMap<String, Window> = HashMap::new();
        let mut keep = Vec::new();
        let mut edges = HashMap::new();
        for t in targets {
            if let Some(url) = &t.edge_master {
                edges.insert(t.key(), url.clone());
            }
            wanted_events.insert(t.event.clone(), t.window);
            // Unchanged rules and window cost the engine nothing; a moved end rescopes at once.
            let _ = self.control.send(Control::Set(
                t.event.clone(),
                t.window,
                t.rules.clone(),
                t.plan.keep_signals(),
            ));
            let key = t.key();
            if let Ok(provider) = providers.get(&t.provider) {
                let place = Place {
                    event: t.event.clone(),
                    region: t.region.clone(),
                    window: t.window,
                    provider,
                    plan: t.plan.clone(),
                    resources: t.resources(),
                };
                let _ = self
                    .actions
                    .send(Input::Place(key.clone(), Some(Arc::new(place))));
            }
            let fp = t.fingerprint();
            keep.push(key.clone());
            if self.running.get(&key).is_some_and(|r| r.fingerprint == fp) {
                continue;
            }
            if let Some(old) = self.running.remove(&key) {
                old.stop.cancel();
            }
            let stop = self.stop.child_token();
            self.spawn(&t, providers, &stop);
            self.running.insert(
                key,
                Running {
                    fingerprint: fp,
                    stop,
                },
            );
        }
        let actions = &self.actions;
        self.running.retain(|k, r| {
            let kept = keep.contains(k);
            if !kept {
                r.stop.cancel();
                let _ = actions.send(Input::Place(k.clone(), None));
            }
            kept
        });
        for event in self.events.keys() {
            if !wanted_events.contains_key(event) {
                let _ = self.control.send(Control::Remove(event.clone()));
            }
        }
        self.events = wanted_events;
        let mut probed: Vec<String> = self.running.keys().cloned().collect();
        probed.sort();
        *self.view.probed.lock().unwrap_or_else(|p| p.into_inner()) = probed;
        *self.view.edges.lock().unwrap_or_else(|p| p.into_inner()) = edges;
    }

    fn spawn(&mut self, t: &Target, providers: &Providers, stop: &CancellationToken) {
        let base = Emitter::new(&t.event, &t.region, Tier::Origin, "origin");
        let heads = Arc::new(OriginHeads::default());
        if t.tiers.contains(&Tier::Encoder)
            && let Ok(provider) = providers.get(&t.provider)
        {
            for rec in &t.encoders {
                // An encoder running both pipelines is probed as each (`encoder/a`), so that
                // an alert says which one failed.
                let pipelines = rec.pipelines();
                let each: Vec<Option<String>> = if pipelines.len() > 1 {
                    pipelines.into_iter().map(Some).collect()
                } else {
                    vec![None]
                };
                for pipeline in each {
                    let resource = match &pipeline {
                        Some(p) => format!("{}/{p}", rec.spec.name),
                        None => rec.spec.name.clone(),
                    };
                    self.probes.spawn(probes::encoder::run(
                        provider.clone(),
                        rec.clone(),
                        pipeline,
                        base.with_tier(Tier::Encoder, &resource),
                        self.signals.clone(),
                        stop.clone(),
                    ));
                }
            }
        }
        // The origin is probed whenever the edge is: the edge's lag is read against it.
        if t.tiers
            .iter()
            .any(|x| matches!(x, Tier::Origin | Tier::Edge))
        {
            for (resource, url) in &t.origin_masters {
                self.probes.spawn(probes::origin::run(
                    self.client.clone(),
                    base.with_tier(Tier::Origin, resource),
                    url.clone(),
                    t.segment_s,
                    heads.clone(),
                    self.signals.clone(),
                    stop.clone(),
                ));
            }
        }
        if t.tiers
            .iter()
            .any(|x| matches!(x, Tier::Edge | Tier::Viewer))
            && let Some(url) = &t.edge_master
        {
            let probe = probes::edge::EdgeProbe {
                master_url: url.clone(),
                target_s: t.segment_s,
                tiers: t.tiers.clone(),
                heads,
            };
            self.probes.spawn(probes::edge::run(
                self.client.clone(),
                base.with_tier(Tier::Edge, "cdn"),
                probe,
                self.signals.clone(),
                stop.clone(),
            ));
        }
        if t.tiers.contains(&Tier::Content)
            && let Some(url) = &t.edge_master
        {
            let cores = t.content.cpu_budget;
            let budget = self
                .budgets
                .entry(t.profile.clone())
                .or_insert_with(|| Arc::new(Budget::new(cores)))
                .clone();
            if budget.cores() != cores {
                budget.set_cores(cores);
            }
            let probe = probes::content::ContentProbe {
                master_url: url.clone(),
                segment_s: t.segment_s,
                spec: t.content.clone(),
                ladder: t.ladder.clone(),
                budget,
                on_air_from: t.window.start,
            };
            self.probes.spawn(probes::content::run(
                self.client.clone(),
                base.with_tier(Tier::Content, "content"),
                probe,
                self.signals.clone(),
                stop.clone(),
            ));
        }
    }

    /// Stops every probe, the hub and the actions (letting those under way finish), resolving
    /// nothing: the alerts' last state stays as recorded.
    pub async fn stop(mut self) {
        self.stop.cancel();
        while self.probes.join_next().await.is_some() {}
        drop(self.signals);
        let _ = self.hub.await;
        let _ = self.runner.await;
    }
}

async fn hub(
    mut signals: mpsc::Receiver<Signal>,
    mut control: mpsc::UnboundedReceiver<Control>,
    bus: broadcast::Sender<Arc<Health>>,
    metrics: Arc<Metrics>,
    open: Arc<Mutex<Vec<Alert>>>,
    actions: mpsc::UnboundedSender<Input>,
    stop: CancellationToken,
) {
    let mut engine = Engine::new();
    let mut alerts = Vec::new();
    let mut recent = Recent::default();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            s = signals.recv() => {
                let Some(s) = s else { return };
                engine.observe(&s, &mut alerts);
                metrics.observe(&s);
                let h = Arc::new(Health::Signal(SignalRecord::from(&s)));
                recent.push(&h);
                let _ = bus.send(h);
            }
            Some(c) = control.recv() => match c {
                Control::Set(event, window, rules, keep) => {
                    engine.set_event(&event, window, rules);
                    recent.keep(&event, keep);
                }
                Control::Remove(event) => {
                    engine.remove_event(&event, Timestamp::now(), &mut alerts);
                    metrics.forget_event(&event);
                    recent.forget(&event);
                }
            },
            _ = tick.tick() => engine.advance(Timestamp::now(), &mut alerts),
            () = stop.cancelled(), if signals.is_empty() => return,
        }
        if !alerts.is_empty() {
            for a in alerts.drain(..) {
                metrics.alert(&a);
                if a.state != AlertState::Pending {
                    let window = recent.of(&a.labels.event, &a.labels.region);
                    let _ = actions.send(Input::Alert(a.clone(), window));
                }
                let _ = bus.send(Arc::new(Health::Alert(a)));
            }
            *open.lock().unwrap_or_else(|p| p.into_inner()) = engine.open_alerts();
        }
    }
}

/// An event and a region.
type EventRegion = (Arc<str>, Arc<str>);

/// The recent signals of the events whose hooks are sent them, per event and region.
#[derive(Default)]
struct Recent {
    keep: HashMap<Arc<str>, jiff::SignedDuration>,
    signals: HashMap<EventRegion, VecDeque<Arc<Health>>>,
}

impl Recent {
    fn keep(&mut self, event: &str, d: Duration) {
        if d.is_zero() {
            self.forget(event);
        } else {
            let d = jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::ZERO);
            self.keep.insert(Arc::from(event), d);
        }
    }

    fn forget(&mut self, event: &str) {
        self.keep.remove(event);
        self.signals.retain(|(e, _), _| &**e != event);
    }

    fn push(&mut self, h: &Arc<Health>) {
        let Health::Signal(s) = &**h else { return };
        let Some(&d) = self.keep.get(&s.labels.event) else {
            return;
        };
        let q = self
            .signals
            .entry((s.labels.event.clone(), s.labels.region.clone()))
            .or_default();
        q.push_back(h.clone());
        let from = s.at - d;
        while q.front().is_some_and(|x| x.at() < from) {
            q.pop_front();
        }
    }

    fn of(&self, event: &Arc<str>, region: &Arc<str>) -> Vec<Arc<Health>> {
        self.signals
            .get(&(event.clone(), region.clone()))
            .map(|q| q.iter().cloned().collect())
            .unwrap_or_default()
    }
}
