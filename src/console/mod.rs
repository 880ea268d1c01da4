//! The web console `run` serves to monitoring staff on its listener, beside the API: the
//! schedule, each place's signal chain with thumbnails and charts, alerts, actions and what
//! waits for approval, and each event's report after the show. Server-rendered HTML and one
//! small script, nothing fetched from elsewhere.
//!
//! - `GET /`: the console (a session is required; without one, the sign-in form);
//! - `GET /login?token=`, `POST /login`: sign in with a printed code or a role token;
//!   `POST /logout`;
//! - `GET /console/screen`: the page's live part, fetched again when the bus says so;
//! - `GET /console/stream`: the health stream (SSE) for the page;
//! - `GET /console/thumb/{event}/{region}`: a still from the edge (JPEG);
//! - `GET /console/report/{event}`: the event's report;
//! - `POST /console/actions/{id}/{approve|reject}`: operators only, with the CSRF token;
//! - `POST /console/failover/{event}/{region}/{pipeline}`: the same, a failover by hand.

pub mod auth;
pub mod html;
pub mod screen;
pub mod thumbs;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use tokio::sync::{broadcast, watch};

use crate::monitor::health::Health;
use crate::monitor::hub::View;
use crate::ops::tick::TickReport;
use auth::{Auth, Role, Session};
use screen::Screen;

/// How much of the stored stream a console starts from: the show so far, within reason.
const HISTORY: usize = 200_000;

pub struct Console {
    pub auth: Auth,
    pub view: View,
    pub screen: Arc<Mutex<Screen>>,
    pub ticks: watch::Receiver<Option<TickReport>>,
    pub thumbs: thumbs::Thumbs,
    /// The project, to build an event's report.
    pub workspace: Arc<crate::workspace::Workspace>,
    pub schedules: Vec<PathBuf>,
    pub stop: tokio_util::sync::CancellationToken,
}

impl Console {
    /// Folds the stored stream into the screen, then follows the bus until it closes.
    pub fn feed(
        state_dir: &std::path::Path,
        mut bus: broadcast::Receiver<Arc<Health>>,
    ) -> (Arc<Mutex<Screen>>, tokio::task::JoinHandle<()>) {
        let screen = Arc::new(Mutex::new(Screen::default()));
        // The bus was subscribed first: what arrives while the store is read is not lost (a
        // few items may be seen twice, which the fold does not mind).
        if let Ok(Some(reader)) = crate::monitor::stream::store::Reader::open(state_dir) {
            let from = reader.last_seq().unwrap_or(0) - HISTORY as i64;
            let rows = reader.after(from.max(0), HISTORY).unwrap_or_default();
            let mut s = screen.lock().unwrap_or_else(|p| p.into_inner());
            for r in rows {
                s.apply(&r.kind, &r.body);
            }
        }
        let fed = screen.clone();
        let task = tokio::spawn(async move {
            loop {
                match bus.recv().await {
                    Ok(h) => fed.lock().unwrap_or_else(|p| p.into_inner()).take(&h),
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        (screen, task)
    }

    fn session(&self, headers: &HeaderMap) -> Option<Session> {
        self.auth.session(headers, now_unix())
    }

    fn frame_html(&self, role: Role, whole: Option<&str>) -> String {
        let screen = self.screen.lock().unwrap_or_else(|p| p.into_inner());
        let tick = self.ticks.borrow();
        let probed = self.view.probed();
        let frame = html::Frame {
            screen: &screen,
            tick: tick.as_ref(),
            role,
            now: crate::clock::now(),
            probed: &probed,
        };
        match whole {
            Some(csrf) => html::console(&frame, csrf),
            None => html::screen(&frame),
        }
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn router(console: Console) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout))
        .route("/console/screen", get(screen_fragment))
        .route("/console/stream", get(stream))
        .route("/console/thumb/{event}/{region}", get(thumb))
        .route("/console/report/{event}", get(report))
        .route("/console/actions/{id}/{verdict}", post(verdict))
        .route(
            "/console/failover/{event}/{region}/{pipeline}",
            post(failover),
        )
        .route("/console/assets/{file}", get(asset))
        .with_state(Arc::new(console))
}

type Shared = State<Arc<Console>>;

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "sign in first: open the link `orchestrate run` printed\n",
    )
        .into_response()
}

async fn index(State(c): Shared, headers: HeaderMap) -> Response {
    match c.session(&headers) {
        Some(s) => Html(c.frame_html(s.role, Some(&s.csrf))).into_response(),
        None => Redirect::to("/login").into_response(),
    }
}

#[derive(serde::Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

async fn login_page(
    State(c): Shared,
    query: Result<Query<LoginQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    match query {
        Ok(Query(LoginQuery { token: Some(t) })) => sign_in(&c, &t),
        Ok(_) => Html(html::login(None)).into_response(),
        Err(_) => (
            StatusCode::BAD_REQUEST,
            Html(html::login(Some(
                "The link is malformed: expected ?token=…",
            ))),
        )
            .into_response(),
    }
}

async fn login_form(State(c): Shared, body: axum::body::Bytes) -> Response {
    let token = form_field(&body, "token").unwrap_or_default();
    sign_in(&c, &token)
}

/// One field of an `application/x-www-form-urlencoded` body.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

fn sign_in(c: &Console, token: &str) -> Response {
    match c.auth.redeem(token.trim()) {
        Some(role) => {
            let cookie = c.auth.session_cookie(role, now_unix());
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, auth::set_cookie(&cookie)),
                    (header::LOCATION, "/".to_string()),
                ],
            )
                .into_response()
        }
        None => (
            StatusCode::UNAUTHORIZED,
            Html(html::login(Some(
                "That token is not valid (a login link works once, for half an hour).",
            ))),
        )
            .into_response(),
    }
}

async fn logout() -> Response {
    (
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, auth::set_cookie("")),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

async fn screen_fragment(State(c): Shared, headers: HeaderMap) -> Response {
    match c.session(&headers) {
        Some(s) => (
            [(header::CACHE_CONTROL, "no-store")],
            Html(c.frame_html(s.role, None)),
        )
            .into_response(),
        None => unauthorized(),
    }
}

async fn stream(State(c): Shared, headers: HeaderMap) -> Response {
    if c.session(&headers).is_none() {
        return unauthorized();
    }
    let rx = c.view.bus.subscribe();
    Sse::new(crate::monitor::stream::http::stream(
        rx,
        crate::monitor::stream::http::Filter::default(),
        c.stop.clone(),
    ))
    .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
    .into_response()
}

async fn thumb(
    State(c): Shared,
    headers: HeaderMap,
    Path((event, region)): Path<(String, String)>,
) -> Response {
    if c.session(&headers).is_none() {
        return unauthorized();
    }
    let key = format!("{event}/{region}");
    let Some(url) = c.view.edge(&key) else {
        return (StatusCode::NOT_FOUND, format!("{key} is not on air\n")).into_response();
    };
    match c.thumbs.still(&key, &url).await {
        Ok(jpeg) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            jpeg.as_ref().clone(),
        )
            .into_response(),
        Err(e) => (StatusCode::BAD_GATEWAY, format!("{e}\n")).into_response(),
    }
}

async fn report(State(c): Shared, headers: HeaderMap, Path(event): Path<String>) -> Response {
    let Some(s) = c.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let text = match event_report(&c, &event).await {
        Ok(t) => t,
        Err(e) => format!("No report for {event}: {e:#}"),
    };
    let body = format!(
        "<main id=\"report\"><h2>Report: {}</h2><pre>{}</pre><p><a href=\"/\">Back to the \
         console</a></p></main>",
        html::esc(&event),
        html::esc(&text)
    );
    Html(html::page(
        &format!("orchestrate: report of {event}"),
        Some(&s.csrf),
        Some(s.role),
        &body,
    ))
    .into_response()
}

async fn event_report(c: &Console, event: &str) -> anyhow::Result<String> {
    let ws = &c.workspace;
    let config = ws.load_config(&c.schedules)?;
    let Some(e) = config.events.iter().find(|e| e.id == event) else {
        anyhow::bail!("the event is not in the schedule");
    };
    let Some(state) = ws.existing_state().await? else {
        anyhow::bail!("there is no state yet");
    };
    let r = crate::ops::report::event(ws, &config, e, state.as_ref()).await?;
    Ok(crate::report::text::text(&r, e.start, e.end))
}

/// The refusal of a state-changing request from a viewer, or without the CSRF token.
fn operator_only(c: &Console, headers: &HeaderMap) -> Option<Response> {
    let Some(s) = c.session(headers) else {
        return Some(unauthorized());
    };
    if s.role != Role::Operator {
        return Some(
            (
                StatusCode::FORBIDDEN,
                "only an operator may approve, reject or fail over (this session is a viewer's)\n",
            )
                .into_response(),
        );
    }
    if !auth::csrf_ok(headers, &s) {
        return Some(
            (
                StatusCode::FORBIDDEN,
                "the request lacks this session's CSRF token (X-CSRF-Token): reload the console\n",
            )
                .into_response(),
        );
    }
    None
}

async fn failover(
    State(c): Shared,
    headers: HeaderMap,
    Path((event, region, pipeline)): Path<(String, String, String)>,
) -> Response {
    if let Some(refused) = operator_only(&c, &headers) {
        return refused;
    }
    let place = format!("{event}/{region}");
    match c
        .view
        .failover(&place, &pipeline, "the console's operator")
        .await
    {
        Ok(rec) => axum::Json(rec).into_response(),
        Err(e) => (StatusCode::CONFLICT, format!("{e}\n")).into_response(),
    }
}

async fn verdict(
    State(c): Shared,
    headers: HeaderMap,
    Path((id, verdict)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = operator_only(&c, &headers) {
        return refused;
    }
    let approve = match crate::monitor::stream::http::approves(&verdict) {
        Ok(a) => a,
        Err(r) => return r.into_response(),
    };
    match c.view.verdict(&id, approve, "the console's operator").await {
        Ok(rec) => axum::Json(rec).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, format!("{e}\n")).into_response(),
    }
}

async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "console.js" => (
            include_str!("assets/console.js"),
            "text/javascript; charset=utf-8",
        ),
        "console.css" => (
            include_str!("assets/console.css"),
            "text/css; charset=utf-8",
        ),
        _ => return (StatusCode::NOT_FOUND, "no such asset\n").into_response(),
    };
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}
