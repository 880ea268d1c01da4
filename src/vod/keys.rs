//! Content keys, and the `local` key provider: one key per event, generated on first use and
//! kept in the state dir encrypted at rest (AES-256-GCM under a master key readable by its
//! owner only). A key never reaches a log, a plan, a state dump or an error: its `Debug` is
//! redacted and errors name the event, not the key.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::files::create_private;

/// A 128-bit content key and its id, as CENC, cbcs and AES-128 HLS use them.
#[derive(Clone, PartialEq, Eq)]
pub struct ContentKey {
    pub key_id: [u8; 16],
    pub key: [u8; 16],
    /// The IV for AES-128 HLS; CENC and cbcs choose their own per sample.
    pub iv: [u8; 16],
}

impl fmt::Debug for ContentKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ContentKey {{ key_id: {}, key: <redacted> }}",
            hex::encode(self.key_id)
        )
    }
}

impl ContentKey {
    pub fn generate() -> Self {
        let mut r = rand::rng();
        Self {
            key_id: r.random(),
            key: r.random(),
            iv: r.random(),
        }
    }
    pub fn key_id_hex(&self) -> String {
        hex::encode(self.key_id)
    }
    /// The key in hex, for the tool that encrypts with it; never for display.
    pub fn key_hex(&self) -> String {
        hex::encode(self.key)
    }
    pub fn iv_hex(&self) -> String {
        hex::encode(self.iv)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key store in {dir}")]
    Io {
        dir: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "the stored key of event `{event}` cannot be decrypted (wrong master key or a damaged file)"
    )]
    Damaged { event: String },
}

/// `<state>/keys/`: `master.key` (mode 0600) and one sealed key per event.
pub struct LocalKeys {
    dir: PathBuf,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    key_id: String,
    nonce: String,
    /// key ‖ iv, encrypted and authenticated with the event id as associated data.
    sealed: String,
}

impl LocalKeys {
    pub fn new(state_dir: &Path) -> Self {
        Self {
            dir: state_dir.join("keys"),
        }
    }

    fn io(&self, source: io::Error) -> KeyError {
        KeyError::Io {
            dir: self.dir.clone(),
            source,
        }
    }

    /// The key stored under `label` whose id is `key_id`, if there is one; never makes one.
    pub fn find(&self, key_id: &[u8; 16]) -> Result<Option<(String, ContentKey)>, KeyError> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Ok(None);
        };
        let want = hex::encode(key_id);
        for entry in dir.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(label) = name.strip_suffix(".json") else {
                continue;
            };
            let sealed: Option<Sealed> = std::fs::read(entry.path())
                .ok()
                .and_then(|b| serde_json::from_slice(&b).ok());
            if sealed.is_some_and(|s| s.key_id == want) {
                return Ok(Some((label.to_string(), self.key_for(label)?)));
            }
        }
        Ok(None)
    }

    /// The key stored under `label`, if there is one; never makes one.
    pub fn existing(&self, label: &str) -> Result<Option<ContentKey>, KeyError> {
        if !self.dir.join(format!("{label}.json")).is_file() {
            return Ok(None);
        }
        self.key_for(label).map(Some)
    }

    /// The event's key: the stored one, or a new one stored first.
    pub fn key_for(&self, event: &str) -> Result<ContentKey, KeyError> {
        let cipher = Aes256Gcm::new_from_slice(&self.master()?).map_err(|_| KeyError::Damaged {
            event: event.to_string(),
        })?;
        let path = self.dir.join(format!("{event}.json"));
        if let Ok(bytes) = std::fs::read(&path) {
            let damaged = || KeyError::Damaged {
                event: event.to_string(),
            };
            let s: Sealed = serde_json::from_slice(&bytes).map_err(|_| damaged())?;
            let nonce = hex::decode(&s.nonce).map_err(|_| damaged())?;
            if nonce.len() != 12 {
                return Err(damaged());
            }
            let plain = cipher
                .decrypt(
                    Nonce::from_slice(&nonce),
                    aes_gcm::aead::Payload {
                        msg: &hex::decode(&s.sealed).map_err(|_| damaged())?,
                        aad: event.as_bytes(),
                    },
                )
                .map_err(|_| damaged())?;
            let key_id: [u8; 16] = hex::decode(&s.key_id)
                .ok()
                .and_then(|k| k.try_into().ok())
                .ok_or_else(damaged)?;
            if plain.len() != 32 {
                return Err(damaged());
            }
            let mut key = [0u8; 16];
            let mut iv = [0u8; 16];
            key.copy_from_slice(&plain[..16]);
            iv.copy_from_slice(&plain[16..]);
            return Ok(ContentKey { key_id, key, iv });
        }
        let k = ContentKey::generate();
        let nonce: [u8; 12] = rand::rng().random();
        let mut plain = k.key.to_vec();
        plain.extend_from_slice(&k.iv);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                aes_gcm::aead::Payload {
                    msg: &plain,
                    aad: event.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Damaged {
                event: event.to_string(),
            })?;
        let file = Sealed {
            key_id: k.key_id_hex(),
            nonce: hex::encode(nonce),
            sealed: hex::encode(sealed),
        };
        // Two hand-offs of one event (one per region) may get here at once: the first key stored
        // is the event's, and the other caller reads it.
        let bytes = serde_json::to_vec_pretty(&file).unwrap_or_default();
        if create_private(&path, &bytes).map_err(|e| self.io(e))? {
            Ok(k)
        } else {
            self.key_for(event)
        }
    }

    fn master(&self) -> Result<[u8; 32], KeyError> {
        let path = self.dir.join("master.key");
        match std::fs::read(&path) {
            Ok(b) => b.try_into().map_err(|_| KeyError::Damaged {
                event: "(master key)".into(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let k: [u8; 32] = rand::rng().random();
                if create_private(&path, &k).map_err(|e| self.io(e))? {
                    Ok(k)
                } else {
                    self.master()
                }
            }
            Err(e) => Err(self.io(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_stable_per_event_sealed_at_rest_and_never_printed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = LocalKeys::new(dir.path());
        let a = keys.key_for("cup-final").expect("key");
        assert_eq!(keys.key_for("cup-final").expect("again"), a);
        assert_ne!(keys.key_for("derby").expect("other"), a);
        let stored = std::fs::read_to_string(dir.path().join("keys/cup-final.json")).expect("file");
        assert!(
            !stored.contains(&a.key_hex()),
            "the key is not stored in clear"
        );
        assert!(!format!("{a:?}").contains(&a.key_hex()));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("keys/master.key"))
            .expect("master")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn concurrent_first_uses_agree_on_one_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys: Vec<ContentKey> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|_| s.spawn(|| LocalKeys::new(dir.path()).key_for("show").expect("key")))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        assert!(keys.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(
            LocalKeys::new(dir.path()).key_for("show").expect("again"),
            keys[0]
        );
    }

    #[test]
    fn a_tampered_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = LocalKeys::new(dir.path());
        keys.key_for("e").expect("key");
        let path = dir.path().join("keys/e.json");
        let text = std::fs::read_to_string(&path).expect("file");
        let mut s: serde_json::Value = serde_json::from_str(&text).expect("json");
        let sealed = s["sealed"].as_str().expect("sealed").to_string();
        let flipped = format!(
            "{}{}",
            if sealed.starts_with('0') { "1" } else { "0" },
            &sealed[1..]
        );
        s["sealed"] = flipped.into();
        std::fs::write(&path, s.to_string()).expect("write");
        assert!(matches!(keys.key_for("e"), Err(KeyError::Damaged { .. })));
    }
}
