//! The SDK's errors as the executor reads them: throttling and server errors are retried,
//! the rest is permanent. Messages carry the service's error code and message, never the
//! request's credentials.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::providers::ProviderError;

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "RequestThrottled",
];

pub fn classify<E>(what: &str, e: SdkError<E>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    match &e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let code = err.code().unwrap_or("unknown");
            let msg = format!(
                "{what}: {code}{}",
                err.message().map(|m| format!(": {m}")).unwrap_or_default()
            );
            if THROTTLING.contains(&code) || status == Some(429) {
                ProviderError::Throttled { retry_after: None }
            } else if status.is_some_and(|s| s >= 500) {
                ProviderError::Transient(msg)
            } else {
                ProviderError::Permanent(msg)
            }
        }
        // No answer, a timeout, or an answer that could not be read: worth another try.
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ProviderError::Transient(format!("{what}: {}", describe(&e)))
        }
        _ => match status {
            Some(429) => ProviderError::Throttled { retry_after: None },
            Some(s) if s >= 500 => ProviderError::Transient(format!("{what}: HTTP {s}")),
            _ => ProviderError::Permanent(format!("{what}: {}", describe(&e))),
        },
    }
}

const NOT_FOUND: &[&str] = &[
    "NotFoundException",
    "ResourceNotFoundException",
    "NoSuchBucket",
    "NoSuchDistribution",
    "InvalidInstanceID.NotFound",
    "InvalidGroup.NotFound",
];

/// The service says the object does not exist: a delete of it is done, a lookup finds nothing.
pub fn is_not_found<E>(e: &SdkError<E>) -> bool
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(s) => {
            s.raw().status().as_u16() == 404
                || s.err().code().is_some_and(|c| NOT_FOUND.contains(&c))
        }
        _ => false,
    }
}

/// The error and its causes on one line.
fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cause = c.source();
    }
    s
}
