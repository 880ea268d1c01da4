use clap::{Args as ClapArgs, ValueEnum};

use super::print_json;
use crate::config::{catalog::CatalogFile, profile::ProfileFile, schedule::ScheduleFile};
use crate::exit::Exit;

/// Print the JSON Schema of the file formats, for editor autocompletion.
#[derive(Debug, ClapArgs)]
#[command(after_help = "Examples:
  orchestrate schema schedule > .schema/schedule.json
  # then, for yaml-language-server, first line of a schedule:
  # yaml-language-server: $schema=../.schema/schedule.json")]
pub struct Args {
    /// Which format.
    #[arg(value_enum, default_value_t = Kind::Schedule)]
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Kind {
    Schedule,
    Profile,
    Catalog,
}

pub fn exec(args: Args) -> anyhow::Result<Exit> {
    let schema = match args.kind {
        Kind::Schedule => schemars::schema_for!(ScheduleFile),
        Kind::Profile => schemars::schema_for!(ProfileFile),
        Kind::Catalog => schemars::schema_for!(CatalogFile),
    };
    print_json(&schema)?;
    Ok(Exit::Ok)
}
