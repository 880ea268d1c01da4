//! The health stream's outlets: the store (`health.db`), Prometheus metrics, the HTTP
//! endpoints `run` serves (SSE, metrics, status), and the table `watch` draws.

pub mod board;
pub mod http;
pub mod metrics;
pub mod rows;
pub mod store;
