//! T3 and T4 through the edge, one task per rendition: the edge's playlist (status, time to
//! first byte, cache hits, how far it lags the origin's) and a player's view of it (every new
//! segment downloaded in order, timed against its duration, with a buffer that can run dry).

use std::collections::VecDeque;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{Emitter, OriginHeads, fetch, hls};
use crate::monitor::{Metric, Signal, Tier};

/// A player starts this many target durations behind the live edge (RFC 8216 6.3.3).
const START_BEHIND: f64 = 3.0;
/// Cache answers the hit ratio is taken over.
const HIT_WINDOW: usize = 20;

pub struct EdgeProbe {
    pub master_url: String,
    pub target_s: f64,
    pub tiers: Vec<Tier>,
    pub heads: Arc<OriginHeads>,
}

pub async fn run(
    client: reqwest::Client,
    emitter: Emitter,
    probe: EdgeProbe,
    tx: mpsc::Sender<Signal>,
    stop: CancellationToken,
) {
    let Some(variants) = super::renditions(
        &client,
        &emitter,
        &probe.master_url,
        probe.target_s,
        &tx,
        &stop,
    )
    .await
    else {
        return;
    };
    let probe = Arc::new(probe);
    let mut set = tokio::task::JoinSet::new();
    for super::Rendition { name, url, .. } in variants {
        let (client, tx, stop, probe) = (client.clone(), tx.clone(), stop.clone(), probe.clone());
        let emitter = emitter.rendition(&name);
        set.spawn(async move { rendition(client, emitter, name, url, &probe, tx, stop).await });
    }
    while set.join_next().await.is_some() {}
}

/// The player's state for one rendition.
struct Player {
    next: u64,
    /// Until when the media it holds lasts, on the wall clock; `None` until it starts playing.
    buffer_end: Option<Timestamp>,
    /// The capture end of the last segment it played, where the playlist dates its segments.
    played_until: Option<Timestamp>,
}

/// Where a player that played up to `until` (capture time) goes on in `p`: the first segment
/// mostly after it, and how much capture time is skipped to reach it. A failover switches
/// the edge to a pipeline that numbers its segments on its own; capture time is what the
/// pipelines share.
fn resume(p: &hls::LivePlaylist, until: Timestamp) -> Option<(usize, f64)> {
    let starts = p.starts();
    p.segments
        .iter()
        .zip(&starts)
        .position(|(seg, start)| {
            start.is_some_and(|s| s + SignedDuration::from_secs_f64(seg.duration_s / 2.0) > until)
        })
        .and_then(|i| {
            let start = starts[i]?;
            Some((i, start.duration_since(until).as_secs_f64().max(0.0)))
        })
}

impl Player {
    fn stalled(&self, at: Timestamp) -> bool {
        self.buffer_end.is_some_and(|end| at > end)
    }
}

async fn rendition(
    client: reqwest::Client,
    e: Emitter,
    name: String,
    url: String,
    probe: &EdgeProbe,
    tx: mpsc::Sender<Signal>,
    stop: CancellationToken,
) {
    let edge = probe.tiers.contains(&Tier::Edge);
    let viewer = probe.tiers.contains(&Tier::Viewer);
    let s = e.series(&[
        Metric::EdgeUp,
        Metric::EdgeStatus,
        Metric::EdgeTtfbMs,
        Metric::EdgeHitRatio,
        Metric::EdgeLagSegments,
        Metric::EdgeProbeError,
    ]);
    let [up, status, ttfb, hits, lag, probe_err] = s.as_slice() else {
        return;
    };
    let v = e.with_tier(Tier::Viewer, "viewer").series(&[
        Metric::ViewerDownloadRatio,
        Metric::ViewerStall,
        Metric::ViewerGapS,
    ]);
    let [ratio, stall, gap] = v.as_slice() else {
        return;
    };
    let mut recent: VecDeque<bool> = VecDeque::new();
    let mut player: Option<Player> = None;
    let mut last_next = None;
    loop {
        let began = tokio::time::Instant::now();
        let now = Timestamp::now();
        let mut out = Vec::new();
        let mut changed = false;
        let got = fetch(&client, &url).await;
        let parsed = got
            .as_ref()
            .ok()
            .filter(|r| r.status.is_success())
            .and_then(|r| hls::parse(&String::from_utf8_lossy(&r.body)).ok());
        if edge {
            match &got {
                Ok(r) => {
                    out.push(Signal::new(status, now, f64::from(r.status.as_u16())));
                    out.push(Signal::new(ttfb, now, r.ttfb.as_secs_f64() * 1000.0));
                    out.push(Signal::new(up, now, f64::from(u8::from(parsed.is_some()))));
                    if let Some(hit) = r.cache_hit {
                        recent.push_back(hit);
                        if recent.len() > HIT_WINDOW {
                            recent.pop_front();
                        }
                        let n = recent.iter().filter(|h| **h).count();
                        out.push(Signal::new(hits, now, n as f64 / recent.len() as f64));
                    }
                }
                // Our own failure says nothing of the edge: no reading this time.
                Err(e) if crate::http::failed_locally(e) => {
                    out.push(Signal::new(probe_err, now, 1.0));
                }
                Err(_) => out.push(Signal::new(up, now, 0.0)),
            }
        }
        if let Some(p) = &parsed {
            let next = p.next_sequence();
            changed = last_next != Some(next);
            last_next = Some(next);
            if edge && let Some(behind) = probe.heads.lag(&name, next) {
                out.push(Signal::new(lag, now, behind as f64));
            }
            if viewer {
                play(
                    &client,
                    &url,
                    p,
                    probe.target_s,
                    &mut player,
                    &mut out,
                    [ratio, stall, gap],
                )
                .await;
            }
        } else if viewer
            && let Some(pl) = &player
            && !got.as_ref().is_err_and(crate::http::failed_locally)
        {
            out.push(Signal::new(
                stall,
                now,
                f64::from(u8::from(pl.stalled(now))),
            ));
        }
        for sig in out {
            if tx.send(sig).await.is_err() {
                return;
            }
        }
        if !super::next_reload(began, changed, probe.target_s, &stop).await {
            return;
        }
    }
}

/// Downloads the segments the player has not had yet, oldest first, as a player does.
async fn play(
    client: &reqwest::Client,
    url: &str,
    p: &hls::LivePlaylist,
    target_s: f64,
    player: &mut Option<Player>,
    out: &mut Vec<Signal>,
    [ratio, stall, gap]: [&Arc<crate::monitor::Series>; 3],
) {
    let now = Timestamp::now();
    let behind = START_BEHIND as u64;
    if player.is_none() && (p.segments.len() as u64) < behind {
        // A player waits for enough of the stream to start that far back.
        return;
    }
    let pl = player.get_or_insert_with(|| Player {
        next: p.next_sequence() - behind,
        buffer_end: None,
        played_until: None,
    });
    let first = match pl.played_until.and_then(|until| resume(p, until)) {
        Some((i, skipped)) => {
            out.push(Signal::new(gap, now, skipped));
            pl.next = p.media_sequence + i as u64;
            i
        }
        None if pl.played_until.is_some() && p.newest_end().is_some() => {
            // Nothing after what was played yet.
            out.push(Signal::new(gap, now, 0.0));
            p.segments.len()
        }
        None => {
            if p.media_sequence > pl.next {
                // Segments slid out of the playlist before the player could fetch them.
                let missed = (p.media_sequence - pl.next) as f64 * target_s;
                out.push(Signal::new(gap, now, missed));
                pl.next = p.media_sequence;
            } else {
                out.push(Signal::new(gap, now, 0.0));
            }
            (pl.next - p.media_sequence) as usize
        }
    };
    let starts = p.starts();
    for (seg, start) in p.segments.iter().zip(&starts).skip(first) {
        let t0 = std::time::Instant::now();
        let ok = fetch(client, &hls::resolve(url, &seg.uri))
            .await
            .is_ok_and(|r| r.status.is_success() && !r.body.is_empty());
        let took = t0.elapsed().as_secs_f64();
        let done = Timestamp::now();
        if !ok {
            break;
        }
        out.push(Signal::new(ratio, done, took / seg.duration_s.max(0.001)));
        out.push(Signal::new(
            stall,
            done,
            f64::from(u8::from(pl.stalled(done))),
        ));
        // After a stall (or at the start) playback resumes from this segment.
        let from = pl.buffer_end.map_or(done, |end| end.max(done));
        pl.buffer_end = Some(from + SignedDuration::from_secs_f64(seg.duration_s));
        pl.played_until = start.map(|s| s + SignedDuration::from_secs_f64(seg.duration_s));
        pl.next += 1;
    }
    if first >= p.segments.len() {
        out.push(Signal::new(
            stall,
            now,
            f64::from(u8::from(pl.stalled(now))),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playlist(first_seq: u64, first_start: &str, n: usize) -> hls::LivePlaylist {
        let mut t = format!(
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:{first_seq}\n#EXT-X-PROGRAM-DATE-TIME:{first_start}\n"
        );
        for i in 0..n {
            t.push_str(&format!("#EXTINF:2.0,\nseg_{}.ts\n", first_seq + i as u64));
        }
        hls::parse(&t).unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn a_player_resumes_by_capture_time_across_pipelines() {
        // Played pipeline A up to 20:00:10; pipeline B numbers its segments on its own and cuts
        // them 0.7 s later: the player goes on with B's segment mostly after 20:00:10
        // (10.7 to 12.7), skipping 0.7 s, rather than replaying 1.3 s.
        let b = playlist(100, "2026-11-22T20:00:00.700+0000", 8);
        let (i, skipped) = resume(&b, at("2026-11-22T20:00:10Z")).unwrap_or((99, 99.0));
        assert_eq!(b.media_sequence + i as u64, 105);
        assert!((skipped - 0.7).abs() < 1e-6, "{skipped}");
        // Cut 0.3 s later, the segment from 10.3 is mostly after 10: 0.3 s skipped.
        let b = playlist(100, "2026-11-22T20:00:00.300+0000", 8);
        let (i, skipped) = resume(&b, at("2026-11-22T20:00:10Z")).unwrap_or((99, 99.0));
        assert_eq!(b.media_sequence + i as u64, 105);
        assert!((skipped - 0.3).abs() < 1e-6, "{skipped}");
        // A pipeline whose playlist starts later skips the capture time in between.
        let c = playlist(3, "2026-11-22T20:00:15Z", 2);
        assert_eq!(resume(&c, at("2026-11-22T20:00:10Z")), Some((0, 5.0)));
        // Nothing after what was played.
        assert_eq!(resume(&c, at("2026-11-22T20:00:19Z")), None);
    }
}
