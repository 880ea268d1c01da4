//! DRM systems and their Protection System Specific Header boxes (`pssh`, ISO/IEC 23001-7): the
//! signalling a player's DRM client reads from the init segment to get a licence. A key server
//! (SPEKE) returns one per DRM system asked for; the packaging writes them into the init
//! segments, and the verification reads them back (pure).

pub use crate::model::profile_spec::DrmSystem;

impl DrmSystem {
    pub fn system_id_bytes(self) -> [u8; 16] {
        parse_uuid(self.system_id()).unwrap_or_default()
    }
}

/// `8-4-4-4-12` hex to bytes.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let h: String = s.chars().filter(|c| *c != '-').collect();
    hex::decode(h).ok()?.try_into().ok()
}

/// One `pssh` box as a key server gave it, whole (header included).
#[derive(Clone, PartialEq, Eq)]
pub struct Pssh {
    pub system_id: [u8; 16],
    pub data: Vec<u8>,
}

impl std::fmt::Debug for Pssh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Pssh {{ system_id: {}, {} bytes }}",
            hex::encode(self.system_id),
            self.data.len()
        )
    }
}

/// Reads a whole `pssh` box: its system id, checked against the box's own size and type.
pub fn parse_box(data: &[u8]) -> Result<Pssh, String> {
    if data.len() < 32 {
        return Err(format!(
            "a pssh box is at least 32 bytes, this is {}",
            data.len()
        ));
    }
    let size = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
    if size != data.len() {
        return Err(format!(
            "the box says it is {size} bytes long but {} were given",
            data.len()
        ));
    }
    if &data[4..8] != b"pssh" {
        return Err(format!(
            "the box is `{}`, not `pssh`",
            String::from_utf8_lossy(&data[4..8])
        ));
    }
    let mut system_id = [0u8; 16];
    system_id.copy_from_slice(&data[12..28]);
    Ok(Pssh {
        system_id,
        data: data.to_vec(),
    })
}

/// The system ids of every `pssh` box under `moov` in an MP4 init segment, in order.
pub fn system_ids_in_init(init: &[u8]) -> Vec<[u8; 16]> {
    let mut out = Vec::new();
    for (kind, body) in children(init) {
        if kind == *b"moov" {
            for (kind, body) in children(body) {
                // Full box: version and flags, then the system id.
                if kind == *b"pssh" && body.len() >= 20 {
                    let mut id = [0u8; 16];
                    id.copy_from_slice(&body[4..20]);
                    out.push(id);
                }
            }
        }
    }
    out
}

/// The boxes directly in `data`: (type, body); stops at the first malformed size.
fn children(data: &[u8]) -> Vec<([u8; 4], &[u8])> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let size = u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        let mut kind = [0u8; 4];
        kind.copy_from_slice(&data[at + 4..at + 8]);
        let (header, len) = match size {
            // The box's size in the 64 bits after its type.
            1 if at + 16 <= data.len() => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&data[at + 8..at + 16]);
                (
                    16,
                    usize::try_from(u64::from_be_bytes(b)).unwrap_or(usize::MAX),
                )
            }
            // To the end of the data.
            0 => (8, data.len() - at),
            n => (8, n as usize),
        };
        if len < header || at.saturating_add(len) > data.len() {
            break;
        }
        out.push((kind, &data[at + header..at + len]));
        at += len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-0 pssh box for `system`, with `data` as its payload.
    fn pssh(system: [u8; 16], payload: &[u8]) -> Vec<u8> {
        let size = (32 + payload.len()) as u32;
        let mut b = size.to_be_bytes().to_vec();
        b.extend_from_slice(b"pssh");
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&system);
        b.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        b.extend_from_slice(payload);
        b
    }

    fn wrap(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn the_boxes_under_moov_name_their_systems() {
        let wv = DrmSystem::Widevine.system_id_bytes();
        let pr = DrmSystem::Playready.system_id_bytes();
        let moov = wrap(
            b"moov",
            &[wrap(b"mvhd", &[0; 100]), pssh(wv, b"wv"), pssh(pr, b"pr")].concat(),
        );
        let init = [wrap(b"ftyp", b"isom\0\0\0\0"), moov].concat();
        assert_eq!(system_ids_in_init(&init), [wv, pr]);
        // A pssh outside moov is not the init segment's signalling.
        assert!(system_ids_in_init(&pssh(wv, b"")).is_empty());
        let parsed = parse_box(&pssh(pr, b"xyz")).unwrap();
        assert_eq!(parsed.system_id, pr);
    }

    #[test]
    fn bad_boxes_are_errors_not_panics() {
        assert!(parse_box(b"short").is_err());
        let mut b = pssh([1; 16], b"");
        b[3] = 99;
        assert!(parse_box(&b).unwrap_err().contains("says it is"));
        let mut b = pssh([1; 16], b"");
        b[4..8].copy_from_slice(b"free");
        assert!(parse_box(&b).unwrap_err().contains("not `pssh`"));
        // Sizes that run past the end, or claim less than a header, stop the walk.
        assert!(system_ids_in_init(&[0, 0, 0, 200, b'm', b'o', b'o', b'v']).is_empty());
        assert!(system_ids_in_init(&[0, 0, 0, 3, b'm', b'o', b'o', b'v']).is_empty());
        assert!(system_ids_in_init(&[0, 0, 0, 1, b'm', b'o', b'o', b'v', 0, 0]).is_empty());
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_walk_without_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
            let _ = system_ids_in_init(&data);
            let _ = parse_box(&data);
        }
    }
}
