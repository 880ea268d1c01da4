//! Applying a plan as a command does: with this workspace's providers, progress as the output
//! asks, and stopping on Ctrl-C or SIGTERM (once: the steps in flight finish; twice: at once).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::apply::{ApplyOptions, ApplyReport, Reporter, apply};
use crate::model::Catalog;
use crate::plan::Plan;
use crate::shutdown::Shutdown;
use crate::state::StateStore;
use crate::workspace::Workspace;

/// An applied plan, with what its exit code is read from.
pub struct Applied {
    pub plan: Arc<Plan>,
    pub report: ApplyReport,
    pub shutdown: Shutdown,
}

pub async fn apply_plan(
    ws: &Workspace,
    plan: Plan,
    catalogs: BTreeMap<String, Catalog>,
    parallelism: Option<usize>,
    state: Arc<dyn StateStore>,
    reporter: Arc<dyn Reporter>,
) -> anyhow::Result<Applied> {
    let providers = ws.providers(catalogs);
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let plan = Arc::new(plan);
    let report = apply(
        plan.clone(),
        &providers,
        state,
        reporter,
        &ApplyOptions { parallelism },
        &shutdown,
    )
    .await?;
    Ok(Applied {
        plan,
        report,
        shutdown,
    })
}
