use std::collections::BTreeSet;
use std::net::SocketAddr;

use clap::{Args, Subcommand};
use serde::Serialize;

use super::{Global, Output, print_json};
use crate::exit::{Exit, UsageError};
use crate::model::{Kind, ResourceStatus};
use crate::plan::{DesiredState, Scope, display};
use crate::schedule::handoff::Handoff;
use crate::shutdown::Shutdown;
use crate::workspace::{Workspace, plan_against};

/// The VODs events hand off to once their show is over.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the VODs the state records, with where they are and how they are protected.
    List,
    /// Package an event's archive now, after a hand-off that failed or gave up; the archive
    /// (and anything live left of the event) goes once the VOD is verified.
    #[command(after_help = "Examples:
  orchestrate vod retry cup-final
  orchestrate vod retry cup-final --output json")]
    Retry(RetryArgs),
    /// Serve the local provider's VODs, the AES-128 keys and a ClearKey license endpoint.
    #[command(after_help = "Examples:
  orchestrate vod serve                          on http://127.0.0.1:8080
  orchestrate vod serve --listen 127.0.0.1:0     on a free port (printed)

Playlists:  GET /vod/<region>/<event>/master.m3u8 (and manifest.mpd)
AES-128:    GET /v1/keys/<label>          with Authorization: Bearer <token>
ClearKey:   POST /v1/clearkey {\"kids\": [...]}, with the same bearer token
The token is in <state>/vod-token (mode 0600), made on first use.")]
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct RetryArgs {
    /// The event whose archive to package.
    pub event: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: SocketAddr,
}

pub async fn exec(ws: &Workspace, g: &Global, c: Command) -> anyhow::Result<Exit> {
    match c {
        Command::List => list(ws, g).await,
        Command::Retry(a) => retry(ws, g, a).await,
        Command::Serve(a) => serve(ws, a).await,
    }
}

#[derive(Serialize)]
struct VodRow {
    event: String,
    region: String,
    status: String,
    #[serde(flatten)]
    outputs: serde_json::Value,
}

async fn list(ws: &Workspace, g: &Global) -> anyhow::Result<Exit> {
    let rows: Vec<VodRow> = match ws.existing_state().await? {
        None => Vec::new(),
        Some(state) => state
            .resources()
            .await?
            .into_iter()
            .filter(|r| r.spec.kind == Kind::Vod)
            .map(|r| VodRow {
                event: r.spec.event.clone(),
                region: r.spec.region.clone(),
                status: r.status.to_string(),
                outputs: r.outputs,
            })
            .collect(),
    };
    if g.output == Output::Json {
        print_json(&rows)?;
        return Ok(Exit::Ok);
    }
    if rows.is_empty() {
        println!("No VOD recorded.");
    }
    for r in &rows {
        let o = &r.outputs;
        println!(
            "{} {} {} {} {:.0} s  {}",
            r.event,
            r.region,
            r.status,
            o["scheme"].as_str().unwrap_or("-"),
            o["duration_s"].as_f64().unwrap_or(0.0),
            o["hls"].as_str().unwrap_or("-"),
        );
    }
    Ok(Exit::Ok)
}

async fn retry(ws: &Workspace, g: &Global, a: RetryArgs) -> anyhow::Result<Exit> {
    let config = ws.load_config(&[])?;
    let renderer = ws.renderer()?;
    let event = config
        .events
        .iter()
        .find(|e| e.id == a.event)
        .ok_or_else(|| {
            UsageError(format!(
                "no event `{}` in the schedules{}",
                a.event,
                super::did_you_mean(&a.event, config.events.iter().map(|e| e.id.as_str()))
            ))
        })?;
    let release = event.release_at();
    if crate::clock::now() < release {
        return Err(UsageError(format!(
            "`{}` is not over: its hand-off starts at {release} (end + grace), or on `down`",
            a.event
        ))
        .into());
    }
    let _lock = ws.lock("vod retry").await?;
    let state = ws.open_state().await?;
    let recorded = state.resources().await?;
    let ids = BTreeSet::from([a.event.clone()]);
    let providers = ws.providers(config.catalogs.clone());
    let inputs = crate::ops::handoff::Inputs {
        config: &config,
        renderer: &renderer,
        state: state.as_ref(),
        providers: &providers,
        recorded: &recorded,
    };
    let when = crate::ops::handoff::When::Now {
        at: crate::clock::now(),
        events: &ids,
        package: true,
    };
    let mut desired = DesiredState::default();
    let handoffs = crate::ops::handoff::hand_off(&inputs, &when, &mut desired).await?;
    let nothing = |h: &Handoff| matches!(h, Handoff::NoArchive | Handoff::NotAired { .. });
    if let Some(Handoff::NotAired { reason }) = handoffs
        .values()
        .find(|h| matches!(h, Handoff::NotAired { .. }))
        .filter(|_| handoffs.values().all(nothing))
    {
        return Err(UsageError(format!(
            "`{}` never went on air ({reason}): there is nothing to package",
            a.event
        ))
        .into());
    }
    if handoffs.is_empty() || handoffs.values().all(nothing) {
        return Err(UsageError(format!(
            "`{}` has no archive to package (its profile asks for no VOD, or nothing was recorded)",
            a.event
        ))
        .into());
    }
    if handoffs.values().all(|h| *h == Handoff::Published) {
        if g.output == Output::Text {
            println!("The VOD of `{}` is already published.", a.event);
        }
        return Ok(Exit::Ok);
    }
    let scope = Scope::Events(vec![a.event.clone()]);
    let plan = plan_against(&config.catalogs, desired, state.as_ref(), &scope).await?;
    if g.output == Output::Text {
        print!("{}", display::render(&plan));
    }
    let exit =
        super::apply_and_report(ws, g, plan, config.catalogs.clone(), None, state.clone()).await?;
    let published = state
        .resources()
        .await?
        .into_iter()
        .filter(|r| r.spec.event == a.event && r.spec.kind == Kind::Vod)
        .all(|r| r.status == ResourceStatus::Ready);
    if g.output == Output::Text && published && exit == Exit::Ok {
        println!("The VOD of `{}` is published.", a.event);
    }
    Ok(exit)
}

async fn serve(ws: &Workspace, a: ServeArgs) -> anyhow::Result<Exit> {
    std::fs::create_dir_all(&ws.state_dir)?;
    let token = crate::media::vod::token(&ws.state_dir)?;
    let state_dir = std::path::absolute(&ws.state_dir)?;
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .map_err(|e| UsageError(format!("cannot listen on {}: {e}", a.listen)))?;
    let addr = listener.local_addr()?;
    println!(
        "Serving VODs on http://{addr} (bearer token for keys in {})",
        state_dir.join("vod-token").display()
    );
    let router = crate::media::vod::router(crate::media::vod::VodServer { state_dir, token });
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let stop = shutdown.graceful.clone();
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await?;
    Ok(Exit::Ok)
}
