use clap::Args as ClapArgs;

use super::{Global, Output, Selection, print_json};
use crate::exit::Exit;
use crate::workspace::Workspace;

/// Check schedules, profiles and provider catalogs; report every error at once.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate validate
  orchestrate validate -s schedules/weekend.yaml
  orchestrate validate --output json | jq '.errors[]'

Exits 0 when valid, 2 on any configuration error.")]
pub struct Args {
    #[command(flatten)]
    pub select: Selection,
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    let result = ws.load_config(&args.select.schedules);
    if let Ok(config) = &result
        && !args.select.events.is_empty()
    {
        let recorded = ws.recorded().await?;
        crate::model::check_event_ids(
            &args.select.events,
            &crate::model::known_ids(Some(config), &recorded),
        )?;
    }
    match (g.output, result) {
        (Output::Json, Ok(c)) => {
            print_json(&serde_json::json!({
                "valid": true,
                "events": c.events.len(),
                "profiles": c.profiles.len(),
                "providers": c.catalogs.keys().collect::<Vec<_>>(),
                "errors": [],
            }))?;
            Ok(Exit::Ok)
        }
        (Output::Json, Err(crate::config::LoadError::Invalid(d))) => {
            print_json(&serde_json::json!({"valid": false, "errors": d.0}))?;
            Ok(Exit::Config)
        }
        (Output::Text, Ok(c)) => {
            println!(
                "Valid: {} event{}, {} profile{}, provider catalog{}: {}.",
                c.events.len(),
                if c.events.len() == 1 { "" } else { "s" },
                c.profiles.len(),
                if c.profiles.len() == 1 { "" } else { "s" },
                if c.catalogs.len() == 1 { "" } else { "s" },
                c.catalogs.keys().cloned().collect::<Vec<_>>().join(", ")
            );
            Ok(Exit::Ok)
        }
        (_, Err(e)) => Err(e.into()),
    }
}
