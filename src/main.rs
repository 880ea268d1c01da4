use std::process::ExitCode;

use clap::Parser;
use orchestrate::cli::Cli;
use orchestrate::exit::Exit;

// Many threads allocating many small objects: mimalloc keeps both the time and the
// fragmentation (peak RSS) of that well below glibc's per-thread arenas.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    orchestrate::http::raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(orchestrate::cli::run(cli));
    // Let the writer threads and in-flight tasks wind down before the process exits.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(exit) => ExitCode::from(exit.code() as u8),
        Err(err) => {
            report(&err);
            ExitCode::from(Exit::of(&err).code() as u8)
        }
    }
}

/// Prints the error once, then each cause on its own line.
fn report(err: &anyhow::Error) {
    let mut chain = err.chain();
    if let Some(top) = chain.next() {
        eprintln!("error: {}", top.to_string().trim_end());
    }
    for cause in chain {
        eprintln!("  caused by: {}", cause.to_string().trim_end());
    }
}
