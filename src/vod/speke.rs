//! The `speke` key provider: a SPEKE v2.0 request (a CPIX 2.3 document, `X-Speke-Version: 2.0`)
//! to the key server in the profile, the interface MediaPackage uses with commercial DRM
//! vendors. It asks for the DRM systems the profile names (ClearKey's alone when it names
//! none); the content key comes back in clear (`pskc:PlainValue`), with a `pssh` box for each
//! system, which the packaging writes into the init segments. Encrypted content keys (the
//! optional RSA envelope) are not supported.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::Reader;
use quick_xml::events::Event;

use super::keys::ContentKey;
use super::package::Scheme;
use super::pssh::{DrmSystem, Pssh, parse_uuid};

/// DASH-IF system id of ClearKey: what a request asks signalling for when the profile names no
/// DRM system.
pub const CLEARKEY_SYSTEM_ID: &str = "e2719d58-a985-b3c9-781a-b030af78d30e";
pub const SPEKE_VERSION: &str = "2.0";

#[derive(Debug, thiserror::Error)]
pub enum SpekeError {
    #[error("the key server at {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the key server at {url} answered {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },
    #[error("the key server at {url} sent a CPIX document orchestrate cannot use: {reason}")]
    BadResponse { url: String, reason: String },
}

/// `8-4-4-4-12` hex, as CPIX writes key ids.
pub fn uuid(id: &[u8; 16]) -> String {
    let h = hex::encode(id);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// The CPIX document asking for one content key `key_id` for `content_id`, with signalling for
/// each of `systems` (ClearKey when empty).
pub fn request_body(
    content_id: &str,
    key_id: &[u8; 16],
    scheme: Scheme,
    systems: &[DrmSystem],
) -> String {
    let kid = uuid(key_id);
    let scheme = match scheme {
        Scheme::Cbcs => "cbcs",
        _ => "cenc",
    };
    let content_id = xml_escape(content_id);
    let ids: Vec<&str> = if systems.is_empty() {
        vec![CLEARKEY_SYSTEM_ID]
    } else {
        systems.iter().map(|s| s.system_id()).collect()
    };
    let drm: String = ids
        .iter()
        .map(|id| {
            format!(
                r#"    <cpix:DRMSystem kid="{kid}" systemId="{id}">
      <cpix:PSSH/>
      <cpix:ContentProtectionData/>
      <cpix:HLSSignalingData playlist="media"/>
      <cpix:HLSSignalingData playlist="master"/>
    </cpix:DRMSystem>
"#
            )
        })
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cpix:CPIX contentId="{content_id}" version="2.3" xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc">
  <cpix:ContentKeyList>
    <cpix:ContentKey kid="{kid}" commonEncryptionScheme="{scheme}"/>
  </cpix:ContentKeyList>
  <cpix:DRMSystemList>
{drm}  </cpix:DRMSystemList>
  <cpix:ContentKeyUsageRuleList>
    <cpix:ContentKeyUsageRule kid="{kid}" intendedTrackType="ALL"/>
  </cpix:ContentKeyUsageRuleList>
</cpix:CPIX>
"#
    )
}

/// What a CPIX document says of its content keys: `(kid, key in clear, explicit IV)`.
pub type CpixKey = ([u8; 16], Option<[u8; 16]>, Option<[u8; 16]>);

/// Every `cpix:ContentKey` of a CPIX document, namespace prefixes ignored.
pub fn parse_content_keys(xml: &str) -> Result<Vec<CpixKey>, String> {
    let mut reader = Reader::from_str(xml);
    let mut out: Vec<CpixKey> = Vec::new();
    let mut in_key = false;
    let mut in_plain = false;
    let mut saw_cpix = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("not XML at byte {}: {e}", reader.buffer_position()))?;
        let (start, empty) = match &ev {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            _ => (None, false),
        };
        if let Some(e) = start {
            {
                let name = e.local_name();
                match name.as_ref() {
                    "CPIX" => saw_cpix = true,
                    "ContentKey" => {
                        let mut kid = None;
                        let mut iv = None;
                        for a in e.attributes().flatten() {
                            let v = a.value.to_string();
                            match a.key.local_name().as_ref() {
                                "kid" => {
                                    kid = Some(parse_uuid(&v).ok_or_else(|| {
                                        format!("ContentKey kid `{v}` is not a UUID")
                                    })?)
                                }
                                "explicitIV" => iv = Some(
                                    B64.decode(v.trim())
                                        .ok()
                                        .and_then(|b| b.try_into().ok())
                                        .ok_or("ContentKey explicitIV is not 16 bytes in base64")?,
                                ),
                                _ => {}
                            }
                        }
                        let kid = kid.ok_or("a ContentKey has no kid")?;
                        out.push((kid, None, iv));
                        in_key = !empty;
                    }
                    "PlainValue" if in_key && !empty => in_plain = true,
                    _ => {}
                }
            }
            continue;
        }
        match ev {
            Event::Text(t) if in_plain => {
                let text = t.as_ref().to_string();
                let key: [u8; 16] = B64
                    .decode(text.trim())
                    .ok()
                    .and_then(|b| b.try_into().ok())
                    .ok_or("a content key is not 16 bytes in base64")?;
                if let Some(last) = out.last_mut() {
                    last.1 = Some(key);
                }
            }
            Event::End(e) => match e.local_name().as_ref() {
                "ContentKey" => in_key = false,
                "PlainValue" => in_plain = false,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_cpix {
        return Err("no cpix:CPIX element".into());
    }
    Ok(out)
}

/// Every `cpix:DRMSystem`'s `PSSH` of a CPIX document: the whole box, base64-decoded and
/// checked to be a `pssh` box of the system the element names.
pub fn parse_pssh(xml: &str) -> Result<Vec<Pssh>, String> {
    let mut reader = Reader::from_str(xml);
    let mut out = Vec::new();
    let mut system: Option<[u8; 16]> = None;
    let mut in_pssh = false;
    loop {
        let ev = reader
            .read_event()
            .map_err(|e| format!("not XML at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(e) if e.local_name().as_ref() == "DRMSystem" => {
                let id = e
                    .attributes()
                    .flatten()
                    .find(|a| a.key.local_name().as_ref() == "systemId")
                    .map(|a| a.value.to_string())
                    .ok_or("a DRMSystem has no systemId")?;
                system = Some(
                    parse_uuid(&id)
                        .ok_or_else(|| format!("DRMSystem systemId `{id}` is not a UUID"))?,
                );
            }
            Event::Start(e) if e.local_name().as_ref() == "PSSH" && system.is_some() => {
                in_pssh = true;
            }
            Event::Text(t) if in_pssh => {
                let text = t.as_ref().to_string();
                let data = B64
                    .decode(text.trim())
                    .map_err(|_| "a PSSH is not base64".to_string())?;
                let pssh = super::pssh::parse_box(&data).map_err(|e| format!("a PSSH: {e}"))?;
                let named = system.unwrap_or_default();
                if pssh.system_id != named {
                    return Err(format!(
                        "the PSSH of DRM system {} is a box of system {}",
                        uuid(&named),
                        uuid(&pssh.system_id)
                    ));
                }
                out.push(pssh);
            }
            Event::End(e) => match e.local_name().as_ref() {
                "PSSH" => in_pssh = false,
                "DRMSystem" => system = None,
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What a key server gave for one content: the key, and a `pssh` box for each DRM system the
/// profile names.
#[derive(Debug, Clone)]
pub struct Protection {
    pub key: ContentKey,
    pub pssh: Vec<Pssh>,
}

/// Asks the key server at `url` for the content key of `content_id`, and the signalling of
/// each of `systems`.
pub async fn fetch_key(
    client: &reqwest::Client,
    url: &str,
    content_id: &str,
    scheme: Scheme,
    systems: &[DrmSystem],
) -> Result<Protection, SpekeError> {
    let mut key = ContentKey::generate();
    let resp = client
        .post(url)
        .header("Content-Type", "application/xml")
        .header("X-Speke-Version", SPEKE_VERSION)
        .body(request_body(content_id, &key.key_id, scheme, systems))
        .send()
        .await
        .map_err(|e| SpekeError::Unreachable {
            url: url.to_string(),
            reason: e.to_string(),
        })?;
    let status = resp.status().as_u16();
    let body = resp.text().await.map_err(|e| SpekeError::Unreachable {
        url: url.to_string(),
        reason: e.to_string(),
    })?;
    if status != 200 {
        // A refusal is short text, never a key; keep it short in the error all the same.
        let body: String = body.chars().take(200).collect();
        return Err(SpekeError::Refused {
            url: url.to_string(),
            status,
            body,
        });
    }
    let bad = |reason: String| SpekeError::BadResponse {
        url: url.to_string(),
        reason,
    };
    let keys = parse_content_keys(&body).map_err(bad)?;
    let (_, plain, iv) = keys
        .into_iter()
        .find(|(kid, _, _)| *kid == key.key_id)
        .ok_or_else(|| bad(format!("no content key for kid {}", uuid(&key.key_id))))?;
    key.key = plain.ok_or_else(|| {
        bad("the content key has no pskc:PlainValue (encrypted keys are not supported)".into())
    })?;
    if let Some(iv) = iv {
        key.iv = iv;
    }
    // Each system asked for must come with its box: a player of a system without one could
    // not ask for a licence.
    let given = parse_pssh(&body).map_err(bad)?;
    let mut pssh = Vec::with_capacity(systems.len());
    for s in systems {
        let b = given
            .iter()
            .find(|p| p.system_id == s.system_id_bytes())
            .ok_or_else(|| {
                bad(format!(
                    "no PSSH for {} ({})",
                    s.packager_name(),
                    s.system_id()
                ))
            })?;
        pssh.push(b.clone());
    }
    Ok(Protection { key, pssh })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_a_cpix_document_for_one_key() {
        let body = request_body("cup-final/eu-west-1", &[0xab; 16], Scheme::Cbcs, &[]);
        insta::assert_snapshot!(body);
        let keys = parse_content_keys(&body).expect("parse");
        assert_eq!(keys, vec![([0xab; 16], None, None)]);
    }

    #[test]
    fn response_keys_are_read_whatever_the_prefixes() {
        let key = B64.encode([7u8; 16]);
        let iv = B64.encode([9u8; 16]);
        let xml = format!(
            r#"<c:CPIX xmlns:c="urn:dashif:org:cpix" xmlns:p="urn:ietf:params:xml:ns:keyprov:pskc"><c:ContentKeyList><c:ContentKey kid="01010101-0101-0101-0101-010101010101" explicitIV="{iv}"><c:Data><p:Secret><p:PlainValue>{key}</p:PlainValue></p:Secret></c:Data></c:ContentKey></c:ContentKeyList></c:CPIX>"#
        );
        assert_eq!(
            parse_content_keys(&xml).expect("parse"),
            vec![([1; 16], Some([7; 16]), Some([9; 16]))]
        );
    }

    #[test]
    fn a_request_names_each_drm_system_and_the_answer_gives_each_its_box() {
        let systems = [DrmSystem::Widevine, DrmSystem::Playready];
        let body = request_body("final/eu-west-1", &[1; 16], Scheme::Cenc, &systems);
        for s in systems {
            assert!(
                body.contains(&format!(r#"systemId="{}""#, s.system_id())),
                "{body}"
            );
        }
        assert!(!body.contains(CLEARKEY_SYSTEM_ID), "{body}");
        // A box per system, as a key server returns them.
        let pssh = |id: [u8; 16]| {
            let mut b = 32u32.to_be_bytes().to_vec();
            b.extend_from_slice(b"pssh");
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(&id);
            b.extend_from_slice(&[0; 4]);
            b
        };
        let wv = DrmSystem::Widevine.system_id_bytes();
        let answer = |system: &str, data: &[u8]| {
            format!(
                r#"<CPIX><DRMSystemList><DRMSystem kid="01010101-0101-0101-0101-010101010101" systemId="{system}"><PSSH>{}</PSSH></DRMSystem></DRMSystemList></CPIX>"#,
                B64.encode(data)
            )
        };
        let got = parse_pssh(&answer(DrmSystem::Widevine.system_id(), &pssh(wv))).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].system_id, wv);
        assert_eq!(got[0].data, pssh(wv));
        // A box of another system than the element says, or not a box at all: errors.
        let e = parse_pssh(&answer(DrmSystem::Playready.system_id(), &pssh(wv))).unwrap_err();
        assert!(e.contains("is a box of system"), "{e}");
        let e = parse_pssh(&answer(DrmSystem::Widevine.system_id(), b"not a box")).unwrap_err();
        assert!(e.contains("a PSSH"), "{e}");
        let e = parse_pssh(&answer("nope", &pssh(wv))).unwrap_err();
        assert!(e.contains("not a UUID"), "{e}");
    }

    #[test]
    fn bad_documents_are_errors() {
        assert!(parse_content_keys("not xml <").is_err());
        assert!(parse_content_keys("<a/>").is_err());
        let e = parse_content_keys(r#"<CPIX><ContentKey kid="zz"/></CPIX>"#).unwrap_err();
        assert!(e.contains("not a UUID"), "{e}");
    }

    proptest::proptest! {
        #[test]
        fn any_text_parses_without_panic(text in "\\PC{0,200}") {
            let _ = parse_content_keys(&text);
            let _ = parse_pssh(&text);
        }
    }
}
