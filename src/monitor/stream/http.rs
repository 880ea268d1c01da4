//! The endpoints `run` serves, each behind the bearer token in `<state>/api-token`:
//! - `GET /v1/events`: the health stream as server-sent events (`?event=&region=&tier=&type=`);
//! - `GET /metrics`: Prometheus text format;
//! - `GET /v1/status`: what is probed, the open alerts and the actions awaiting approval;
//! - `POST /v1/actions/{id}/approve` and `.../reject` (`{"by": "..."}`): the verdict on an
//!   action that requires approval.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::stream::Stream;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::monitor::health::Health;
use crate::monitor::hub::View;

pub const TOKEN_FILE: &str = "api-token";

pub struct Api {
    pub view: View,
    pub token: String,
    /// Ends the event streams, so that a graceful shutdown is not held up by open clients.
    pub stop: tokio_util::sync::CancellationToken,
}

pub fn router(api: Api) -> Router {
    Router::new()
        .route("/v1/events", get(events))
        .route("/metrics", get(metrics))
        .route("/v1/status", get(status))
        .route("/v1/actions/{id}/{verdict}", post(verdict))
        .with_state(Arc::new(api))
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub event: Option<String>,
    pub region: Option<String>,
    pub tier: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

impl Filter {
    pub fn keeps(&self, h: &Health) -> bool {
        let l = h.labels();
        let kind = h.kind();
        self.event.as_deref().is_none_or(|e| *l.event == *e)
            && self.region.as_deref().is_none_or(|r| *l.region == *r)
            && self.tier.as_deref().is_none_or(|t| l.tier.as_str() == t)
            && self.kind.as_deref().is_none_or(|k| k == kind)
    }
}

fn denied(api: &Api, headers: &HeaderMap) -> Option<Response> {
    (!crate::media::bearer_ok(headers, &api.token)).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a bearer token is required (see <state>/api-token)\n",
        )
            .into_response()
    })
}

async fn events(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    filter: Result<Query<Filter>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Some(r) = denied(&api, &headers) {
        return r;
    }
    let Ok(Query(filter)) = filter else {
        return (
            StatusCode::BAD_REQUEST,
            "unknown query parameter (expected event, region, tier, type)\n",
        )
            .into_response();
    };
    let rx = api.view.bus.subscribe();
    Sse::new(stream(rx, filter, api.stop.clone()))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

pub fn stream(
    rx: broadcast::Receiver<Arc<Health>>,
    filter: Filter,
    stop: tokio_util::sync::CancellationToken,
) -> impl Stream<Item = Result<Event, std::convert::Infallible>> {
    futures_util::stream::unfold((rx, filter), move |(mut rx, filter)| {
        let stop = stop.clone();
        async move {
            loop {
                let got = tokio::select! {
                    () = stop.cancelled() => return None,
                    got = rx.recv() => got,
                };
                match got {
                    Ok(h) if filter.keeps(&h) => {
                        let kind = h.kind();
                        let data = serde_json::to_string(&*h).unwrap_or_default();
                        return Some((Ok(Event::default().event(kind).data(data)), (rx, filter)));
                    }
                    Ok(_) => {}
                    // A slow reader skips what it missed and is told so.
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let e = Event::default().event("lagged").data(n.to_string());
                        return Some((Ok(e), (rx, filter)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    })
}

async fn metrics(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(r) = denied(&api, &headers) {
        return r;
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        api.view.metrics.encode(),
    )
        .into_response()
}

async fn status(State(api): State<Arc<Api>>, headers: HeaderMap) -> Response {
    if let Some(r) = denied(&api, &headers) {
        return r;
    }
    axum::Json(serde_json::json!({
        "probed": api.view.probed(),
        "alerts": api.view.open_alerts(),
        "awaiting_approval": api.view.awaiting(),
    }))
    .into_response()
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verdict {
    #[serde(default)]
    by: Option<String>,
}

async fn verdict(
    State(api): State<Arc<Api>>,
    headers: HeaderMap,
    Path((id, verdict)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(r) = denied(&api, &headers) {
        return r;
    }
    let approve = match approves(&verdict) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    let v: Verdict = if body.is_empty() {
        Verdict::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return (StatusCode::BAD_REQUEST, format!("the body: {e}\n")).into_response();
            }
        }
    };
    let by: String =
        v.by.unwrap_or_else(|| "an API client".into())
            .chars()
            .filter(|c| !c.is_control())
            .take(64)
            .collect();
    match api.view.verdict(&id, approve, &by).await {
        Ok(rec) => axum::Json(rec).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
    }
}

/// Whether a verdict's path word (`approve` or `reject`) approves; any other word is a 404.
pub(crate) fn approves(word: &str) -> Result<bool, (StatusCode, &'static str)> {
    match word {
        "approve" => Ok(true),
        "reject" => Ok(false),
        _ => Err((StatusCode::NOT_FOUND, "expected approve or reject\n")),
    }
}
