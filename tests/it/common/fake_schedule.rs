//! A fake of MediaLive's channel schedule (BatchUpdateSchedule, DescribeSchedule and
//! DeleteSchedule at `/prod/channels/{id}/schedule`) and of RestartChannelPipelines
//! (`/prod/channels/{id}/restartChannelPipelines`), which moto_server lacks, in the API's
//! restJson1 shape. Like MediaLive it refuses (422 UnprocessableEntityException) a batch that
//! repeats an action name or reuses one already scheduled, a fixed time not in the future, an
//! immediate action on a channel that is not running, an input switch to an attachment the
//! channel does not have, or a pause of a pipeline the channel does not run (PIPELINE_1 of a
//! SINGLE_PIPELINE channel); a restart of a channel that is not running, or of no pipeline or
//! one it does not run. The channel is as moto describes it. A channel's schedule goes with
//! the channel (it reads the DeleteChannel calls going through to moto).

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::faultproxy::{ask_moto, json_error, json_ok};

#[derive(Default)]
pub struct Schedules {
    /// Channel id → its actions, as DescribeSchedule lists them.
    actions: Mutex<BTreeMap<String, Vec<Value>>>,
    /// Channel id → the pipelines of each restart asked for.
    restarts: Mutex<BTreeMap<String, Vec<Vec<String>>>>,
}

/// The request's JSON body and the channel as moto describes it, or the error to answer.
async fn request_and_channel(
    moto: &str,
    client: &reqwest::Client,
    channel: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Value, Value), Response> {
    let Ok(req) = serde_json::from_slice::<Value>(body) else {
        return Err(json_error(
            400,
            "BadRequestException",
            "the body is not JSON",
        ));
    };
    let path = format!("/prod/channels/{channel}");
    match ask_moto(client, moto, &path, headers).await {
        Some(described) => Ok((req, described)),
        None => Err(json_error(
            404,
            "NotFoundException",
            &format!("channel {channel} not found"),
        )),
    }
}

/// The pipelines a channel of this class runs.
fn pipelines_of(described: &Value) -> &'static [&'static str] {
    if described["channelClass"] == "STANDARD" {
        &["PIPELINE_0", "PIPELINE_1"]
    } else {
        &["PIPELINE_0"]
    }
}

impl Schedules {
    /// The channel a schedule call is for; `None` for any other call.
    pub fn channel_of(path: &str) -> Option<&str> {
        path.strip_prefix("/prod/channels/")?
            .strip_suffix("/schedule")
    }

    /// The channel a RestartChannelPipelines call is for.
    pub fn restart_of(path: &str) -> Option<&str> {
        path.strip_prefix("/prod/channels/")?
            .strip_suffix("/restartChannelPipelines")
    }

    /// What a test reads: the pipelines of each restart of the channel.
    pub fn restarts(&self, channel: &str) -> Vec<Vec<String>> {
        let all = self.restarts.lock().unwrap_or_else(|p| p.into_inner());
        all.get(channel).cloned().unwrap_or_default()
    }

    /// RestartChannelPipelines: answers with the channel as moto describes it.
    pub async fn restart(
        &self,
        moto: &str,
        client: &reqwest::Client,
        method: &Method,
        channel: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        if method != Method::POST {
            return json_error(405, "MethodNotAllowedException", "not served by the fake");
        }
        let (req, described) = match request_and_channel(moto, client, channel, headers, body).await
        {
            Ok(both) => both,
            Err(answer) => return answer,
        };
        if described["state"] != "RUNNING" {
            return json_error(
                422,
                "UnprocessableEntityException",
                "only a running channel's pipelines restart",
            );
        }
        let ids: Vec<String> = req["pipelineIds"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p.as_str().map(String::from))
            .collect();
        let runs = pipelines_of(&described);
        if ids.is_empty() || ids.iter().any(|p| !runs.contains(&p.as_str())) {
            return json_error(
                422,
                "UnprocessableEntityException",
                &format!("the channel runs {runs:?}, not {ids:?}"),
            );
        }
        let mut all = self.restarts.lock().unwrap_or_else(|p| p.into_inner());
        all.entry(channel.to_string()).or_default().push(ids);
        json_ok(described)
    }

    /// What a test reads: the channel's actions.
    pub fn of(&self, channel: &str) -> Vec<Value> {
        let all = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        all.get(channel).cloned().unwrap_or_default()
    }

    pub async fn answer(
        &self,
        moto: &str,
        client: &reqwest::Client,
        method: &Method,
        channel: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        match method.as_str() {
            "GET" => json_ok(json!({ "scheduleActions": self.of(channel) })),
            "DELETE" => {
                let mut all = self.actions.lock().unwrap_or_else(|p| p.into_inner());
                all.remove(channel);
                json_ok(json!({}))
            }
            "PUT" => self.batch(moto, client, channel, headers, body).await,
            _ => json_error(405, "MethodNotAllowedException", "not served by the fake"),
        }
    }

    async fn batch(
        &self,
        moto: &str,
        client: &reqwest::Client,
        channel: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let (req, described) = match request_and_channel(moto, client, channel, headers, body).await
        {
            Ok(both) => both,
            Err(answer) => return answer,
        };
        let running = described["state"] == "RUNNING";
        let attachments: Vec<&str> = described["inputAttachments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["inputAttachmentName"].as_str())
            .collect();
        let creates: Vec<Value> = req["creates"]["scheduleActions"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let now = jiff::Timestamp::now();
        let mut all = self.actions.lock().unwrap_or_else(|p| p.into_inner());
        let scheduled = all.entry(channel.to_string()).or_default();
        let mut names: Vec<String> = scheduled
            .iter()
            .filter_map(|a| a["actionName"].as_str().map(String::from))
            .collect();
        for a in &creates {
            let name = a["actionName"].as_str().unwrap_or_default();
            let refuse = |why: String| {
                json_error(
                    422,
                    "UnprocessableEntityException",
                    &format!("action `{name}`: {why}"),
                )
            };
            if name.is_empty() || names.iter().any(|n| n == name) {
                return refuse("the name is missing or taken".into());
            }
            names.push(name.to_string());
            let start = &a["scheduleActionStartSettings"];
            if let Some(time) = start["fixedModeScheduleActionStartSettings"]["time"].as_str() {
                match time.parse::<jiff::Timestamp>() {
                    Ok(t) if t > now => {}
                    _ => return refuse(format!("the time `{time}` is not in the future")),
                }
            } else if start
                .get("immediateModeScheduleActionStartSettings")
                .is_some()
            {
                if !running {
                    return refuse("an immediate action needs a running channel".into());
                }
            } else {
                return refuse("no start settings".into());
            }
            let settings = &a["scheduleActionSettings"];
            if let Some(pause) = settings.get("pauseStateSettings") {
                let runs = pipelines_of(&described);
                for p in pause["pipelines"].as_array().into_iter().flatten() {
                    let id = p["pipelineId"].as_str().unwrap_or_default();
                    if !runs.contains(&id) {
                        return refuse(format!("the channel runs {runs:?}, not `{id}`"));
                    }
                }
                continue;
            }
            let to = settings["inputSwitchSettings"]["inputAttachmentNameReference"]
                .as_str()
                .unwrap_or_default();
            if !attachments.contains(&to) {
                return refuse(format!("the channel has no input attachment `{to}`"));
            }
        }
        scheduled.extend(creates.iter().cloned());
        json_ok(json!({
            "creates": { "scheduleActions": creates },
            "deletes": { "scheduleActions": [] },
        }))
    }

    /// Reads a call moto answered: a deleted channel takes its schedule along.
    pub fn observe(&self, method: &Method, path: &str) {
        if method == Method::DELETE
            && let Some(channel) = path.strip_prefix("/prod/channels/")
            && !channel.contains('/')
        {
            let mut all = self.actions.lock().unwrap_or_else(|p| p.into_inner());
            all.remove(channel);
        }
    }
}
