//! The embedded default: real live streams on this machine. Per event and region, an origin
//! (an HTTP server process), one ffmpeg encoder per pipeline writing HLS or DASH into the
//! event's media directory, and a caching edge; the archive is that media directory, kept.
//!
//! Every process runs in its own group under a pidfile that records its start time, and every
//! resource has a record file (see [`layout`]): `list` reads the records, as a cloud lists by
//! tag, so `sweep` finds what a crashed run left running.

pub mod ffmpeg;
mod layout;
pub mod process;
mod register;
mod settings;
pub mod vod;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use layout::{Layout, Record};
use process::{PidFile, RESOURCE_ENV};
pub use register::REGISTRATION;
pub use settings::LocalSettings;

use super::{Created, EncoderHealth, InventoryItem, Provider, ProviderError};
use crate::model::{Catalog, Kind, RateLimit, RecordedResource, ResourceSpec, RetryPolicy};

/// Overrides of the catalog's tool paths, for machines where they live elsewhere.
/// The orchestrate binary that runs origins and edges (`serve-local`); this one by default.
pub const SERVER_BIN_ENV: &str = "ORCHESTRATE_SERVER_BIN";

const INSTALL_HINT: &str = "install it (Debian/Ubuntu: `sudo apt-get install -y ffmpeg`; macOS: `brew install ffmpeg`), or set `local.ffmpeg`/`local.ffprobe` in providers/local.yaml or ORCHESTRATE_FFMPEG/ORCHESTRATE_FFPROBE";

pub struct LocalProvider {
    catalog: Catalog,
    settings: LocalSettings,
    layout: Layout,
    server_bin: PathBuf,
    state_dir: PathBuf,
    /// Shaka Packager and ffmpeg, for the VOD.
    tools: crate::tools::Tools,
    /// For the edges' control endpoints.
    client: reqwest::Client,
}

impl LocalProvider {
    pub fn open(
        state_dir: &Path,
        project: Option<&Path>,
        catalog: Catalog,
    ) -> Result<Self, crate::providers::registration::CannotOpen> {
        let mut settings = LocalSettings::read(catalog.settings.as_ref())?;
        if let Ok(p) = std::env::var(crate::tools::FFMPEG_ENV) {
            settings.ffmpeg = p;
        }
        if let Ok(p) = std::env::var(crate::tools::FFPROBE_ENV) {
            settings.ffprobe = p;
        }
        let server_bin = match std::env::var_os(SERVER_BIN_ENV) {
            Some(p) => PathBuf::from(p),
            None => std::env::current_exe()?,
        };
        // Absolute, as the servers' and ffmpeg's arguments must be: a relative path would name
        // another place for anyone not started in this directory.
        let state_dir = std::path::absolute(state_dir)?;
        let mut tools = crate::tools::Tools::find(project.unwrap_or(Path::new(".")));
        tools.ffmpeg = PathBuf::from(&settings.ffmpeg);
        Ok(Self {
            catalog,
            settings,
            layout: Layout::new(&state_dir),
            server_bin,
            state_dir,
            tools,
            client: crate::http::client(Duration::from_secs(2), Duration::from_secs(10))
                .map_err(std::io::Error::other)?,
        })
    }

    fn grace(&self) -> Duration {
        self.settings.stop_grace.0
    }

    fn ready_timeout(&self) -> Duration {
        self.settings.ready_timeout.0
    }

    async fn create_kind(
        &self,
        spec: &ResourceSpec,
        dir: &Path,
        def: &Value,
    ) -> Result<Value, ProviderError> {
        let media = self.layout.media_dir(&spec.region, &spec.event);
        match spec.kind {
            Kind::Archive => {
                std::fs::create_dir_all(&media).map_err(io_err)?;
                Ok(json!({ "path": media }))
            }
            Kind::Origin => {
                std::fs::create_dir_all(&media).map_err(io_err)?;
                let seg = def["segment_duration_s"].as_f64().unwrap_or(2.0);
                let mut cmd = Command::new(&self.server_bin);
                cmd.args(["serve-local", "origin", "--media"])
                    .arg(&media)
                    .args(["--segment-duration", &seg.to_string(), "--ready"])
                    .arg(dir.join("ready"));
                self.start_server(spec, dir, cmd).await
            }
            Kind::Cdn => {
                let token = random_token();
                let token_file = dir.join("token");
                crate::files::write_private(&token_file, token.as_bytes()).map_err(io_err)?;
                let mut cmd = Command::new(&self.server_bin);
                cmd.args(["serve-local", "edge", "--region-dir"])
                    .arg(self.layout.region_dir(&spec.region))
                    .arg("--token-file")
                    .arg(&token_file)
                    .args(["--cache-mib", &self.settings.edge_cache_mib.to_string()])
                    .arg("--ready")
                    .arg(dir.join("ready"));
                if !def["shared"].as_bool().unwrap_or(false) {
                    cmd.args(["--event", &spec.event]);
                }
                self.start_server(spec, dir, cmd).await
            }
            Kind::Input => self.create_input(def),
            Kind::Vod => {
                vod::create(
                    &self.state_dir,
                    &self.tools,
                    &media,
                    &dir.join("media"),
                    def,
                    &spec.region,
                )
                .await
            }
            Kind::Encoder => self.create_encoder(spec, dir, def).await,
            Kind::Firewall | Kind::Instance => Err(ProviderError::Permanent(format!(
                "the local provider makes no {}",
                spec.kind
            ))),
        }
    }

    fn create_input(&self, def: &Value) -> Result<Value, ProviderError> {
        let kind = def["type"].as_str().unwrap_or("testsrc");
        let address = def["address"].as_str().unwrap_or("");
        match kind {
            "testsrc" => out(InputOut::Testsrc),
            "file" => {
                if address.is_empty() || !Path::new(address).is_file() {
                    return Err(ProviderError::Permanent(format!(
                        "encoder.input.address: `{address}` is not a file this machine can read"
                    )));
                }
                out(InputOut::File {
                    path: address.to_string(),
                })
            }
            "srt" | "rtmp" => {
                let port = if address.is_empty() {
                    free_port().map_err(io_err)?
                } else {
                    address
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse::<u16>().ok())
                        .ok_or_else(|| {
                            ProviderError::Permanent(format!(
                                "encoder.input.address: `{address}` is not HOST:PORT"
                            ))
                        })?
                };
                out(if kind == "srt" {
                    InputOut::Srt {
                        port,
                        listen_url: format!("srt://127.0.0.1:{port}?mode=listener"),
                        ingest_url: format!("srt://127.0.0.1:{port}?mode=caller"),
                    }
                } else {
                    let url = format!("rtmp://127.0.0.1:{port}/live/stream");
                    InputOut::Rtmp {
                        port,
                        listen_url: url.clone(),
                        ingest_url: url,
                    }
                })
            }
            other => Err(ProviderError::Permanent(format!(
                "encoder.input.type: `{other}` is not an input the local provider has"
            ))),
        }
    }

    async fn create_encoder(
        &self,
        spec: &ResourceSpec,
        dir: &Path,
        def: &Value,
    ) -> Result<Value, ProviderError> {
        let enc = ffmpeg::EncoderDef::deserialize(def)
            .map_err(|e| ProviderError::Permanent(format!("encoder definition: {e}")))?;
        let input_dir = self
            .layout
            .resource_dir(&spec.region, &spec.event, &enc.input);
        let input = self.layout.read(&input_dir).ok_or_else(|| {
            ProviderError::Transient(format!("its input `{}` is not created yet", enc.input))
        })?;
        let recorded = InputOut::deserialize(&input.outputs).map_err(|e| {
            ProviderError::Permanent(format!(
                "its input `{}` records no feed an encoder can read: {e}",
                enc.input
            ))
        })?;
        let source = match recorded {
            InputOut::File { path } => {
                let has_audio = self.has_audio(&path).await?;
                ffmpeg::Source::File { path, has_audio }
            }
            InputOut::Srt { listen_url, .. } => ffmpeg::Source::Listener {
                url: listen_url,
                rtmp: false,
            },
            InputOut::Rtmp { listen_url, .. } => ffmpeg::Source::Listener {
                url: listen_url,
                rtmp: true,
            },
            InputOut::Testsrc => ffmpeg::Source::TestPattern,
        };
        let pipeline = enc.pipeline.clone().unwrap_or_else(|| "main".into());
        let out = self
            .layout
            .media_dir(&spec.region, &spec.event)
            .join(&pipeline);
        std::fs::create_dir_all(&out).map_err(io_err)?;
        let args = ffmpeg::args(&enc, &source, &out, &dir.join("progress"));
        let mut cmd = Command::new(&self.settings.ffmpeg);
        cmd.args(&args).env(RESOURCE_ENV, spec_provider_id(spec));
        let spawned = std::time::SystemTime::now();
        let pid = process::spawn(cmd, &dir.join("log"), &dir.join("pid.json")).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                ProviderError::Permanent(format!(
                    "ffmpeg not found (`{}`): {INSTALL_HINT}",
                    self.settings.ffmpeg
                ))
            } else {
                io_err(e)
            }
        })?;
        let manifest = ffmpeg::manifest_name(&enc);
        let listening = matches!(source, ffmpeg::Source::Listener { .. });
        if listening {
            // Nothing is published before a feed arrives: ready once it listens and stays up.
            tokio::time::sleep(Duration::from_millis(300)).await;
            if !pid.is_running() {
                return Err(self.died(dir, "ffmpeg"));
            }
        } else {
            let variants = ffmpeg::variant_playlists(&enc, &out);
            let deadline = Instant::now() + self.ready_timeout();
            loop {
                let master = out.join(manifest).is_file();
                if master && variants.iter().all(|v| lists_a_segment(v, spawned)) {
                    break;
                }
                if !pid.is_running() {
                    return Err(self.died(dir, "ffmpeg"));
                }
                if Instant::now() > deadline {
                    pid.stop(self.grace());
                    return Err(ProviderError::Transient(format!(
                        "ffmpeg published no segment within {:?}",
                        self.ready_timeout()
                    )));
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        Ok(json!({
            "pid": pid.pid,
            "pipeline": pipeline,
            "media_dir": out,
            "manifest": manifest,
            "progress": dir.join("progress"),
        }))
    }

    async fn has_audio(&self, path: &str) -> Result<bool, ProviderError> {
        let out = tokio::process::Command::new(&self.settings.ffprobe)
            .args([
                "-v",
                "error",
                "-select_streams",
                "a",
                "-show_entries",
                "stream=index",
                "-of",
                "csv=p=0",
                path,
            ])
            .output()
            .await
            .map_err(|e| {
                ProviderError::Permanent(format!(
                    "cannot run ffprobe (`{}`): {e}; {INSTALL_HINT}",
                    self.settings.ffprobe
                ))
            })?;
        if !out.status.success() {
            return Err(ProviderError::Permanent(format!(
                "ffprobe cannot read `{path}`: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(!out.stdout.trim_ascii().is_empty())
    }

    /// Starts one of our servers and waits for the port it announces; its outputs.
    async fn start_server(
        &self,
        spec: &ResourceSpec,
        dir: &Path,
        mut cmd: Command,
    ) -> Result<Value, ProviderError> {
        let ready = dir.join("ready");
        let _ = std::fs::remove_file(&ready);
        cmd.env(RESOURCE_ENV, spec_provider_id(spec));
        let pid = process::spawn(cmd, &dir.join("log"), &dir.join("pid.json")).map_err(io_err)?;
        let deadline = Instant::now() + self.ready_timeout();
        loop {
            if let Some(port) = std::fs::read_to_string(&ready)
                .ok()
                .and_then(|s| s.trim().parse::<u16>().ok())
            {
                let url = format!("http://127.0.0.1:{port}");
                return Ok(json!({ "url": url, "port": port, "pid": pid.pid }));
            }
            if !pid.is_running() {
                return Err(self.died(dir, spec.kind.as_str()));
            }
            if Instant::now() > deadline {
                pid.stop(self.grace());
                return Err(ProviderError::Transient(format!(
                    "the {} did not listen within {:?}",
                    spec.kind,
                    self.ready_timeout()
                )));
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The error for a process that exited while starting, with the end of its log.
    fn died(&self, dir: &Path, what: &str) -> ProviderError {
        let log = std::fs::read_to_string(dir.join("log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        ProviderError::Permanent(format!(
            "{what} exited while starting: {}",
            if tail.is_empty() {
                "(no output)".to_string()
            } else {
                tail.join(" | ")
            }
        ))
    }

    /// The directory of a recorded resource.
    fn dir_of_recorded(&self, rec: &RecordedResource) -> Result<PathBuf, ProviderError> {
        let id = rec
            .provider_id
            .clone()
            .unwrap_or_else(|| spec_provider_id(&rec.spec));
        self.layout
            .dir_of(&id)
            .ok_or_else(|| ProviderError::Permanent(format!("`{id}` is not a usable name")))
    }

    /// [`remove_resource`] off the async threads: stopping waits on the process.
    async fn remove(&self, dir: &Path) -> Result<(), ProviderError> {
        let (layout, dir, grace) = (self.layout.clone(), dir.to_path_buf(), self.grace());
        tokio::task::spawn_blocking(move || remove_resource(&layout, &dir, grace))
            .await
            .map_err(|e| ProviderError::Transient(e.to_string()))?
    }
}

/// Stops a resource's process and removes its files (and its media, for the archive or an
/// encoder whose segments are not kept).
fn remove_resource(layout: &Layout, dir: &Path, grace: Duration) -> Result<(), ProviderError> {
    let rec = layout.read(dir);
    if let Some(pid) = PidFile::read(&dir.join("pid.json")) {
        pid.stop(grace);
    }
    if let Some(rec) = &rec {
        let media = layout.media_dir(&rec.region, &rec.event);
        match rec.kind {
            Kind::Archive => layout.remove(&media).map_err(io_err)?,
            Kind::Encoder if !rec.definition["keep_segments"].as_bool().unwrap_or(false) => {
                let p = rec.outputs["pipeline"].as_str().unwrap_or("main");
                layout.remove(&media.join(p)).map_err(io_err)?;
            }
            _ => {}
        }
    }
    layout.remove(dir).map_err(io_err)
}

/// Stops and removes every local resource recorded under `state_dir`, without the state: for
/// scratch projects (benchmarks) that must leave nothing running however they end.
pub fn remove_all(state_dir: &Path, grace: Duration) {
    let layout = Layout::new(state_dir);
    let mut records = layout.records();
    // Processes first, the archives they write to last.
    records.sort_by_key(|(_, r)| r.kind == Kind::Archive);
    for (dir, _) in records {
        let _ = remove_resource(&layout, &dir, grace);
    }
}

fn spec_provider_id(spec: &ResourceSpec) -> String {
    format!("{}/{}/{}", spec.region, spec.event, spec.name)
}

/// True once a media playlist written since `since` lists a segment (a restarted encoder
/// finds its predecessor's playlist, which says nothing about itself).
fn lists_a_segment(playlist: &Path, since: std::time::SystemTime) -> bool {
    let fresh = std::fs::metadata(playlist)
        .and_then(|m| m.modified())
        .is_ok_and(|t| t >= since);
    fresh && std::fs::read_to_string(playlist).is_ok_and(|t| t.contains("#EXTINF"))
}

fn io_err(e: std::io::Error) -> ProviderError {
    ProviderError::Transient(e.to_string())
}

/// A port nothing listens on now, for a listener ffmpeg opens itself; recorded in state.
fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn random_token() -> String {
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &str {
        "local"
    }

    async fn archive_holds_media(
        &self,
        archive: &RecordedResource,
    ) -> Result<Option<bool>, ProviderError> {
        let media = self
            .layout
            .media_dir(&archive.spec.region, &archive.spec.event);
        Ok(Some(
            tokio::task::spawn_blocking(move || vod::holds_media(&media))
                .await
                .map_err(|e| ProviderError::Transient(e.to_string()))?,
        ))
    }

    fn rate_limit(&self, region: &str) -> RateLimit {
        self.catalog.rate_limit_for(region)
    }

    fn retry_policy(&self) -> RetryPolicy {
        self.catalog.retry
    }

    fn step_timeout(&self, kind: Kind) -> Duration {
        self.catalog.step_timeout(kind, Duration::from_secs(120))
    }

    async fn create(&self, spec: &ResourceSpec, token: &str) -> Result<Created, ProviderError> {
        let id = spec_provider_id(spec);
        let dir = self
            .layout
            .dir_of(&id)
            .ok_or_else(|| ProviderError::Permanent(format!("`{id}` is not a usable name")))?;
        // A create driven again with the same token returns what the first one made, if it
        // still runs; anything else left there is stopped and made anew.
        if let Some(rec) = self.layout.read(&dir) {
            let alive = PidFile::read(&dir.join("pid.json")).is_none_or(|p| p.is_running());
            if rec.client_token == token && alive && rec.outputs != Value::Null {
                return Ok(Created {
                    provider_id: id,
                    outputs: rec.outputs,
                });
            }
        }
        self.remove(&dir).await?;
        let def = spec.definition.value();
        let mut rec = Record {
            provider_id: id.clone(),
            kind: spec.kind,
            region: spec.region.clone(),
            event: spec.event.clone(),
            name: spec.name.clone(),
            client_token: token.to_string(),
            tags: spec.tags.clone(),
            definition: def.clone(),
            outputs: Value::Null,
        };
        // Recorded before anything starts, so that a crash from here on leaves a trace `sweep`
        // can follow.
        self.layout.write(&dir, &rec).map_err(io_err)?;
        let outputs = match self.create_kind(spec, &dir, &def).await {
            Ok(o) => o,
            Err(e) => {
                let _ = self.remove(&dir).await;
                return Err(e);
            }
        };
        rec.outputs = outputs.clone();
        self.layout.write(&dir, &rec).map_err(io_err)?;
        Ok(Created {
            provider_id: id,
            outputs,
        })
    }

    async fn update(
        &self,
        rec: &RecordedResource,
        spec: &ResourceSpec,
    ) -> Result<Value, ProviderError> {
        // Local resources start in seconds: an update is a fresh start with the new definition.
        let token = format!(
            "{}-update-{}",
            rec.client_token.as_deref().unwrap_or("t"),
            spec.spec_hash
        );
        Ok(self.create(spec, &token).await?.outputs)
    }

    async fn delete(&self, rec: &RecordedResource) -> Result<(), ProviderError> {
        let id = rec
            .provider_id
            .clone()
            .unwrap_or_else(|| spec_provider_id(&rec.spec));
        let Some(dir) = self.layout.dir_of(&id) else {
            return Ok(());
        };
        self.remove(&dir).await
    }

    async fn encoder_health(
        &self,
        rec: &RecordedResource,
        _pipeline: Option<&str>,
    ) -> Option<EncoderHealth> {
        let progress = PathBuf::from(rec.outputs.get("progress")?.as_str()?);
        let dir = progress.parent()?.to_path_buf();
        tokio::task::spawn_blocking(move || {
            let running = PidFile::read(&dir.join("pid.json")).is_some_and(|p| p.is_running());
            ffmpeg::progress_health(&progress, running, std::time::SystemTime::now())
        })
        .await
        .ok()
    }

    async fn failover(
        &self,
        cdn: &RecordedResource,
        event: &str,
        pipeline: &str,
    ) -> Result<(), ProviderError> {
        let dir = self.dir_of_recorded(cdn)?;
        let token = std::fs::read_to_string(dir.join("token")).map_err(|e| {
            ProviderError::Permanent(format!("the edge's control token cannot be read: {e}"))
        })?;
        let token = token.trim();
        let url = cdn
            .outputs
            .get("url")
            .and_then(|u| u.as_str())
            .ok_or_else(|| ProviderError::Permanent("the edge has no recorded url".into()))?;
        let control = reqwest::Url::parse_with_params(
            &format!("{url}/_orchestrate/failover"),
            &[("event", event), ("pipeline", pipeline)],
        )
        .map_err(|e| ProviderError::Permanent(format!("the edge's url `{url}`: {e}")))?;
        let r = self
            .client
            .post(control)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| ProviderError::Transient(format!("the edge: {}", e.without_url())))?;
        match r.status() {
            s if s.is_success() => Ok(()),
            s if s.is_server_error() => {
                Err(ProviderError::Transient(format!("the edge answered {s}")))
            }
            s => Err(ProviderError::Permanent(format!(
                "the edge refused the failover: {s} {}",
                r.text().await.unwrap_or_default().trim()
            ))),
        }
    }

    async fn restart(
        &self,
        rec: &RecordedResource,
        _pipeline: Option<&str>,
    ) -> Result<(), ProviderError> {
        if rec.spec.kind != Kind::Encoder {
            return Err(ProviderError::Permanent(format!(
                "the local provider restarts encoders, not a {}",
                rec.spec.kind
            )));
        }
        let dir = self.dir_of_recorded(rec)?;
        let mut record = self.layout.read(&dir).ok_or_else(|| {
            ProviderError::Permanent(format!("{} is no longer there", rec.spec.name))
        })?;
        // The media stays: ffmpeg appends to its playlists, after a discontinuity.
        if let Some(pid) = PidFile::read(&dir.join("pid.json")) {
            let grace = self.grace();
            let _ = tokio::task::spawn_blocking(move || pid.stop(grace)).await;
        }
        let def = record.definition.clone();
        record.outputs = self.create_encoder(&rec.spec, &dir, &def).await?;
        self.layout.write(&dir, &record).map_err(io_err)
    }

    /// The tools the schedule's events run here: ffmpeg and ffprobe always, Shaka Packager
    /// for a VOD.
    async fn preflight(&self, needs: &crate::plan::peaks::Needs) -> Vec<crate::providers::Check> {
        let mut tools = vec![
            ("ffmpeg", PathBuf::from(&self.settings.ffmpeg), INSTALL_HINT),
            (
                "ffprobe",
                PathBuf::from(&self.settings.ffprobe),
                INSTALL_HINT,
            ),
        ];
        if needs.kinds.contains(&Kind::Vod) {
            tools.push((
                "packager",
                self.tools.packager.clone(),
                "run examples/quickstart/run.sh (it installs Shaka Packager into .venv), or set ORCHESTRATE_PACKAGER",
            ));
        }
        let mut out = Vec::new();
        for (name, path, hint) in tools {
            let ran = tokio::process::Command::new(&path)
                .arg(if name == "packager" {
                    "--version"
                } else {
                    "-version"
                })
                .stdin(std::process::Stdio::null())
                .output()
                .await;
            out.push(match ran {
                Ok(o) if o.status.success() => {
                    let text = String::from_utf8_lossy(&o.stdout);
                    let first = text.lines().next().unwrap_or_default().trim();
                    crate::providers::Check::pass(name, format!("{}: {first}", path.display()))
                }
                Ok(o) => crate::providers::Check::fail(
                    name,
                    format!("`{}` exited with {}; {hint}", path.display(), o.status),
                ),
                Err(e) => crate::providers::Check::fail(
                    name,
                    format!("cannot run `{}`: {e}; {hint}", path.display()),
                ),
            });
        }
        out
    }

    async fn list(&self) -> Result<Vec<InventoryItem>, ProviderError> {
        Ok(self
            .layout
            .records()
            .into_iter()
            .map(|(dir, r)| {
                let status = match PidFile::read(&dir.join("pid.json")) {
                    Some(p) if p.is_running() => "running",
                    Some(_) => "exited",
                    None => "ready",
                };
                InventoryItem {
                    name: format!("{}/{}/{}", r.event, r.region, r.name),
                    provider: "local".into(),
                    provider_id: r.provider_id,
                    kind: r.kind,
                    part: None,
                    region: r.region,
                    client_token: Some(r.client_token),
                    status: status.into(),
                    tags: r.tags,
                }
            })
            .collect())
    }
}

/// What a local input records: how its encoder reads the feed (`type` names which).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum InputOut {
    Testsrc,
    File {
        path: String,
    },
    Srt {
        port: u16,
        listen_url: String,
        ingest_url: String,
    },
    Rtmp {
        port: u16,
        listen_url: String,
        ingest_url: String,
    },
}

fn out(input: InputOut) -> Result<Value, ProviderError> {
    serde_json::to_value(input).map_err(|e| ProviderError::Permanent(e.to_string()))
}
