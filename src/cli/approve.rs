use std::time::Duration;

use clap::Args as ClapArgs;

use super::{Global, Output};
use crate::exit::{Exit, UsageError};
use crate::monitor::actions::ActionRecord;
use crate::workspace::Workspace;

/// Approve or reject an action that waits for approval (`require_approval: true`).
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate approve                           list the actions awaiting approval, with their ids
  orchestrate approve act-3f2a9c1e              carry it out
  orchestrate reject act-3f2a9c1e --by oncall   drop it; the decision is recorded with who made it

The verdict goes to the `orchestrate run` monitoring this state, through its API
(<state>/api-addr, with the bearer token in <state>/api-token).")]
pub struct Args {
    /// The action's id (`act-…`), as `watch` and the run's output show it [default: list the
    /// actions awaiting approval].
    pub id: Option<String>,
    /// Who gives the verdict, as recorded [default: $USER].
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args, approve: bool) -> anyhow::Result<Exit> {
    let addr_file = ws.state_dir.join("api-addr");
    let addr = std::fs::read_to_string(&addr_file).map_err(|_| {
        UsageError(format!(
            "no `orchestrate run` API is recorded in {} (is `orchestrate run` monitoring this state?)",
            addr_file.display()
        ))
    })?;
    let token =
        std::fs::read_to_string(ws.state_dir.join(crate::monitor::stream::http::TOKEN_FILE))
            .map_err(|e| anyhow::anyhow!("cannot read the API token: {e}"))?;
    let by = args
        .by
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".into());
    let client = crate::http::client(Duration::from_secs(5), Duration::from_secs(30))?;
    let unreachable = |e: reqwest::Error| {
        anyhow::anyhow!(
            "cannot reach `orchestrate run` at {} ({}); is it running?",
            addr.trim(),
            e.without_url()
        )
    };
    let Some(id) = args.id else {
        let status: serde_json::Value = client
            .get(format!("http://{}/v1/status", addr.trim()))
            .bearer_auth(token.trim())
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(unreachable)?
            .error_for_status()
            .map_err(unreachable)?
            .bytes()
            .await
            .map_err(unreachable)
            .and_then(|b| {
                serde_json::from_slice(&b).map_err(|e| {
                    anyhow::anyhow!("`orchestrate run` answered something unexpected: {e}")
                })
            })?;
        let waiting: Vec<ActionRecord> =
            serde_json::from_value(status["awaiting_approval"].clone()).unwrap_or_default();
        match g.output {
            Output::Json => println!("{}", serde_json::to_string(&waiting)?),
            Output::Text if waiting.is_empty() => println!("No action is awaiting approval."),
            Output::Text => {
                for a in &waiting {
                    println!("{}  {}", a.at.strftime("%H:%M:%S"), a.line());
                }
            }
        }
        return Ok(Exit::Ok);
    };
    let verdict = if approve { "approve" } else { "reject" };
    let url = format!("http://{}/v1/actions/{id}/{verdict}", addr.trim());
    let r = client
        .post(&url)
        .bearer_auth(token.trim())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(serde_json::json!({ "by": by }).to_string())
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(unreachable)?;
    let status = r.status();
    let body = r.text().await.unwrap_or_default();
    if !status.is_success() {
        anyhow::bail!("{}", body.trim());
    }
    let rec: ActionRecord = serde_json::from_str(&body)
        .map_err(|e| anyhow::anyhow!("`orchestrate run` answered something unexpected: {e}"))?;
    match g.output {
        Output::Json => println!("{body}"),
        Output::Text => println!("{}", rec.line()),
    }
    Ok(Exit::Ok)
}
