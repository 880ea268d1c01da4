//! `orchestrate serve-local origin|edge`: the servers the local provider starts, one process per
//! resource. Not for people to run; hidden from `--help`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args as ClapArgs, Subcommand};

use crate::exit::Exit;
use crate::media::{edge, origin, serve};
use crate::shutdown::Shutdown;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve an event's media directory.
    Origin {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_name = "DIR")]
        media: PathBuf,
        #[arg(long, value_name = "SECONDS")]
        segment_duration: f64,
    },
    /// Cache and proxy a region's origins.
    Edge {
        #[command(flatten)]
        common: Common,
        /// `<state>/local/<region>`.
        #[arg(long, value_name = "DIR")]
        region_dir: PathBuf,
        /// Serve only this event (else any event of the region: a shared edge).
        #[arg(long, value_name = "ID")]
        event: Option<String>,
        #[arg(long, value_name = "MIB", default_value_t = 256)]
        cache_mib: u64,
        /// File holding the control endpoints' bearer token.
        #[arg(long, value_name = "FILE")]
        token_file: PathBuf,
    },
}

#[derive(Debug, ClapArgs)]
pub struct Common {
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where to write the bound port once listening.
    #[arg(long, value_name = "FILE")]
    ready: PathBuf,
}

pub async fn exec(cmd: Command) -> anyhow::Result<Exit> {
    let shutdown = Shutdown::new();
    shutdown.on_signals();
    let (router, common) = match cmd {
        Command::Origin {
            common,
            media,
            segment_duration,
        } => (
            origin::router(origin::OriginConfig {
                media,
                segment_duration_s: segment_duration,
            }),
            common,
        ),
        Command::Edge {
            common,
            region_dir,
            event,
            cache_mib,
            token_file,
        } => {
            let token = std::fs::read_to_string(&token_file).map_err(|e| {
                anyhow::anyhow!("cannot read the token file {}: {e}", token_file.display())
            })?;
            (
                edge::router(edge::EdgeConfig {
                    region_dir,
                    event,
                    cache_bytes: cache_mib.saturating_mul(1024 * 1024),
                    token: token.trim().to_string(),
                })?,
                common,
            )
        }
    };
    serve::run(
        router,
        common.listen,
        &common.ready,
        shutdown.graceful.clone(),
    )
    .await?;
    Ok(Exit::Ok)
}
