//! Confidence thumbnails: a still of each place's stream as viewers get it, taken from the
//! edge by ffmpeg (the first rendition's newest segment) and kept a few seconds, so that any
//! number of consoles cost one ffmpeg run per place every few seconds.

use std::collections::HashMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::Mutex;

/// How long a still is served before a new one is taken.
const FRESH: Duration = Duration::from_secs(4);
/// A still that takes longer than this is given up (the edge is slow or the stream gone).
const TIMEOUT: Duration = Duration::from_secs(8);

/// One place's last still and when it was taken.
type Slot = Arc<Mutex<Option<(Instant, Arc<Vec<u8>>)>>>;

#[derive(Default)]
pub struct Thumbs {
    /// Per place: the last still and when it was taken. The lock is held while one is taken,
    /// so that concurrent requests for the same place wait for it rather than run ffmpeg twice.
    cache: std::sync::Mutex<HashMap<String, Slot>>,
}

impl Thumbs {
    /// A JPEG still of `edge_master`, at most a few seconds old.
    pub async fn still(&self, key: &str, edge_master: &str) -> Result<Arc<Vec<u8>>, String> {
        let slot = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone();
        let mut held = slot.lock().await;
        if let Some((at, jpeg)) = held.as_ref()
            && at.elapsed() < FRESH
        {
            return Ok(jpeg.clone());
        }
        let jpeg = Arc::new(take(edge_master).await?);
        *held = Some((Instant::now(), jpeg.clone()));
        Ok(jpeg)
    }
}

async fn take(url: &str) -> Result<Vec<u8>, String> {
    let (ffmpeg, _) = crate::tools::media_tools();
    let child = tokio::process::Command::new(&ffmpeg)
        .args(["-hide_banner", "-nostdin", "-loglevel", "error"])
        // The newest segment of the first variant: ffmpeg fetches only the streams it maps.
        .args(["-live_start_index", "-1", "-i", url])
        .args(["-map", "0:v:0", "-frames:v", "1", "-vf", "scale=320:-2"])
        .args(["-f", "mjpeg", "pipe:1"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", ffmpeg.display()))?;
    let out = tokio::time::timeout(TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| format!("no still within {} s", TIMEOUT.as_secs()))?
        .map_err(|e| e.to_string())?;
    if !out.status.success() || out.stdout.is_empty() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "ffmpeg could not take a still: {}",
            err.lines().last().unwrap_or("no output")
        ));
    }
    Ok(out.stdout)
}
