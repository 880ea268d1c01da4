//! Turning an archive into a VOD: the segments to keep are joined per rendition (MPEG-TS
//! segments concatenate into one valid stream), then packaged.
//!
//! - clear, `cenc`, `cbcs`: Shaka Packager, fMP4 (CMAF) with an HLS master playlist and a DASH
//!   MPD; the video of every rendition, the audio once.
//! - `aes-128`: ffmpeg's HLS muxer, MPEG-TS segments each encrypted whole (Shaka Packager does
//!   SAMPLE-AES for TS, not whole-segment AES-128).

use std::path::{Path, PathBuf};

use super::keys::ContentKey;
use super::pssh::{DrmSystem, Pssh};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Clear,
    Cenc,
    Cbcs,
    Aes128,
}

impl Scheme {
    /// From a profile's or a flag's spelling (`none` is `clear`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "clear" | "none" => Self::Clear,
            "cenc" => Self::Cenc,
            "cbcs" => Self::Cbcs,
            "aes-128" => Self::Aes128,
            _ => return None,
        })
    }

    /// As profiles spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Clear => "clear",
            Self::Cenc => "cenc",
            Self::Cbcs => "cbcs",
            Self::Aes128 => "aes-128",
        }
    }
}

/// One rendition's joined archive.
#[derive(Debug, Clone)]
pub struct Input {
    pub name: String,
    pub ts: PathBuf,
    /// `RESOLUTION=`/`BANDWIDTH=` line of the archive's master playlist, reused for AES-128.
    pub stream_inf: String,
}

/// Shaka Packager's arguments for clear, cenc or cbcs output into `out`. The encryption
/// settings, key included, are read from `key_flags` (see [`shaka_key_flags`]) so that the key
/// never shows in the process table.
pub fn shaka_args(
    inputs: &[Input],
    audio: &Path,
    out: &Path,
    segment_duration_s: f64,
    key_flags: Option<&Path>,
) -> Vec<String> {
    let o = out.display();
    let mut a = Vec::new();
    for i in inputs {
        a.push(format!(
            "in={},stream=video,init_segment={o}/{n}/init.mp4,segment_template={o}/{n}/$Number$.m4s,playlist_name={n}/index.m3u8",
            i.ts.display(),
            n = i.name
        ));
    }
    // The audio is the same in every rendition: it is packaged once, from the input named
    // `audio` (one of the renditions', which the packager then reads once for both).
    a.push(format!(
        "in={},stream=audio,init_segment={o}/audio/init.mp4,segment_template={o}/audio/$Number$.m4s,playlist_name=audio/index.m3u8,hls_group_id=audio,hls_name=main",
        audio.display()
    ));
    if let Some(f) = key_flags {
        a.push(format!("--flagfile={}", f.display()));
    }
    a.push("--segment_duration".into());
    a.push(format!("{segment_duration_s}"));
    a.push("--hls_playlist_type".into());
    a.push("VOD".into());
    a.push("--hls_master_playlist_output".into());
    a.push(format!("{o}/master.m3u8"));
    // With segment templates the packager writes a live (dynamic) MPD unless told otherwise, and
    // rewrites it after every segment: a VOD's is static, and written once.
    a.push("--generate_static_live_mpd".into());
    a.push("--mpd_output".into());
    a.push(format!("{o}/manifest.mpd"));
    a
}

/// What the init segments carry for players' DRM clients.
#[derive(Debug, Clone, Default)]
pub enum Signalling {
    /// The packager's own: one common (v1) `pssh` box, which ClearKey players read.
    #[default]
    Common,
    /// The boxes a key server gave, as they are.
    Boxes(Vec<Pssh>),
    /// Boxes the packager makes for these systems from the key alone (a local key).
    Systems(Vec<DrmSystem>),
}

/// The flag file of an encrypted Shaka Packager run (one flag per line); `None` when clear.
pub fn shaka_key_flags(
    scheme: Scheme,
    key: &ContentKey,
    signalling: &Signalling,
) -> Option<String> {
    let scheme = match scheme {
        Scheme::Cenc => "cenc",
        Scheme::Cbcs => "cbcs",
        Scheme::Clear | Scheme::Aes128 => return None,
    };
    // Every segment encrypted: no clear lead a viewer could watch without a key.
    let mut flags = format!(
        "--enable_raw_key_encryption\n--keys=label=:key_id={}:key={}\n--protection_scheme={scheme}\n--clear_lead=0\n",
        key.key_id_hex(),
        key.key_hex()
    );
    match signalling {
        Signalling::Common => {}
        Signalling::Boxes(boxes) if !boxes.is_empty() => {
            let all: Vec<u8> = boxes.iter().flat_map(|b| b.data.iter().copied()).collect();
            flags.push_str(&format!("--pssh={}\n", hex::encode(all)));
        }
        Signalling::Systems(systems) if !systems.is_empty() => {
            let names: Vec<&str> = systems.iter().map(|s| s.packager_name()).collect();
            flags.push_str(&format!("--protection_systems={}\n", names.join(",")));
        }
        Signalling::Boxes(_) | Signalling::Systems(_) => {}
    }
    Some(flags)
}

/// ffmpeg's arguments that put the streams a concat list names one after the other, each one's
/// timestamps shifted to follow the previous one's end, into one MPEG-TS stream (a copy).
pub fn concat_args(list: &Path, out: &Path) -> Vec<String> {
    [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "concat",
        "-safe",
        "0",
        "-i",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain([list.display().to_string()])
    .chain(
        ["-map", "0", "-c", "copy", "-f", "mpegts"]
            .iter()
            .map(|s| s.to_string()),
    )
    .chain([out.display().to_string()])
    .collect()
}

/// ffmpeg's arguments for one rendition's AES-128 HLS, given the key info file (key URI, key
/// file path, IV) that ffmpeg reads.
pub fn aes128_args(
    input: &Input,
    out: &Path,
    segment_duration_s: f64,
    key_info: &Path,
) -> Vec<String> {
    let dir = out.join(&input.name);
    ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i"]
        .iter()
        .map(|s| s.to_string())
        .chain([
            input.ts.display().to_string(),
            "-map".into(),
            "0".into(),
            "-c".into(),
            "copy".into(),
            "-f".into(),
            "hls".into(),
            "-hls_time".into(),
            format!("{segment_duration_s}"),
            "-hls_playlist_type".into(),
            "vod".into(),
            "-hls_key_info_file".into(),
            key_info.display().to_string(),
            "-hls_segment_filename".into(),
            dir.join("seg_%05d.ts").display().to_string(),
            dir.join("index.m3u8").display().to_string(),
        ])
        .collect()
}

/// The key info file ffmpeg reads for AES-128: the URI players fetch the key from, the key
/// file, the IV.
pub fn key_info(uri: &str, key_file: &Path, key: &ContentKey) -> String {
    format!("{uri}\n{}\n{}\n", key_file.display(), key.iv_hex())
}

/// The master playlist of an AES-128 VOD: the archive's variant lines, pointing at the new
/// media playlists.
pub fn aes128_master(inputs: &[Input]) -> String {
    let mut m = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
    for i in inputs {
        m.push_str(&i.stream_inf);
        m.push('\n');
        m.push_str(&format!("{}/index.m3u8\n", i.name));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> Vec<Input> {
        ["720p", "360p"]
            .iter()
            .map(|n| Input {
                name: n.to_string(),
                ts: PathBuf::from(format!("/w/{n}.ts")),
                stream_inf: format!("#EXT-X-STREAM-INF:BANDWIDTH=1,RESOLUTION={n}"),
            })
            .collect()
    }

    fn key() -> ContentKey {
        ContentKey {
            key_id: [0x11; 16],
            key: [0x22; 16],
            iv: [0x33; 16],
        }
    }

    #[test]
    fn shaka_cbcs_command_line_keeps_the_key_in_its_flag_file() {
        let a = shaka_args(
            &inputs(),
            Path::new("/w/audio.ts"),
            Path::new("/v"),
            2.0,
            Some(Path::new("/w/flags")),
        );
        insta::assert_snapshot!(a.join("\n"));
        assert!(!a.iter().any(|x| x.contains(&key().key_hex())));
        insta::assert_snapshot!(
            shaka_key_flags(Scheme::Cbcs, &key(), &Signalling::Common).expect("flags")
        );
    }

    #[test]
    fn the_drm_systems_signalling_goes_to_the_packager() {
        let boxes = Signalling::Boxes(vec![
            Pssh {
                system_id: [1; 16],
                data: vec![0xaa, 0xbb],
            },
            Pssh {
                system_id: [2; 16],
                data: vec![0xcc],
            },
        ]);
        let flags = shaka_key_flags(Scheme::Cenc, &key(), &boxes).expect("flags");
        assert!(flags.ends_with("--pssh=aabbcc\n"), "{flags}");
        let systems = Signalling::Systems(vec![DrmSystem::Widevine, DrmSystem::Playready]);
        let flags = shaka_key_flags(Scheme::Cbcs, &key(), &systems).expect("flags");
        assert!(
            flags.ends_with("--protection_systems=Widevine,PlayReady\n"),
            "{flags}"
        );
        let flags = shaka_key_flags(Scheme::Cenc, &key(), &Signalling::Common).expect("flags");
        assert!(!flags.contains("pssh") && !flags.contains("protection_systems"));
    }

    #[test]
    fn clear_and_aes128_need_no_packager_key() {
        assert_eq!(
            shaka_key_flags(Scheme::Clear, &key(), &Signalling::Common),
            None
        );
        assert_eq!(
            shaka_key_flags(Scheme::Aes128, &key(), &Signalling::Common),
            None
        );
    }

    #[test]
    fn aes128_command_line_and_master() {
        let i = &inputs()[0];
        let a = aes128_args(i, Path::new("/v"), 2.0, Path::new("/w/keyinfo"));
        insta::assert_snapshot!(a.join(" "));
        insta::assert_snapshot!(aes128_master(&inputs()));
    }
}
