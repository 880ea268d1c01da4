//! What an event's archive holds, read from its EVENT playlists (pure): every segment with its
//! duration and program date-time, the window actually on air, and the part of it to keep.

use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub uri: String,
    pub duration_s: f64,
    /// When its first frame was captured, from `#EXT-X-PROGRAM-DATE-TIME`.
    pub start: Option<Timestamp>,
    /// A restarted encoder's first segment.
    pub discontinuity: bool,
}

impl Segment {
    pub fn end(&self) -> Option<Timestamp> {
        self.start
            .map(|s| s + SignedDuration::from_secs_f64(self.duration_s))
    }
}

/// A media playlist's segments, in order.
pub fn parse_media_playlist(text: &str) -> Result<Vec<Segment>, String> {
    if !text.trim_start().starts_with("#EXTM3U") {
        return Err("not an HLS playlist (no #EXTM3U)".into());
    }
    let mut out = Vec::new();
    let mut duration = None;
    let mut start = None;
    let mut discontinuity = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("#EXTINF:") {
            let d = v.split(',').next().unwrap_or("").trim();
            duration = Some(
                d.parse::<f64>()
                    .ok()
                    .filter(|d| d.is_finite() && *d >= 0.0)
                    .ok_or_else(|| format!("line {}: bad #EXTINF duration `{d}`", n + 1))?,
            );
        } else if let Some(v) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            start = Some(
                parse_pdt(v)
                    .ok_or_else(|| format!("line {}: bad program date-time `{v}`", n + 1))?,
            );
        } else if line == "#EXT-X-DISCONTINUITY" {
            discontinuity = true;
        } else if !line.is_empty() && !line.starts_with('#') {
            let duration_s = duration
                .take()
                .ok_or_else(|| format!("line {}: segment `{line}` has no #EXTINF", n + 1))?;
            out.push(Segment {
                uri: line.to_string(),
                duration_s,
                start: start.take(),
                discontinuity: std::mem::take(&mut discontinuity),
            });
        }
    }
    Ok(out)
}

/// ffmpeg writes `2026-11-21T20:42:06.946+0000`; RFC 3339 wants a colon in the offset.
fn parse_pdt(v: &str) -> Option<Timestamp> {
    let v = v.trim();
    if let Ok(t) = v.parse::<Timestamp>() {
        return Some(t);
    }
    let cut = v.len().checked_sub(5)?;
    let (head, tail) = (v.get(..cut)?, v.get(cut..)?);
    if (tail.starts_with('+') || tail.starts_with('-'))
        && tail[1..].bytes().all(|b| b.is_ascii_digit())
    {
        return format!("{head}{}:{}", &tail[..3], &tail[3..]).parse().ok();
    }
    None
}

/// From the first segment's start to the last one's end: when the show was really on air.
pub fn on_air(segments: &[Segment]) -> Option<(Timestamp, Timestamp)> {
    let first = segments.iter().find_map(|s| s.start)?;
    let last = segments.iter().rev().find_map(Segment::end)?;
    (last > first).then_some((first, last))
}

/// The segments that overlap `[from, to)`: whole segments, so the cut is at a keyframe and
/// off by less than one segment at each end.
pub fn trim(segments: &[Segment], from: Timestamp, to: Timestamp) -> Vec<Segment> {
    segments
        .iter()
        .filter(|s| match (s.start, s.end()) {
            (Some(a), Some(b)) => b > from && a < to,
            _ => false,
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLAYLIST: &str = "#EXTM3U
#EXT-X-VERSION:6
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:0
#EXT-X-PLAYLIST-TYPE:EVENT
#EXTINF:2.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T20:00:00.000+0000
seg_00000.ts
#EXTINF:2.000000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T20:00:02.000+0000
seg_00001.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.500000,
#EXT-X-PROGRAM-DATE-TIME:2026-11-21T20:00:10.000+0000
seg_00002.ts
";

    fn t(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn reads_segments_times_and_discontinuities() {
        let s = parse_media_playlist(PLAYLIST).expect("parse");
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].start, Some(t("2026-11-21T20:00:00Z")));
        assert_eq!(s[2].duration_s, 1.5);
        assert!(!s[1].discontinuity && s[2].discontinuity);
        assert_eq!(
            on_air(&s),
            Some((t("2026-11-21T20:00:00Z"), t("2026-11-21T20:00:11.5Z")))
        );
    }

    #[test]
    fn trims_to_whole_segments_overlapping_the_schedule() {
        let s = parse_media_playlist(PLAYLIST).expect("parse");
        let kept = trim(&s, t("2026-11-21T20:00:01Z"), t("2026-11-21T20:00:03Z"));
        let uris: Vec<_> = kept.iter().map(|s| s.uri.as_str()).collect();
        assert_eq!(uris, ["seg_00000.ts", "seg_00001.ts"]);
        assert!(trim(&s, t("2026-11-21T21:00:00Z"), t("2026-11-21T22:00:00Z")).is_empty());
    }

    #[test]
    fn bad_playlists_say_where() {
        assert!(parse_media_playlist("hello").is_err());
        let e = parse_media_playlist("#EXTM3U\n#EXTINF:x,\nseg.ts\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
        let e = parse_media_playlist("#EXTM3U\nseg.ts\n").unwrap_err();
        assert!(e.contains("no #EXTINF"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_without_panic(text in "\\PC{0,300}") {
            let _ = parse_media_playlist(&text);
            let _ = parse_pdt(&text);
        }
    }
}
