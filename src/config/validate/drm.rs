//! A profile's encryption: the live stream's at the origin (`origin.drm`), and which DRM
//! systems a VOD may signal.

use super::Ctx;
use crate::config::profile::ProfileFile;
use crate::model::profile_spec::{DrmScheme, DrmSystem};

pub(super) fn drm(cx: &mut Ctx<'_>, p: &ProfileFile) -> bool {
    let mut ok = true;
    if let Some(i) = p
        .vod
        .drm
        .as_ref()
        .and_then(|d| d.systems.iter().position(|s| *s == DrmSystem::Fairplay))
    {
        cx.top(
            format!("vod.drm.systems[{i}]"),
            "FairPlay signalling of a VOD is not built: a VOD carries Widevine and PlayReady",
        );
        ok = false;
    }
    let Some(d) = &p.origin.drm else {
        return ok;
    };
    if d.scheme == DrmScheme::None {
        cx.top(
            "origin.drm.scheme",
            "`none` encrypts nothing: leave `origin.drm` out",
        );
        return false;
    }
    if !(d.url.starts_with("https://") || d.url.starts_with("http://")) {
        cx.top(
            "origin.drm.url",
            format!(
                "the key server's SPEKE endpoint is an https:// URL, not `{}`",
                d.url
            ),
        );
        ok = false;
    }
    for (i, s) in d.systems.iter().enumerate() {
        if d.systems[..i].contains(s) {
            cx.top(
                format!("origin.drm.systems[{i}]"),
                format!("`{}` is listed twice", s.as_str()),
            );
            ok = false;
        }
        if *s == DrmSystem::Fairplay && d.scheme != DrmScheme::Cbcs {
            cx.top(
                format!("origin.drm.systems[{i}]"),
                "FairPlay decrypts `cbcs` (SAMPLE-AES) only",
            );
            ok = false;
        }
    }
    match d.scheme {
        DrmScheme::Aes128 if !d.systems.is_empty() => {
            cx.top(
                "origin.drm.systems",
                "`aes-128` signals no DRM system (players fetch the key from the key server's URL): leave `systems` out",
            );
            ok = false;
        }
        DrmScheme::Cenc | DrmScheme::Cbcs if d.systems.is_empty() => {
            cx.top(
                "origin.drm.systems",
                "name the DRM systems players use, such as `[widevine, playready]` (cenc) or `[fairplay]` (cbcs)",
            );
            ok = false;
        }
        _ => {}
    }
    if d.key_rotation.is_some_and(|r| r.0.is_zero()) {
        cx.top(
            "origin.drm.key_rotation",
            "a key lasts some time: give a duration such as `10m`, or leave it out for one key",
        );
        ok = false;
    }
    ok
}
