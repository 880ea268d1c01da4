//! Where the local provider keeps things, under `<state>/local/`:
//!
//! ```text
//! <region>/<event>/<resource>/record.json   what was created (the local provider's "tags")
//! <region>/<event>/<resource>/pid.json      the resource's process, with its start time
//! <region>/<event>/<resource>/log           its stdout and stderr
//! <region>/<event>/media/<pipeline>/        what the encoder writes and the origin serves
//! ```
//!
//! The record is the source of truth `list` and `sweep` read, as tags are on a cloud.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::files::write_atomic;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub provider_id: String,
    pub kind: crate::model::Kind,
    pub region: String,
    pub event: String,
    pub name: String,
    pub client_token: String,
    pub tags: BTreeMap<String, String>,
    pub definition: Value,
    pub outputs: Value,
}

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            root: state_dir.join("local"),
        }
    }

    pub fn region_dir(&self, region: &str) -> PathBuf {
        self.root.join(region)
    }

    pub fn event_dir(&self, region: &str, event: &str) -> PathBuf {
        self.region_dir(region).join(event)
    }

    pub fn resource_dir(&self, region: &str, event: &str, name: &str) -> PathBuf {
        self.event_dir(region, event).join(name)
    }

    /// `media/<pipeline>` of an event: `a`/`b` for dual pipelines, `main` otherwise.
    pub fn media_dir(&self, region: &str, event: &str) -> PathBuf {
        self.event_dir(region, event).join("media")
    }

    /// The directory a provider id names; `None` for an id that is not one of ours.
    pub fn dir_of(&self, provider_id: &str) -> Option<PathBuf> {
        let parts: Vec<&str> = provider_id.split('/').collect();
        let safe = |p: &&str| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\\');
        (parts.len() == 3 && parts.iter().all(safe)).then(|| self.root.join(provider_id))
    }

    pub fn read(&self, dir: &Path) -> Option<Record> {
        serde_json::from_slice(&fs::read(dir.join("record.json")).ok()?).ok()
    }

    pub fn write(&self, dir: &Path, rec: &Record) -> io::Result<()> {
        fs::create_dir_all(dir)?;
        write_atomic(
            &dir.join("record.json"),
            &serde_json::to_vec_pretty(rec).unwrap_or_default(),
        )
    }

    /// Every record under the root.
    pub fn records(&self) -> Vec<(PathBuf, Record)> {
        let mut out = Vec::new();
        for region in subdirs(&self.root) {
            for event in subdirs(&region) {
                for res in subdirs(&event) {
                    if let Some(r) = self.read(&res) {
                        out.push((res, r));
                    }
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// Removes `dir` and then each parent up to the root that it left empty.
    pub fn remove(&self, dir: &Path) -> io::Result<()> {
        match fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // The root goes too once empty: nothing of the local provider is left after `down`.
        let mut p = dir.parent();
        while let Some(d) = p {
            if !d.starts_with(&self.root) || fs::remove_dir(d).is_err() {
                break;
            }
            p = d.parent();
        }
        Ok(())
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = fs::read_dir(dir) else {
        return Vec::new();
    };
    rd.filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_ids_cannot_leave_the_root() {
        let l = Layout::new(Path::new("/s"));
        assert_eq!(
            l.dir_of("eu/cup/origin"),
            Some(PathBuf::from("/s/local/eu/cup/origin"))
        );
        for bad in ["../x/y", "a/../b", "a/b", "a/b/c/d", "a//b", "/a/b"] {
            assert_eq!(l.dir_of(bad), None, "{bad}");
        }
    }
}
