use clap::Args as ClapArgs;

use super::{Global, Output, Selection, print_json};
use crate::exit::Exit;
use crate::plan::{Scope, peaks};
use crate::providers::{Check, CheckStatus};
use crate::workspace::Workspace;

/// Check the providers the schedules use are ready: credentials, roles, quotas against the peak.
///
/// For each provider: which credentials it found and whose they are, whether the roles its
/// catalog names exist and trust the services that assume them, and the schedules' peak per
/// region against the account's quotas. Then each key server the profiles name, asked for a
/// key and the DRM systems' signalling.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate doctor
  orchestrate doctor --provider aws
  orchestrate doctor -s schedules/weekend.yaml --output json | jq '.checks[] | select(.status != \"pass\")'

Each check is a PASS, WARN or FAIL line. Changes nothing.
Exits 0 with no failure, 1 on any failure, 2 on a configuration error.")]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
    /// Only this provider [default: every provider the schedules use].
    #[arg(long, value_name = "NAME")]
    pub provider: Option<String>,
}

#[derive(serde::Serialize)]
struct Line<'a> {
    provider: &'a str,
    #[serde(flatten)]
    check: &'a Check,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let config = ws.load_config(&args.select.schedules)?;
    let recorded = ws.recorded().await?;
    crate::model::check_event_ids(
        &args.select.events,
        &crate::model::known_ids(Some(&config), &recorded),
    )?;
    let renderer = ws.renderer()?;
    // Read-only: the state, where there is one, only lends its owner and learned leads.
    let (owner, learned) = match ws.existing_state().await? {
        Some(s) => (
            s.owner().to_string(),
            crate::workspace::learned_leads(s.as_ref()).await?,
        ),
        None => ("doctor".to_string(), Default::default()),
    };
    let scope = if args.select.events.is_empty() {
        Scope::AllBut(config.ended_keys(crate::clock::now()))
    } else {
        Scope::from_ids(&args.select.events)
    };
    let desired = crate::plan::desired_state(&config, &renderer, &owner, &scope, &learned)?;
    let mut needs = peaks::needs(&desired);
    if let Some(p) = &args.provider {
        if !config.catalogs.contains_key(p) {
            return Err(crate::exit::UsageError(format!(
                "no catalog for provider `{p}` (catalogs: {})",
                config
                    .catalogs
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .into());
        }
        needs.retain(|name, _| name == p);
        needs.entry(p.clone()).or_default();
    }
    let providers = ws.providers(config.catalogs.clone());
    let mut lines: Vec<(String, Check)> = Vec::new();
    for (name, need) in &needs {
        match providers.get(name) {
            Ok(provider) => lines.extend(
                provider
                    .preflight(need)
                    .await
                    .into_iter()
                    .map(|c| (name.clone(), c)),
            ),
            Err(e) => lines.push((name.clone(), Check::fail("provider", format!("{e:#}")))),
        }
    }
    lines.extend(
        key_servers(&config, &scope)
            .await
            .into_iter()
            .map(|c| ("key servers".to_string(), c)),
    );
    let failed = lines
        .iter()
        .filter(|(_, c)| c.status == CheckStatus::Fail)
        .count();
    let warned = lines
        .iter()
        .filter(|(_, c)| c.status == CheckStatus::Warn)
        .count();
    match g.output {
        Output::Json => print_json(&serde_json::json!({
            "ok": failed == 0,
            "checks": lines
                .iter()
                .map(|(provider, check)| Line { provider, check })
                .collect::<Vec<_>>(),
        }))?,
        Output::Text => print!("{}", render(&lines, failed, warned)),
    }
    Ok(if failed == 0 { Exit::Ok } else { Exit::Failure })
}

/// Each key server the schedules' profiles name (`origin.drm`, a VOD's `speke`), asked for a
/// key as a packager would: it must answer one, with a PSSH for each DRM system the profile
/// names. A server that refuses an unsigned request may admit only the role a cloud packager
/// calls it as: a warning, not a failure.
async fn key_servers(config: &crate::model::Config, scope: &Scope) -> Vec<Check> {
    use crate::model::profile_spec::{DrmScheme, KeyProvider};
    use crate::vod::package::Scheme;
    let mut asks = std::collections::BTreeMap::new();
    for event in config.events.iter().filter(|e| scope.contains(&e.id)) {
        let Some(p) = config.profiles.get(&event.profile) else {
            continue;
        };
        if let Some(d) = &p.origin.drm {
            asks.entry((d.url.clone(), d.systems.clone()))
                .or_insert((format!("{} origin.drm", p.name), d.scheme));
        }
        if let Some(d) = p
            .vod
            .drm
            .as_ref()
            .filter(|d| d.key_provider == KeyProvider::Speke)
            && let Some(url) = &d.url
        {
            asks.entry((url.clone(), d.systems.clone()))
                .or_insert((format!("{} vod.drm", p.name), d.scheme));
        }
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .unwrap_or_default();
    let mut out = Vec::new();
    for ((url, systems), (name, scheme)) in asks {
        let scheme = match scheme {
            DrmScheme::Cbcs => Scheme::Cbcs,
            DrmScheme::Aes128 => Scheme::Aes128,
            _ => Scheme::Cenc,
        };
        let check = format!("key server {name}");
        let asked =
            crate::vod::speke::fetch_key(&client, &url, "orchestrate-doctor", scheme, &systems)
                .await;
        out.push(match asked {
            Ok(_) if systems.is_empty() => Check::pass(check, format!("{url} answers a key")),
            Ok(_) => Check::pass(
                check,
                format!(
                    "{url} answers a key and a PSSH for {}",
                    systems
                        .iter()
                        .map(|s| s.packager_name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
            Err(crate::vod::speke::SpekeError::Refused { status: 401 | 403, .. }) => Check::warn(
                check,
                format!("{url} refused an unsigned request: it may admit only the role the cloud packager calls it as"),
            ),
            Err(e) => Check::fail(check, e.to_string()),
        });
    }
    out
}

fn render(lines: &[(String, Check)], failed: usize, warned: usize) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if lines.is_empty() {
        out.push_str("Nothing to check: no event of the schedules needs a provider now.\n");
        return out;
    }
    let width = lines.iter().map(|(_, c)| c.check.len()).max().unwrap_or(0);
    let mut provider = "";
    for (p, c) in lines {
        if p != provider {
            let _ = writeln!(out, "{p}:");
            provider = p;
        }
        let status = match c.status {
            CheckStatus::Pass => "PASS",
            CheckStatus::Warn => "WARN",
            CheckStatus::Fail => "FAIL",
        };
        let _ = writeln!(out, "  {status}  {:width$}  {}", c.check, c.detail);
    }
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        out,
        "{}, {}.",
        plural(failed, "failure"),
        plural(warned, "warning")
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_group_by_provider_and_align() {
        let lines = vec![
            (
                "aws".to_string(),
                Check::pass("credentials", "from Environment"),
            ),
            (
                "aws".to_string(),
                Check::fail("quota encoder eu-west-1", "6 > 5"),
            ),
            ("local".to_string(), Check::warn("preflight", "none")),
        ];
        insta::assert_snapshot!(render(&lines, 1, 1), @r"
        aws:
          PASS  credentials              from Environment
          FAIL  quota encoder eu-west-1  6 > 5
        local:
          WARN  preflight                none
        1 failure, 1 warning.
        ");
    }
}
