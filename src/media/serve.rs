//! Binding, announcing and stopping a media server.

use std::io;
use std::net::SocketAddr;
use std::path::Path;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Binds `listen` (port 0 picks a free one), writes the bound port to `ready` through a rename
/// (the provider waits for that file), and serves until `stop` is cancelled.
pub async fn run(
    router: axum::Router,
    listen: SocketAddr,
    ready: &Path,
    stop: CancellationToken,
) -> io::Result<()> {
    let listener = TcpListener::bind(listen).await?;
    let port = listener.local_addr()?.port();
    let tmp = ready.with_extension("tmp");
    tokio::fs::write(&tmp, port.to_string()).await?;
    tokio::fs::rename(&tmp, ready).await?;
    axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}
