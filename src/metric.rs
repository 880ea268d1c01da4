//! The monitoring vocabulary every layer shares: the tiers watched (encoder → origin → edge →
//! viewer, and the content they carry) and every metric a probe can send. Profiles name them in their rules; the
//! monitor measures them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Encoder,
    Origin,
    Edge,
    Viewer,
    /// The picture and the sound a viewer gets, analysed from samples taken at the edge.
    Content,
}

impl Tier {
    pub const ALL: [Tier; 5] = [
        Tier::Encoder,
        Tier::Origin,
        Tier::Edge,
        Tier::Viewer,
        Tier::Content,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Encoder => "encoder",
            Tier::Origin => "origin",
            Tier::Edge => "edge",
            Tier::Viewer => "viewer",
            Tier::Content => "content",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

macro_rules! metrics {
    ($($variant:ident = $name:literal, $tier:ident, $help:literal;)*) => {
        /// Every signal a probe can send. Flags are 1 (true) or 0.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
        pub enum Metric {
            $(
                #[doc = $help]
                #[serde(rename = $name)]
                $variant,
            )*
        }

        impl Metric {
            pub const ALL: &[Metric] = &[$(Metric::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Metric::$variant => $name),* }
            }

            pub fn tier(self) -> Tier {
                match self { $(Metric::$variant => Tier::$tier),* }
            }

            pub fn help(self) -> &'static str {
                match self { $(Metric::$variant => $help),* }
            }
        }
    };
}

metrics! {
    EncoderUp = "encoder_up", Encoder, "1 while the encoder process (or channel) runs.";
    EncoderFps = "encoder_fps", Encoder, "Frames encoded per second.";
    EncoderSpeed = "encoder_speed", Encoder, "Encoding speed against real time (1 = real time).";
    EncoderBitrateKbps = "encoder_bitrate_kbps", Encoder, "Output bitrate, kbit/s.";
    EncoderDroppedFrames = "encoder_dropped_frames", Encoder, "Frames dropped since the last sample.";
    EncoderDuplicatedFrames = "encoder_duplicated_frames", Encoder, "Frames duplicated since the last sample.";
    EncoderAlerts = "encoder_alerts", Encoder, "Alerts the encoding service holds set on the channel (MediaLive's, such as a lost input).";
    EncoderPaused = "encoder_paused", Encoder, "1 while the encoding service holds this pipeline paused (failed over away from it); it runs on, its output held back.";
    PlaylistUp = "playlist_up", Origin, "1 when the rendition's playlist was fetched and parsed.";
    PlaylistAgeS = "playlist_age_s", Origin, "Seconds since the rendition's playlist last gained a segment.";
    MediaSequence = "media_sequence", Origin, "Media sequence number of the newest segment.";
    SegmentDurationErrorS = "segment_duration_error_s", Origin, "Largest gap between a new segment's duration and the target duration, seconds.";
    SegmentUp = "segment_up", Origin, "1 when the newest segment was fetchable and not empty.";
    Discontinuities = "discontinuities", Origin, "Discontinuities that appeared since the last reload.";
    OriginProbeError = "origin_probe_error", Origin, "1 when this host could not make the playlist request (out of file descriptors or sockets): no reading of the origin, and no fault of it.";
    EdgeUp = "edge_up", Edge, "1 when the edge answered the playlist with a 2xx.";
    EdgeStatus = "edge_status", Edge, "HTTP status of the edge's answer for the playlist.";
    EdgeTtfbMs = "edge_ttfb_ms", Edge, "Time to first byte of the edge's playlist, milliseconds.";
    EdgeHitRatio = "edge_hit_ratio", Edge, "Share of the edge's answers served from its cache.";
    EdgeLagSegments = "edge_lag_segments", Edge, "Segments the edge's playlist is behind the origin's.";
    EdgeProbeError = "edge_probe_error", Edge, "1 when this host could not make the playlist request (out of file descriptors or sockets): no reading of the edge, and no fault of it.";
    ViewerDownloadRatio = "viewer_download_ratio", Viewer, "Segment download time over segment duration (above 1 cannot keep up).";
    ViewerStall = "viewer_stall", Viewer, "1 when a player would have stalled (its buffer ran dry).";
    ViewerGapS = "viewer_gap_s", Viewer, "Longest stretch of media a player missed (skipped sequence numbers), seconds.";
    ContentBlackS = "content_black_s", Content, "Seconds the picture has been black (the run going on at the end of the sample, or the longest within it).";
    ContentFreezeS = "content_freeze_s", Content, "Seconds the picture has been frozen, counted like content_black_s.";
    ContentSilenceS = "content_silence_s", Content, "Seconds the sound has been silent (below -50 dBFS), counted like content_black_s.";
    LoudnessLufs = "loudness_lufs", Content, "Integrated loudness of the sample (EBU R128), LUFS.";
    AvOffsetMs = "av_offset_ms", Content, "How late the sound is against the picture, milliseconds (negative: early), read off a flash-and-beep sync mark; no reading without one.";
    RenditionBitrateKbps = "rendition_bitrate_kbps", Content, "The rendition's video bitrate over the sample, kbit/s.";
    RenditionResolutionOk = "rendition_resolution_ok", Content, "1 when the rendition's picture has the ladder's width and height.";
    ContentProbeError = "content_probe_error", Content, "1 when this host could not analyse the sample it fetched (ffmpeg missing, failing or too slow): no reading of the content, and no fault of it.";
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
