use clap::{Args as ClapArgs, Subcommand};

use crate::bench::{ProvisionParams, provision};
use crate::exit::Exit;
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Benchmarks; each prints one JSON object on one line of stdout.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan and provision N events × R regions on the time-scaled sim provider.
    #[command(after_help = "Examples:
  orchestrate bench provision --events 1000 --regions 6
  orchestrate bench provision --events 1000 --regions 6 --parallelism 10")]
    Provision(ProvisionArgs),
}

#[derive(Debug, ClapArgs)]
pub struct ProvisionArgs {
    #[arg(long, default_value_t = 100)]
    pub events: usize,
    #[arg(long, default_value_t = 3)]
    pub regions: usize,
    /// Cap on steps in flight [default: none].
    #[arg(long, value_name = "K")]
    pub parallelism: Option<usize>,
    /// Real time per simulated time: 0.005 makes a 3-minute channel start take 900 ms.
    #[arg(long, default_value_t = 0.005)]
    pub time_scale: f64,
    /// Profile (in <project>/profiles) of every benchmark event; must use the sim provider.
    #[arg(long, default_value = "sim-hd")]
    pub profile: String,
}

pub async fn exec(ws: &Workspace, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Provision(a) => {
            let params = ProvisionParams {
                events: a.events,
                regions: a.regions,
                parallelism: a.parallelism,
                time_scale: a.time_scale,
                profile: a.profile,
            };
            // On Ctrl-C or SIGTERM the benchmark is dropped, which removes its scratch state.
            let stop = Shutdown::new();
            stop.on_signals();
            let r = tokio::select! {
                r = provision(&ws.project, &params) => r?,
                () = stop.graceful.cancelled() => return Ok(Exit::Interrupted),
            };
            println!("{}", serde_json::to_string(&r)?);
            Ok(if r.failed == 0 {
                Exit::Ok
            } else {
                Exit::Failure
            })
        }
    }
}
