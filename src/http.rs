//! HTTP clients, built in one place and never by a call that panics.
//!
//! `reqwest::Client::new()` and `Client::default()` panic when a client cannot be built, and
//! building one reads the system's CA store: a process out of file descriptors cannot, and a
//! monitoring path must not die of that. Build clients here, once per component, and share
//! them (with their connection pools) across every request the component makes.

use std::time::Duration;

/// Why no client could be built: the cause chain says (no CA certificates loaded, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot build an HTTP client")]
pub struct ClientError(#[source] reqwest::Error);

/// A client whose connections open within `connect` and whose requests end within `timeout`.
pub fn client(connect: Duration, timeout: Duration) -> Result<reqwest::Client, ClientError> {
    reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(timeout)
        .build()
        .map_err(ClientError)
}

/// Whether a request failed on this host's side, before reaching its target: the process or
/// the machine ran out of file descriptors or socket buffers. Such a failure says nothing of
/// the target's health.
pub fn failed_locally(err: &reqwest::Error) -> bool {
    err.is_builder() || exhausted(err)
}

/// Whether an OS error in `err`'s cause chain is the exhaustion of a local resource.
fn exhausted(err: &(dyn std::error::Error + 'static)) -> bool {
    use nix::errno::Errno;
    let mut cause = Some(err);
    while let Some(c) = cause {
        if let Some(code) = c
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return [Errno::EMFILE, Errno::ENFILE, Errno::ENOBUFS].contains(&Errno::from_raw(code));
        }
        cause = c.source();
    }
    false
}

/// Raises the soft limit on open files to the hard limit, as servers do: every probe, edge
/// connection and child process holds descriptors, and the usual soft limit (1024) is far
/// below what monitoring a season's renditions needs. Returns the limit now in force.
pub fn raise_open_files_limit() -> Option<u64> {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft >= hard {
        return Some(soft);
    }
    match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
        Ok(()) => Some(hard),
        Err(_) => Some(soft),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_refused_connection_is_the_targets_failure_not_ours() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let c = client(Duration::from_secs(1), Duration::from_secs(2)).unwrap();
        let e = c.get(format!("http://{addr}/")).send().await.unwrap_err();
        assert!(!failed_locally(&e), "{e:?}");
    }

    /// A connector's error wrapping the OS error, as hyper's does.
    #[derive(Debug, thiserror::Error)]
    #[error("connect failed")]
    struct Connect(#[source] std::io::Error);

    #[test]
    fn out_of_descriptors_is_a_local_failure_and_a_refusal_is_not() {
        let os = |e: nix::errno::Errno| Connect(std::io::Error::from_raw_os_error(e as i32));
        assert!(exhausted(&os(nix::errno::Errno::EMFILE)));
        assert!(exhausted(&os(nix::errno::Errno::ENFILE)));
        assert!(!exhausted(&os(nix::errno::Errno::ECONNREFUSED)));
        assert!(!exhausted(&Connect(std::io::Error::other("no OS code"))));
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        use nix::sys::resource::{Resource, getrlimit};
        let now = raise_open_files_limit().unwrap();
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
        assert_eq!(now, soft);
        assert_eq!(soft, hard);
    }
}
