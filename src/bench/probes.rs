//! `bench probes`: how many renditions one core keeps monitored at RFC 8216's reload rate, and
//! how soon a stopped playlist is detected.
//!
//! A synthetic origin on loopback (its own thread) serves live playlists that gain a segment
//! every target duration, each rendition in its own phase, with program date-times and
//! `Last-Modified` as a packager writes them. The real T2 probes and the rule engine run on
//! one thread (a current-thread runtime); that thread's CPU time is what is measured.
//!
//! - Capacity: renditions double until a step misses a criterion (probe thread over
//!   `--max-cpu` of one core, fewer than 0.95 reloads per change, or any alert on the healthy
//!   stream), then bisect. `renditions` is the largest step that met all three.
//! - Detection: `--detect` renditions each stop at a random moment (an encoder killed); the
//!   time from the stop to the `playlist-stale` alert firing is the detection latency.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::{SignedDuration, Timestamp};
use rand::Rng;
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::monitor::engine::{Alert, AlertState, Engine, Window};
use crate::monitor::probes::{Emitter, OriginHeads, origin};
use crate::monitor::rules::built_in;
use crate::monitor::{Metric, Signal, Tier};

pub struct ProbesParams {
    pub target_s: f64,
    /// Measured per step, after a warm-up of two target durations.
    pub window: Duration,
    pub max_cpu: f64,
    /// Measure this many renditions only, instead of searching.
    pub renditions: Option<usize>,
    pub per_master: usize,
    pub detect: usize,
    pub stale_after: f64,
}

#[derive(Debug, Serialize)]
pub struct Step {
    pub renditions: usize,
    /// The probe thread's CPU time over the window, in cores.
    pub cpu: f64,
    /// Playlist reloads per playlist change (at least 1 when every change is seen).
    pub reloads_per_change: f64,
    pub false_alerts: usize,
    /// Reloads this host could not make (out of file descriptors or sockets).
    pub probe_errors: u64,
    pub ok: bool,
}

#[derive(Debug, Serialize)]
pub struct ProbesResult {
    pub renditions: usize,
    pub target_s: f64,
    pub max_cpu: f64,
    pub steps: Vec<Step>,
    pub detect_samples: usize,
    pub detect_p50_ms: Option<u64>,
    pub detect_p99_ms: Option<u64>,
    pub detect_max_ms: Option<u64>,
    /// Stops whose alert did not fire within the detection window.
    pub detect_missed: usize,
    pub stale_after: f64,
}

/// One synthetic rendition: segment `k` covers `phase + k·T .. phase + (k+1)·T` and is
/// published at its end, unless the rendition stopped before.
#[derive(Clone, Copy)]
struct Rendition {
    phase: Timestamp,
    stopped_at: Option<Timestamp>,
}

struct Synth {
    target: SignedDuration,
    per_master: usize,
    renditions: RwLock<Vec<Rendition>>,
}

const WINDOW: u64 = 6;

impl Synth {
    fn playlist(&self, i: usize) -> Option<(String, Timestamp)> {
        let r = *self.renditions.read().ok()?.get(i)?;
        let now = r
            .stopped_at
            .map_or(Timestamp::now(), |s| s.min(Timestamp::now()));
        let t = self.target.as_secs_f64();
        let elapsed = now.duration_since(r.phase).as_secs_f64();
        // Segments published by now: those whose end is past.
        let published = (elapsed / t).floor().max(0.0) as u64;
        if published == 0 {
            return None;
        }
        let first = published.saturating_sub(WINDOW);
        let at = |k: u64| r.phase + SignedDuration::from_secs_f64(k as f64 * t);
        let mut body = format!(
            "#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-PROGRAM-DATE-TIME:{}\n",
            t.ceil() as u64,
            at(first).strftime("%Y-%m-%dT%H:%M:%S%.3f+0000"),
        );
        for k in first..published {
            body.push_str(&format!("#EXTINF:{t:.3},\nseg_{k}.ts\n"));
        }
        Some((body, at(published)))
    }
}

async fn master(State(s): State<Arc<Synth>>, Path(j): Path<usize>) -> Response {
    let mut body = String::from("#EXTM3U\n");
    for x in 0..s.per_master {
        let i = j * s.per_master + x;
        body.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n{i}/index.m3u8\n"
        ));
    }
    body.into_response()
}

async fn media(
    State(s): State<Arc<Synth>>,
    Path((_, i, file)): Path<(usize, usize, String)>,
) -> Response {
    if file == "index.m3u8" {
        return match s.playlist(i) {
            Some((body, modified)) => (
                [
                    (
                        header::CONTENT_TYPE,
                        "application/vnd.apple.mpegurl".to_string(),
                    ),
                    (
                        header::LAST_MODIFIED,
                        jiff::fmt::rfc2822::to_string(&modified.to_zoned(jiff::tz::TimeZone::UTC))
                            .unwrap_or_default()
                            .replace("+0000", "GMT"),
                    ),
                ],
                body,
            )
                .into_response(),
            None => StatusCode::NOT_FOUND.into_response(),
        };
    }
    if file.starts_with("seg_") {
        return vec![0x47u8; 188 * 8].into_response();
    }
    StatusCode::NOT_FOUND.into_response()
}

fn thread_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    getrusage(UsageWho::RUSAGE_THREAD).map_or(Duration::ZERO, |u| {
        let tv = |t: nix::sys::time::TimeVal| {
            Duration::from_secs(t.tv_sec().max(0) as u64)
                + Duration::from_micros(t.tv_usec().max(0) as u64)
        };
        tv(u.user_time()) + tv(u.system_time())
    })
}

struct Measured {
    cpu: f64,
    reloads: u64,
    changes: f64,
    alerts: Vec<Alert>,
    /// Requests this host could not make (out of descriptors or sockets).
    probe_errors: u64,
}

/// Probes `n` renditions (as `n / per_master` events) for `warmup + window` on this thread,
/// through one client (and its connection pool), as the monitor does.
#[allow(clippy::too_many_arguments)]
async fn measure(
    client: &reqwest::Client,
    addr: std::net::SocketAddr,
    synth: &Synth,
    n: usize,
    warmup: Duration,
    window: Duration,
    stale_after: f64,
) -> Measured {
    let t = synth.target.as_secs_f64();
    let (tx, mut rx) = mpsc::channel::<Signal>(65_536);
    let stop = CancellationToken::new();
    let mut engine = Engine::new();
    let rules = Arc::new(built_in(t, stale_after));
    let now = Timestamp::now();
    let on_air = Window {
        start: now,
        end: now + SignedDuration::from_hours(1),
    };
    let masters = n.div_ceil(synth.per_master);
    let mut tasks = tokio::task::JoinSet::new();
    for j in 0..masters {
        let event = format!("bench-{j}");
        engine.set_event(&event, on_air, rules.clone());
        let e = Emitter::new(&event, "loopback", Tier::Origin, "origin/main");
        tasks.spawn(origin::run(
            client.clone(),
            e,
            format!("http://{addr}/m/{j}/master.m3u8"),
            t,
            Arc::new(OriginHeads::default()),
            tx.clone(),
            stop.clone(),
        ));
    }
    drop(tx);
    let begin = Instant::now();
    let (mut cpu0, mut measuring) = (Duration::ZERO, false);
    let (mut reloads, mut probe_errors) = (0u64, 0u64);
    let mut alerts = Vec::new();
    let mut out = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            s = rx.recv() => {
                let Some(s) = s else { break };
                engine.observe(&s, &mut out);
                if measuring && s.series.metric == Metric::PlaylistUp {
                    reloads += 1;
                }
                if measuring && s.series.metric == Metric::OriginProbeError {
                    probe_errors += 1;
                }
            }
            _ = tick.tick() => {
                engine.advance(Timestamp::now(), &mut out);
                let e = begin.elapsed();
                if !measuring && e >= warmup {
                    measuring = true;
                    cpu0 = thread_cpu();
                }
                if e >= warmup + window {
                    break;
                }
            }
        }
        for a in out.drain(..) {
            if measuring && a.state == AlertState::Firing {
                alerts.push(a);
            }
        }
    }
    let cpu = (thread_cpu().saturating_sub(cpu0)).as_secs_f64() / window.as_secs_f64();
    stop.cancel();
    while tasks.join_next().await.is_some() {}
    Measured {
        cpu,
        reloads,
        changes: n as f64 * window.as_secs_f64() / t,
        alerts,
        probe_errors,
    }
}

pub fn probes(p: &ProbesParams) -> anyhow::Result<ProbesResult> {
    let synth = Arc::new(Synth {
        target: SignedDuration::from_secs_f64(p.target_s),
        per_master: p.per_master,
        renditions: RwLock::new(Vec::new()),
    });
    // The origin gets the other core: only the probe thread is measured.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let listener = server_rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))?;
    let addr = listener.local_addr()?;
    let app = Router::new()
        .route("/m/{j}/master.m3u8", get(master))
        .route("/m/{j}/{i}/{file}", get(media))
        .with_state(synth.clone());
    let server_stop = CancellationToken::new();
    let stopped = server_stop.clone();
    server_rt.spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move { stopped.cancelled().await })
            .await;
    });
    let probe_rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let client = crate::http::client(Duration::from_secs(2), Duration::from_secs(10))?;
    let warmup = Duration::from_secs_f64(p.target_s * 3.0);
    let reset = |n: usize| {
        let mut rng = rand::rng();
        let now = Timestamp::now();
        let v = (0..n)
            .map(|_| Rendition {
                phase: now
                    - SignedDuration::from_secs_f64(p.target_s * (8.0 + rng.random::<f64>())),
                stopped_at: None,
            })
            .collect();
        if let Ok(mut r) = synth.renditions.write() {
            *r = v;
        }
    };
    let step = |n: usize| {
        reset(n);
        let m = probe_rt.block_on(measure(
            &client,
            addr,
            &synth,
            n,
            warmup,
            p.window,
            p.stale_after,
        ));
        let reloads_per_change = m.reloads as f64 / m.changes.max(1.0);
        let s = Step {
            renditions: n,
            cpu: m.cpu,
            reloads_per_change,
            false_alerts: m.alerts.len(),
            probe_errors: m.probe_errors,
            ok: m.cpu <= p.max_cpu
                && reloads_per_change >= 0.95
                && m.alerts.is_empty()
                && m.probe_errors == 0,
        };
        eprintln!(
            "{n} renditions: {:.1}% of a core, {:.2} reloads per change, {} alerts, {} probe errors",
            s.cpu * 100.0,
            s.reloads_per_change,
            s.false_alerts,
            s.probe_errors
        );
        s
    };
    let mut steps = Vec::new();
    let mut best = 0;
    if let Some(n) = p.renditions {
        let s = step(n);
        if s.ok {
            best = n;
        }
        steps.push(s);
    } else {
        let (mut lo, mut hi) = (0usize, None::<usize>);
        let mut n = 250usize;
        while hi.is_none() && n <= 32_000 {
            let s = step(n);
            if s.ok {
                lo = n;
                n *= 2;
            } else {
                hi = Some(n);
            }
            steps.push(s);
        }
        if let Some(mut hi) = hi {
            while hi - lo > (hi / 8).max(p.per_master) {
                let mid = (lo + hi) / 2;
                let s = step(mid);
                if s.ok {
                    lo = mid
                } else {
                    hi = mid
                }
                steps.push(s);
            }
        }
        best = lo;
    }

    // Detection: every rendition stops once, at a random moment within the window.
    let mut latencies = Vec::new();
    let mut missed = 0;
    if p.detect > 0 {
        reset(p.detect);
        let stop_from = Timestamp::now() + SignedDuration::from_secs_f64(warmup.as_secs_f64());
        let spread = p.window.as_secs_f64() / 2.0;
        let stops: Vec<Timestamp> = {
            let mut rng = rand::rng();
            (0..p.detect)
                .map(|_| stop_from + SignedDuration::from_secs_f64(spread * rng.random::<f64>()))
                .collect()
        };
        if let Ok(mut r) = synth.renditions.write() {
            for (r, s) in r.iter_mut().zip(&stops) {
                r.stopped_at = Some(*s);
            }
        }
        let m = probe_rt.block_on(measure(
            &client,
            addr,
            &synth,
            p.detect,
            warmup,
            p.window,
            p.stale_after,
        ));
        let mut first: HashMap<usize, Timestamp> = HashMap::new();
        for a in m.alerts.iter().filter(|a| a.rule == "playlist-stale") {
            // Renditions are named by their index.
            let Some(i) = a.labels.rendition.as_deref().and_then(|r| r.parse().ok()) else {
                continue;
            };
            let at = first.entry(i).or_insert(a.at);
            *at = (*at).min(a.at);
        }
        for (i, s) in stops.iter().enumerate() {
            match first.get(&i) {
                Some(at) => latencies.push(at.duration_since(*s).as_millis().max(0) as u64),
                None => missed += 1,
            }
        }
        latencies.sort_unstable();
    }
    server_stop.cancel();
    server_rt.shutdown_timeout(Duration::from_secs(5));
    let pct = |q: f64| {
        (!latencies.is_empty()).then(|| {
            let i = ((latencies.len() as f64 * q).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[i]
        })
    };
    Ok(ProbesResult {
        renditions: best,
        target_s: p.target_s,
        max_cpu: p.max_cpu,
        steps,
        detect_samples: latencies.len(),
        detect_p50_ms: pct(0.5),
        detect_p99_ms: pct(0.99),
        detect_max_ms: latencies.last().copied(),
        detect_missed: missed,
        stale_after: p.stale_after,
    })
}
