use std::collections::BTreeSet;

use clap::Args as ClapArgs;

use super::{ApplyFlags, Global, Output, confirm};
use crate::exit::Exit;
use crate::model::{Kind, RecordedResource};
use crate::ops::handoff::{When, unpublished_archives};
use crate::plan::{DesiredState, Plan, Scope, display};
use crate::schedule::handoff::Handoff;
use crate::workspace::{Workspace, plan_against};

/// Tear down recorded resources, in reverse dependency order.
///
/// An event whose profile asks for a VOD has its archive packaged first; the rest goes once that
/// VOD is verified.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate down                         everything this state created (asks first)
  orchestrate down --event cup-final --yes
  orchestrate down --yes --output json     for scripts: NDJSON progress, no prompt
  orchestrate down --skip-vod --yes        no VOD now: archives are kept for `vod retry`
  orchestrate down --include-vod --yes     everything, published VODs included

Published VODs are kept unless --include-vod. An archive is deleted only after its VOD is
verified, unless --discard-archives or --include-vod. Without a terminal on stdin, --yes is required.")]
pub struct Args {
    /// Only these events (repeatable) [default: all].
    #[arg(short = 'e', long = "event", value_name = "ID")]
    pub events: Vec<String>,
    /// Do not package VODs now; archives without a verified VOD are kept.
    #[arg(long)]
    pub skip_vod: bool,
    /// Delete archives even without a verified VOD (the recording is lost).
    #[arg(long, conflicts_with = "skip_vod")]
    pub discard_archives: bool,
    /// Everything goes: published VODs too, and archives without packaging them.
    #[arg(long, conflicts_with = "skip_vod")]
    pub include_vod: bool,
    #[command(flatten)]
    pub apply: ApplyFlags,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let _lock = ws.lock("down").await?;
    let state = ws.open_state().await?;
    let catalogs = ws.load_catalogs()?;
    let scope = Scope::from_ids(&args.events);
    let recorded = state.resources().await?;
    if !args.events.is_empty() {
        // An id only in the state (its schedule entry removed) can still be torn down.
        crate::model::check_event_ids(&args.events, &super::known_events(ws, &recorded))?;
    }
    let mut desired = DesiredState {
        release_vods: args.include_vod,
        ..DesiredState::default()
    };
    if !(args.discard_archives || args.include_vod) {
        hand_off(ws, &args, state.as_ref(), &recorded, &scope, &mut desired).await?;
    }
    let plan = plan_against(&catalogs, desired, state.as_ref(), &scope).await?;
    let kept = kept_archives(&plan, &recorded, &scope);
    if plan.is_empty() {
        if g.output == Output::Text {
            println!("Nothing to tear down.");
            print_kept(&kept);
        }
        return Ok(Exit::Ok);
    }
    if g.output == Output::Text {
        print!("{}", display::render(&plan));
    }
    let n = plan.counts().delete;
    let what = match plan.counts().create {
        0 => format!("destroy {n} resource{}", if n == 1 { "" } else { "s" }),
        v => format!(
            "package {v} VOD{} and destroy {n} resource{}",
            if v == 1 { "" } else { "s" },
            if n == 1 { "" } else { "s" }
        ),
    };
    if !confirm(&what, args.apply.yes)? {
        eprintln!("Cancelled; nothing was destroyed.");
        return Ok(Exit::Ok);
    }
    let exit =
        super::apply_and_report(ws, g, plan, catalogs, args.apply.parallelism, state).await?;
    if g.output == Output::Text {
        print_kept(&kept);
    }
    Ok(exit)
}

/// Adds the VODs to make before teardown, and the archives to keep. Without a configuration
/// that loads, nothing can be packaged: every archive without a published VOD is kept.
async fn hand_off(
    ws: &Workspace,
    args: &Args,
    state: &dyn crate::state::StateStore,
    recorded: &[RecordedResource],
    scope: &Scope,
    desired: &mut DesiredState,
) -> anyhow::Result<()> {
    let loaded = ws
        .load_config(&[])
        .map_err(anyhow::Error::from)
        .and_then(|c| Ok((c, ws.renderer()?)));
    let (config, renderer) = match loaded {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "warning: no VOD hand-off, the configuration does not load ({e:#}); archives \
                 without a verified VOD are kept (--discard-archives deletes them)"
            );
            desired
                .keep
                .extend(unpublished_archives(recorded, scope).map(|r| r.spec.id.clone()));
            return Ok(());
        }
    };
    let ids: BTreeSet<String> = recorded
        .iter()
        .map(|r| r.spec.event.clone())
        .filter(|e| scope.contains(e))
        .collect();
    let providers = ws.providers(config.catalogs.clone());
    let inputs = crate::ops::handoff::Inputs {
        config: &config,
        renderer: &renderer,
        state,
        providers: &providers,
        recorded,
    };
    let when = When::Now {
        at: crate::clock::now(),
        events: &ids,
        package: !args.skip_vod,
    };
    let handoffs = crate::ops::handoff::hand_off(&inputs, &when, desired).await?;
    for ((event, region), h) in &handoffs {
        if let Handoff::NotAired { reason } = h {
            eprintln!(
                "No VOD for {event} in {region}: the show never went on air ({reason}); its \
                 archive goes with the rest."
            );
        }
    }
    // Events the configuration no longer has cannot be packaged: their archives stay.
    let known: BTreeSet<&str> = config.events.iter().map(|e| e.id.as_str()).collect();
    desired.keep.extend(
        unpublished_archives(recorded, scope)
            .filter(|r| !known.contains(r.spec.event.as_str()))
            .map(|r| r.spec.id.clone()),
    );
    Ok(())
}

/// The archives in scope this plan leaves in place.
fn kept_archives(plan: &Plan, recorded: &[RecordedResource], scope: &Scope) -> Vec<String> {
    let acted: BTreeSet<&str> = plan.actions.iter().map(|a| a.id.as_str()).collect();
    recorded
        .iter()
        .filter(|r| r.spec.kind == Kind::Archive && scope.contains(&r.spec.event))
        .filter(|r| !acted.contains(r.spec.id.as_str()))
        .map(|r| r.spec.id.to_string())
        .collect()
}

fn print_kept(kept: &[String]) {
    for id in kept {
        println!(
            "Kept {id}: it has no verified VOD. `orchestrate vod retry EVENT` packages it; \
             `orchestrate down --discard-archives` deletes it."
        );
    }
}
