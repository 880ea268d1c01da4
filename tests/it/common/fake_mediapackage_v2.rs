//! A fake of MediaPackage v2, which moto_server has only in part (channel groups and channels,
//! without their tags, ListChannels or origin endpoints): channel groups, channels, origin
//! endpoints and their tags, in the API's restJson1 shapes (`/channelGroup/…`, `/tags/{arn}`,
//! PascalCase fields but for the API's own lower-case `tags` where it has them, the client
//! token in `x-amzn-client-token`, `x-amzn-ErrorType` errors), kept per region (read from the
//! caller's signature). As MediaPackage does, it refuses a name already taken unless the create
//! carries the same client token (then it answers what that token made), a channel in a group
//! that is not there, a channel group that still holds channels and a channel that still has
//! origin endpoints (409 ConflictException), and a DASH manifest on an endpoint whose segments
//! are not CMAF. It updates an endpoint in place (UpdateOriginEndpoint, refused when the ETag
//! given is not the endpoint's). It keeps each endpoint's policy (Put/Get/DeleteOriginEndpointPolicy) and
//! refuses, as the API reference's Encryption and SpekeKeyProvider shapes constrain them, an
//! endpoint whose encryption method does not match its container (TS: AES_128, SAMPLE_AES;
//! CMAF: CENC, CBCS), whose SPEKE v2 key provider is not whole, that names a DRM system its
//! method cannot signal, or whose startover window or key rotation is out of range. Each group
//! has an egress domain of its own; an endpoint's manifests are served under it at
//! `/out/v1/<group>/<channel>/<endpoint>/<manifest>`.
//!
//! Once told its own address (`serve_egress_at`), it is also the groups' egress, over plain
//! HTTP on loopback where MediaPackage answers over HTTPS at a domain of its own: each HLS
//! endpoint serves a master playlist naming one rendition, and that rendition a live playlist
//! of the endpoint's segment length, five segments long, gaining one each segment length (its
//! `Last-Modified` the newest segment's end, as MediaPackage's headers give it), until the
//! channel is frozen (`freeze`), as when its encoder stops feeding it. The segments are a few
//! null transport-stream packets: no picture. An endpoint answers a viewer only when its policy
//! lets anyone (`"Principal": "*"`) GetObject (403 otherwise), as MediaPackage v2 does.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::http::{HeaderMap, Method};
use axum::response::Response;
use serde_json::{Value, json};

use super::faultproxy::{json_error, json_ok, signed_region};

const ACCOUNT: &str = "123456789012";

/// The object as described, with its tags under the key the answer uses.
fn with_tags(desc: &Value, key: &str, tags: &Value) -> Value {
    let mut v = desc.clone();
    v[key] = tags.clone();
    v
}

#[derive(Default)]
struct Group {
    desc: Value,
    tags: Value,
    token: String,
    channels: BTreeMap<String, Channel>,
}

#[derive(Default)]
struct Channel {
    desc: Value,
    tags: Value,
    token: String,
    /// By name: the endpoint as described, and the client token that made it.
    endpoints: BTreeMap<String, (Value, String)>,
}

#[derive(Default)]
pub struct MediaPackageV2 {
    /// By region, then by name.
    groups: Mutex<BTreeMap<String, BTreeMap<String, Group>>>,
    /// By ARN.
    tags: Mutex<BTreeMap<String, Value>>,
    /// Where the egress is served, when it is (`host:port`).
    egress: Mutex<Option<String>>,
    /// By (group, channel): how many segments a frozen channel's playlists stay at.
    frozen: Mutex<BTreeMap<(String, String), u64>>,
    /// Origin endpoints' policies, by the endpoint's ARN.
    policies: Mutex<BTreeMap<String, Value>>,
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How many segments of `seg` seconds a stream begun at `start` has published at `now`.
fn published(seg: f64, start: f64, now: f64) -> u64 {
    ((now - start) / seg).floor().max(0.0) as u64
}

fn now_precise() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64().floor())
}

fn not_found(what: &str) -> Response {
    json_error(
        404,
        "ResourceNotFoundException",
        &format!("{what} not found"),
    )
}

fn conflict(what: &str) -> Response {
    json_error(409, "ConflictException", what)
}

fn invalid(what: &str) -> Response {
    json_error(400, "ValidationException", what)
}

/// Whether `name` is what MediaPackage v2 accepts as a name.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A list item: the described object without what only a Get answers.
fn summary(desc: &Value, drop: &[&str]) -> Value {
    let mut v = desc.clone();
    if let Some(o) = v.as_object_mut() {
        for k in drop {
            o.remove(*k);
        }
    }
    v
}

impl MediaPackageV2 {
    /// From now on, groups' egress is this front at `host_port`, and their manifests are
    /// served here.
    pub fn serve_egress_at(&self, host_port: &str) {
        *self.egress.lock().unwrap_or_else(|p| p.into_inner()) = Some(host_port.to_string());
    }

    fn egress_host(&self) -> Option<String> {
        self.egress
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn egress_domain(&self, n: usize, region: &str) -> String {
        self.egress_host().unwrap_or_else(|| {
            format!("fake{n:04}.egress.mp2fake.mediapackagev2.{region}.amazonaws.com")
        })
    }

    /// Stops the channel's playlists gaining segments (`false`: lets them go on, from where
    /// the clock is now).
    pub fn freeze(&self, group: &str, channel: &str, frozen: bool) {
        let key = (group.to_string(), channel.to_string());
        let mut f = self.frozen.lock().unwrap_or_else(|p| p.into_inner());
        if !frozen {
            f.remove(&key);
            return;
        }
        if let Some((_, seg, start, _)) = self.live(group, channel) {
            f.insert(key, published(seg, start, now_precise()));
        }
    }

    /// The egress paths: `/out/v1/...`.
    pub fn serves_egress(path: &str) -> bool {
        path.starts_with("/out/v1/")
    }

    /// The HLS endpoint of `channel` in `group`, in any region: its manifest name, segment
    /// length, when its stream (notionally) began, five segments before it was made, and its
    /// ARN.
    fn live(&self, group: &str, channel: &str) -> Option<(String, f64, f64, String)> {
        let all = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let c = all
            .values()
            .find_map(|groups| groups.get(group))?
            .channels
            .get(channel)?;
        let (ep, _) = c
            .endpoints
            .values()
            .find(|(e, _)| e["HlsManifests"].as_array().is_some_and(|m| !m.is_empty()))?;
        let seg = ep["Segment"]["SegmentDurationSeconds"]
            .as_f64()
            .unwrap_or(6.0)
            .max(1.0);
        let manifest = ep["HlsManifests"][0]["ManifestName"].as_str()?.to_string();
        let made = ep["CreatedAt"].as_f64()?;
        let arn = ep["Arn"].as_str()?.to_string();
        Some((manifest, seg, made - 5.0 * seg, arn))
    }

    /// Answers a GET of the egress: a master playlist, the live playlist, or a segment.
    pub fn answer_egress(&self, method: &Method, path: &str) -> Response {
        use axum::response::IntoResponse;
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let ["out", "v1", g, c, _endpoint, file] = parts.as_slice() else {
            return (axum::http::StatusCode::NOT_FOUND, "no such path").into_response();
        };
        let Some((manifest, seg, start, arn)) = self.live(g, c).filter(|_| method == Method::GET)
        else {
            return (axum::http::StatusCode::NOT_FOUND, "no such endpoint").into_response();
        };
        // An endpoint answers only what its policy allows; an unsigned GET, anyone's.
        if !self.policy_allows(&arn, &json!("*"), "mediapackagev2:GetObject") {
            return (
                axum::http::StatusCode::FORBIDDEN,
                "the endpoint's policy allows no viewer",
            )
                .into_response();
        }
        let frozen = self
            .frozen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(g.to_string(), c.to_string()))
            .copied();
        let count = frozen.unwrap_or_else(|| published(seg, start, now_precise()));
        let hls = "application/vnd.apple.mpegurl";
        if *file == format!("{manifest}.m3u8") {
            let body = format!(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-STREAM-INF:BANDWIDTH=3000000,RESOLUTION=1280x720\n{manifest}_1.m3u8\n"
            );
            return (
                [("content-type", hls), ("cache-control", "max-age=5")],
                body,
            )
                .into_response();
        }
        if *file == format!("{manifest}_1.m3u8") {
            let first = count.saturating_sub(5);
            let mut body = format!(
                "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{}\n#EXT-X-MEDIA-SEQUENCE:{first}\n",
                seg.ceil() as u64
            );
            for n in first..count {
                body.push_str(&format!("#EXTINF:{seg:.3},\n{manifest}_1_{n}.ts\n"));
            }
            let newest_end = start + count as f64 * seg;
            let modified = jiff::Timestamp::from_second(newest_end.floor() as i64)
                .map(|t| t.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string())
                .unwrap_or_default();
            let max_age = format!("max-age={}", (seg / 2.0).floor().max(1.0));
            return (
                [
                    ("content-type", hls.to_string()),
                    ("cache-control", max_age),
                    ("last-modified", modified),
                ],
                body,
            )
                .into_response();
        }
        if file
            .strip_prefix(&format!("{manifest}_1_"))
            .and_then(|f| f.strip_suffix(".ts"))
            .and_then(|n| n.parse::<u64>().ok())
            .is_some_and(|n| n < count)
        {
            // Null packets (PID 0x1FFF): a stream with nothing in it.
            let mut packet = [0xFFu8; 188];
            packet[..4].copy_from_slice(&[0x47, 0x1F, 0xFF, 0x10]);
            return (
                [
                    ("content-type", "video/mp2t"),
                    ("cache-control", "max-age=86400"),
                ],
                packet.repeat(8),
            )
                .into_response();
        }
        (axum::http::StatusCode::NOT_FOUND, "no such segment").into_response()
    }

    /// Whether a call is the fake's to answer.
    pub fn serves(path: &str) -> bool {
        path == "/channelGroup"
            || path.starts_with("/channelGroup/")
            || percent_decode(path).starts_with("/tags/arn:aws:mediapackagev2:")
    }

    pub fn answer(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Response {
        let region = signed_region(headers);
        let token = headers
            .get("x-amzn-client-token")
            .and_then(|t| t.to_str().ok())
            .unwrap_or_default();
        let req: Value = if body.is_empty() {
            Value::Null
        } else {
            match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(_) => return invalid("the body is not JSON"),
            }
        };
        if let Some(arn) = percent_decode(path).strip_prefix("/tags/") {
            return self.tags_of(method, arn);
        }
        let parts: Vec<&str> = path
            .trim_start_matches('/')
            .trim_end_matches('/')
            .split('/')
            .collect();
        let mut all = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        let groups = all.entry(region.clone()).or_default();
        let arn_base = format!("arn:aws:mediapackagev2:{region}:{ACCOUNT}:channelGroup");
        match (method.as_str(), parts.as_slice()) {
            ("POST", ["channelGroup"]) => {
                let name = req["ChannelGroupName"].as_str().unwrap_or_default();
                if !valid_name(name) {
                    return invalid("ChannelGroupName must be 1 to 256 of [A-Za-z0-9_-]");
                }
                if let Some(g) = groups.get(name) {
                    if !token.is_empty() && g.token == token {
                        return json_ok(with_tags(&g.desc, "Tags", &g.tags));
                    }
                    return conflict(&format!("channel group {name} already exists"));
                }
                let arn = format!("{arn_base}/{name}");
                let n = groups.len() + 1;
                let desc = json!({
                    "ChannelGroupName": name,
                    "Arn": arn,
                    "EgressDomain": self.egress_domain(n, &region),
                    "CreatedAt": now(),
                    "ModifiedAt": now(),
                    "Description": req["Description"],
                    "ETag": format!("etag-{n}"),
                });
                let tags = self.tag(&arn, &req["tags"]);
                let answer = with_tags(&desc, "Tags", &tags);
                groups.insert(
                    name.to_string(),
                    Group {
                        desc,
                        tags,
                        token: token.to_string(),
                        channels: BTreeMap::new(),
                    },
                );
                json_ok(answer)
            }
            ("GET", ["channelGroup"]) => {
                let items: Vec<Value> = groups
                    .values()
                    .map(|g| summary(&g.desc, &["EgressDomain", "ETag"]))
                    .collect();
                json_ok(json!({ "Items": items }))
            }
            ("GET", ["channelGroup", g]) => match groups.get(*g) {
                Some(group) => json_ok(with_tags(&group.desc, "tags", &group.tags)),
                None => not_found(&format!("channel group {g}")),
            },
            ("DELETE", ["channelGroup", g]) => match groups.get(*g) {
                None => not_found(&format!("channel group {g}")),
                Some(group) if !group.channels.is_empty() => conflict(&format!(
                    "channel group {g} still has channels: delete them first"
                )),
                Some(_) => {
                    groups.remove(*g);
                    self.untag(&format!("{arn_base}/{g}"));
                    json_ok(json!({}))
                }
            },
            ("POST", ["channelGroup", g, "channel"]) => {
                let Some(group) = groups.get_mut(*g) else {
                    return not_found(&format!("channel group {g}"));
                };
                let name = req["ChannelName"].as_str().unwrap_or_default();
                if !valid_name(name) {
                    return invalid("ChannelName must be 1 to 256 of [A-Za-z0-9_-]");
                }
                if let Some(c) = group.channels.get(name) {
                    if !token.is_empty() && c.token == token {
                        return json_ok(with_tags(&c.desc, "Tags", &c.tags));
                    }
                    return conflict(&format!("channel {g}/{name} already exists"));
                }
                let arn = format!("{arn_base}/{g}/channel/{name}");
                let egress = group.desc["EgressDomain"].as_str().unwrap_or_default();
                let ingest = |i: u8| {
                    json!({
                        "Id": i.to_string(),
                        "Url": format!(
                            "https://{}/in/v1/{g}/{i}/{name}/index",
                            egress.replacen(".egress", &format!("-{i}.ingest"), 1)
                        ),
                    })
                };
                let desc = json!({
                    "Arn": arn,
                    "ChannelName": name,
                    "ChannelGroupName": g,
                    "CreatedAt": now(),
                    "ModifiedAt": now(),
                    "Description": req["Description"],
                    "IngestEndpoints": [ingest(1), ingest(2)],
                    "InputType": req["InputType"].as_str().unwrap_or("HLS"),
                    "ETag": format!("etag-{g}-{name}"),
                });
                let tags = self.tag(&arn, &req["tags"]);
                let answer = with_tags(&desc, "Tags", &tags);
                group.channels.insert(
                    name.to_string(),
                    Channel {
                        desc,
                        tags,
                        token: token.to_string(),
                        endpoints: BTreeMap::new(),
                    },
                );
                json_ok(answer)
            }
            ("GET", ["channelGroup", g, "channel"]) => match groups.get(*g) {
                Some(group) => {
                    let items: Vec<Value> = group
                        .channels
                        .values()
                        .map(|c| summary(&c.desc, &["IngestEndpoints", "ETag"]))
                        .collect();
                    json_ok(json!({ "Items": items }))
                }
                None => not_found(&format!("channel group {g}")),
            },
            ("GET", ["channelGroup", g, "channel", c]) => {
                match groups.get(*g).and_then(|group| group.channels.get(*c)) {
                    Some(channel) => json_ok(with_tags(&channel.desc, "Tags", &channel.tags)),
                    None => not_found(&format!("channel {g}/{c}")),
                }
            }
            ("DELETE", ["channelGroup", g, "channel", c]) => {
                let Some(group) = groups.get_mut(*g) else {
                    return not_found(&format!("channel group {g}"));
                };
                match group.channels.get(*c) {
                    None => not_found(&format!("channel {g}/{c}")),
                    Some(channel) if !channel.endpoints.is_empty() => conflict(&format!(
                        "channel {g}/{c} still has origin endpoints: delete them first"
                    )),
                    Some(_) => {
                        group.channels.remove(*c);
                        self.untag(&format!("{arn_base}/{g}/channel/{c}"));
                        json_ok(json!({}))
                    }
                }
            }
            ("POST", ["channelGroup", g, "channel", c, "originEndpoint"]) => {
                let Some(group) = groups.get_mut(*g) else {
                    return not_found(&format!("channel group {g}"));
                };
                let egress = group.desc["EgressDomain"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let Some(channel) = group.channels.get_mut(*c) else {
                    return not_found(&format!("channel {g}/{c}"));
                };
                self.create_endpoint(&arn_base, &egress, (g, c), channel, &req, token)
            }
            ("GET", ["channelGroup", g, "channel", c, "originEndpoint"]) => {
                match groups.get(*g).and_then(|group| group.channels.get(*c)) {
                    Some(channel) => {
                        let items: Vec<Value> = channel
                            .endpoints
                            .values()
                            .map(|(e, _)| summary(e, &["ETag", "Tags", "Segment"]))
                            .collect();
                        json_ok(json!({ "Items": items }))
                    }
                    None => not_found(&format!("channel {g}/{c}")),
                }
            }
            ("PUT", ["channelGroup", g, "channel", c, "originEndpoint", e]) => {
                let Some(group) = groups.get_mut(*g) else {
                    return not_found(&format!("channel group {g}"));
                };
                let egress = group.desc["EgressDomain"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let Some(channel) = group.channels.get_mut(*c) else {
                    return not_found(&format!("channel {g}/{c}"));
                };
                let if_match = headers
                    .get("x-amzn-update-if-match")
                    .and_then(|t| t.to_str().ok());
                self.update_endpoint(&arn_base, &egress, (g, c, e), channel, &req, if_match)
            }
            ("GET", ["channelGroup", g, "channel", c, "originEndpoint", e]) => match groups
                .get(*g)
                .and_then(|group| group.channels.get(*c))
                .and_then(|channel| channel.endpoints.get(*e))
            {
                Some((ep, _)) => json_ok(ep.clone()),
                None => not_found(&format!("origin endpoint {g}/{c}/{e}")),
            },
            ("DELETE", ["channelGroup", g, "channel", c, "originEndpoint", e]) => {
                match groups
                    .get_mut(*g)
                    .and_then(|group| group.channels.get_mut(*c))
                    .and_then(|channel| channel.endpoints.remove(*e))
                {
                    Some(_) => {
                        let arn = format!("{arn_base}/{g}/channel/{c}/originEndpoint/{e}");
                        self.untag(&arn);
                        self.policies
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&arn);
                        json_ok(json!({}))
                    }
                    None => not_found(&format!("origin endpoint {g}/{c}/{e}")),
                }
            }
            (
                m,
                [
                    "channelGroup",
                    g,
                    "channel",
                    c,
                    "originEndpoint",
                    e,
                    "policy",
                ],
            ) => {
                let Some((ep, _)) = groups
                    .get(*g)
                    .and_then(|group| group.channels.get(*c))
                    .and_then(|channel| channel.endpoints.get(*e))
                else {
                    return not_found(&format!("origin endpoint {g}/{c}/{e}"));
                };
                let arn = ep["Arn"].as_str().unwrap_or_default().to_string();
                let mut policies = self.policies.lock().unwrap_or_else(|p| p.into_inner());
                match m {
                    "POST" => {
                        let Some(policy) = req["Policy"]
                            .as_str()
                            .and_then(|p| serde_json::from_str::<Value>(p).ok())
                            .filter(|p| p["Statement"].is_array())
                        else {
                            return invalid("Policy must be an IAM policy document with Statement");
                        };
                        policies.insert(arn, policy);
                        json_ok(json!({}))
                    }
                    "GET" => match policies.get(&arn) {
                        Some(p) => json_ok(json!({
                            "ChannelGroupName": g, "ChannelName": c, "OriginEndpointName": e,
                            "Policy": p.to_string(),
                        })),
                        None => not_found(&format!("the policy of origin endpoint {g}/{c}/{e}")),
                    },
                    "DELETE" => {
                        policies.remove(&arn);
                        json_ok(json!({}))
                    }
                    _ => json_error(405, "MethodNotAllowedException", "not served by the fake"),
                }
            }
            _ => json_error(405, "MethodNotAllowedException", "not served by the fake"),
        }
    }

    /// Whether the endpoint's policy allows `principal` (`"*"`, or `{"Service": …}`) the
    /// `action`, under the fake's one account.
    pub fn policy_allows(&self, arn: &str, principal: &Value, action: &str) -> bool {
        let policies = self.policies.lock().unwrap_or_else(|p| p.into_inner());
        let Some(policy) = policies.get(arn) else {
            return false;
        };
        policy["Statement"].as_array().is_some_and(|all| {
            all.iter().any(|st| {
                st["Effect"] == "Allow"
                    && principal_matches(&st["Principal"], principal)
                    && one_or_many(&st["Action"]).any(|a| a == action)
                    && one_or_many(&st["Resource"]).any(|r| r == arn)
                    && st["Condition"]["StringEquals"]["AWS:SourceAccount"]
                        .as_str()
                        .is_none_or(|a| a == ACCOUNT)
            })
        })
    }

    /// An endpoint as described, from any region.
    pub fn endpoint(&self, region: &str, g: &str, c: &str, e: &str) -> Option<Value> {
        let all = self.groups.lock().unwrap_or_else(|p| p.into_inner());
        all.get(region)?
            .get(g)?
            .channels
            .get(c)?
            .endpoints
            .get(e)
            .map(|(d, _)| d.clone())
    }

    fn create_endpoint(
        &self,
        arn_base: &str,
        egress: &str,
        (g, c): (&str, &str),
        channel: &mut Channel,
        req: &Value,
        token: &str,
    ) -> Response {
        let name = req["OriginEndpointName"].as_str().unwrap_or_default();
        if !valid_name(name) {
            return invalid("OriginEndpointName must be 1 to 256 of [A-Za-z0-9_-]");
        }
        let desc = match self.describe_endpoint(arn_base, egress, (g, c, name), req) {
            Ok(d) => d,
            Err(why) => return invalid(&why),
        };
        if let Some((existing, made_by)) = channel.endpoints.get(name) {
            if !token.is_empty() && made_by == token {
                return json_ok(existing.clone());
            }
            return conflict(&format!("origin endpoint {g}/{c}/{name} already exists"));
        }
        let tags = self.tag(desc["Arn"].as_str().unwrap_or_default(), &req["Tags"]);
        let desc = with_tags(&desc, "Tags", &tags);
        channel
            .endpoints
            .insert(name.to_string(), (desc.clone(), token.to_string()));
        json_ok(desc)
    }

    /// UpdateOriginEndpoint: the endpoint described anew from the request, as a create checks
    /// it, keeping when it was made and its tags; refused (409) when the request's ETag
    /// (`x-amzn-update-if-match`) is not the endpoint's.
    fn update_endpoint(
        &self,
        arn_base: &str,
        egress: &str,
        (g, c, name): (&str, &str, &str),
        channel: &mut Channel,
        req: &Value,
        if_match: Option<&str>,
    ) -> Response {
        let Some((old, token)) = channel.endpoints.get(name).cloned() else {
            return not_found(&format!("origin endpoint {g}/{c}/{name}"));
        };
        if if_match.is_some_and(|e| Some(e) != old["ETag"].as_str()) {
            return conflict(&format!(
                "origin endpoint {g}/{c}/{name} changed since the ETag given"
            ));
        }
        let mut desc = match self.describe_endpoint(arn_base, egress, (g, c, name), req) {
            Ok(d) => d,
            Err(why) => return invalid(&why),
        };
        desc["CreatedAt"] = old["CreatedAt"].clone();
        desc["ETag"] = json!(format!("etag-{g}-{c}-{name}-{}", now_precise()));
        let desc = with_tags(&desc, "Tags", &old["Tags"]);
        channel
            .endpoints
            .insert(name.to_string(), (desc.clone(), token));
        json_ok(desc)
    }

    /// An endpoint as MediaPackage describes it, from a create's or an update's request, or
    /// why MediaPackage refuses that request (400 ValidationException).
    fn describe_endpoint(
        &self,
        arn_base: &str,
        egress: &str,
        (g, c, name): (&str, &str, &str),
        req: &Value,
    ) -> Result<Value, String> {
        let container = req["ContainerType"].as_str().unwrap_or_default();
        if container != "TS" && container != "CMAF" {
            return Err(String::from("ContainerType must be TS or CMAF"));
        }
        let empty = Vec::new();
        let hls = req["HlsManifests"].as_array().unwrap_or(&empty);
        let dash = req["DashManifests"].as_array().unwrap_or(&empty);
        if !dash.is_empty() && container != "CMAF" {
            return Err(String::from(
                "DASH manifests need CMAF segments (ContainerType CMAF)",
            ));
        }
        if let Some(w) = req["StartoverWindowSeconds"].as_i64()
            && !(60..=1_209_600).contains(&w)
        {
            return Err(String::from("StartoverWindowSeconds must be 60 to 1209600"));
        }
        if let Some(e) = req["Segment"].get("Encryption")
            && let Err(why) = encryption_refused(container, e)
        {
            return Err(why);
        }
        let scheme = if self.egress_host().is_some() {
            "http"
        } else {
            "https"
        };
        let base = format!("{scheme}://{egress}/out/v1/{g}/{c}/{name}");
        let with_url = |m: &Value, ext: &str| -> Option<Value> {
            let manifest = m["ManifestName"].as_str().filter(|n| valid_name(n))?;
            let mut m = m.clone();
            m["Url"] = json!(format!("{base}/{manifest}.{ext}"));
            Some(m)
        };
        let hls: Option<Vec<Value>> = hls.iter().map(|m| with_url(m, "m3u8")).collect();
        let dash: Option<Vec<Value>> = dash.iter().map(|m| with_url(m, "mpd")).collect();
        let (Some(hls), Some(dash)) = (hls, dash) else {
            return Err(String::from(
                "each manifest needs a ManifestName of [A-Za-z0-9_-]",
            ));
        };
        Ok(json!({
            "Arn": format!("{arn_base}/{g}/channel/{c}/originEndpoint/{name}"),
            "ChannelGroupName": g,
            "ChannelName": c,
            "OriginEndpointName": name,
            "ContainerType": container,
            "Segment": req["Segment"].as_object().cloned().unwrap_or_default(),
            "StartoverWindowSeconds": req["StartoverWindowSeconds"],
            "HlsManifests": hls,
            "DashManifests": dash,
            "CreatedAt": now(),
            "ModifiedAt": now(),
            "ETag": format!("etag-{g}-{c}-{name}"),
        }))
    }

    /// Keeps the tags of a create (`tags` or `Tags`, as its request names them) for `arn`.
    fn tag(&self, arn: &str, tags: &Value) -> Value {
        let tags = Value::Object(tags.as_object().cloned().unwrap_or_default());
        self.tags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(arn.to_string(), tags.clone());
        tags
    }

    fn untag(&self, arn: &str) {
        self.tags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(arn);
    }

    fn tags_of(&self, method: &Method, arn: &str) -> Response {
        let tags = self.tags.lock().unwrap_or_else(|p| p.into_inner());
        match (method.as_str(), tags.get(arn)) {
            ("GET", Some(t)) => json_ok(json!({ "tags": t })),
            ("GET", None) => not_found(&format!("resource {arn}")),
            _ => json_error(405, "MethodNotAllowedException", "not served by the fake"),
        }
    }
}

/// A policy's `Principal`, `Action` or `Resource`: one value or a list of them.
fn one_or_many(v: &Value) -> impl Iterator<Item = &Value> {
    let list = match v {
        Value::Array(a) => a.as_slice(),
        other => std::slice::from_ref(other),
    };
    list.iter()
}

fn principal_matches(stated: &Value, asked: &Value) -> bool {
    match (stated, asked) {
        (Value::String(s), Value::String(a)) => s == a,
        (Value::Object(s), Value::Object(a)) => a
            .iter()
            .all(|(k, v)| s.get(k).is_some_and(|sv| one_or_many(sv).any(|x| x == v))),
        _ => false,
    }
}

/// Why MediaPackage v2 would refuse an endpoint's `Segment.Encryption`, if it would: the
/// method must match the container (TS: AES_128 or SAMPLE_AES; CMAF: CENC or CBCS), the key
/// provider must be whole (a SPEKE v2 contract, SHARED presets on both tracks or neither),
/// each DRM system must be one the method can signal (FairPlay decrypts SAMPLE-AES and cbcs
/// only, Widevine and PlayReady common encryption only, clear-key AES-128 its own method),
/// and keys rotate every 300 s to a year.
fn encryption_refused(container: &str, e: &Value) -> Result<(), String> {
    let m = &e["EncryptionMethod"];
    let method = match (
        container,
        m["TsEncryptionMethod"].as_str(),
        m["CmafEncryptionMethod"].as_str(),
    ) {
        ("TS", Some(t @ ("AES_128" | "SAMPLE_AES")), None) => t,
        ("CMAF", None, Some(c @ ("CENC" | "CBCS"))) => c,
        _ => {
            return Err(format!(
                "EncryptionMethod {m} does not match ContainerType {container}"
            ));
        }
    };
    let p = &e["SpekeKeyProvider"];
    for k in ["Url", "RoleArn", "ResourceId"] {
        if p[k].as_str().is_none_or(str::is_empty) {
            return Err(format!("SpekeKeyProvider.{k} is required"));
        }
    }
    let contract = &p["EncryptionContractConfiguration"];
    let (video, audio) = (
        contract["PresetSpeke20Video"].as_str().unwrap_or_default(),
        contract["PresetSpeke20Audio"].as_str().unwrap_or_default(),
    );
    if video.is_empty() || audio.is_empty() || ((video == "SHARED") != (audio == "SHARED")) {
        return Err(
            "EncryptionContractConfiguration needs both presets, SHARED on both or neither".into(),
        );
    }
    let systems: Vec<&str> = p["DrmSystems"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if systems.is_empty() {
        return Err("SpekeKeyProvider.DrmSystems is required".into());
    }
    let allowed: &[&str] = match method {
        "AES_128" => &["CLEAR_KEY_AES_128"],
        "SAMPLE_AES" => &["FAIRPLAY"],
        "CENC" => &["PLAYREADY", "WIDEVINE", "IRDETO"],
        _ => &["FAIRPLAY", "PLAYREADY", "WIDEVINE", "IRDETO"],
    };
    if let Some(s) = systems.iter().find(|s| !allowed.contains(s)) {
        return Err(format!("DrmSystems {s} cannot be used with {method}"));
    }
    if let Some(r) = e["KeyRotationIntervalSeconds"].as_i64()
        && !(300..=31_536_000).contains(&r)
    {
        return Err("KeyRotationIntervalSeconds must be 300 to 31536000".into());
    }
    Ok(())
}
