//! The `speke` key provider: a SPEKE v2.0 request (a CPIX 2.3 document, `X-Speke-Version: 2.0`)
//! to the key server in the profile, the interface MediaPackage uses with commercial DRM
//! vendors. The content key comes back in clear (`pskc:PlainValue`); encrypted content keys
//! (the optional RSA envelope) are not supported.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use quick_xml::Reader;
use quick_xml::events::Event;

use super::keys::ContentKey;
use super::package::Scheme;

/// DASH-IF system id of W3C ClearKey: the DRM system this request asks signalling for.
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

fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let h: String = s.chars().filter(|c| *c != '-').collect();
    hex::decode(h).ok()?.try_into().ok()
}

/// The CPIX document asking for one content key `key_id` for `content_id`.
pub fn request_body(content_id: &str, key_id: &[u8; 16], scheme: Scheme) -> String {
    let kid = uuid(key_id);
    let scheme = match scheme {
        Scheme::Cbcs => "cbcs",
        _ => "cenc",
    };
    let content_id = xml_escape(content_id);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<cpix:CPIX contentId="{content_id}" version="2.3" xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc">
  <cpix:ContentKeyList>
    <cpix:ContentKey kid="{kid}" commonEncryptionScheme="{scheme}"/>
  </cpix:ContentKeyList>
  <cpix:DRMSystemList>
    <cpix:DRMSystem kid="{kid}" systemId="{CLEARKEY_SYSTEM_ID}">
      <cpix:PSSH/>
      <cpix:ContentProtectionData/>
      <cpix:HLSSignalingData playlist="media"/>
      <cpix:HLSSignalingData playlist="master"/>
    </cpix:DRMSystem>
  </cpix:DRMSystemList>
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

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Asks the key server at `url` for the content key of `content_id`.
pub async fn fetch_key(
    client: &reqwest::Client,
    url: &str,
    content_id: &str,
    scheme: Scheme,
) -> Result<ContentKey, SpekeError> {
    let mut key = ContentKey::generate();
    let resp = client
        .post(url)
        .header("Content-Type", "application/xml")
        .header("X-Speke-Version", SPEKE_VERSION)
        .body(request_body(content_id, &key.key_id, scheme))
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
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_is_a_cpix_document_for_one_key() {
        let body = request_body("cup-final/eu-west-1", &[0xab; 16], Scheme::Cbcs);
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
        }
    }
}
