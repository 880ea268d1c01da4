use clap::{Args as ClapArgs, Subcommand};

use super::{Global, Output, print_json};
use crate::exit::{Exit, UsageError};
use crate::model::ResourceId;
use crate::state::StateLock;
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
    /// Copy this state (the SQLite file in the state dir) into PostgreSQL, whose state must be
    /// empty; then point every host at it with --state-url.
    #[command(
        after_help = "Example:\n  orchestrate state migrate --to postgres://orchestrate@db.example.com/season\n  export ORCHESTRATE_STATE_URL=postgres://orchestrate@db.example.com/season"
    )]
    Migrate(MigrateArgs),
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
pub struct MigrateArgs {
    /// The PostgreSQL state to copy into (postgres://USER@HOST/DB).
    #[arg(long, value_name = "URL")]
    pub to: String,
}

#[derive(Debug, ClapArgs)]
pub struct UnlockArgs {
    /// Remove the lock file even though a holder is recorded.
    #[arg(long)]
    pub force: bool,
}

pub async fn exec(ws: &Workspace, g: &Global, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Unlock(a) => return unlock(ws, a).await,
        Command::Migrate(a) => return migrate(ws, g, a).await,
        _ => {}
    }
    let Some(state) = ws.existing_state().await? else {
        return Err(UsageError(format!(
            "no state in {}: nothing has been provisioned from here (see --state-dir, --state-url)",
            ws.state_location()
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
        Command::Unlock(_) | Command::Migrate(_) => {}
    }
    Ok(Exit::Ok)
}

/// Copies the SQLite state into an empty PostgreSQL state, under both states' locks, and
/// reads it back to check that every row arrived.
async fn migrate(ws: &Workspace, g: &Global, a: MigrateArgs) -> anyhow::Result<Exit> {
    if ws.state_url.is_some() {
        return Err(UsageError(
            "`state migrate` copies the SQLite state of --state-dir: run it without --state-url"
                .into(),
        )
        .into());
    }
    if !ws.state_dir.join(crate::state::DB_FILE).exists() {
        return Err(
            UsageError(format!("no state in {} to migrate", ws.state_dir.display())).into(),
        );
    }
    let to_url = super::parse_state_url(&a.to).map_err(|e| UsageError(format!("--to: {e}")))?;
    let _here = ws.lock("state migrate").await?;
    let mut there = ws.clone();
    there.state_url = Some(to_url.clone());
    let _there = there.lock("state migrate").await?;
    let from = crate::state::SqliteState::open(&ws.state_dir)?;
    let dump = from.dump()?;
    let to = crate::state::PgState::open(&to_url).await?;
    to.load(&dump).await.map_err(|e| match e {
        crate::state::CopyError::NotEmpty { .. } => anyhow::Error::new(UsageError(e.to_string())),
        other => other.into(),
    })?;
    let copied = to.dump().await?;
    if let Some(at) = first_difference(&dump, &copied) {
        anyhow::bail!(
            "the copy in {} does not read back as the state in {}: {at} differs",
            to.location(),
            ws.state_dir.display()
        );
    }
    let summary = serde_json::json!({
        "from": ws.state_dir.display().to_string(),
        "to": to.location(),
        "owner": dump.owner,
        "resources": dump.resources.len(),
        "journal": dump.journal.len(),
    });
    if g.output == Output::Json {
        print_json(&summary)?;
    } else {
        println!(
            "Copied {} resources and {} journal entries (owner {}) from {} to {}.\nPoint every host at it: --state-url or ORCHESTRATE_STATE_URL. The SQLite state is left as it was; do not use it again.",
            dump.resources.len(),
            dump.journal.len(),
            dump.owner,
            ws.state_dir.display(),
            to.location()
        );
    }
    Ok(Exit::Ok)
}

/// Where two dumps first differ: the table, the row's first column (its id) and the column.
fn first_difference(a: &crate::state::Dump, b: &crate::state::Dump) -> Option<String> {
    if a.owner != b.owner || a.serial != b.serial {
        return Some("the owner or the serial".into());
    }
    let tables = [
        (
            "resources",
            crate::state::RESOURCE_COLUMNS,
            &a.resources,
            &b.resources,
        ),
        (
            "journal",
            crate::state::JOURNAL_ALL_COLUMNS,
            &a.journal,
            &b.journal,
        ),
    ];
    for (table, columns, x, y) in tables {
        if x.len() != y.len() {
            return Some(format!("the number of {table} rows"));
        }
        for (rx, ry) in x.iter().zip(y.iter()) {
            if let Some((c, _)) = columns
                .split(", ")
                .zip(rx.iter().zip(ry.iter()))
                .find(|(_, (vx, vy))| vx != vy)
            {
                let id = rx.first().cloned().flatten().unwrap_or_default();
                return Some(format!("{table} row {id}, column {c},"));
            }
        }
    }
    None
}

async fn unlock(ws: &Workspace, a: UnlockArgs) -> anyhow::Result<Exit> {
    if let Some(url) = &ws.state_url {
        return match crate::state::PgLock::holder_now(url).await? {
            None => {
                println!("The state in {} is not locked.", crate::state::redact(url));
                Ok(Exit::Ok)
            }
            Some(h) => {
                eprintln!(
                    "The state is locked by {h}.\nPostgreSQL releases the lock when that process's connection ends: stop the process, or end its session in the database{}.",
                    if a.force {
                        " (--force removes a lock file; there is none to remove here)"
                    } else {
                        ""
                    }
                );
                Ok(Exit::Locked)
            }
        };
    }
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
