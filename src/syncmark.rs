//! The flash-and-beep sync mark: a box in the picture's bottom-right corner, black, flashing
//! white for the first 100 ms of every second, and a tone that beeps at the same instants.
//! The local test pattern carries it; the content tier reads how far the beep is from the
//! flash (lip sync), which timestamps alone cannot tell: an encoder muxes each segment's
//! audio and video by timestamp whatever sound the audio carries.
//!
//! A contribution feed carries the mark by running its picture through [`VIDEO`] and taking
//! its sound from [`AUDIO`] (e.g. during a rehearsal); a feed without it gets no
//! `av_offset_ms` reading.

/// The box, drawn on any picture (a filter chain for ffmpeg's `-vf`/`-filter_complex`).
pub const VIDEO: &str = "drawbox=x=iw*7/8:y=ih*7/8:w=iw/8:h=ih/8:color=black:t=fill,\
drawbox=x=iw*7/8:y=ih*7/8:w=iw/8:h=ih/8:color=white:t=fill:enable='lt(mod(t,1),0.1)'";

/// A 1 kHz tone with a 40 ms beep at 3 kHz on every second (an ffmpeg `lavfi` source).
pub const AUDIO: &str = "sine=frequency=1000:beep_factor=3:sample_rate=48000";

/// The middle of the box, where the analysis reads the flash (safe from the edges that scaling
/// blurs).
pub const VIDEO_PROBE: &str = "crop=w=iw/16:h=ih/16:x=iw*29/32:y=ih*29/32";

/// The beep alone: the tone is 24 dB down behind two high-passes, the beep not.
pub const AUDIO_PROBE: &str = "highpass=f=2000,highpass=f=2000";

/// Mean luma (of 16 to 235) at or above which the box is lit.
pub const FLASH_LUMA: f64 = 128.0;

/// RMS level (dBFS, 5 ms windows) at or above which the beep sounds: the tone reads about
/// -45 behind the high-passes, the beep about -16.
pub const BEEP_DB: f64 = -30.0;

/// A flash and a beep further apart than this are not the same second's mark.
pub const PAIR_WITHIN_S: f64 = 0.4;
