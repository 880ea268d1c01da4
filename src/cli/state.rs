use clap::{Args as ClapArgs, Subcommand};

use super::{Global, Output, print_json};
use crate::exit::{Exit, UsageError};
use crate::model::ResourceId;
use crate::state::{StateLock, StateStore};
use crate::workspace::Workspace;

/// Inspect the state store, or release its lock.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every recorded resource, one per line.
    #[command(after_help = "Example:\n  orchestrate state list --output json")]
    List,
    /// One recorded resource in full.
    #[command(after_help = "Example:\n  orchestrate state show cup-final/eu-west-1/encoder")]
    Show(ShowArgs),
    /// The intent journal: every provider step, started and finished.
    #[command(after_help = "Example:\n  orchestrate state journal --limit 20")]
    Journal(LimitArgs),
    /// How long provisioning steps took (what lead times are learned from).
    #[command(after_help = "Example:\n  orchestrate state history --output json")]
    History(LimitArgs),
    /// Show who holds the state lock; clear a lock left by a dead process.
    #[command(
        after_help = "Examples:\n  orchestrate state unlock\n  orchestrate state unlock --force   remove the lock file (only when its holder is on another host and gone)"
    )]
    Unlock(UnlockArgs),
}

#[derive(Debug, ClapArgs)]
pub struct ShowArgs {
    /// Resource id: EVENT/REGION/NAME.
    pub id: String,
}

#[derive(Debug, ClapArgs)]
pub struct LimitArgs {
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
}

#[derive(Debug, ClapArgs)]
pub struct UnlockArgs {
    /// Remove the lock file even though a holder is recorded.
    #[arg(long)]
    pub force: bool,
}

pub async fn exec(ws: &Workspace, g: &Global, cmd: Command) -> anyhow::Result<Exit> {
    if let Command::Unlock(a) = cmd {
        return unlock(ws, a);
    }
    let Some(state) = ws.existing_state()? else {
        return Err(UsageError(format!(
            "no state in {}: nothing has been provisioned from here (see --state-dir)",
            ws.state_dir.display()
        ))
        .into());
    };
    match cmd {
        Command::List => {
            let rs = state.resources().await?;
            if g.output == Output::Json {
                let rows: Vec<_> = rs
                    .iter()
                    .map(|r| serde_json::json!({"id": r.spec.id, "kind": r.spec.kind, "status": r.status, "provider": r.spec.provider, "provider_id": r.provider_id}))
                    .collect();
                print_json(&rows)?;
            } else {
                for r in &rs {
                    println!(
                        "{:<48} {:<9} {:<9} {}",
                        r.spec.id,
                        r.spec.kind,
                        r.status,
                        r.provider_id.as_deref().unwrap_or("-")
                    );
                }
            }
        }
        Command::Show(a) => {
            let Some(r) = state.resource(&ResourceId(a.id.clone())).await? else {
                return Err(UsageError(format!(
                    "no resource `{}` in the state (see `orchestrate state list`)",
                    a.id
                ))
                .into());
            };
            print_json(&r)?;
        }
        Command::Journal(a) => {
            let j = state.journal(a.limit).await?;
            if g.output == Output::Json {
                print_json(&j)?;
            } else {
                for e in &j {
                    println!(
                        "{:>6} {} {:<7} {:<48} {}{}",
                        e.seq,
                        e.started_at.strftime("%Y-%m-%d %H:%M:%S"),
                        e.op,
                        e.resource,
                        e.outcome.as_deref().unwrap_or("OPEN"),
                        e.error
                            .as_deref()
                            .map(|x| format!(": {x}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        Command::History(a) => {
            let h = state.history(a.limit).await?;
            if g.output == Output::Json {
                print_json(&h)?;
            } else {
                for e in &h {
                    println!(
                        "{} {:<6} {:<16} {:<9} {:<7} {} ms",
                        e.at.strftime("%Y-%m-%d %H:%M:%S"),
                        e.provider,
                        e.region,
                        e.kind,
                        e.op,
                        e.duration_ms
                    );
                }
            }
        }
        Command::Unlock(_) => {}
    }
    Ok(Exit::Ok)
}

fn unlock(ws: &Workspace, a: UnlockArgs) -> anyhow::Result<Exit> {
    match StateLock::current_holder(&ws.state_dir)? {
        None => {
            println!("The state in {} is not locked.", ws.state_dir.display());
            Ok(Exit::Ok)
        }
        Some(h) if a.force && h.host != crate::state::lock::host() => {
            std::fs::remove_file(ws.state_dir.join(crate::state::lock::LOCK_FILE))?;
            println!("Removed the lock held by {h}.");
            Ok(Exit::Ok)
        }
        Some(h) => {
            eprintln!(
                "The state is locked by {h}.\nA lock held by a live process on this host cannot be broken: stop that process (kill {}); the lock is released when it exits.",
                h.pid
            );
            Ok(Exit::Locked)
        }
    }
}
