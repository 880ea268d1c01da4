//! The sim's own record of what exists, in memory for speed and written through to SQLite so
//! that it outlives the process (a crashed run's resources are still "in the cloud").

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use rusqlite::params;
use serde::Serialize;

use crate::model::ResourceSpec;
use crate::sqlite::{GroupCommit, Priority, WriterError, exec, open_store};

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("cannot open the sim inventory in {}", dir.display())]
    Open {
        dir: std::path::PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("sim inventory write failed")]
    Write(#[from] WriterError),
}

#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub provider_id: String,
    pub kind: crate::model::Kind,
    pub region: String,
    pub name: String,
    pub client_token: String,
    pub tags: BTreeMap<String, String>,
    pub requested_at_ms: i64,
    pub ready_at_ms: i64,
    pub gone_at_ms: Option<i64>,
}

impl Item {
    pub fn status(&self, now: i64) -> &'static str {
        match self.gone_at_ms {
            Some(_) => "deleting",
            None if now < self.ready_at_ms => "creating",
            None => "available",
        }
    }
}

#[derive(Default)]
struct Maps {
    items: HashMap<String, Item>,
    by_token: HashMap<String, String>,
}

pub struct Inventory {
    maps: Mutex<Maps>,
    writer: GroupCommit,
}

// Identity, tags and timing: what leak checks and `sweep` need. The sim does not keep the
// definitions it was given.
const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS items (
    provider_id TEXT PRIMARY KEY, kind TEXT NOT NULL, region TEXT NOT NULL, name TEXT NOT NULL,
    client_token TEXT NOT NULL, tags TEXT NOT NULL,
    requested_at_ms INTEGER NOT NULL, ready_at_ms INTEGER NOT NULL, gone_at_ms INTEGER
) WITHOUT ROWID";

fn no_op(_: &rusqlite::Connection) -> rusqlite::Result<()> {
    Ok(())
}

pub fn now_ms() -> i64 {
    crate::clock::now().as_millisecond()
}

pub async fn sleep_until_ms(at: i64) {
    let wait = at - now_ms();
    if wait > 0 {
        tokio::time::sleep(crate::clock::real(Duration::from_millis(wait as u64))).await;
    }
}

impl Inventory {
    pub fn open(dir: &Path) -> Result<Self, InventoryError> {
        let fail = |e: Box<dyn std::error::Error + Send + Sync>| InventoryError::Open {
            dir: dir.to_path_buf(),
            source: e,
        };
        let conn = open_store(dir, "inventory.db", SCHEMA).map_err(fail)?;
        let mut maps = Maps::default();
        {
            let mut stmt = conn
                .prepare("SELECT provider_id, kind, region, name, client_token, tags, requested_at_ms, ready_at_ms, gone_at_ms FROM items")
                .map_err(|e| fail(e.into()))?;
            let rows = stmt
                .query_map([], |r| {
                    Ok(Item {
                        provider_id: r.get(0)?,
                        kind: r.get(1)?,
                        region: r.get(2)?,
                        name: r.get(3)?,
                        client_token: r.get(4)?,
                        tags: serde_json::from_str(&r.get::<_, String>(5)?).unwrap_or_default(),
                        requested_at_ms: r.get(6)?,
                        ready_at_ms: r.get(7)?,
                        gone_at_ms: r.get(8)?,
                    })
                })
                .map_err(|e| fail(e.into()))?;
            for item in rows {
                let item = item.map_err(|e| fail(e.into()))?;
                maps.by_token
                    .insert(item.client_token.clone(), item.provider_id.clone());
                maps.items.insert(item.provider_id.clone(), item);
            }
        }
        let writer = GroupCommit::spawn(conn, "sim", no_op).map_err(|e| fail(e.into()))?;
        Ok(Self {
            maps: Mutex::new(maps),
            writer,
        })
    }

    fn maps(&self) -> std::sync::MutexGuard<'_, Maps> {
        self.maps.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, provider_id: &str) -> Option<Item> {
        self.maps().items.get(provider_id).cloned()
    }

    /// The live (not deleting) resource a create with this token made, if any.
    pub fn by_token(&self, token: &str) -> Option<Item> {
        let m = self.maps();
        m.by_token
            .get(token)
            .and_then(|id| m.items.get(id))
            .filter(|i| i.gone_at_ms.is_none())
            .cloned()
    }

    pub fn all(&self) -> Vec<Item> {
        let mut v: Vec<Item> = self.maps().items.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name).then(a.provider_id.cmp(&b.provider_id)));
        v
    }

    /// Records a new resource. The write is queued before this returns; the future resolves
    /// once it is durable (the sim awaits it before reporting the resource created).
    pub fn insert(
        &self,
        spec: &ResourceSpec,
        token: &str,
        latency: Duration,
    ) -> (
        Item,
        impl std::future::Future<Output = Result<(), InventoryError>> + Send + 'static,
    ) {
        let now = now_ms();
        let item = Item {
            provider_id: format!(
                "sim-{}-{:012x}",
                spec.kind,
                rand::rng().random::<u64>() >> 16
            ),
            kind: spec.kind,
            region: spec.region.clone(),
            name: spec.id.0.clone(),
            client_token: token.to_string(),
            tags: spec.tags.clone(),
            requested_at_ms: now,
            ready_at_ms: now + latency.as_millis() as i64,
            gone_at_ms: None,
        };
        {
            let mut m = self.maps();
            m.by_token
                .insert(token.to_string(), item.provider_id.clone());
            m.items.insert(item.provider_id.clone(), item.clone());
        }
        let row = item.clone();
        let tags = serde_json::to_string(&row.tags).unwrap_or_default();
        let queued = self.writer.submit(Priority::Urgent { rank: 0 }, move |c| {
            exec(
                c,
                "INSERT INTO items VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL)",
                params![
                    row.provider_id,
                    row.kind,
                    row.region,
                    row.name,
                    row.client_token,
                    tags,
                    row.requested_at_ms,
                    row.ready_at_ms
                ],
            )
            .map(|_| ())
        });
        (
            item,
            async move { queued.await.map_err(InventoryError::from) },
        )
    }

    /// The resource an update applies to (the sim keeps no definitions, so nothing changes).
    pub fn update(&self, id: &str) -> Option<Item> {
        self.get(id)
    }

    /// Starts (or joins) a deletion; returns when the resource will be gone.
    pub async fn mark_deleting(&self, id: &str, latency: Duration) -> Result<i64, InventoryError> {
        let gone_at = {
            let mut m = self.maps();
            let Some(item) = m.items.get_mut(id) else {
                return Ok(now_ms());
            };
            if let Some(at) = item.gone_at_ms {
                return Ok(at);
            }
            // A resource still being created is deleted once it exists.
            let at = now_ms().max(item.ready_at_ms) + latency.as_millis() as i64;
            item.gone_at_ms = Some(at);
            at
        };
        let id = id.to_string();
        self.writer
            .run(move |c| {
                exec(
                    c,
                    "UPDATE items SET gone_at_ms=?2 WHERE provider_id=?1",
                    params![id, gone_at],
                )
                .map(|_| ())
            })
            .await?;
        Ok(gone_at)
    }

    pub async fn remove(&self, id: &str) -> Result<(), InventoryError> {
        {
            let mut m = self.maps();
            if let Some(item) = m.items.remove(id) {
                m.by_token.remove(&item.client_token);
            }
        }
        let id = id.to_string();
        self.writer
            .run(move |c| exec(c, "DELETE FROM items WHERE provider_id=?1", [&id]).map(|_| ()))
            .await?;
        Ok(())
    }
}
