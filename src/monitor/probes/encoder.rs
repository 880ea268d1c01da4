//! T1: the encoder's own view of itself, once a second, from its provider; of one pipeline,
//! where an encoder runs both.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::Emitter;
use crate::model::RecordedResource;
use crate::monitor::{Metric, Signal};
use crate::providers::Provider;

const EVERY: Duration = Duration::from_secs(1);

pub async fn run(
    provider: Arc<dyn Provider>,
    rec: RecordedResource,
    pipeline: Option<String>,
    e: Emitter,
    tx: mpsc::Sender<Signal>,
    stop: CancellationToken,
) {
    let s = e.series(&[
        Metric::EncoderUp,
        Metric::EncoderFps,
        Metric::EncoderSpeed,
        Metric::EncoderBitrateKbps,
        Metric::EncoderDroppedFrames,
        Metric::EncoderDuplicatedFrames,
        Metric::EncoderAlerts,
        Metric::EncoderPaused,
    ]);
    let [up, fps, speed, bitrate, dropped, duplicated, alerts, paused] = s.as_slice() else {
        return;
    };
    let mut before: Option<(Option<u64>, Option<u64>)> = None;
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        // A provider without an encoder view: nothing to probe at this tier.
        let Some(h) = provider.encoder_health(&rec, pipeline.as_deref()).await else {
            return;
        };
        let now = Timestamp::now();
        let mut out = vec![Signal::new(up, now, f64::from(u8::from(h.up)))];
        if let Some(n) = h.alerts {
            out.push(Signal::new(alerts, now, f64::from(n)));
        }
        if let Some(p) = h.paused {
            out.push(Signal::new(paused, now, f64::from(u8::from(p))));
        }
        if h.up {
            for (series, v) in [(fps, h.fps), (speed, h.speed), (bitrate, h.bitrate_kbps)] {
                if let Some(v) = v {
                    out.push(Signal::new(series, now, v));
                }
            }
            if let Some((d0, u0)) = before {
                for (series, was, is) in [
                    (dropped, d0, h.dropped_frames),
                    (duplicated, u0, h.duplicated_frames),
                ] {
                    if let (Some(was), Some(is)) = (was, is) {
                        out.push(Signal::new(series, now, is.saturating_sub(was) as f64));
                    }
                }
            }
            before = Some((h.dropped_frames, h.duplicated_frames));
        }
        for sig in out {
            if tx.send(sig).await.is_err() {
                return;
            }
        }
    }
}
