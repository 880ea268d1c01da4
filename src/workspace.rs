//! A project directory and its state dir: the I/O edge the commands share.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::config::{self, LoadError};
use crate::model::{Catalog, Config};
use crate::plan::{self, DesiredState, Plan, Scope};
use crate::providers::ProviderOptions;
use crate::providers::registry::Providers;
use crate::providers::registry::Registry;
use crate::render::Renderer;
use crate::schedule::lead::Learned;
use crate::state::{PgLock, PgState, SqliteState, StateLock, StateStore};

#[derive(Debug, Clone)]
pub struct Workspace {
    pub project: PathBuf,
    pub state_dir: PathBuf,
    /// A shared state on PostgreSQL (`--state-url`), instead of the SQLite file in the state
    /// dir; the state dir still holds what is this host's own.
    pub state_url: Option<String>,
    pub lock_timeout: Duration,
    /// How providers are opened (benchmarks set the sim's time scale here).
    pub provider_options: ProviderOptions,
    /// The providers this workspace may meet (tests register their own).
    pub registry: Registry,
}

impl Workspace {
    pub fn new(project: &Path, state_dir: Option<&Path>, lock_timeout: Duration) -> Self {
        Self {
            project: project.to_path_buf(),
            state_dir: state_dir.map_or_else(|| project.join(".orchestrate"), Path::to_path_buf),
            state_url: None,
            lock_timeout,
            provider_options: ProviderOptions::default(),
            registry: Registry::builtin(),
        }
    }

    pub fn load_config(&self, schedules: &[PathBuf]) -> Result<Config, LoadError> {
        config::load(&self.project, schedules, &self.registry)
    }

    /// Only the provider catalogs (for commands that act on recorded state, like `down`).
    pub fn load_catalogs(&self) -> Result<BTreeMap<String, Catalog>, LoadError> {
        config::load_catalogs(&self.project, &self.registry)
    }

    pub fn renderer(&self) -> anyhow::Result<Renderer> {
        Ok(Renderer::load(&self.project.join("templates"))?)
    }

    pub async fn open_state(&self) -> anyhow::Result<Arc<dyn StateStore>> {
        Ok(match &self.state_url {
            Some(url) => Arc::new(PgState::open(url).await?),
            None => Arc::new(SqliteState::open(&self.state_dir)?),
        })
    }

    /// The state, if one exists: read-only commands do not create one.
    pub async fn existing_state(&self) -> anyhow::Result<Option<Arc<dyn StateStore>>> {
        Ok(match &self.state_url {
            Some(url) => PgState::open_existing(url)
                .await?
                .map(|s| Arc::new(s) as Arc<dyn StateStore>),
            None if self.state_dir.join(crate::state::DB_FILE).exists() => {
                Some(self.open_state().await?)
            }
            None => None,
        })
    }

    /// What the state records, or nothing when there is no state (read-only commands).
    pub async fn recorded(&self) -> anyhow::Result<Vec<crate::model::RecordedResource>> {
        Ok(match self.existing_state().await? {
            Some(s) => s.resources().await?,
            None => Vec::new(),
        })
    }

    /// Where the state is, for messages: the state dir, or the URL without its password.
    pub fn state_location(&self) -> String {
        match &self.state_url {
            Some(url) => crate::state::redact(url),
            None => self.state_dir.display().to_string(),
        }
    }

    /// Takes the state lock for a command that changes state.
    pub async fn lock(&self, command: &str) -> anyhow::Result<Held> {
        if let Some(url) = &self.state_url {
            return Ok(Held::Db(
                PgLock::acquire(url, self.lock_timeout, command).await?,
            ));
        }
        std::fs::create_dir_all(&self.state_dir)
            .with_context(|| format!("cannot create the state dir {}", self.state_dir.display()))?;
        Ok(Held::File(
            StateLock::acquire(&self.state_dir, self.lock_timeout, command).await?,
        ))
    }

    /// The providers of these catalogs, keeping their inventories under this state dir.
    pub fn providers(&self, catalogs: BTreeMap<String, Catalog>) -> Providers {
        let mut options = self.provider_options.clone();
        options.project.get_or_insert_with(|| self.project.clone());
        Providers::new(&self.state_dir, catalogs, options, self.registry.clone())
    }
}

/// The state lock, held until dropped.
pub enum Held {
    File(StateLock),
    Db(PgLock),
}

/// A plan made from the schedules, and what it left out.
pub struct Planned {
    pub config: Config,
    pub plan: Plan,
    pub state: Arc<dyn StateStore>,
    /// Events left out because their window (`end + grace`) had passed, when no `--event`
    /// named them.
    pub ended: Vec<String>,
}

impl Workspace {
    /// Loads the schedules, renders what the selected events need and diffs it against the
    /// state, which is opened (or created) only once the configuration has proved valid.
    /// Named events must exist in a schedule or in the state. Without names, events already
    /// over are left alone: their teardown is `tick`'s and `down`'s, after the hand-off.
    pub async fn plan(&self, schedules: &[PathBuf], events: &[String]) -> anyhow::Result<Planned> {
        let config = self.load_config(schedules)?;
        let renderer = self.renderer()?;
        let state = self.open_state().await?;
        let recorded = state.resources().await?;
        crate::model::check_event_ids(events, &crate::model::known_ids(Some(&config), &recorded))?;
        let (scope, ended) = if events.is_empty() {
            let left_out = config.ended_keys(crate::clock::now());
            let ended = config
                .events
                .iter()
                .filter(|e| left_out.contains(&e.id))
                .map(|e| e.id.clone())
                .collect();
            (Scope::AllBut(left_out), ended)
        } else {
            (Scope::from_ids(events), Vec::new())
        };
        let plan = make_plan(&config, &renderer, state.as_ref(), &scope).await?;
        Ok(Planned {
            config,
            plan,
            state,
            ended,
        })
    }
}

/// Desired state for the scope, diffed against what the state records.
pub async fn make_plan(
    config: &Config,
    renderer: &Renderer,
    state: &dyn StateStore,
    scope: &Scope,
) -> anyhow::Result<Plan> {
    let learned = learned_leads(state).await?;
    let desired = plan::desired_state(config, renderer, state.owner(), scope, &learned)?;
    plan_against(&config.catalogs, desired, state, scope).await
}

/// How many recent steps lead times are learned from.
const HISTORY_WINDOW: usize = 10_000;

/// Lead times learned from the state's recent history.
pub async fn learned_leads(state: &dyn StateStore) -> anyhow::Result<Learned> {
    Ok(Learned::from_history(&state.history(HISTORY_WINDOW).await?))
}

pub async fn plan_against(
    catalogs: &BTreeMap<String, Catalog>,
    desired: DesiredState,
    state: &dyn StateStore,
    scope: &Scope,
) -> anyhow::Result<Plan> {
    let serial = state.serial().await?;
    let recorded = state.resources().await?;
    Ok(plan::plan(
        desired,
        &recorded,
        catalogs,
        scope,
        state.owner(),
        serial,
        crate::clock::now(),
    )?)
}
