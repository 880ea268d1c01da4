//! A throwaway project directory built from the repository's own sim catalog, profiles and
//! templates, and helpers to run the real binary against it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

pub mod aws;
pub mod browser;
pub mod daemon;
pub mod fake_channel_alerts;
pub mod fake_harvest_jobs;
pub mod fake_input_security_groups;
pub mod fake_mediapackage_v2;
pub mod fake_mediapackage_v2_harvest;
pub mod fake_schedule;
pub mod fake_service_quotas;
pub mod fake_speke;
pub mod faultproxy;
pub mod media;
pub mod moto;
pub mod postgres;
pub mod served;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_orchestrate");

pub struct Project {
    pub dir: tempfile::TempDir,
}

pub const SCHEDULE: &str = "apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: cup-final
    title: Cup Final
    start: 2030-12-05T19:45:00Z
    end: 2030-12-05T22:00:00Z
    profile: sim-hd
    regions: [eu-west-1, us-east-1]
    lead: 15m
  - id: derby-night
    start: 2030-12-06T18:00:00Z
    end: 2030-12-06T20:00:00Z
    profile: sim-dual
    regions: [eu-central-1]
";

/// A local profile with small renditions and one-second segments, so that several tests can run
/// at once on a two-core machine; `INPUT` and `REDUNDANCY` are filled in by [`local_profile`].
const LOCAL_PROFILE: &str = "apiVersion: orchestrate/v1
kind: Profile
provider: local
lead: 1m
grace: 0s
encoder:
  input: { type: INPUT }
  codec: h264
  segment_duration: 1s
  redundancy: REDUNDANCY
  ladder:
    - { name: 240p, width: 426, height: 240, bitrate: 400k, fps: 15 }
    - { name: 144p, width: 256, height: 144, bitrate: 150k, fps: 15 }
origin:
  packaging: [hls]
  archive: true
cdn:
  enabled: true
";

pub const LOCAL_SCHEDULE: &str = "apiVersion: orchestrate/v1
kind: Schedule
events:
  - id: show
    start: 2030-01-01T20:00:00Z
    end: 2030-01-01T21:00:00Z
    profile: test
    regions: [local-east]
";

/// [`LOCAL_SCHEDULE`] on air now: started a minute ago, ending in half an hour.
pub fn local_schedule_on_air() -> String {
    let now = jiff::Timestamp::now();
    let start = now - jiff::SignedDuration::from_secs(60);
    let end = now + jiff::SignedDuration::from_mins(30);
    LOCAL_SCHEDULE
        .replace("2030-01-01T20:00:00Z", &start.to_string())
        .replace("2030-01-01T21:00:00Z", &end.to_string())
}

/// Signs in to the console of the `run` at `base` with a role's token from the state
/// (`operator` or `viewer`): the session's cookie and its CSRF token, read off the page.
pub fn console_session(p: &Project, base: &str, role: &str) -> (String, String) {
    let token =
        std::fs::read_to_string(p.state_dir().join(format!("console-{role}-token"))).unwrap();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let signed_in = http
        .get(format!("{base}/login?token={}", token.trim()))
        .send()
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .get(format!("{base}/"))
        .header("cookie", &cookie)
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = page
        .split("<meta name=\"csrf\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the console page carries a CSRF token")
        .to_string();
    (cookie, csrf)
}

/// A profile's `monitoring:` section that asks the command `hook` what to do about a stale
/// playlist, and holds its decision for an operator's approval.
pub fn ask_hook_with_approval(hook: &Path) -> String {
    format!(
        "monitoring:
  actions:
    - on: [playlist-stale]
      do: ask
      hook: brain
      require_approval: true
  hooks:
    brain:
      command: ['{}']
      window: 30s
",
        hook.display()
    )
}

/// [`LOCAL_PROFILE`] with its input type and redundancy.
pub fn local_profile(input: &str, redundancy: &str) -> String {
    LOCAL_PROFILE
        .replace("INPUT", input)
        .replace("REDUNDANCY", redundancy)
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

impl Project {
    /// A project with the repository's sim files, the schedule above, and a sim catalog with
    /// the given `sim:` section (time scale, seed, faults).
    pub fn new(sim_section: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = Self { dir };
        for f in ["profiles/sim-hd.yaml", "profiles/sim-dual.yaml"] {
            p.copy(f);
        }
        for k in ["archive", "origin", "input", "encoder", "cdn", "vod"] {
            p.copy(&format!("templates/sim/{k}.tera"));
        }
        p.set_sim(sim_section);
        p.write("schedules/main.yaml", SCHEDULE);
        p
    }

    /// A project for the local provider: its catalog, templates and profiles, and `schedule`.
    pub fn local(schedule: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let p = Self { dir };
        p.copy("providers/local.yaml");
        for k in ["archive", "origin", "input", "encoder", "cdn", "vod"] {
            p.copy(&format!("templates/local/{k}.tera"));
        }
        p.write("schedules/main.yaml", schedule);
        p
    }

    /// An empty project directory, for tests that write every file themselves.
    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Fast and fault-free: a 3-minute start takes about 180 ms.
    pub fn fast() -> Self {
        Self::new("sim:\n  time_scale: 0.001\n")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn state_dir(&self) -> PathBuf {
        self.path().join(".orchestrate")
    }

    pub fn copy(&self, rel: &str) {
        let text = std::fs::read_to_string(repo().join(rel)).expect("repository file");
        self.write(rel, &text);
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).expect("read")
    }

    /// Replaces the `sim:` section of providers/sim.yaml.
    pub fn set_sim(&self, sim_section: &str) {
        let text = std::fs::read_to_string(repo().join("providers/sim.yaml")).expect("sim.yaml");
        let head = &text[..text.find("\nsim:").expect("sim section") + 1];
        self.write("providers/sim.yaml", &format!("{head}{sim_section}"));
    }

    /// The binary, run in the project directory with `--project .`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.current_dir(self.path())
            .args(args)
            .env_remove("ORCHESTRATE_SIM_TIME_SCALE")
            .env_remove("ORCHESTRATE_STATE_DIR")
            .env_remove("ORCHESTRATE_STATE_URL")
            .stdin(std::process::Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run orchestrate")
    }

    /// Runs and asserts the exit code, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "orchestrate {args:?} failed:\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The sim inventory as the provider holds it (reads its SQLite file directly).
    pub fn inventory(&self) -> Vec<(String, String, Option<i64>)> {
        let path = self.state_dir().join("sim/inventory.db");
        if !path.exists() {
            return Vec::new();
        }
        let conn = rusqlite::Connection::open(path).expect("inventory db");
        // Polled while the sim may still be creating its database: no table yet is no items.
        let mut stmt =
            match conn.prepare("SELECT name, provider_id, gone_at_ms FROM items ORDER BY name") {
                Ok(stmt) => stmt,
                Err(e) if e.to_string().contains("no such table") => return Vec::new(),
                Err(e) => panic!("cannot read the sim inventory: {e}"),
            };
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .expect("rows")
            .map(|r| r.expect("row"))
            .collect()
    }

    /// The names of everything in the sim inventory, sorted (duplicates kept, to be caught).
    pub fn inventory_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.inventory().into_iter().map(|i| i.0).collect();
        names.sort();
        names
    }

    pub fn status_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["status", "--output", "json"])).expect("status json")
    }

    /// The recorded health stream's items of one `kind` (`signal`, `alert`, `action`), oldest
    /// first, as `watch` replays them.
    pub fn health(&self, kind: &str) -> Vec<serde_json::Value> {
        self.ok(&[
            "watch",
            "--replay",
            "--no-follow",
            "--type",
            kind,
            "--output",
            "ndjson",
        ])
        .lines()
        .map(|l| serde_json::from_str(l).expect("an NDJSON line"))
        .collect()
    }
}

/// When a health-stream item happened.
pub fn at(item: &serde_json::Value) -> jiff::Timestamp {
    item["at"]
        .as_str()
        .expect("an `at`")
        .parse()
        .expect("a timestamp")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The names every desired resource of [`SCHEDULE`] has.
pub fn expected_names() -> Vec<String> {
    let mut v = Vec::new();
    for r in ["eu-west-1", "us-east-1"] {
        for k in ["archive", "cdn", "encoder", "input", "origin"] {
            v.push(format!("cup-final/{r}/{k}"));
        }
    }
    for k in [
        "archive",
        "cdn",
        "encoder-a",
        "encoder-b",
        "input-a",
        "input-b",
        "origin",
    ] {
        v.push(format!("derby-night/eu-central-1/{k}"));
    }
    v.sort();
    v
}

/// One `tick` at `now` in-process, as cron would run it.
pub async fn tick_at(
    ws: &orchestrate::workspace::Workspace,
    now: jiff::Timestamp,
) -> orchestrate::ops::tick::TickOutcome {
    orchestrate::ops::tick::tick(
        ws,
        &[],
        now,
        std::sync::Arc::new(orchestrate::apply::progress::Silent),
        &orchestrate::apply::ApplyOptions::default(),
        &orchestrate::shutdown::Shutdown::new(),
    )
    .await
    .unwrap()
}

/// A local project that tears down what it still holds when dropped, so that a failing test
/// leaves no process running.
pub struct LocalProject(pub Project);

impl std::ops::Deref for LocalProject {
    type Target = Project;
    fn deref(&self) -> &Project {
        &self.0
    }
}

impl Drop for LocalProject {
    fn drop(&mut self) {
        if self.0.state_dir().join("local").exists() {
            let _ = self.0.run(&["down", "--yes", "--include-vod"]);
        }
    }
}

/// A loopback port free now (bound, then let go), for a server that must be told its port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
