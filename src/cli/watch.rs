use std::time::Duration;

use clap::Args as ClapArgs;

use super::{Global, Output};
use crate::exit::Exit;
use crate::monitor::stream::board::Board;
use crate::monitor::stream::store::{Reader, Row};
use crate::shutdown::Shutdown;
use crate::workspace::Workspace;

/// Follow the health stream `orchestrate run` records: signals, alerts and actions per tier.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate watch                                  a live table of every probed tier, its alerts and the latest actions
  orchestrate watch --log                            signals, alerts and actions as they come, one line each
  orchestrate watch --log --type alert               alerts only
  orchestrate watch -e cup-final --tier origin --output ndjson
  orchestrate watch --replay --no-follow --type alert --output ndjson | jq .message

It reads <state>/health.db, which `orchestrate run` writes while it monitors.")]
pub struct Args {
    /// Only this event (repeatable).
    #[arg(short = 'e', long = "event", value_name = "ID")]
    pub events: Vec<String>,
    /// Only this region (repeatable).
    #[arg(short = 'r', long = "region", value_name = "REGION")]
    pub regions: Vec<String>,
    /// Only this tier (repeatable): encoder, origin, edge, viewer, content.
    #[arg(long = "tier", value_name = "TIER", value_parser = ["encoder", "origin", "edge", "viewer", "content"])]
    pub tiers: Vec<String>,
    /// Only signals, only alerts or only actions.
    #[arg(long = "type", value_name = "TYPE", value_parser = ["signal", "alert", "action"])]
    pub kind: Option<String>,
    /// Start from the beginning of what is recorded instead of from now (with --log; the
    /// table always starts from the recent history).
    #[arg(long)]
    pub replay: bool,
    /// Print what is there and exit instead of following.
    #[arg(long)]
    pub no_follow: bool,
    /// One line per item instead of the live table (the default when stdout is not a
    /// terminal, or with --output ndjson).
    #[arg(long)]
    pub log: bool,
}

/// Refuses an id that no schedule, no recorded resource and nothing in the health stream
/// names: following it would print nothing, forever.
async fn check_events(ws: &Workspace, events: &[String]) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let recorded = ws.recorded().await?;
    let mut known = super::known_events(ws, &recorded);
    if let Some(reader) = Reader::open(&ws.state_dir)? {
        for id in events {
            if reader.has_event(id)? {
                known.insert(id.clone());
            }
        }
    }
    Ok(crate::model::check_event_ids(events, &known)?)
}

impl Args {
    fn keeps(&self, r: &Row) -> bool {
        (self.events.is_empty() || self.events.contains(&r.event))
            && (self.regions.is_empty() || self.regions.contains(&r.region))
            && (self.tiers.is_empty() || self.tiers.contains(&r.tier))
            && self.kind.as_deref().is_none_or(|k| k == r.kind)
    }
}

pub async fn exec(ws: &Workspace, g: &Global, args: Args) -> anyhow::Result<Exit> {
    check_events(ws, &args.events).await?;
    let stop = Shutdown::new();
    stop.on_signals();
    if g.output == Output::Text
        && !args.log
        && !args.no_follow
        && std::io::IsTerminal::is_terminal(&std::io::stdout())
    {
        return table(ws, &args, &stop).await;
    }
    let mut reader = None;
    let mut seq = 0;
    loop {
        if reader.is_none() {
            reader = Reader::open(&ws.state_dir)?;
            if let Some(r) = &reader
                && !args.replay
            {
                seq = r.last_seq()?;
            }
        }
        if let Some(r) = &reader {
            loop {
                let rows = r.after(seq, 1000)?;
                let Some(last) = rows.last() else { break };
                seq = last.seq;
                for row in rows.iter().filter(|x| args.keeps(x)) {
                    print_row(g.output, row);
                }
            }
        } else if args.no_follow || g.output == Output::Text && seq == 0 {
            if g.output == Output::Text {
                eprintln!(
                    "Nothing recorded yet in {}: `orchestrate run` records the health stream while it monitors.",
                    ws.state_dir.display()
                );
            }
            if args.no_follow {
                return Ok(Exit::Ok);
            }
            seq = -1;
        }
        if args.no_follow {
            return Ok(Exit::Ok);
        }
        tokio::select! {
            () = stop.graceful.cancelled() => return Ok(Exit::Ok),
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// Items of recent history the table starts from (about ten minutes of a few events).
const TABLE_HISTORY: i64 = 50_000;

/// The live table, redrawn every second until Ctrl-C.
async fn table(ws: &Workspace, args: &Args, stop: &Shutdown) -> anyhow::Result<Exit> {
    let mut board = Board::default();
    let mut reader = None;
    let mut seq = 0;
    loop {
        if reader.is_none()
            && let Some(r) = Reader::open(&ws.state_dir)?
        {
            seq = (r.last_seq()? - TABLE_HISTORY).max(0);
            for row in r
                .alerts_and_actions_upto(seq)?
                .iter()
                .filter(|x| args.keeps(x))
            {
                board.apply(&row.kind, &row.body);
            }
            reader = Some(r);
        }
        if let Some(r) = &reader {
            loop {
                let rows = r.after(seq, 5000)?;
                let Some(last) = rows.last() else { break };
                seq = last.seq;
                for row in rows.iter().filter(|x| args.keeps(x)) {
                    board.apply(&row.kind, &row.body);
                }
            }
        }
        // Home and clear, then the table: a terminal redraws it in place.
        print!(
            "\x1b[H\x1b[2J{}  (Ctrl-C to stop)\n\n{}",
            jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M:%S UTC"),
            board.render(jiff::Timestamp::now())
        );
        let _ = std::io::Write::flush(&mut std::io::stdout());
        tokio::select! {
            () = stop.graceful.cancelled() => return Ok(Exit::Ok),
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

fn print_row(output: Output, row: &Row) {
    if output == Output::Json {
        println!("{}", row.body);
        return;
    }
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&row.body) else {
        return;
    };
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("");
    let at = s("at").get(11..19).unwrap_or("");
    if row.kind == "action" {
        if let Ok(a) = serde_json::from_value::<crate::monitor::actions::ActionRecord>(v.clone()) {
            println!("{at}  {}", a.line());
        }
    } else if row.kind == "alert" {
        println!(
            "{at}  {:<8} {:<8} [{}] {}",
            s("state").to_uppercase(),
            s("severity"),
            s("id"),
            s("message")
        );
    } else {
        let rendition = match s("rendition") {
            "" => String::new(),
            r => format!("/{r}"),
        };
        let value = v.get("value").and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
        println!(
            "{at}  {:<7} {} {} {}{rendition}  {} = {}",
            row.tier,
            row.event,
            row.region,
            s("resource"),
            s("metric"),
            if value.fract() == 0.0 {
                format!("{value:.0}")
            } else {
                format!("{value:.3}")
            }
        );
    }
}
