use clap::{Args as ClapArgs, Subcommand};

use crate::bench::handoff::{HandoffParams, handoff};
use crate::bench::season::{SeasonParams, season};
use crate::bench::startup::{StartupParams, startup};
use crate::bench::terraform::{against_terraform, find as find_terraform};
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
  orchestrate bench provision --events 1000 --regions 6 --parallelism 10
  orchestrate bench provision --events 200 --regions 1 --against terraform
  orchestrate bench provision --events 200 --regions 6 --state-url postgres://USER@HOST/EMPTY_DB

With --state-url the steps are journaled in that PostgreSQL state, which must be empty.
With --against terraform, orchestrate provisions first; the latencies the sim drew become a
Terraform configuration (terraform_data resources whose local-exec sleeps that long, with the
same dependencies), applied at Terraform's default -parallelism=10 and unbounded in a scratch
directory removed afterwards. Terraform missing is a usage error (exit 2).")]
    Provision(ProvisionArgs),
    /// Run a season of events through the daemon on a simulated clock: were they ready before
    /// their start, and how much was billed beyond the minimum?
    #[command(after_help = "Examples:
  orchestrate bench season --events 1000
  orchestrate bench season --events 1000 --lead 30m
  orchestrate bench season --events 1000 --lead 2h

The season runs in a scratch copy of the project's providers, profiles and templates; the
process's clock runs 1/time-scale times faster and skips stretches where nothing is in flight.")]
    Season(SeasonArgs),
    /// From `up` to the first segment a player can fetch at the edge, on the local provider
    /// with real ffmpeg (median of several runs, each torn down after).
    #[command(after_help = "Examples:
  orchestrate bench startup
  orchestrate bench startup --runs 5 --profile local-hd")]
    Startup(StartupArgs),
    /// Package a generated archive (3 renditions, made quickly with ffmpeg) into a DRM VOD with
    /// Shaka Packager, as the hand-off does after a show.
    #[command(after_help = "Examples:
  orchestrate bench handoff
  orchestrate bench handoff --archive 1h --scheme cbcs

Shaka Packager is looked up in ORCHESTRATE_PACKAGER, then <project>/.venv (the quickstart
installs it there), then PATH.")]
    Handoff(HandoffArgs),
    /// Signals per second through the rule engine (built-in rules and anomaly detectors) on
    /// one core.
    #[command(after_help = "Examples:
  orchestrate bench rules
  orchestrate bench rules --signals 50000000 --events 1000")]
    Rules(RulesArgs),
    /// How many renditions one core keeps monitored at RFC 8216's reload rate (T2 probes and
    /// rules against synthetic live playlists on loopback), and how soon a stopped one alerts.
    #[command(after_help = "Examples:
  orchestrate bench probes
  orchestrate bench probes --target 6s
  orchestrate bench probes --renditions 2000 --detect 0

Renditions double until a step misses a criterion (the probe thread over --max-cpu of one
core, fewer than 0.95 reloads per playlist change, or any alert on the healthy stream), then
bisect. Then --detect renditions each stop at a random moment; detect_p50_ms and
detect_p99_ms are the times from the stop to the playlist-stale alert.")]
    Probes(ProbesArgs),
    /// What the content tier costs: one sampling interval of the test pattern analysed again
    /// and again as on air (black, freeze, silence, loudness, lip sync on one ffmpeg thread),
    /// and how many renditions one core keeps analysed at that interval.
    #[command(after_help = "Examples:
  orchestrate bench content
  orchestrate bench content --width 1280 --height 720 --bitrate 2500k
  orchestrate bench content --segment-duration 2s --every 3 --samples 30

renditions_per_core is the interval over the median CPU-seconds of one sample's analysis;
checked_per_core is the same for the bitrate and resolution check every other rendition gets.
The profile's monitoring.content.cpu_budget holds the monitor host to its share of that.")]
    Content(ContentArgs),
}

#[derive(Debug, ClapArgs)]
pub struct ContentArgs {
    #[arg(long, default_value_t = 640)]
    pub width: u32,
    #[arg(long, default_value_t = 360)]
    pub height: u32,
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    #[arg(long, default_value = "800k")]
    pub bitrate: String,
    #[arg(long, default_value = "2s", value_parser = super::parse_duration, value_name = "DURATION")]
    pub segment_duration: std::time::Duration,
    /// Segments per sample (the profile's monitoring.content.every).
    #[arg(long, default_value_t = 3)]
    pub every: u32,
    /// Samples analysed (the median is reported).
    #[arg(long, default_value_t = 20)]
    pub samples: usize,
}

#[derive(Debug, ClapArgs)]
pub struct ProbesArgs {
    /// The playlists' target duration.
    #[arg(long, default_value = "2s", value_parser = super::parse_duration, value_name = "DURATION")]
    pub target: std::time::Duration,
    /// How long each step is measured (after three target durations of warm-up).
    #[arg(long, default_value = "15s", value_parser = super::parse_duration, value_name = "DURATION")]
    pub window: std::time::Duration,
    /// The most of one core the probes may use.
    #[arg(long, default_value_t = 0.5)]
    pub max_cpu: f64,
    /// Measure this many renditions only, instead of searching.
    #[arg(long, value_name = "N")]
    pub renditions: Option<usize>,
    /// Renditions per master playlist (per event).
    #[arg(long, default_value_t = 4)]
    pub per_master: usize,
    /// Renditions stopped to measure detection latency (0: none).
    #[arg(long, default_value_t = 200)]
    pub detect: usize,
    /// Target durations without a new segment before a playlist is stale.
    #[arg(long, default_value_t = 1.5)]
    pub stale_after: f64,
}

#[derive(Debug, ClapArgs)]
pub struct RulesArgs {
    #[arg(long, default_value_t = 20_000_000)]
    pub signals: u64,
    /// Events on air (each with 19 series: encoder, 4 renditions at the origin, edge, viewer).
    #[arg(long, default_value_t = 500)]
    pub events: usize,
}

#[derive(Debug, ClapArgs)]
pub struct HandoffArgs {
    /// Length of the generated archive.
    #[arg(long, default_value = "1h", value_parser = super::parse_duration, value_name = "DURATION")]
    pub archive: std::time::Duration,
    /// `clear`, `cenc`, `cbcs` or `aes-128`.
    #[arg(long, default_value = "cenc", value_parser = parse_scheme)]
    pub scheme: crate::vod::package::Scheme,
    #[arg(long, default_value_t = 2.0)]
    pub segment_duration: f64,
}

fn parse_scheme(s: &str) -> Result<crate::vod::package::Scheme, String> {
    crate::vod::package::Scheme::parse(s)
        .ok_or_else(|| format!("`{s}`: expected clear, cenc, cbcs or aes-128"))
}

#[derive(Debug, ClapArgs)]
pub struct StartupArgs {
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Profile (in <project>/profiles); must use the local provider.
    #[arg(long, default_value = "local-hd")]
    pub profile: String,
    /// How long to sample the encoder's CPU use once live (0s to skip).
    #[arg(long, default_value = "10s", value_parser = super::parse_duration, value_name = "DURATION")]
    pub cpu_window: std::time::Duration,
}

#[derive(Debug, ClapArgs)]
pub struct SeasonArgs {
    #[arg(long, default_value_t = 1000)]
    pub events: usize,
    /// `auto` (learned), or a fixed lead for every event, e.g. 30m or 2h.
    #[arg(long, default_value = "auto", value_parser = parse_lead, value_name = "auto|DURATION")]
    pub lead: Lead,
    /// Time kept after each event's end before teardown.
    #[arg(long, default_value = "5m", value_parser = super::parse_duration, value_name = "DURATION")]
    pub grace: std::time::Duration,
    /// Real time per simulated time.
    #[arg(long, default_value_t = 0.0005)]
    pub time_scale: f64,
    /// Profile (in <project>/profiles) of every event; must use the sim provider.
    #[arg(long, default_value = "sim-league")]
    pub profile: String,
    /// Seed of the generated season (the sim's latencies draw from their own).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Lead(Option<std::time::Duration>);

fn parse_lead(s: &str) -> Result<Lead, String> {
    if s == "auto" {
        Ok(Lead(None))
    } else {
        super::parse_duration(s).map(|d| Lead(Some(d)))
    }
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
    /// Also apply the same graph with the same drawn latencies through this tool.
    #[arg(long, value_enum, value_name = "TOOL")]
    pub against: Option<Against>,
    /// The Terraform binary for `--against terraform` [default: `terraform` on PATH].
    #[arg(long, value_name = "PATH", requires = "against")]
    pub terraform: Option<std::path::PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Against {
    /// Terraform's built-in `terraform_data` resources, each sleeping its drawn latency, at
    /// `-parallelism=10` (its default) and unbounded.
    Terraform,
}

pub async fn exec(ws: &Workspace, cmd: Command) -> anyhow::Result<Exit> {
    match cmd {
        Command::Provision(a) => {
            let params = ProvisionParams {
                state_url: ws.state_url.clone(),
                events: a.events,
                regions: a.regions,
                parallelism: a.parallelism,
                time_scale: a.time_scale,
                profile: a.profile,
            };
            // On Ctrl-C or SIGTERM the benchmark is dropped, which removes its scratch state.
            let stop = Shutdown::new();
            stop.on_signals();
            if let Some(Against::Terraform) = a.against {
                if params.parallelism.is_some() {
                    return Err(crate::exit::UsageError(
                        "--against runs orchestrate bounded by rate limits only and Terraform at 10 and unbounded: drop --parallelism".into(),
                    )
                    .into());
                }
                let tf = find_terraform(a.terraform.as_deref())?;
                let r = tokio::select! {
                    r = against_terraform(&ws.project, &params, &tf) => r?,
                    () = stop.graceful.cancelled() => return Ok(Exit::Interrupted),
                };
                println!("{}", serde_json::to_string(&r)?);
                return Ok(Exit::Ok);
            }
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
        Command::Startup(a) => {
            let params = StartupParams {
                runs: a.runs,
                profile: a.profile,
                cpu_window: a.cpu_window,
            };
            let stop = Shutdown::new();
            stop.on_signals();
            // Dropping the benchmark on a signal stops its processes and removes its files.
            let r = tokio::select! {
                r = startup(&ws.project, &params) => r?,
                () = stop.graceful.cancelled() => return Ok(Exit::Interrupted),
            };
            println!("{}", serde_json::to_string(&r)?);
            Ok(Exit::Ok)
        }
        Command::Rules(a) => {
            if a.events == 0 || a.signals == 0 {
                return Err(crate::exit::UsageError(
                    "--events and --signals must be at least 1".into(),
                )
                .into());
            }
            let params = crate::bench::rules::RulesParams {
                signals: a.signals,
                events: a.events,
            };
            // One core: the engine runs on this thread alone.
            let r = tokio::task::block_in_place(|| crate::bench::rules::rules(&params));
            println!("{}", serde_json::to_string(&r)?);
            Ok(Exit::Ok)
        }
        Command::Probes(a) => {
            let t = a.target.as_secs_f64();
            let valid = (0.5..=30.0).contains(&t) && a.max_cpu > 0.0 && a.max_cpu <= 1.0;
            if !valid
                || a.per_master == 0
                || a.window < std::time::Duration::from_secs(1)
                || !(a.stale_after >= 1.0 && a.stale_after.is_finite())
                || a.renditions == Some(0)
            {
                return Err(crate::exit::UsageError(
                    "--target must be 0.5s to 30s, --max-cpu in (0, 1], --window at least 1s, --stale-after at least 1, --per-master and --renditions at least 1".into(),
                )
                .into());
            }
            let params = crate::bench::probes::ProbesParams {
                target_s: t,
                window: a.window,
                max_cpu: a.max_cpu,
                renditions: a.renditions,
                per_master: a.per_master,
                detect: a.detect,
                stale_after: a.stale_after,
            };
            // Its own runtimes on its own threads: one for the origin, one measured for probes.
            let r = tokio::task::spawn_blocking(move || crate::bench::probes::probes(&params))
                .await??;
            println!("{}", serde_json::to_string(&r)?);
            Ok(Exit::Ok)
        }
        Command::Content(a) => {
            let seg = a.segment_duration.as_secs_f64();
            let usage = |m: String| Err(crate::exit::UsageError(m).into());
            if !(0.5..=30.0).contains(&seg) {
                return usage(format!(
                    "--segment-duration {seg} s must be between 0.5 and 30 seconds"
                ));
            }
            if a.every == 0
                || a.samples == 0
                || !(16..=7680).contains(&a.width)
                || !(16..=4320).contains(&a.height)
                || !(1..=120).contains(&a.fps)
            {
                return usage(
                    "--every and --samples must be at least 1, --width 16 to 7680, --height 16 to 4320, --fps 1 to 120".into(),
                );
            }
            if crate::model::bitrate::Bitrate::parse(&a.bitrate).is_err() {
                return usage(format!(
                    "--bitrate `{}`: expected e.g. 800k or 2.5M",
                    a.bitrate
                ));
            }
            let params = crate::bench::content::ContentParams {
                width: a.width,
                height: a.height,
                fps: a.fps,
                bitrate: a.bitrate,
                segment_s: seg,
                every: a.every,
                samples: a.samples,
            };
            let stop = Shutdown::new();
            stop.on_signals();
            let r = tokio::select! {
                r = crate::bench::content::content(&params) => r?,
                () = stop.graceful.cancelled() => return Ok(Exit::Interrupted),
            };
            println!("{}", serde_json::to_string(&r)?);
            Ok(Exit::Ok)
        }
        Command::Handoff(a) => {
            if !(a.segment_duration >= 0.5 && a.segment_duration <= 30.0) {
                return Err(crate::exit::UsageError(format!(
                    "--segment-duration {} must be between 0.5 and 30 seconds",
                    a.segment_duration
                ))
                .into());
            }
            let params = HandoffParams {
                archive: a.archive,
                scheme: a.scheme,
                segment_duration_s: a.segment_duration,
            };
            let stop = Shutdown::new();
            stop.on_signals();
            let r = tokio::select! {
                r = handoff(&ws.project, &params) => r?,
                () = stop.graceful.cancelled() => return Ok(Exit::Interrupted),
            };
            println!("{}", serde_json::to_string(&r)?);
            Ok(Exit::Ok)
        }
        Command::Season(a) => {
            if !(a.time_scale > 0.0 && a.time_scale <= 1.0) {
                return Err(crate::exit::UsageError(format!(
                    "--time-scale {} must be in (0, 1]",
                    a.time_scale
                ))
                .into());
            }
            let params = SeasonParams {
                events: a.events,
                lead: a.lead.0,
                grace: a.grace,
                time_scale: a.time_scale,
                profile: a.profile,
                seed: a.seed,
            };
            let stop = Shutdown::new();
            stop.on_signals();
            let r = tokio::select! {
                r = season(&ws.project, &params) => r?,
                () = stop.graceful.cancelled() => return Ok(Exit::Interrupted),
            };
            println!("{}", serde_json::to_string(&r)?);
            Ok(if r.failed_steps == 0 {
                Exit::Ok
            } else {
                Exit::Failure
            })
        }
    }
}
