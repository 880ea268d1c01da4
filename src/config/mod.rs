//! Configuration files: parsing with positions (I/O here only), then pure validation into a
//! [`crate::model::Config`].

mod address;
pub mod catalog;
pub mod diagnostic;
pub mod locate;
pub mod profile;
pub mod rules;
pub mod schedule;
mod validate;
pub mod yaml;

use std::path::{Path, PathBuf};

pub use crate::model::{bitrate, duration};
pub use address::srt_listener;
pub use diagnostic::{Diagnostic, Diagnostics};
pub use rules::{Finding, ProviderRules, ProviderSet};
pub use validate::validate;

use crate::model::Config;

pub const API_VERSION: &str = "orchestrate/v1";

/// Files read from disk and parsed, not yet validated.
#[derive(Debug, Default)]
pub struct Parsed {
    pub schedules: Vec<(PathBuf, schedule::ScheduleFile)>,
    /// (file, profile name = file stem, content, source text)
    pub profiles: Vec<(PathBuf, String, profile::ProfileFile, String)>,
    /// (file, provider name = file stem, content, source text)
    pub catalogs: Vec<(PathBuf, String, catalog::CatalogFile, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no schedule files: {} holds no *.yaml file and no -s/--schedule was given", dir.display())]
    NoSchedules { dir: PathBuf },
    #[error(transparent)]
    Invalid(#[from] Diagnostics),
}

/// Loads the schedules given (or every `schedules/*.yaml` of the project), every profile and
/// every provider catalog of the project, and validates them together.
pub fn load(
    project: &Path,
    schedules: &[PathBuf],
    providers: &dyn ProviderSet,
) -> Result<Config, LoadError> {
    let parsed = parse_project(project, schedules)?;
    Ok(validate(&parsed, providers)?)
}

pub fn parse_project(project: &Path, schedules: &[PathBuf]) -> Result<Parsed, LoadError> {
    let schedule_files = if schedules.is_empty() {
        let dir = project.join("schedules");
        let files = yaml_files(&dir)?;
        if files.is_empty() {
            return Err(LoadError::NoSchedules { dir });
        }
        files
    } else {
        schedules.to_vec()
    };
    let mut diags = Diagnostics::default();
    let schedules = parse_all(schedule_files, &mut diags, no_hints)?;
    let profiles = parse_all(yaml_files(&project.join("profiles"))?, &mut diags, no_hints)?;
    let catalogs = parse_all(
        yaml_files(&project.join("providers"))?,
        &mut diags,
        catalog::unknown_fields_in,
    )?;
    diags.into_result()?;
    Ok(Parsed {
        schedules: schedules.into_iter().map(|(p, s, _)| (p, s)).collect(),
        profiles: named(profiles),
        catalogs: named(catalogs),
    })
}

/// Only the provider catalogs (for commands that act on recorded state, like `down`).
pub fn load_catalogs(
    project: &Path,
    providers: &dyn ProviderSet,
) -> Result<std::collections::BTreeMap<String, crate::model::Catalog>, LoadError> {
    let mut diags = Diagnostics::default();
    let catalogs = parse_all(
        yaml_files(&project.join("providers"))?,
        &mut diags,
        catalog::unknown_fields_in,
    )?;
    diags.into_result()?;
    let parsed = Parsed {
        catalogs: named(catalogs),
        ..Parsed::default()
    };
    Ok(validate(&parsed, providers)?.catalogs)
}

/// Reads and parses every file: the parsed ones come back with their text (for positions in
/// later validation), the others as diagnostics, with what `hints` adds of a file that failed.
/// An unreadable file stops the load.
fn parse_all<T: serde::de::DeserializeOwned>(
    paths: Vec<PathBuf>,
    diags: &mut Diagnostics,
    hints: fn(&Path, &str) -> Vec<Diagnostic>,
) -> Result<Vec<(PathBuf, T, String)>, LoadError> {
    let mut out = Vec::with_capacity(paths.len());
    for path in paths {
        let text = read(&path)?;
        match yaml::parse(&path, &text) {
            Ok(v) => out.push((path, v, text)),
            Err(d) => {
                diags.push(d);
                for h in hints(&path, &text) {
                    diags.push(h);
                }
            }
        }
    }
    Ok(out)
}

fn no_hints(_: &Path, _: &str) -> Vec<Diagnostic> {
    Vec::new()
}

/// Names each document after its file (`profiles/hd.yaml` is the profile `hd`).
fn named<T>(docs: Vec<(PathBuf, T, String)>) -> Vec<(PathBuf, String, T, String)> {
    docs.into_iter()
        .map(|(p, v, t)| {
            let name = stem(&p);
            (p, name, v, t)
        })
        .collect()
}

fn read(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `*.yaml` and `*.yml` directly in `dir`, sorted; a missing directory holds none.
pub fn yaml_files(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LoadError::Io {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        })
        .collect();
    files.sort();
    Ok(files)
}
