//! A fake of MediaLive's input security groups, which moto_server lacks: Create, List,
//! Describe, Update (its whitelist rules) and Delete in the MediaLive API's restJson1 shapes (`/prod/inputSecurityGroups`,
//! camelCase fields, `x-amzn-ErrorType` errors), each region apart (read from the request's
//! signature scope). The fault proxy serves it and passes every other call on to moto. Like
//! MediaLive, it counts a group as held by the inputs created with it (it reads the CreateInput
//! and DeleteInput calls going through to moto), shows it `IN_USE` with their ids, and refuses
//! to delete it while they exist.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::faultproxy::{json_error, json_ok, signed_region};

const PATH: &str = "/prod/inputSecurityGroups";

#[derive(Default)]
pub struct InputSecurityGroups {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next: u64,
    /// By id: (region, tags, whitelist rules).
    groups: BTreeMap<String, (String, Value, Value)>,
    /// Input id → the groups it was created with.
    holders: BTreeMap<String, Vec<String>>,
}

impl State {
    fn view(&self, id: &str) -> Value {
        let (region, tags, rules) = &self.groups[id];
        let inputs: Vec<&String> = self
            .holders
            .iter()
            .filter(|(_, gs)| gs.iter().any(|g| g == id))
            .map(|(i, _)| i)
            .collect();
        json!({
            "arn": format!("arn:aws:medialive:{region}:123456789012:inputSecurityGroup:{id}"),
            "id": id,
            "inputs": inputs,
            "state": if inputs.is_empty() { "IDLE" } else { "IN_USE" },
            "tags": tags,
            "whitelistRules": rules,
        })
    }
}

impl InputSecurityGroups {
    /// The fake's answer to a call on input security groups; `None` for any other call.
    pub fn answer(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Response> {
        let rest = path.strip_prefix(PATH)?;
        let region = signed_region(headers);
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let id = rest.strip_prefix('/').filter(|i| !i.is_empty());
        Some(match (method.as_str(), id) {
            ("POST", None) => {
                let Ok(req) = serde_json::from_slice::<Value>(body) else {
                    return Some(json_error(
                        400,
                        "BadRequestException",
                        "the body is not JSON",
                    ));
                };
                st.next += 1;
                let id = format!("{}", 100_000 + st.next);
                let tags = req.get("tags").cloned().unwrap_or_else(|| json!({}));
                let rules = req
                    .get("whitelistRules")
                    .cloned()
                    .unwrap_or_else(|| json!([]));
                st.groups.insert(id.clone(), (region, tags, rules));
                json_ok(json!({ "securityGroup": st.view(&id) }))
            }
            ("GET", None) => {
                let all: Vec<Value> = st
                    .groups
                    .iter()
                    .filter(|(_, (r, ..))| *r == region)
                    .map(|(id, _)| st.view(id))
                    .collect();
                json_ok(json!({ "inputSecurityGroups": all }))
            }
            (_, Some(id)) if st.groups.get(id).is_none_or(|(r, ..)| *r != region) => json_error(
                404,
                "NotFoundException",
                &format!("Input Security Group {id} not found"),
            ),
            ("GET", Some(id)) => json_ok(st.view(id)),
            ("PUT", Some(id)) => {
                let Ok(req) = serde_json::from_slice::<Value>(body) else {
                    return Some(json_error(
                        400,
                        "BadRequestException",
                        "the body is not JSON",
                    ));
                };
                if let Some(group) = st.groups.get_mut(id) {
                    if let Some(rules) = req.get("whitelistRules") {
                        group.2 = rules.clone();
                    }
                    if let Some(tags) = req.get("tags") {
                        group.1 = tags.clone();
                    }
                }
                json_ok(json!({ "securityGroup": st.view(id) }))
            }
            ("DELETE", Some(id)) => {
                if st.view(id)["inputs"]
                    .as_array()
                    .is_some_and(|i| !i.is_empty())
                {
                    json_error(
                        400,
                        "BadRequestException",
                        &format!("Input Security Group {id} is in use by an input"),
                    )
                } else {
                    st.groups.remove(id);
                    json_ok(json!({}))
                }
            }
            _ => json_error(405, "MethodNotAllowedException", "not served by the fake"),
        })
    }

    /// Reads a call moto answered: which inputs hold which groups.
    pub fn observe(&self, method: &Method, path: &str, request: &[u8], answer: &[u8]) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if method == Method::POST && path == "/prod/inputs" {
            let groups: Vec<String> = serde_json::from_slice::<Value>(request)
                .ok()
                .and_then(|r| r.get("inputSecurityGroups").cloned())
                .and_then(|g| serde_json::from_value(g).ok())
                .unwrap_or_default();
            let input = serde_json::from_slice::<Value>(answer)
                .ok()
                .and_then(|a| a["input"]["id"].as_str().map(String::from));
            if let Some(input) = input
                && !groups.is_empty()
            {
                st.holders.insert(input, groups);
            }
        } else if method == Method::DELETE
            && let Some(input) = path.strip_prefix("/prod/inputs/")
        {
            st.holders.remove(input);
        }
    }
}
