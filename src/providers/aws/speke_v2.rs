//! A MediaPackage v2 endpoint's encryption (the origins of an event group sharing its CDN):
//! keys from the profile's key server, which MediaPackage calls through SPEKE v2 as the
//! catalog's origin role. Unlike v1, v2 packages HLS in CMAF too, so `cenc` (Widevine,
//! PlayReady) and `cbcs` (FairPlay, Widevine, PlayReady) cover both HLS and DASH on CMAF
//! segments, and `aes-128` is HLS over TS; every scheme may rotate its keys.
//!
//! The API's encryption settings:
//! <https://docs.aws.amazon.com/mediapackage/latest/APIReference/API_Encryption.html>.

use aws_sdk_mediapackagev2::types::{
    CmafEncryptionMethod, ContainerType, DrmSystem as V2System, Encryption,
    EncryptionContractConfiguration, EncryptionMethod, PresetSpeke20Audio, PresetSpeke20Video,
    SpekeKeyProvider, TsEncryptionMethod,
};

use super::speke::EncryptionDef;
use crate::model::profile_spec::{DrmScheme, DrmSystem};
use crate::providers::ProviderError;

/// MediaPackage v2 rotates keys no more often than every five minutes.
const ROTATION_MIN_S: i32 = 300;

impl EncryptionDef {
    /// The segments an endpoint of `packaging` is made of under this scheme: CMAF for `cenc`
    /// and `cbcs` (common encryption is of fragmented MP4), TS for `aes-128`; a packaging the
    /// scheme cannot encrypt is refused, never served in the clear.
    pub fn v2_container(&self, packaging: &str) -> Result<ContainerType, ProviderError> {
        match (self.scheme, packaging) {
            (DrmScheme::Cenc | DrmScheme::Cbcs, "hls" | "dash") => Ok(ContainerType::Cmaf),
            (DrmScheme::Aes128, "hls") => Ok(ContainerType::Ts),
            _ => Err(ProviderError::Permanent(format!(
                "origin.drm: MediaPackage v2 cannot encrypt a `{packaging}` endpoint with `{}`; it would be served in the clear",
                scheme_name(self.scheme)
            ))),
        }
    }

    /// The endpoint's encryption, for segments in `container`.
    pub fn v2(
        &self,
        resource_id: &str,
        container: &ContainerType,
    ) -> Result<Encryption, ProviderError> {
        let invalid = |e: aws_sdk_mediapackagev2::error::BuildError| {
            ProviderError::Permanent(format!("origin.drm: {e}"))
        };
        let (method, systems) = match self.scheme {
            DrmScheme::Aes128 => (
                EncryptionMethod::builder()
                    .ts_encryption_method(TsEncryptionMethod::Aes128)
                    .build(),
                vec![V2System::ClearKeyAes128],
            ),
            DrmScheme::Cenc | DrmScheme::Cbcs => (
                EncryptionMethod::builder()
                    .cmaf_encryption_method(if self.scheme == DrmScheme::Cenc {
                        CmafEncryptionMethod::Cenc
                    } else {
                        CmafEncryptionMethod::Cbcs
                    })
                    .build(),
                self.systems.iter().map(|s| system(*s)).collect(),
            ),
            DrmScheme::None => {
                return Err(ProviderError::Permanent(
                    "origin.drm: `none` encrypts nothing".into(),
                ));
            }
        };
        // A TS segment carries audio and video under one key; CMAF keys each track.
        let (video, audio) = if *container == ContainerType::Ts {
            (PresetSpeke20Video::Shared, PresetSpeke20Audio::Shared)
        } else {
            (
                PresetSpeke20Video::PresetVideo1,
                PresetSpeke20Audio::PresetAudio1,
            )
        };
        let contract = EncryptionContractConfiguration::builder()
            .preset_speke20_video(video)
            .preset_speke20_audio(audio)
            .build()
            .map_err(invalid)?;
        let provider = SpekeKeyProvider::builder()
            .url(&self.url)
            .role_arn(&self.role_arn)
            .resource_id(resource_id)
            .set_drm_systems(Some(systems))
            .encryption_contract_configuration(contract)
            .build()
            .map_err(invalid)?;
        let rotation = self.key_rotation.map(|r| {
            i32::try_from(r.0.as_secs())
                .unwrap_or(i32::MAX)
                .max(ROTATION_MIN_S)
        });
        Ok(Encryption::builder()
            .encryption_method(method)
            .set_key_rotation_interval_seconds(rotation)
            .speke_key_provider(provider)
            .build())
    }
}

fn system(s: DrmSystem) -> V2System {
    match s {
        DrmSystem::Widevine => V2System::Widevine,
        DrmSystem::Playready => V2System::Playready,
        DrmSystem::Fairplay => V2System::Fairplay,
    }
}

fn scheme_name(s: DrmScheme) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::duration::HumanDuration;

    fn def(scheme: DrmScheme, systems: Vec<DrmSystem>, rotation_s: Option<u64>) -> EncryptionDef {
        EncryptionDef {
            scheme,
            url: "https://keys.example.com/speke/v2".into(),
            systems,
            role_arn: "arn:aws:iam::123456789012:role/SpekeAccess".into(),
            key_rotation: rotation_s.map(|s| HumanDuration(std::time::Duration::from_secs(s))),
        }
    }

    #[test]
    fn cmaf_carries_cenc_and_cbcs_for_hls_and_dash_and_ts_carries_aes_128() {
        let cbcs = def(
            DrmScheme::Cbcs,
            vec![DrmSystem::Fairplay, DrmSystem::Widevine],
            Some(60),
        );
        for packaging in ["hls", "dash"] {
            let c = cbcs.v2_container(packaging).unwrap();
            assert_eq!(c, ContainerType::Cmaf);
            let e = cbcs.v2("orch-x", &c).unwrap();
            assert_eq!(
                e.encryption_method().unwrap().cmaf_encryption_method(),
                Some(&CmafEncryptionMethod::Cbcs)
            );
            let p = e.speke_key_provider().unwrap();
            assert_eq!(p.drm_systems(), [V2System::Fairplay, V2System::Widevine]);
            let contract = p.encryption_contract_configuration().unwrap();
            assert_eq!(
                contract.preset_speke20_video(),
                &PresetSpeke20Video::PresetVideo1
            );
            // Rotation no faster than MediaPackage allows.
            assert_eq!(e.key_rotation_interval_seconds(), Some(300));
        }
        let cenc = def(
            DrmScheme::Cenc,
            vec![DrmSystem::Widevine, DrmSystem::Playready],
            None,
        );
        let e = cenc.v2("x", &ContainerType::Cmaf).unwrap();
        assert_eq!(
            e.encryption_method().unwrap().cmaf_encryption_method(),
            Some(&CmafEncryptionMethod::Cenc)
        );
        assert_eq!(e.key_rotation_interval_seconds(), None);

        let aes = def(DrmScheme::Aes128, vec![], Some(900));
        let c = aes.v2_container("hls").unwrap();
        assert_eq!(c, ContainerType::Ts);
        let e = aes.v2("x", &c).unwrap();
        assert_eq!(
            e.encryption_method().unwrap().ts_encryption_method(),
            Some(&TsEncryptionMethod::Aes128)
        );
        let p = e.speke_key_provider().unwrap();
        assert_eq!(p.drm_systems(), [V2System::ClearKeyAes128]);
        assert_eq!(
            p.encryption_contract_configuration()
                .unwrap()
                .preset_speke20_audio(),
            &PresetSpeke20Audio::Shared
        );
        let refused = aes.v2_container("dash").unwrap_err().to_string();
        assert!(refused.contains("served in the clear"), "{refused}");
    }
}
