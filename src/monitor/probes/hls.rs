//! A live media playlist as a monitor reads it (pure): the header tags that say how it moves
//! (target duration, media and discontinuity sequence numbers) and its segments.

use crate::vod::archive::{Segment, parse_media_playlist};

#[derive(Debug, Clone, PartialEq)]
pub struct LivePlaylist {
    pub target_duration_s: f64,
    pub media_sequence: u64,
    pub discontinuity_sequence: u64,
    pub segments: Vec<Segment>,
    pub ended: bool,
}

impl LivePlaylist {
    /// The media sequence number one past the newest segment: grows by one per new segment.
    pub fn next_sequence(&self) -> u64 {
        self.media_sequence + self.segments.len() as u64
    }

    /// When the newest segment's last frame was captured: the last program date-time in the
    /// playlist plus the durations from there on (ffmpeg tags only some segments).
    pub fn newest_end(&self) -> Option<jiff::Timestamp> {
        let i = self.segments.iter().rposition(|s| s.start.is_some())?;
        let start = self.segments[i].start?;
        let after: f64 = self.segments[i..].iter().map(|s| s.duration_s).sum();
        start
            .checked_add(jiff::SignedDuration::try_from_secs_f64(after).ok()?)
            .ok()
    }

    /// Each segment's capture start: its own program date-time, or the previous segment's
    /// start plus its duration; `None` before the first date-time.
    pub fn starts(&self) -> Vec<Option<jiff::Timestamp>> {
        let mut at: Option<jiff::Timestamp> = None;
        let mut prev = 0.0;
        self.segments
            .iter()
            .map(|s| {
                at = s.start.or_else(|| {
                    at?.checked_add(jiff::SignedDuration::try_from_secs_f64(prev).ok()?)
                        .ok()
                });
                prev = s.duration_s;
                at
            })
            .collect()
    }

    /// Discontinuities since the start of the stream: the ones slid out of the window plus the
    /// ones still in it.
    pub fn discontinuities(&self) -> u64 {
        self.discontinuity_sequence
            + self.segments.iter().filter(|s| s.discontinuity).count() as u64
    }
}

pub fn parse(text: &str) -> Result<LivePlaylist, String> {
    let segments = parse_media_playlist(text)?;
    let mut p = LivePlaylist {
        target_duration_s: 0.0,
        media_sequence: 0,
        discontinuity_sequence: 0,
        segments,
        ended: false,
    };
    for line in text.lines().map(str::trim) {
        let num = |v: &str, what: &str| {
            v.trim()
                .parse::<u64>()
                .map_err(|_| format!("bad {what} `{v}`"))
        };
        if let Some(v) = line.strip_prefix("#EXT-X-TARGETDURATION:") {
            p.target_duration_s = num(v, "#EXT-X-TARGETDURATION")? as f64;
        } else if let Some(v) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            p.media_sequence = num(v, "#EXT-X-MEDIA-SEQUENCE")?;
        } else if let Some(v) = line.strip_prefix("#EXT-X-DISCONTINUITY-SEQUENCE:") {
            p.discontinuity_sequence = num(v, "#EXT-X-DISCONTINUITY-SEQUENCE")?;
        } else if line == "#EXT-X-ENDLIST" {
            p.ended = true;
        }
    }
    if p.target_duration_s <= 0.0 {
        return Err("no #EXT-X-TARGETDURATION".into());
    }
    Ok(p)
}

/// The variant playlists' URIs of a master playlist, in its order.
pub fn variant_uris(master: &str) -> Vec<String> {
    crate::vod::variants(master)
        .into_iter()
        .map(|(_, uri)| uri)
        .collect()
}

/// A variant of a master playlist as its `#EXT-X-STREAM-INF` describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub uri: String,
    pub bandwidth: Option<u64>,
    pub resolution: Option<(u32, u32)>,
}

/// The variants of a master playlist, in its order.
pub fn variants(master: &str) -> Vec<Variant> {
    crate::vod::variants(master)
        .into_iter()
        .map(|(inf, uri)| Variant {
            uri,
            bandwidth: attribute(&inf, "BANDWIDTH").and_then(|v| v.parse().ok()),
            resolution: attribute(&inf, "RESOLUTION").and_then(|v| {
                let (w, h) = v.split_once('x')?;
                Some((w.parse().ok()?, h.parse().ok()?))
            }),
        })
        .collect()
}

/// An unquoted attribute's value in a tag's attribute list (`BANDWIDTH=1280000,…`).
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let list = tag.split_once(':')?.1;
    list.split(',').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k.trim() == name).then_some(v.trim())
    })
}

/// The URI of the playlist's media initialization section (`#EXT-X-MAP`), for fMP4 segments.
pub fn map_uri(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("#EXT-X-MAP:"))
        .and_then(quoted_uri)
}

/// The playlist of a master's audio rendition (`#EXT-X-MEDIA:TYPE=AUDIO`, the default one
/// first), where the sound is not muxed into the variants (DASH/CMAF).
pub fn audio_uri(master: &str) -> Option<String> {
    let audio: Vec<&str> = master
        .lines()
        .map(str::trim)
        .filter_map(|l| l.strip_prefix("#EXT-X-MEDIA:"))
        .filter(|list| list.split(',').any(|kv| kv.trim() == "TYPE=AUDIO"))
        .collect();
    audio
        .iter()
        .find(|list| list.contains("DEFAULT=YES"))
        .or(audio.first())
        .and_then(|list| quoted_uri(list))
}

/// The value of `URI="…"` in an attribute list.
fn quoted_uri(list: &str) -> Option<String> {
    let at = list.find("URI=\"")? + 5;
    let rest = &list[at..];
    Some(rest[..rest.find('"')?].to_string())
}

/// `uri` resolved against the playlist at `base` (absolute, or relative to its directory).
pub fn resolve(base: &str, uri: &str) -> String {
    if uri.starts_with("http://") || uri.starts_with("https://") {
        return uri.to_string();
    }
    let dir = base.rsplit_once('/').map_or(base, |(d, _)| d);
    format!("{dir}/{uri}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "#EXTM3U
#EXT-X-VERSION:3
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:41
#EXT-X-DISCONTINUITY-SEQUENCE:1
#EXTINF:2.000000,
seg_00041.ts
#EXT-X-DISCONTINUITY
#EXTINF:1.960000,
seg_00042.ts
";

    #[test]
    fn reads_how_a_live_playlist_moves() {
        let p = parse(LIVE).unwrap();
        assert_eq!(p.target_duration_s, 2.0);
        assert_eq!(p.next_sequence(), 43);
        assert_eq!(p.discontinuities(), 2);
        assert!(!p.ended);
    }

    #[test]
    fn malformed_playlists_are_errors_not_panics() {
        for bad in [
            "",
            "#EXTM3U\n#EXTINF:2,\nseg.ts\n",
            "#EXTM3U\n#EXT-X-TARGETDURATION:x\n",
            "#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:-1\n",
            "<html>",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn reads_variants_and_the_init_section() {
        let master = "#EXTM3U
#EXT-X-STREAM-INF:BANDWIDTH=528000,RESOLUTION=426x240,CODECS=\"avc1.64001e,mp4a.40.2\"
240p/index.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=165000
144p/index.m3u8
";
        let v = variants(master);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].bandwidth, Some(528_000));
        assert_eq!(v[0].resolution, Some((426, 240)));
        assert_eq!((v[1].bandwidth, v[1].resolution), (Some(165_000), None));
        assert_eq!(
            map_uri("#EXTM3U\n#EXT-X-MAP:URI=\"init-0.m4s\"\n").as_deref(),
            Some("init-0.m4s")
        );
        assert_eq!(map_uri("#EXT-X-MAP:URI=\"broken"), None);
        let dash = "#EXTM3U
#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID=\"s\",NAME=\"en\",URI=\"subs.m3u8\"
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"group_A1\",NAME=\"audio_1\",DEFAULT=YES,URI=\"media_1.m3u8\"
#EXT-X-STREAM-INF:BANDWIDTH=71106,RESOLUTION=426x240,AUDIO=\"group_A1\"
media_0.m3u8
";
        assert_eq!(audio_uri(dash).as_deref(), Some("media_1.m3u8"));
        assert_eq!(audio_uri(master), None);
    }

    #[test]
    fn resolves_relative_uris() {
        assert_eq!(
            resolve("http://h:1/ev/main/master.m3u8", "720p/index.m3u8"),
            "http://h:1/ev/main/720p/index.m3u8"
        );
        assert_eq!(resolve("http://h/a.m3u8", "http://x/b.ts"), "http://x/b.ts");
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = parse(&s);
        }
    }
}
