//! Exit codes, the same for every command (documented in docs/exit-codes.md).

use crate::config::{Diagnostics, LoadError};
use crate::render::RenderError;
use crate::state::LockError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Ok = 0,
    /// Something failed.
    Failure = 1,
    /// A configuration or usage error: nothing was done.
    Config = 2,
    /// The state lock is held by another process.
    Locked = 3,
    /// Some events failed while others proceeded.
    Partial = 4,
    /// Stopped by Ctrl-C or SIGTERM.
    Interrupted = 130,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code an error deserves, from the first cause that says.
    pub fn of(err: &anyhow::Error) -> Exit {
        for cause in err.chain() {
            if cause.is::<Diagnostics>() || cause.is::<LoadError>() || cause.is::<RenderError>() {
                return Exit::Config;
            }
            if let Some(LockError::Held { .. }) = cause.downcast_ref::<LockError>() {
                return Exit::Locked;
            }
            if cause.is::<UsageError>() || cause.is::<crate::model::UnknownEvents>() {
                return Exit::Config;
            }
        }
        Exit::Failure
    }
}

/// A request that cannot be carried out as given (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);
