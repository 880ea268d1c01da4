//! The command line: one file per subcommand, each a clap struct and a thin `exec`.

mod approve;
#[cfg(feature = "bench")]
mod bench;
mod doctor;
mod down;
mod plan;
mod report;
mod run;
mod schema;
mod serve_local;
mod state;
mod status;
mod sweep;
mod tick;
mod up;
mod validate;
mod vod;
mod watch;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::apply::progress::{Bars, Lines, Ndjson, Reporter};
use crate::exit::{Exit, UsageError};
use crate::workspace::Workspace;

#[derive(Debug, Parser)]
#[command(
    name = "orchestrate",
    version,
    about = "Just-in-time live streaming infrastructure: provision per scheduled event, watch it, hand off to VOD, tear it down",
    after_help = "Examples:
  orchestrate validate                     check schedules/, profiles/ and providers/
  orchestrate plan                         show what would change, and what it costs
  orchestrate up --yes                     provision every scheduled event
  orchestrate status --output json         what exists now, per event and region
  orchestrate down --event cup-final       tear one event down (asks first)
  orchestrate tick                         from cron: reconcile every event to the clock
  orchestrate run                          the same as a daemon, on a timer and on schedule edits
  orchestrate vod list                     the VODs ended events were handed off to

Exit codes: 0 ok, 1 failure, 2 configuration error, 3 state locked, 4 partial, 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Project directory holding schedules/, profiles/, providers/ and templates/.
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    pub project: PathBuf,
    /// Where the state lives [default: <project>/.orchestrate].
    #[arg(long, global = true, value_name = "DIR", env = "ORCHESTRATE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Keep the state in PostgreSQL, shared by every host that reaches it (postgres://USER@HOST/DB;
    /// a password in the URL is never printed), instead of the SQLite file in the state dir.
    /// The state dir still holds what is this host's own. See `state migrate`.
    // Checked by `parse_state_url` after parsing, not by clap, whose errors echo the value.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "ORCHESTRATE_STATE_URL",
        hide_env_values = true
    )]
    pub state_url: Option<String>,
    /// How long to wait for another process's state lock before giving up (exit 3).
    #[arg(long, global = true, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub lock_timeout: Duration,
    /// Output format.
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

/// A state URL is PostgreSQL's; anything else is refused before anything is opened, and the
/// refusal never shows the password.
pub(crate) fn parse_state_url(s: &str) -> Result<String, String> {
    if !(s.starts_with("postgres://") || s.starts_with("postgresql://")) {
        return Err(format!(
            "`{}` is not a PostgreSQL URL: give postgres://USER@HOST[:PORT]/DATABASE",
            crate::state::redact(s)
        ));
    }
    // `sslrootcert` is orchestrate's to read, not the client's (see src/state/pg_connect.rs).
    let (without_root, _) = crate::state::split_root_cert(s);
    without_root
        .parse::<tokio_postgres::Config>()
        .map(|_| s.to_string())
        .map_err(|e| format!("`{}`: {e}", crate::state::redact(s)))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    // For streams (`watch`, `run`) JSON is one object per line: `ndjson` says so.
    #[value(alias = "ndjson")]
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    Validate(validate::Args),
    Doctor(doctor::Args),
    Schema(schema::Args),
    Plan(plan::Args),
    Up(up::Args),
    Down(down::Args),
    Status(status::Args),
    #[command(
        subcommand,
        after_help = "Examples:\n  orchestrate state list\n  orchestrate state show cup-final/eu-west-1/encoder\n  orchestrate state journal --limit 20\n  orchestrate state unlock"
    )]
    State(state::Command),
    Sweep(sweep::Args),
    Tick(tick::Args),
    Run(run::Args),
    Watch(watch::Args),
    /// Approve an action that waits for approval; `run` carries it out.
    Approve(approve::Args),
    /// Reject an action that waits for approval.
    Reject(approve::Args),
    Report(report::Args),
    #[command(subcommand)]
    Vod(vod::Command),
    #[cfg(feature = "bench")]
    #[command(
        subcommand,
        after_help = "Example:\n  orchestrate bench provision --events 1000 --regions 6"
    )]
    Bench(bench::Command),
    #[command(subcommand, hide = true, name = "serve-local")]
    ServeLocal(serve_local::Command),
}

/// Which schedules and events a command reads.
#[derive(Debug, Args, Clone, Default)]
pub struct Selection {
    /// Schedule file (repeatable) [default: every *.yaml in <project>/schedules].
    #[arg(short = 's', long = "schedule", value_name = "FILE")]
    pub schedules: Vec<PathBuf>,
    /// Only these events (repeatable) [default: all].
    #[arg(short = 'e', long = "event", value_name = "ID")]
    pub events: Vec<String>,
}

/// How a command that changes infrastructure goes about it.
#[derive(Debug, Args, Clone, Default)]
pub struct ApplyFlags {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Cap on steps in flight [default: none; only dependencies and rate limits bound it].
    #[arg(long, value_name = "K")]
    pub parallelism: Option<usize>,
}

pub async fn run(cli: Cli) -> anyhow::Result<Exit> {
    run_with(cli, crate::providers::registry::Registry::builtin()).await
}

/// Runs a command with the providers of `registry` (a build or a test that registers its own).
pub async fn run_with(
    cli: Cli,
    registry: crate::providers::registry::Registry,
) -> anyhow::Result<Exit> {
    let g = &cli.global;
    let mut ws = Workspace::new(&g.project, g.state_dir.as_deref(), g.lock_timeout);
    ws.state_url = g
        .state_url
        .as_deref()
        .map(parse_state_url)
        .transpose()
        .map_err(|e| UsageError(format!("--state-url: {e}")))?;
    ws.registry = registry;
    match cli.command {
        Command::Validate(a) => validate::exec(&ws, g, a).await,
        Command::Doctor(a) => doctor::exec(&ws, g, a).await,
        Command::Schema(a) => schema::exec(a),
        Command::Plan(a) => plan::exec(&ws, g, a).await,
        Command::Up(a) => up::exec(&ws, g, a).await,
        Command::Down(a) => down::exec(&ws, g, a).await,
        Command::Status(a) => status::exec(&ws, g, a).await,
        Command::State(c) => state::exec(&ws, g, c).await,
        Command::Sweep(a) => sweep::exec(&ws, g, a).await,
        Command::Tick(a) => tick::exec(&ws, g, a).await,
        Command::Run(a) => run::exec(&ws, g, a).await,
        Command::Watch(a) => watch::exec(&ws, g, a).await,
        Command::Approve(a) => approve::exec(&ws, g, a, true).await,
        Command::Reject(a) => approve::exec(&ws, g, a, false).await,
        Command::Report(a) => report::exec(&ws, g, a).await,
        Command::Vod(c) => vod::exec(&ws, g, c).await,
        #[cfg(feature = "bench")]
        Command::Bench(c) => bench::exec(&ws, c).await,
        Command::ServeLocal(c) => serve_local::exec(c).await,
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::config::duration::parse_duration(s)
}

/// Progress as the output asks: NDJSON, bars on a terminal, plain lines otherwise.
pub fn reporter(output: Output) -> Arc<dyn Reporter> {
    match output {
        Output::Json => Arc::new(Ndjson),
        Output::Text if std::io::stderr().is_terminal() => Arc::new(Bars::new()),
        Output::Text => Arc::new(Lines),
    }
}

/// Asks before destroying (`what`: "destroy 3 resources"); without a terminal on stdin,
/// `--yes` is required instead of a prompt.
pub fn confirm(what: &str, yes: bool) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(UsageError(format!(
            "refusing to {what} without confirmation: stdin is not a terminal, so pass --yes"
        ))
        .into());
    }
    eprint!("Do you want to {what}? Only 'yes' will be accepted: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

/// Says which events a plan of the whole schedule left out as already over (on stderr, so
/// that `--output json` keeps stdout for the plan).
pub fn note_ended(ended: &[String]) {
    if ended.is_empty() {
        return;
    }
    let n = ended.len();
    const LISTED: usize = 5;
    let mut list = ended
        .iter()
        .take(LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if n > LISTED {
        list.push_str(&format!(" and {} more", n - LISTED));
    }
    eprintln!(
        "Left out {n} event{} whose window (end + grace) has passed: {list}. `tick` and `down` \
         hand off and tear down what such events still hold; `--event ID` plans one anyway.",
        if n == 1 { "" } else { "s" }
    );
}

/// The event ids `--event` may name: the schedules' (when they load; a command that does not
/// need them does not fail on them) and those the state holds resources of.
pub fn known_events(
    ws: &Workspace,
    recorded: &[crate::model::RecordedResource],
) -> std::collections::BTreeSet<String> {
    let config = ws.load_config(&[]).ok();
    crate::model::known_ids(config.as_ref(), recorded)
}

/// ", did you mean `x`?" when one of `candidates` is a plausible typo of `got`.
pub fn did_you_mean<'a>(got: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    crate::config::yaml::nearest(got, candidates)
        .map(|n| format!(", did you mean `{n}`?"))
        .unwrap_or_default()
}

pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Applies a plan as a command does (`crate::ops::apply`), prints the steps that failed and
/// returns the exit code the result deserves.
pub async fn apply_and_report(
    ws: &Workspace,
    g: &Global,
    plan: crate::plan::Plan,
    catalogs: std::collections::BTreeMap<String, crate::model::Catalog>,
    parallelism: Option<usize>,
    state: Arc<dyn crate::state::StateStore>,
) -> anyhow::Result<Exit> {
    let applied =
        crate::ops::apply::apply_plan(ws, plan, catalogs, parallelism, state, reporter(g.output))
            .await?;
    if g.output == Output::Text {
        for f in &applied.report.failed {
            eprintln!("error: {} {}: {}", f.op.as_str(), f.id, f.error);
        }
    }
    Ok(apply_exit(
        &applied.report,
        &applied.plan,
        &applied.shutdown,
    ))
}

/// The exit code an apply deserves: any failure is 1, or 4 when other events went through.
pub fn apply_exit(
    report: &crate::apply::ApplyReport,
    plan: &crate::plan::Plan,
    shutdown: &crate::shutdown::Shutdown,
) -> Exit {
    if shutdown.graceful.is_cancelled() || shutdown.force.is_cancelled() {
        return Exit::Interrupted;
    }
    if report.success() {
        return Exit::Ok;
    }
    let failed_events: std::collections::BTreeSet<&str> = report
        .failed
        .iter()
        .filter_map(|f| f.id.as_str().split('/').next())
        .collect();
    let any_other = plan
        .actions
        .iter()
        .any(|a| a.op != crate::plan::Op::NoOp && !failed_events.contains(a.event()));
    if any_other {
        Exit::Partial
    } else {
        Exit::Failure
    }
}
