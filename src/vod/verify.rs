//! Checks a packaged VOD as a player would find it before anything of the live event goes:
//! every rendition's playlist is complete (ENDLIST), each segment it lists is on disk and not
//! empty, its duration is the archive's within one segment, and an encrypted VOD signals its
//! scheme (and the DASH manifest our key id), with a `pssh` box in each init segment for every
//! DRM system the profile names.

use std::path::Path;

use super::Packaged;
use super::archive::parse_media_playlist;
use super::keys::ContentKey;
use super::package::Scheme;
use super::pssh::{DrmSystem, system_ids_in_init};

#[derive(Debug, thiserror::Error)]
#[error("the VOD in {dir} failed verification: {reason}")]
pub struct VerifyError {
    pub dir: String,
    pub reason: String,
}

pub fn verify(
    out_dir: &Path,
    packaged: &Packaged,
    scheme: Scheme,
    key: Option<&ContentKey>,
    segment_duration_s: f64,
    systems: &[DrmSystem],
) -> Result<(), VerifyError> {
    let fail = |reason: String| VerifyError {
        dir: out_dir.display().to_string(),
        reason,
    };
    let read = |rel: &str| {
        std::fs::read_to_string(out_dir.join(rel)).map_err(|e| fail(format!("{rel}: {e}")))
    };
    let master = read("master.m3u8")?;
    for name in &packaged.renditions {
        let rel = format!("{name}/index.m3u8");
        if !master.lines().any(|l| l.trim() == rel) {
            return Err(fail(format!("master.m3u8 does not list {rel}")));
        }
        let text = read(&rel)?;
        if !text.contains("#EXT-X-ENDLIST") {
            return Err(fail(format!("{rel} has no #EXT-X-ENDLIST")));
        }
        let segments = parse_media_playlist(&text).map_err(|e| fail(format!("{rel}: {e}")))?;
        let duration: f64 = segments.iter().map(|s| s.duration_s).sum();
        if (duration - packaged.duration_s).abs() > segment_duration_s + 0.5 {
            return Err(fail(format!(
                "{rel} lasts {duration:.1} s; the archive kept {:.1} s",
                packaged.duration_s
            )));
        }
        for s in &segments {
            let path = out_dir.join(name).join(&s.uri);
            if std::fs::metadata(&path).map_or(true, |m| m.len() == 0) {
                return Err(fail(format!("{name}/{} is missing or empty", s.uri)));
            }
        }
        let method = text
            .lines()
            .find_map(|l| l.strip_prefix("#EXT-X-KEY:METHOD="))
            .map(|m| m.split(',').next().unwrap_or(m));
        // CMAF carries its protection in the init segment (`schm` names the scheme, `tenc` the
        // key id); with a raw key, Shaka Packager writes no #EXT-X-KEY.
        let init = init_segment(out_dir, name, &text);
        let declares = |scheme: &[u8]| init.as_deref().is_some_and(|i| protected(i, scheme));
        let signalled = match scheme {
            Scheme::Clear => method.is_none() && !declares(b"cenc"),
            Scheme::Aes128 => method == Some("AES-128"),
            Scheme::Cenc => declares(b"cenc"),
            Scheme::Cbcs => declares(b"cbcs"),
        };
        if !signalled {
            return Err(fail(format!(
                "{rel} does not signal the {} protection asked for",
                scheme.as_str()
            )));
        }
        if matches!(scheme, Scheme::Cenc | Scheme::Cbcs) {
            let found = init.as_deref().map(system_ids_in_init).unwrap_or_default();
            if let Some(missing) = systems
                .iter()
                .find(|s| !found.contains(&s.system_id_bytes()))
            {
                return Err(fail(format!(
                    "{name}'s init segment carries no pssh box for {} ({})",
                    missing.packager_name(),
                    missing.system_id()
                )));
            }
        }
    }
    if scheme != Scheme::Aes128 {
        let mpd = read("manifest.mpd")?;
        // A dynamic MPD is a live window: a DASH player would offer only its last minutes.
        if !mpd.contains(r#"type="static""#) {
            return Err(fail(
                "manifest.mpd is not a static (on-demand) manifest".into(),
            ));
        }
        let lasts = attribute(&mpd, "mediaPresentationDuration").and_then(iso_seconds);
        match lasts {
            Some(d) if (d - packaged.duration_s).abs() <= segment_duration_s + 0.5 => {}
            Some(d) => {
                return Err(fail(format!(
                    "manifest.mpd lasts {d:.1} s; the archive kept {:.1} s",
                    packaged.duration_s
                )));
            }
            None => {
                return Err(fail(
                    "manifest.mpd gives no mediaPresentationDuration".into(),
                ));
            }
        }
        if let Some(k) = key {
            let kid = super::speke::uuid(&k.key_id);
            if !mpd.to_ascii_lowercase().contains(&kid) {
                return Err(fail("manifest.mpd does not name the content key".into()));
            }
        }
    }
    Ok(())
}

/// The value of the first `name="…"` attribute in an XML text.
fn attribute<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let from = xml.find(&format!(" {name}=\""))? + name.len() + 3;
    xml[from..].split('"').next()
}

/// Seconds of an ISO 8601 duration as MPDs write them (`PT1H2M3.5S`, `PT3600.011S`).
fn iso_seconds(d: &str) -> Option<f64> {
    let mut rest = d.strip_prefix("PT")?;
    let mut total = 0.0;
    while !rest.is_empty() {
        let end = rest.find(|c: char| c.is_ascii_alphabetic())?;
        let n: f64 = rest[..end].parse().ok()?;
        total += n * match &rest[end..=end] {
            "H" => 3600.0,
            "M" => 60.0,
            "S" => 1.0,
            _ => return None,
        };
        rest = &rest[end + 1..];
    }
    Some(total)
}

/// The rendition's init segment (`#EXT-X-MAP`), if its playlist names one that can be read.
fn init_segment(out_dir: &Path, name: &str, playlist: &str) -> Option<Vec<u8>> {
    let uri = playlist.lines().find_map(|l| {
        l.strip_prefix("#EXT-X-MAP:URI=\"")
            .and_then(|r| r.split('"').next())
    })?;
    std::fs::read(out_dir.join(name).join(uri)).ok()
}

/// Whether an init segment declares protection with `scheme` (`schm` box) and a key (`tenc`).
fn protected(init: &[u8], scheme: &[u8]) -> bool {
    let has = |needle: &[u8]| init.windows(needle.len()).any(|w| w == needle);
    has(b"tenc") && has(b"schm") && has(scheme)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpd_durations_read_as_seconds() {
        assert_eq!(iso_seconds("PT3600.5S"), Some(3600.5));
        assert_eq!(iso_seconds("PT1H2M3S"), Some(3723.0));
        assert_eq!(iso_seconds("PT2M"), Some(120.0));
        assert_eq!(iso_seconds("P1D"), None);
        assert_eq!(iso_seconds("PT1X"), None);
        assert_eq!(iso_seconds("PTS"), None);
    }

    #[test]
    fn an_attribute_is_read_by_its_whole_name() {
        let xml = r#"<MPD minBufferTime="PT2S" type="static" mediaPresentationDuration="PT9S">"#;
        assert_eq!(attribute(xml, "mediaPresentationDuration"), Some("PT9S"));
        assert_eq!(attribute(xml, "type"), Some("static"));
        assert_eq!(attribute(xml, "Time"), None);
    }
}
