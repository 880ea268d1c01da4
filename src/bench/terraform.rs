//! `bench provision --against terraform`: the same graph and the same latencies through
//! Terraform. Orchestrate provisions on the sim first; each resource's drawn latency then
//! becomes a `terraform_data` resource (built into Terraform: nothing is downloaded) whose
//! `local-exec` provisioner sleeps that long, with the plan's dependencies as `depends_on`.
//! Terraform applies it at its default `-parallelism=10` and unbounded.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::Serialize;

use super::{ProvisionParams, Scratch, provision_drawn, ratio};
use crate::exit::UsageError;
use crate::plan::{Op, Plan};

/// Terraform's own default for `-parallelism`.
pub const TERRAFORM_DEFAULT_PARALLELISM: usize = 10;

#[derive(Debug, Serialize)]
pub struct Comparison {
    pub scenario: &'static str,
    pub events: usize,
    pub regions: usize,
    pub resources: usize,
    pub time_scale: f64,
    /// The longest dependency chain of the drawn latencies: the same lower bound for both.
    pub critical_path_ms: u64,
    pub orchestrate: Run,
    pub terraform_version: String,
    /// At Terraform's default parallelism, then unbounded (one slot per resource).
    pub terraform: Vec<Run>,
}

#[derive(Debug, Serialize)]
pub struct Run {
    /// Steps in flight at most; `None` for orchestrate's own (rate limits only).
    pub parallelism: Option<usize>,
    /// Orchestrate: rendering and the diff; Terraform: `terraform plan -out`.
    pub plan_ms: u64,
    /// Applying the plan: from the apply's start to its end.
    pub makespan_ms: u64,
    pub makespan_over_critical_path: f64,
}

/// The Terraform binary: `explicit`, else `terraform` on PATH. Missing is a usage error
/// (exit 2), found before anything runs.
pub fn find(explicit: Option<&Path>) -> Result<PathBuf, UsageError> {
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(UsageError(format!(
                "--terraform {}: no such file",
                p.display()
            )))
        };
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("terraform"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            UsageError(
                "terraform is not on PATH: install Terraform (https://developer.hashicorp.com/terraform/install) or pass --terraform PATH"
                    .into(),
            )
        })
}

pub async fn against_terraform(
    project: &Path,
    p: &ProvisionParams,
    terraform: &Path,
) -> anyhow::Result<Comparison> {
    let ours = provision_drawn(project, p).await?;
    if ours.result.failed > 0 {
        bail!(
            "orchestrate's own run failed {} steps: nothing to compare",
            ours.result.failed
        );
    }
    let cp = ours.result.critical_path_ms;
    let dir = std::env::temp_dir().join(format!(
        "orchestrate-bench-terraform-{}-{}",
        std::process::id(),
        jiff::Timestamp::now().as_millisecond()
    ));
    let _scratch = Scratch(dir.clone());
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("main.tf"), config(&ours.plan, &ours.drawn))?;
    // No user configuration, no version check over the network, no prompts.
    let rc = dir.join("terraformrc");
    std::fs::write(&rc, "")?;
    let tf = Terraform {
        bin: terraform,
        dir: &dir,
        rc: &rc,
    };
    let version = tf.version().await?;
    tf.run(&["init", "-input=false", "-no-color"]).await?;
    let n = ours.result.resources;
    let mut runs = Vec::new();
    for parallelism in [TERRAFORM_DEFAULT_PARALLELISM, n.max(1)] {
        for state in ["terraform.tfstate", "terraform.tfstate.backup", "tfplan"] {
            let _ = std::fs::remove_file(dir.join(state));
        }
        let flag = format!("-parallelism={parallelism}");
        let planned = tf
            .run(&["plan", "-input=false", "-no-color", &flag, "-out=tfplan"])
            .await?;
        let applied = tf
            .run(&["apply", "-input=false", "-no-color", &flag, "tfplan"])
            .await?;
        runs.push(Run {
            parallelism: Some(parallelism),
            plan_ms: planned.as_millis() as u64,
            makespan_ms: applied.as_millis() as u64,
            makespan_over_critical_path: ratio(applied.as_millis() as f64, cp as f64),
        });
    }
    Ok(Comparison {
        scenario: "provision-against-terraform",
        events: p.events,
        regions: p.regions,
        resources: n,
        time_scale: p.time_scale,
        critical_path_ms: cp,
        orchestrate: Run {
            parallelism: p.parallelism,
            plan_ms: ours.result.plan_ms + ours.result.render_ms,
            makespan_ms: ours.result.makespan_ms,
            makespan_over_critical_path: ours.result.makespan_over_critical_path,
        },
        terraform_version: version,
        terraform: runs,
    })
}

/// The Terraform configuration of a plan's creates: one `terraform_data` per resource, sleeping
/// its drawn latency, after the resources it depends on.
pub fn config(plan: &Plan, drawn: &HashMap<String, Duration>) -> String {
    let mut tf = String::from(
        "# Generated by `orchestrate bench provision --against terraform`: one resource per\n\
         # step of orchestrate's plan, sleeping the latency the sim drew for it.\n",
    );
    for (i, a) in plan.actions.iter().enumerate() {
        if a.op != Op::Create {
            continue;
        }
        let sleep = drawn.get(a.id.as_str()).copied().unwrap_or_default();
        let _ = writeln!(tf, "\nresource \"terraform_data\" \"r{i}\" {{");
        let _ = writeln!(tf, "  input = \"{}\"", a.id.as_str().escape_default());
        if !a.after.is_empty() {
            let deps: Vec<String> = a
                .after
                .iter()
                .map(|j| format!("terraform_data.r{j}"))
                .collect();
            let _ = writeln!(tf, "  depends_on = [{}]", deps.join(", "));
        }
        let _ = writeln!(tf, "  provisioner \"local-exec\" {{");
        let _ = writeln!(tf, "    command = \"sleep {:.3}\"", sleep.as_secs_f64());
        let _ = writeln!(tf, "  }}\n}}");
    }
    tf
}

struct Terraform<'a> {
    bin: &'a Path,
    dir: &'a Path,
    rc: &'a Path,
}

impl Terraform<'_> {
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(self.bin);
        c.arg(format!("-chdir={}", self.dir.display()))
            .args(args)
            .env("TF_CLI_CONFIG_FILE", self.rc)
            .env("CHECKPOINT_DISABLE", "1")
            .env("TF_IN_AUTOMATION", "1")
            .env("TF_INPUT", "0")
            .stdin(std::process::Stdio::null())
            // Its own process group, so that an interrupted benchmark stops the sleeps too.
            .process_group(0);
        c
    }

    /// Runs one command to its end; how long it took.
    async fn run(&self, args: &[&str]) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let child = self
            .command(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        let mut group = Group(child.id());
        let out = child.wait_with_output().await?;
        group.0 = None;
        let took = started.elapsed();
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let tail: Vec<&str> = stderr.lines().rev().take(8).collect();
            bail!(
                "terraform {} failed ({}): {}",
                args[0],
                out.status,
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        Ok(took)
    }

    async fn version(&self) -> anyhow::Result<String> {
        let out = self
            .command(&["version", "-json"])
            .output()
            .await
            .with_context(|| format!("cannot run {}", self.bin.display()))?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .with_context(|| format!("{} version -json: not JSON", self.bin.display()))?;
        Ok(v["terraform_version"]
            .as_str()
            .unwrap_or("unknown")
            .to_string())
    }
}

/// Kills a still-running command's whole process group when dropped (the benchmark was
/// interrupted): Terraform and the sleeps it started.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;

    #[test]
    fn each_step_sleeps_its_draw_after_its_dependencies() {
        let plan = Plan::of(vec![
            Action::bare("e/r/archive", Op::Create, vec![]),
            Action::bare("e/r/origin", Op::Create, vec![0]),
        ]);
        let drawn = HashMap::from([
            ("e/r/archive".to_string(), Duration::from_millis(12)),
            ("e/r/origin".to_string(), Duration::from_millis(1500)),
        ]);
        insta::assert_snapshot!(config(&plan, &drawn));
    }

    #[test]
    fn a_missing_terraform_is_a_usage_error() {
        let e = find(Some(Path::new("/nonexistent/terraform"))).unwrap_err();
        assert!(
            e.0.contains("--terraform /nonexistent/terraform"),
            "{}",
            e.0
        );
    }
}
