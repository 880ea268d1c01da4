//! The plan: a pure diff of desired against recorded state, as actions on a dependency DAG.
//! The executor carries it out and makes no choices of its own.

mod cost;
mod desired;
mod diff;
pub mod display;
pub mod peaks;
mod split;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

pub use cost::{CostEstimate, EventCost, always_on_hourly, estimate};
pub use desired::{DesiredState, Scope, add_handoffs, desired_state, desired_state_in};
pub use diff::{Change, diff_values};

use crate::model::{Catalog, Kind, RecordedResource, ResourceId, ResourceSpec, ResourceStatus};

pub const PLAN_FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Create,
    Update,
    Replace,
    Delete,
    NoOp,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Replace => "replace",
            Op::Delete => "delete",
            Op::NoOp => "no-op",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: ResourceId,
    pub op: Op,
    /// Why, when it is not obvious from the diff (a resumed create, a forced replacement…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Change>,
    /// What to create or update to (not for delete and no-op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<ResourceSpec>,
    /// What the state holds (not for a fresh create and no-op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<RecordedResource>,
    /// Indices of the actions that must finish before this one starts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<u32>,
}

#[cfg(test)]
impl Action {
    /// An action with only what unit tests of the DAG read: its id, op and edges.
    pub fn bare(id: &str, op: Op, after: Vec<u32>) -> Self {
        Self {
            id: ResourceId(id.into()),
            op,
            reason: None,
            changes: Vec::new(),
            desired: None,
            recorded: None,
            after,
        }
    }
}

#[cfg(test)]
impl Plan {
    /// A plan of these actions, made against an empty state.
    pub fn of(actions: Vec<Action>) -> Self {
        Self {
            format: PLAN_FORMAT,
            owner: "o".into(),
            state_serial: 0,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            actions,
            cost: CostEstimate::default(),
        }
    }
}

impl Action {
    pub fn region(&self) -> &str {
        self.spec().map_or("", |s| s.region.as_str())
    }
    pub fn kind(&self) -> &str {
        self.spec().map_or("", |s| s.kind.as_str())
    }
    pub fn event(&self) -> &str {
        self.spec().map_or("", |s| s.event.as_str())
    }
    /// The desired spec, else the recorded one.
    pub fn spec(&self) -> Option<&ResourceSpec> {
        self.desired
            .as_ref()
            .or(self.recorded.as_ref().map(|r| &r.spec))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: u32,
    pub owner: String,
    /// The state serial the plan was made against; applying it refuses any other.
    pub state_serial: u64,
    pub created_at: Timestamp,
    pub actions: Vec<Action>,
    pub cost: CostEstimate,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl Plan {
    pub fn counts(&self) -> Counts {
        let mut c = Counts::default();
        for a in &self.actions {
            match a.op {
                Op::Create => c.create += 1,
                Op::Update => c.update += 1,
                Op::Replace => c.replace += 1,
                Op::Delete => c.delete += 1,
                Op::NoOp => c.unchanged += 1,
            }
        }
        c
    }
    pub fn is_empty(&self) -> bool {
        self.actions.iter().all(|a| a.op == Op::NoOp)
    }
    /// Whether applying it destroys anything (a reason to ask before going on).
    pub fn destroys(&self) -> bool {
        self.actions
            .iter()
            .any(|a| matches!(a.op, Op::Delete | Op::Replace))
    }

    /// Checks what a plan read from a file must hold: known format, edges in range, no cycle.
    pub fn check(&self) -> Result<(), PlanError> {
        if self.format != PLAN_FORMAT {
            return Err(PlanError::Format(self.format));
        }
        let n = self.actions.len() as u32;
        for (i, a) in self.actions.iter().enumerate() {
            if a.after.iter().any(|&j| j >= n || j as usize == i) {
                return Err(PlanError::BadEdge(a.id.clone()));
            }
            let needs_spec = !matches!(a.op, Op::NoOp);
            let has = match a.op {
                Op::Create | Op::Update | Op::Replace => a.desired.is_some(),
                Op::Delete => a.recorded.is_some(),
                Op::NoOp => true,
            };
            if needs_spec && !has {
                return Err(PlanError::Incomplete(a.id.clone()));
            }
        }
        topological_order(&self.actions).map(|_| ())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("plan format {0} is not supported (expected {PLAN_FORMAT})")]
    Format(u32),
    #[error("the plan's dependencies form a cycle through {0}")]
    Cycle(ResourceId),
    #[error("the plan has a dependency of {0} that points nowhere")]
    BadEdge(ResourceId),
    #[error("the plan's action on {0} lacks the resource it acts on")]
    Incomplete(ResourceId),
    #[error("{id} depends on {missing}, which is neither desired nor recorded")]
    MissingDependency { id: ResourceId, missing: ResourceId },
}

/// Diffs desired against recorded state. Recorded resources of events outside `scope` are
/// left alone. Pure and deterministic: the same inputs give the same plan.
pub fn plan(
    desired: DesiredState,
    recorded: &[RecordedResource],
    catalogs: &BTreeMap<String, Catalog>,
    scope: &Scope,
    owner: &str,
    state_serial: u64,
    now: Timestamp,
) -> Result<Plan, PlanError> {
    let recorded_by_id: HashMap<&ResourceId, &RecordedResource> =
        recorded.iter().map(|r| (&r.spec.id, r)).collect();
    let cost = estimate(&desired);
    let (keep, gates, release_vods) = (desired.keep, desired.gates, desired.release_vods);
    let mut actions: Vec<Action> = Vec::with_capacity(desired.resources.len());
    for (id, spec) in desired.resources {
        let action = match recorded_by_id.get(&id) {
            None => Action {
                desired: Some(spec),
                ..new_action(&id, Op::Create, None, None, None)
            },
            Some(rec) => compare(spec, rec, catalogs),
        };
        actions.push(action);
    }
    let desired_ids: std::collections::HashSet<&ResourceId> =
        actions.iter().map(|a| &a.id).collect();
    let mut deleted: Vec<&RecordedResource> = recorded
        .iter()
        .filter(|r| !desired_ids.contains(&r.spec.id) && scope.contains(&r.spec.event))
        .filter(|r| !keep.contains(&r.spec.id))
        // A published VOD is the show's lasting product: only asked for, does it go.
        .filter(|r| {
            release_vods || !(r.spec.kind == Kind::Vod && r.status == ResourceStatus::Ready)
        })
        .collect();
    deleted.sort_by(|a, b| a.spec.id.cmp(&b.spec.id));
    for rec in deleted {
        actions.push(new_action(&rec.spec.id, Op::Delete, None, None, Some(rec)));
    }

    link(&mut actions, &recorded_by_id, &gates)?;
    topological_order(&actions)?;
    Ok(Plan {
        format: PLAN_FORMAT,
        owner: owner.to_string(),
        state_serial,
        created_at: now,
        cost,
        actions,
    })
}

fn new_action(
    id: &ResourceId,
    op: Op,
    reason: Option<String>,
    desired: Option<&ResourceSpec>,
    recorded: Option<&RecordedResource>,
) -> Action {
    Action {
        id: id.clone(),
        op,
        reason,
        changes: Vec::new(),
        desired: desired.cloned(),
        recorded: recorded.cloned(),
        after: Vec::new(),
    }
}

fn compare(
    spec: ResourceSpec,
    rec: &RecordedResource,
    catalogs: &BTreeMap<String, Catalog>,
) -> Action {
    let id = &spec.id;
    let resume = |op, why: &str| new_action(id, op, Some(why.to_string()), Some(&spec), Some(rec));
    match rec.status {
        ResourceStatus::Creating => {
            return resume(Op::Create, "resumes a create that did not finish");
        }
        // A create that failed before the provider answered: retry it with the same token.
        ResourceStatus::Failed if rec.provider_id.is_none() => {
            return resume(Op::Create, "retries a create that failed");
        }
        ResourceStatus::Deleting => {
            return resume(
                Op::Replace,
                "a delete did not finish: delete, then create anew",
            );
        }
        ResourceStatus::Failed | ResourceStatus::Ready | ResourceStatus::Updating => {}
    }
    if rec.spec.provider != spec.provider {
        let why = format!(
            "provider changes from {} to {}",
            rec.spec.provider, spec.provider
        );
        return resume(Op::Replace, &why);
    }
    if rec.spec.spec_hash == spec.spec_hash {
        return match rec.status {
            ResourceStatus::Updating => resume(Op::Update, "resumes an update that did not finish"),
            ResourceStatus::Failed => resume(Op::Update, "retries a step that failed"),
            _ => new_action(id, Op::NoOp, None, None, None),
        };
    }
    let kind = catalogs
        .get(&spec.provider)
        .and_then(|c| c.kinds.get(&spec.kind));
    let none = BTreeMap::new();
    let mut changes = diff_values(
        &rec.spec.definition.value(),
        &spec.definition.value(),
        kind.map(|k| k.replace_on.as_slice()).unwrap_or_default(),
        kind.map_or(&none, |k| &k.replace_why),
    );
    if rec.spec.depends_on != spec.depends_on {
        changes.push(Change {
            field: "(depends_on)".into(),
            before: Some(serde_json::to_value(&rec.spec.depends_on).unwrap_or_default()),
            after: Some(serde_json::to_value(&spec.depends_on).unwrap_or_default()),
            forces_replacement: true,
            why: Some("what it depends on changes".into()),
        });
    }
    let op = if changes.iter().any(|c| c.forces_replacement) {
        Op::Replace
    } else {
        Op::Update
    };
    let mut a = new_action(&spec.id, op, None, None, Some(rec));
    a.changes = changes;
    a.desired = Some(spec);
    a
}

/// Adds the DAG edges: creates and updates after those of their dependencies; deletes after
/// those of their dependents (teardown runs in reverse), and after the builds of the `gates`
/// of their event and region (the VOD made before the rest goes).
fn link(
    actions: &mut [Action],
    recorded_by_id: &HashMap<&ResourceId, &RecordedResource>,
    gates: &BTreeSet<ResourceId>,
) -> Result<(), PlanError> {
    let index: HashMap<ResourceId, usize> = actions
        .iter()
        .enumerate()
        .map(|(i, a)| (a.id.clone(), i))
        .collect();
    let builds = |op: Op| matches!(op, Op::Create | Op::Update | Op::Replace);
    // Dependents per recorded resource, for ordering deletes.
    let mut dependents: HashMap<&ResourceId, Vec<&ResourceId>> = HashMap::new();
    for rec in recorded_by_id.values() {
        for d in &rec.spec.depends_on {
            dependents.entry(d).or_default().push(&rec.spec.id);
        }
    }
    let mut edges: Vec<(usize, u32)> = Vec::new();
    for (i, a) in actions.iter().enumerate() {
        match a.op {
            op if builds(op) => {
                let spec = a
                    .desired
                    .as_ref()
                    .map_or(&[][..], |s| s.depends_on.as_slice());
                for dep in spec {
                    match index.get(dep) {
                        Some(&j) if builds(actions[j].op) => edges.push((i, j as u32)),
                        Some(_) => {}
                        None => {
                            return Err(PlanError::MissingDependency {
                                id: a.id.clone(),
                                missing: dep.clone(),
                            });
                        }
                    }
                }
            }
            Op::Delete => {
                for child in dependents.get(&a.id).into_iter().flatten() {
                    if let Some(&j) = index.get(*child)
                        && actions[j].op == Op::Delete
                    {
                        edges.push((i, j as u32));
                    }
                }
                for gate in gates {
                    if let Some(&j) = index.get(gate)
                        && builds(actions[j].op)
                        && actions[j].event() == a.event()
                        && actions[j].region() == a.region()
                    {
                        edges.push((i, j as u32));
                    }
                }
            }
            _ => {}
        }
    }
    for (i, j) in edges {
        actions[i].after.push(j);
    }
    for a in actions.iter_mut() {
        a.after.sort_unstable();
        a.after.dedup();
    }
    Ok(())
}

/// Kahn's algorithm; the order in which a single worker could run the actions.
pub fn topological_order(actions: &[Action]) -> Result<Vec<usize>, PlanError> {
    let n = actions.len();
    let mut indegree = vec![0usize; n];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, a) in actions.iter().enumerate() {
        for &j in &a.after {
            indegree[i] += 1;
            dependents[j as usize].push(i);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|&i| indegree[i] == 0).rev().collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        for &d in &dependents[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.push(d);
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n).find(|&i| indegree[i] > 0).unwrap_or(0);
        return Err(PlanError::Cycle(actions[stuck].id.clone()));
    }
    Ok(order)
}
