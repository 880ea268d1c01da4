use std::collections::HashSet;

use clap::Args as ClapArgs;

use super::{Global, Output, confirm, print_json};
use crate::exit::Exit;
use crate::model::TAG_OWNER;
use crate::plan::{PLAN_FORMAT, Plan};
use crate::providers::InventoryItem;
use crate::workspace::Workspace;

/// Find resources our tags mark as ours that the state does not know, and delete them.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate sweep --dry-run              list leaked resources only
  orchestrate sweep --yes
  orchestrate sweep --owner 3f2a9c0d1e4b5a67 --yes   a lost state's resources, by its owner id
  orchestrate sweep --provider aws --dry-run         what AWS holds of ours that the state does not

Resources are found by their `orchestrate:owner` tag, so a sweep works even when the state that
created them is gone.")]
pub struct Args {
    /// Only list what would be deleted.
    #[arg(long)]
    pub dry_run: bool,
    /// Sweep resources of this owner id instead of this state's (e.g. of a lost state).
    #[arg(long, value_name = "ID", conflicts_with = "all_owners")]
    pub owner: Option<String>,
    /// Sweep resources of every owner that this state does not record.
    #[arg(long)]
    pub all_owners: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Only this provider (repeatable) [default: the providers the project's profiles use and
    /// the state records].
    #[arg(long = "provider", value_name = "NAME")]
    pub providers: Vec<String>,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let _lock = ws.lock("sweep").await?;
    let state = ws.open_state().await?;
    let catalogs = ws.load_catalogs()?;
    let providers = ws.providers(catalogs.clone());
    let recorded = state.resources().await?;
    let known_ids: HashSet<&str> = recorded
        .iter()
        .filter_map(|r| r.provider_id.as_deref())
        .collect();
    let known_tokens: HashSet<&str> = recorded
        .iter()
        .filter_map(|r| r.client_token.as_deref())
        .collect();
    let owner = args
        .owner
        .clone()
        .unwrap_or_else(|| state.owner().to_string());
    let available = providers.available();
    let swept: Vec<String> = if args.providers.is_empty() {
        // Only the providers in use: a catalog alone (say, AWS's) is no reason to call a cloud.
        let mut used: HashSet<String> = recorded.iter().map(|r| r.spec.provider.clone()).collect();
        if let Ok(config) = ws.load_config(&[]) {
            used.extend(config.profiles.values().map(|p| p.provider.clone()));
        }
        available.into_iter().filter(|n| used.contains(n)).collect()
    } else {
        for n in &args.providers {
            if !available.contains(n) {
                return Err(crate::exit::UsageError(format!(
                    "--provider {n}: not a provider this build can open with the project's catalogs (available: {})",
                    available.join(", ")
                ))
                .into());
            }
        }
        args.providers.clone()
    };
    let mut leaked: Vec<InventoryItem> = Vec::new();
    for name in swept {
        for item in providers.get(&name)?.list().await? {
            let Some(tag) = item.tags.get(TAG_OWNER) else {
                continue;
            };
            let ours = args.all_owners || *tag == owner;
            let known = known_ids.contains(item.provider_id.as_str())
                || item
                    .client_token
                    .as_deref()
                    .is_some_and(|t| known_tokens.contains(t));
            if ours && !known && item.status != "deleting" {
                leaked.push(item);
            }
        }
    }
    if g.output == Output::Json && args.dry_run {
        print_json(&serde_json::json!({"leaked": leaked}))?;
        return Ok(Exit::Ok);
    }
    if leaked.is_empty() {
        if g.output == Output::Text {
            println!("No leaked resources.");
        }
        return Ok(Exit::Ok);
    }
    if g.output == Output::Text {
        println!("Leaked resources (tagged as ours, unknown to the state):");
        for i in &leaked {
            println!(
                "  {:<6} {:<16} {:<9} {:<28} {}",
                i.provider, i.region, i.kind, i.provider_id, i.name
            );
        }
    }
    if args.dry_run {
        return Ok(Exit::Ok);
    }
    let n = leaked.len();
    if !confirm(
        &format!(
            "delete {n} leaked resource{}",
            if n == 1 { "" } else { "s" }
        ),
        args.yes,
    )? {
        eprintln!("Cancelled; nothing was deleted.");
        return Ok(Exit::Ok);
    }
    let plan = Plan {
        format: PLAN_FORMAT,
        owner: state.owner().to_string(),
        state_serial: state.serial().await?,
        created_at: crate::clock::now(),
        actions: crate::ops::sweep::teardown(leaked),
        cost: Default::default(),
    };
    super::apply_and_report(ws, g, plan, catalogs, None, state).await
}
