//! A MediaPackage (v1) endpoint's encryption: keys from the profile's key server, which
//! MediaPackage calls through SPEKE as the catalog's origin role. DASH is encrypted with cenc
//! over SPEKE v2 (one key for the video, one for the audio: presets 1), which rotates no keys;
//! HLS over TS with SAMPLE-AES (FairPlay, `cbcs`) or AES-128 over SPEKE v1, which may.
//!
//! System ids as MediaPackage lists them:
//! <https://docs.aws.amazon.com/mediapackage/latest/userguide/encryption-choosing-speke-version.html>.

use aws_sdk_mediapackage::types::{
    DashEncryption, EncryptionContractConfiguration, EncryptionMethod, HlsEncryption,
    PresetSpeke20Audio, PresetSpeke20Video, SpekeKeyProvider,
};

use crate::model::duration::HumanDuration;
use crate::model::profile_spec::{DrmScheme, DrmSystem};
use crate::providers::ProviderError;

/// SPEKE's system id for HLS AES-128, whose key players fetch from the key URI.
pub const CLEAR_KEY_AES_128: &str = "3ea8778f-7742-4bf9-b18b-e834b2acbd47";

/// What the origin template asks for when the profile encrypts its live stream.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncryptionDef {
    pub scheme: DrmScheme,
    pub url: String,
    #[serde(default)]
    pub systems: Vec<DrmSystem>,
    pub role_arn: String,
    #[serde(default)]
    pub key_rotation: Option<HumanDuration>,
}

impl EncryptionDef {
    fn provider(&self, resource_id: &str, v2: bool) -> SpekeKeyProvider {
        let ids: Vec<String> = match self.scheme {
            DrmScheme::Aes128 => vec![CLEAR_KEY_AES_128.to_string()],
            _ => self
                .systems
                .iter()
                .map(|s| s.system_id().to_string())
                .collect(),
        };
        let mut b = SpekeKeyProvider::builder()
            .url(&self.url)
            .role_arn(&self.role_arn)
            .resource_id(resource_id)
            .set_system_ids(Some(ids));
        if v2 {
            b = b.encryption_contract_configuration(
                EncryptionContractConfiguration::builder()
                    .preset_speke20_video(PresetSpeke20Video::PresetVideo1)
                    .preset_speke20_audio(PresetSpeke20Audio::PresetAudio1)
                    .build(),
            );
        }
        b.build()
    }

    fn rotation_s(&self) -> Option<i32> {
        self.key_rotation
            .map(|r| i32::try_from(r.0.as_secs().max(1)).unwrap_or(i32::MAX))
    }

    fn refuse(&self, endpoint: &str) -> ProviderError {
        ProviderError::Permanent(format!(
            "origin.drm: MediaPackage's {endpoint} endpoint cannot be encrypted with `{}`; it would be served in the clear",
            serde_json::to_value(self.scheme)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_default()
        ))
    }

    /// The HLS (TS) endpoint's encryption; a scheme it cannot carry is refused, never left out.
    pub fn hls(&self, resource_id: &str) -> Result<HlsEncryption, ProviderError> {
        let method = match self.scheme {
            DrmScheme::Aes128 => EncryptionMethod::Aes128,
            DrmScheme::Cbcs => EncryptionMethod::SampleAes,
            _ => return Err(self.refuse("HLS")),
        };
        Ok(HlsEncryption::builder()
            .encryption_method(method)
            .set_key_rotation_interval_seconds(self.rotation_s())
            .speke_key_provider(self.provider(resource_id, false))
            .build())
    }

    /// The DASH endpoint's encryption (cenc, SPEKE v2).
    pub fn dash(&self, resource_id: &str) -> Result<DashEncryption, ProviderError> {
        if self.scheme != DrmScheme::Cenc {
            return Err(self.refuse("DASH"));
        }
        Ok(DashEncryption::builder()
            .speke_key_provider(self.provider(resource_id, true))
            .build())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(scheme: DrmScheme, systems: Vec<DrmSystem>) -> EncryptionDef {
        EncryptionDef {
            scheme,
            url: "https://keys.example.com/speke/v2".into(),
            systems,
            role_arn: "arn:aws:iam::123456789012:role/SpekeAccess".into(),
            key_rotation: Some(HumanDuration(std::time::Duration::from_secs(600))),
        }
    }

    #[test]
    fn each_endpoint_takes_the_schemes_its_container_allows() {
        let cenc = def(
            DrmScheme::Cenc,
            vec![DrmSystem::Widevine, DrmSystem::Playready],
        );
        let dash = cenc.dash("orch-x-dash").unwrap();
        let p = dash.speke_key_provider().unwrap();
        assert_eq!(
            p.system_ids(),
            [
                "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed",
                "9a04f079-9840-4286-ab92-e65be0885f95"
            ]
        );
        assert!(p.encryption_contract_configuration().is_some(), "SPEKE v2");
        assert_eq!(dash.key_rotation_interval_seconds(), None);
        assert!(cenc.hls("x").is_err(), "TS takes no cenc");

        let aes = def(DrmScheme::Aes128, vec![]);
        let hls = aes.hls("orch-x-hls").unwrap();
        assert_eq!(hls.encryption_method(), Some(&EncryptionMethod::Aes128));
        assert_eq!(hls.key_rotation_interval_seconds(), Some(600));
        let p = hls.speke_key_provider().unwrap();
        assert_eq!(p.system_ids(), [CLEAR_KEY_AES_128]);
        assert!(p.encryption_contract_configuration().is_none(), "SPEKE v1");
        assert!(aes.dash("x").is_err());

        let fairplay = def(DrmScheme::Cbcs, vec![DrmSystem::Fairplay])
            .hls("x")
            .unwrap();
        assert_eq!(
            fairplay.encryption_method(),
            Some(&EncryptionMethod::SampleAes)
        );
        assert_eq!(
            fairplay.speke_key_provider().unwrap().system_ids(),
            ["94ce86fb-07ff-4f43-adb8-93d2fa968ca2"]
        );
    }
}
