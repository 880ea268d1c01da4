//! Writing files so that readers never see half of one, and secrets so that only their owner
//! can read them.

use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

/// Writes through a temporary file and a rename, so readers never see half a file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// Like [`write_atomic`], for secrets: the file is readable and writable by its owner only from
/// the moment it exists, and a missing folder is made owner-only too.
pub fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Creates `path` with `bytes`, owner-only, unless it exists: `Ok(false)` then, and the file is
/// left as it is. Concurrent callers agree on one content: the file appears whole, once (a
/// hard link of a finished temporary file, which fails if the name is taken).
pub fn create_private(path: &Path, bytes: &[u8]) -> io::Result<bool> {
    let tmp = path.with_extension(format!(
        "{}.{:x}.tmp",
        std::process::id(),
        rand::random::<u64>()
    ));
    write_private(&tmp, bytes)?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

/// A bearer token kept (0600) in `path`, made on first use.
pub fn token(path: &Path) -> io::Result<String> {
    if let Ok(t) = std::fs::read_to_string(path)
        && !t.trim().is_empty()
    {
        return Ok(t.trim().to_string());
    }
    use rand::Rng;
    let bytes: [u8; 32] = rand::rng().random();
    let t = hex::encode(bytes);
    write_private(path, t.as_bytes())?;
    Ok(t)
}
