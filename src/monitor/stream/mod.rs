//! The health stream's outlets: the store (`health.db`), Prometheus metrics, and the HTTP
//! endpoints `run` serves (SSE, metrics, status).

pub mod http;
pub mod metrics;
pub mod store;
