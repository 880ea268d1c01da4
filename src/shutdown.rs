//! Two-stage shutdown: the first Ctrl-C (or SIGTERM) asks long work to stop starting new
//! steps and let in-flight ones finish; the second forces.

use tokio_util::sync::CancellationToken;

#[derive(Clone, Default, Debug)]
pub struct Shutdown {
    pub graceful: CancellationToken,
    pub force: CancellationToken,
}

impl Shutdown {
    pub fn new() -> Self {
        Self::default()
    }

    /// Wires SIGINT and SIGTERM to the two stages. Must be called inside the runtime.
    pub fn on_signals(&self) {
        let s = self.clone();
        tokio::spawn(async move {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            let mut count = 0;
            loop {
                tokio::select! {
                    r = tokio::signal::ctrl_c() => if r.is_err() { return },
                    _ = term.recv() => {},
                }
                count += 1;
                // Cancel before telling: stderr may be a pipe nobody reads any more, and a
                // failed message must not keep the process from stopping.
                use std::io::Write;
                if count == 1 {
                    s.graceful.cancel();
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nStopping: no new steps will start; waiting for the ones in flight. Press Ctrl-C again to force."
                    );
                } else {
                    s.force.cancel();
                    let _ = writeln!(
                        std::io::stderr(),
                        "\nForcing: in-flight steps are abandoned; the next run resumes them."
                    );
                    return;
                }
            }
        });
    }
}
