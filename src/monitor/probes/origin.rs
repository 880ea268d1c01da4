//! T2: each rendition's playlist at the origin, reloaded as RFC 8216 tells a client to (one
//! target duration after it changed, half of one after it did not): is it moving, are its new
//! segments the right length and fetchable, did a discontinuity appear?

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Emitter, OriginHeads, fetch, hls};
use crate::monitor::{Metric, Signal};

/// Watches every rendition of the master playlist at `master_url` until `stop`.
pub async fn run(
    client: reqwest::Client,
    emitter: Emitter,
    master_url: String,
    target_s: f64,
    heads: std::sync::Arc<OriginHeads>,
    tx: mpsc::Sender<Signal>,
    stop: CancellationToken,
) {
    let Some(variants) =
        super::renditions(&client, &emitter, &master_url, target_s, &tx, &stop).await
    else {
        return;
    };
    let mut set = tokio::task::JoinSet::new();
    for super::Rendition { name, url, .. } in variants {
        let (client, tx, stop) = (client.clone(), tx.clone(), stop.clone());
        let emitter = emitter.rendition(&name);
        let heads = heads.clone();
        set.spawn(async move {
            rendition(client, emitter, &name, url, target_s, &heads, tx, stop).await;
        });
    }
    while set.join_next().await.is_some() {}
}

/// What one rendition's last reloads showed.
struct Seen {
    next_sequence: u64,
    discontinuities: u64,
    /// When the playlist last gained a segment (as closely as the reloads and the origin's
    /// Last-Modified tell).
    changed_at: Timestamp,
}

#[allow(clippy::too_many_arguments)]
async fn rendition(
    client: reqwest::Client,
    e: Emitter,
    name: &str,
    url: String,
    target_s: f64,
    heads: &OriginHeads,
    tx: mpsc::Sender<Signal>,
    stop: CancellationToken,
) {
    let s = e.series(&[
        Metric::PlaylistUp,
        Metric::PlaylistAgeS,
        Metric::MediaSequence,
        Metric::SegmentDurationErrorS,
        Metric::SegmentUp,
        Metric::Discontinuities,
        Metric::OriginProbeError,
    ]);
    let [up, age, seq, dur_err, seg_up, disc, probe_err] = s.as_slice() else {
        return;
    };
    let mut seen: Option<Seen> = None;
    let mut last_reload: Option<Timestamp> = None;
    loop {
        let began = tokio::time::Instant::now();
        let now = Timestamp::now();
        let mut out = Vec::new();
        let mut changed = false;
        match fetch(&client, &url).await {
            Ok(r) => match hls::parse(&String::from_utf8_lossy(&r.body)) {
                Ok(p) => {
                    out.push(Signal::new(up, now, 1.0));
                    let next = p.next_sequence();
                    heads.set(name, &e.resource(), next);
                    let at = published_at(now, r.last_modified, p.newest_end(), last_reload);
                    match &mut seen {
                        None => {
                            seen = Some(Seen {
                                next_sequence: next,
                                discontinuities: p.discontinuities(),
                                changed_at: at,
                            });
                            changed = true;
                        }
                        Some(s) if next > s.next_sequence => {
                            let fresh = (next - s.next_sequence).min(p.segments.len() as u64);
                            let new = &p.segments[p.segments.len() - fresh as usize..];
                            let err = new
                                .iter()
                                .map(|g| (g.duration_s - target_s).abs())
                                .fold(0.0, f64::max);
                            out.push(Signal::new(dur_err, now, err));
                            out.push(Signal::new(
                                disc,
                                now,
                                p.discontinuities().saturating_sub(s.discontinuities) as f64,
                            ));
                            s.next_sequence = next;
                            s.discontinuities = p.discontinuities();
                            s.changed_at = at;
                            changed = true;
                        }
                        Some(_) => {}
                    }
                    if changed && let Some(newest) = p.segments.last() {
                        let ok = fetch(&client, &hls::resolve(&url, &newest.uri))
                            .await
                            .is_ok_and(|r| !r.body.is_empty());
                        out.push(Signal::new(seg_up, now, f64::from(u8::from(ok))));
                    }
                    out.push(Signal::new(seq, now, next.saturating_sub(1) as f64));
                }
                Err(_) => out.push(Signal::new(up, now, 0.0)),
            },
            // Our own failure says nothing of the playlist: no reading this time.
            Err(e) if crate::http::failed_locally(&e) => {
                out.push(Signal::new(probe_err, now, 1.0));
            }
            Err(_) => out.push(Signal::new(up, now, 0.0)),
        }
        if let Some(s) = &seen {
            let a = now.duration_since(s.changed_at).as_secs_f64().max(0.0);
            out.push(Signal::new(age, now, a));
        }
        for sig in out {
            if tx.send(sig).await.is_err() {
                return;
            }
        }
        last_reload = Some(now);
        if !super::next_reload(began, changed, target_s, &stop).await {
            return;
        }
    }
}

/// When the newest segment was published, as closely as can be told: its capture end from
/// the program date-time (to the millisecond, if the encoder's clock agrees with ours), kept
/// between the last reload that did not list it and a second after the origin's
/// `Last-Modified` (whole seconds) or now. Staleness is measured from here.
fn published_at(
    now: Timestamp,
    last_modified: Option<Timestamp>,
    captured_end: Option<Timestamp>,
    last_reload: Option<Timestamp>,
) -> Timestamp {
    let hi = last_modified.map_or(now, |lm| now.min(lm + jiff::SignedDuration::from_secs(1)));
    match (captured_end, last_reload) {
        (Some(end), Some(lo)) if lo <= hi => end.clamp(lo, hi),
        (Some(end), _) => end.min(hi),
        (None, _) => hi,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn publication_is_the_capture_end_within_what_the_reloads_saw() {
        // The capture end is believed where it falls between the reloads.
        assert_eq!(published_at(t(10), None, Some(t(8)), Some(t(7))), t(8));
        // Not earlier than the reload that did not list the segment yet.
        assert_eq!(published_at(t(10), None, Some(t(3)), Some(t(7))), t(7));
        // Not later than now, nor than a second past Last-Modified.
        assert_eq!(published_at(t(10), None, Some(t(12)), Some(t(7))), t(10));
        assert_eq!(published_at(t(10), Some(t(8)), Some(t(12)), None), t(9));
        // Without a program date-time: Last-Modified's bound, or now.
        assert_eq!(published_at(t(10), Some(t(5)), None, Some(t(7))), t(6));
        assert_eq!(published_at(t(10), None, None, None), t(10));
    }
}
