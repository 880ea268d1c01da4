//! A fake of MediaLive's channel alerts (ListAlerts: `GET /prod/channels/{id}/alerts`, with
//! its `stateFilter`), which moto_server lacks, in the API's restJson1 shape: the alerts a test
//! raises and clears on a channel, each `SET` until cleared, then `CLEARED` with its time. It
//! does not check that the channel exists.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{Method, Uri};
use axum::response::Response;
use serde_json::{Value, json};

use super::faultproxy::{json_error, json_ok};

#[derive(Default)]
pub struct ChannelAlerts {
    /// Channel id → its alerts, as ListAlerts describes them.
    alerts: Mutex<BTreeMap<String, Vec<Value>>>,
}

impl ChannelAlerts {
    /// Raises `alert_type` on pipeline 0 of `channel`.
    pub fn set(&self, channel: &str, alert_type: &str, message: &str) {
        self.set_on(channel, "0", alert_type, message);
    }

    /// Raises `alert_type` on pipeline `pipeline` ("0" or "1", as MediaLive numbers them).
    pub fn set_on(&self, channel: &str, pipeline: &str, alert_type: &str, message: &str) {
        let mut all = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        let list = all.entry(channel.to_string()).or_default();
        let id = format!("{channel}-{}", list.len() + 1);
        list.push(json!({
            "alertType": alert_type,
            "id": id,
            "message": message,
            "pipelineId": pipeline,
            "setTimestamp": jiff::Timestamp::now().to_string(),
            "state": "SET",
        }));
    }

    /// Clears every `SET` alert of `alert_type` on `channel`.
    pub fn clear(&self, channel: &str, alert_type: &str) {
        let mut all = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        for a in all.get_mut(channel).into_iter().flatten() {
            if a["alertType"] == alert_type && a["state"] == "SET" {
                a["state"] = json!("CLEARED");
                a["clearedTimestamp"] = json!(jiff::Timestamp::now().to_string());
            }
        }
    }

    /// The fake's answer to ListAlerts; `None` for any other call.
    pub fn answer(&self, method: &Method, uri: &Uri) -> Option<Response> {
        let channel = uri
            .path()
            .strip_prefix("/prod/channels/")?
            .strip_suffix("/alerts")?;
        if method != Method::GET {
            return Some(json_error(
                405,
                "MethodNotAllowedException",
                "not served by the fake",
            ));
        }
        let filter = uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("stateFilter="))
                .map(String::from)
        });
        let all = self.alerts.lock().unwrap_or_else(|p| p.into_inner());
        let alerts: Vec<&Value> = all
            .get(channel)
            .into_iter()
            .flatten()
            .filter(|a| filter.as_deref().is_none_or(|f| a["state"] == f))
            .collect();
        Some(json_ok(json!({ "alerts": alerts })))
    }
}
