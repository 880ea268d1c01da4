//! The MediaLive channel as `templates/aws/encoder.tera` renders it: the CreateChannel
//! request in the API's own field names (what `aws medialive create-channel --cli-input-json`
//! takes), read into SDK types. Only the fields the template uses are read; any other field is
//! an error naming it, so an edited template never loses a setting silently. The channel's
//! `Name` is the provider's to set (see `names`), so that a retried create finds it.

use aws_sdk_medialive::types as ml;
use serde::Deserialize;

/// The MediaPackage channel a channel's MediaPackage outputs go to.
#[derive(Debug, Clone, Copy)]
pub enum Package<'a> {
    V1 {
        channel_id: &'a str,
    },
    /// A channel in a MediaPackage v2 channel group (a group's origins behind a shared CDN).
    V2 {
        group: &'a str,
        channel: &'a str,
    },
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct ChannelDoc {
    #[serde(default)]
    pub channel_class: Option<String>,
    /// The IAM role MediaLive assumes for the channel.
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub input_specification: Option<InputSpecDoc>,
    pub input_attachments: Vec<AttachmentDoc>,
    pub destinations: Vec<DestinationDoc>,
    pub encoder_settings: EncoderDoc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct InputSpecDoc {
    pub codec: String,
    pub resolution: String,
    pub maximum_bitrate: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AttachmentDoc {
    /// The input resource's name (`input`, `slate-a`…), which is how its id is found.
    pub input_attachment_name: String,
    /// Known once the input exists: the provider fills it in.
    #[serde(default)]
    #[allow(dead_code)] // Read for the document's shape; the provider sets its own.
    pub input_id: Option<String>,
    #[serde(default)]
    pub input_settings: Option<InputSettingsDoc>,
    #[serde(default)]
    pub automatic_input_failover_settings: Option<FailoverDoc>,
}

/// MediaLive's automatic input failover from this attachment to another. The template names
/// the secondary by its attachment; the provider fills in its input id (`SecondaryInputId`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct FailoverDoc {
    pub secondary_input_attachment: String,
    /// `PRIMARY_INPUT_PREFERRED` (back to the primary when it returns) or
    /// `EQUAL_INPUT_PREFERENCE`.
    #[serde(default)]
    pub input_preference: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct InputSettingsDoc {
    /// `LOOP` for a clip played over and over (the slate), `CONTINUE` to hold its last frame.
    pub source_end_behavior: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DestinationDoc {
    pub id: String,
    pub media_package_settings: Vec<MediaPackageDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MediaPackageDoc {
    /// Known once the origin exists: the provider fills it in.
    #[serde(default)]
    #[allow(dead_code)] // Read for the document's shape; the provider sets its own.
    pub channel_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct EncoderDoc {
    pub timecode_config: TimecodeDoc,
    #[serde(default)]
    pub audio_descriptions: Vec<AudioDoc>,
    pub video_descriptions: Vec<VideoDoc>,
    pub output_groups: Vec<OutputGroupDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct TimecodeDoc {
    pub source: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AudioDoc {
    pub name: String,
    pub audio_selector_name: String,
    pub codec_settings: AudioCodecDoc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AudioCodecDoc {
    pub aac_settings: AacDoc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AacDoc {
    pub bitrate: f64,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoDoc {
    pub name: String,
    pub width: i32,
    pub height: i32,
    pub codec_settings: VideoCodecDoc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct VideoCodecDoc {
    #[serde(default, rename = "H264Settings")]
    pub h264: Option<CodecDoc>,
    #[serde(default, rename = "H265Settings")]
    pub h265: Option<CodecDoc>,
}

/// The settings H.264 and H.265 share, as the template sets them.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct CodecDoc {
    pub bitrate: i32,
    pub rate_control_mode: String,
    pub framerate_control: String,
    pub framerate_numerator: i32,
    pub framerate_denominator: i32,
    pub gop_size: f64,
    pub gop_size_units: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OutputGroupDoc {
    pub name: String,
    pub output_group_settings: GroupSettingsDoc,
    pub outputs: Vec<OutputDoc>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GroupSettingsDoc {
    pub media_package_group_settings: MediaPackageGroupDoc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MediaPackageGroupDoc {
    pub destination: DestinationRefDoc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct DestinationRefDoc {
    pub destination_ref_id: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OutputDoc {
    pub output_name: String,
    pub video_description_name: String,
    #[serde(default)]
    pub audio_description_names: Vec<String>,
    #[allow(dead_code)] // MediaPackage outputs take no settings: read for the shape only.
    pub output_settings: OutputSettingsDoc,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct OutputSettingsDoc {
    #[allow(dead_code)] // MediaPackage outputs take no settings: read for the shape only.
    pub media_package_output_settings: serde_json::Map<String, serde_json::Value>,
}

impl ChannelDoc {
    pub fn parse(v: &serde_json::Value) -> Result<Self, String> {
        let doc: Self = serde_path_to_error::deserialize(v)
            .map_err(|e| format!("channel.{}: {}", e.path(), e.inner()))?;
        doc.check()?;
        Ok(doc)
    }

    /// The references inside the document resolve: outputs name a video and audio the
    /// channel encodes, groups a destination it has.
    fn check(&self) -> Result<(), String> {
        let enc = &self.encoder_settings;
        for v in &enc.video_descriptions {
            if v.codec_settings.h264.is_some() == v.codec_settings.h265.is_some() {
                return Err(format!(
                    "channel.EncoderSettings.VideoDescriptions `{}`: set one of H264Settings or H265Settings",
                    v.name
                ));
            }
        }
        for g in &enc.output_groups {
            let dest = &g
                .output_group_settings
                .media_package_group_settings
                .destination
                .destination_ref_id;
            if !self.destinations.iter().any(|d| &d.id == dest) {
                return Err(format!(
                    "channel.EncoderSettings.OutputGroups `{}`: no destination `{dest}`",
                    g.name
                ));
            }
            for o in &g.outputs {
                if !enc
                    .video_descriptions
                    .iter()
                    .any(|v| v.name == o.video_description_name)
                {
                    return Err(format!(
                        "channel output `{}`: no VideoDescription `{}`",
                        o.output_name, o.video_description_name
                    ));
                }
                if let Some(a) = o
                    .audio_description_names
                    .iter()
                    .find(|a| !enc.audio_descriptions.iter().any(|d| &d.name == *a))
                {
                    return Err(format!(
                        "channel output `{}`: no AudioDescription `{a}`",
                        o.output_name
                    ));
                }
            }
        }
        Ok(())
    }

    pub fn input_specification(&self) -> Option<ml::InputSpecification> {
        self.input_specification.as_ref().map(|s| {
            ml::InputSpecification::builder()
                .codec(s.codec.as_str().into())
                .resolution(s.resolution.as_str().into())
                .maximum_bitrate(s.maximum_bitrate.as_str().into())
                .build()
        })
    }

    /// The attachments, each with its input's id from `ids` (by attachment name); the first
    /// is what the channel shows when it starts.
    pub fn input_attachments(
        &self,
        ids: &std::collections::BTreeMap<String, String>,
    ) -> Vec<ml::InputAttachment> {
        self.input_attachments
            .iter()
            .map(|a| {
                let settings = a.input_settings.as_ref().map(|s| {
                    ml::InputSettings::builder()
                        .source_end_behavior(ml::InputSourceEndBehavior::from(
                            s.source_end_behavior.as_str(),
                        ))
                        .build()
                });
                let failover = a.automatic_input_failover_settings.as_ref().map(|f| {
                    ml::AutomaticInputFailoverSettings::builder()
                        .set_secondary_input_id(ids.get(&f.secondary_input_attachment).cloned())
                        .set_input_preference(
                            f.input_preference.as_deref().map(ml::InputPreference::from),
                        )
                        .build()
                });
                ml::InputAttachment::builder()
                    .input_attachment_name(&a.input_attachment_name)
                    .set_input_id(ids.get(&a.input_attachment_name).cloned())
                    .set_input_settings(settings)
                    .set_automatic_input_failover_settings(failover)
                    .build()
            })
            .collect()
    }

    /// The names of the attached inputs, in order.
    pub fn attachment_names(&self) -> impl Iterator<Item = &str> {
        self.input_attachments
            .iter()
            .map(|a| a.input_attachment_name.as_str())
    }

    /// The destinations, every MediaPackage one pointing at `origin`.
    pub fn destinations(&self, origin: Package<'_>) -> Vec<ml::OutputDestination> {
        let settings = || {
            let b = ml::MediaPackageOutputDestinationSettings::builder();
            match origin {
                Package::V1 { channel_id } => b.channel_id(channel_id),
                Package::V2 { group, channel } => b.channel_group(group).channel_name(channel),
            }
            .build()
        };
        self.destinations
            .iter()
            .map(|d| {
                let mut b = ml::OutputDestination::builder().id(&d.id);
                for _ in &d.media_package_settings {
                    b = b.media_package_settings(settings());
                }
                b.build()
            })
            .collect()
    }

    pub fn encoder_settings(&self) -> ml::EncoderSettings {
        let enc = &self.encoder_settings;
        let mut b = ml::EncoderSettings::builder().timecode_config(
            ml::TimecodeConfig::builder()
                .source(enc.timecode_config.source.as_str().into())
                .build(),
        );
        for a in &enc.audio_descriptions {
            b = b.audio_descriptions(
                ml::AudioDescription::builder()
                    .name(&a.name)
                    .audio_selector_name(&a.audio_selector_name)
                    .codec_settings(
                        ml::AudioCodecSettings::builder()
                            .aac_settings(
                                ml::AacSettings::builder()
                                    .bitrate(a.codec_settings.aac_settings.bitrate)
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            );
        }
        for v in &enc.video_descriptions {
            let codec = match (&v.codec_settings.h264, &v.codec_settings.h265) {
                (Some(c), _) => ml::VideoCodecSettings::builder()
                    .h264_settings(
                        ml::H264Settings::builder()
                            .bitrate(c.bitrate)
                            .rate_control_mode(c.rate_control_mode.as_str().into())
                            .framerate_control(c.framerate_control.as_str().into())
                            .framerate_numerator(c.framerate_numerator)
                            .framerate_denominator(c.framerate_denominator)
                            .gop_size(c.gop_size)
                            .gop_size_units(c.gop_size_units.as_str().into())
                            .build(),
                    )
                    .build(),
                (None, Some(c)) => ml::VideoCodecSettings::builder()
                    .h265_settings(
                        ml::H265Settings::builder()
                            .bitrate(c.bitrate)
                            .rate_control_mode(c.rate_control_mode.as_str().into())
                            .framerate_numerator(c.framerate_numerator)
                            .framerate_denominator(c.framerate_denominator)
                            .gop_size(c.gop_size)
                            .gop_size_units(c.gop_size_units.as_str().into())
                            .build(),
                    )
                    .build(),
                (None, None) => ml::VideoCodecSettings::builder().build(),
            };
            b = b.video_descriptions(
                ml::VideoDescription::builder()
                    .name(&v.name)
                    .width(v.width)
                    .height(v.height)
                    .codec_settings(codec)
                    .build(),
            );
        }
        for g in &enc.output_groups {
            let dest = &g
                .output_group_settings
                .media_package_group_settings
                .destination
                .destination_ref_id;
            let mut gb = ml::OutputGroup::builder()
                .name(&g.name)
                .output_group_settings(
                    ml::OutputGroupSettings::builder()
                        .media_package_group_settings(
                            ml::MediaPackageGroupSettings::builder()
                                .destination(
                                    ml::OutputLocationRef::builder()
                                        .destination_ref_id(dest)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                );
            for o in &g.outputs {
                let mut ob = ml::Output::builder()
                    .output_name(&o.output_name)
                    .video_description_name(&o.video_description_name)
                    .output_settings(
                        ml::OutputSettings::builder()
                            .media_package_output_settings(
                                ml::MediaPackageOutputSettings::builder().build(),
                            )
                            .build(),
                    );
                for a in &o.audio_description_names {
                    ob = ob.audio_description_names(a);
                }
                gb = gb.outputs(ob.build());
            }
            b = b.output_groups(gb.build());
        }
        b.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc() -> serde_json::Value {
        json!({
            "ChannelClass": "SINGLE_PIPELINE",
            "InputAttachments": [{ "InputAttachmentName": "input", "InputId": "(known after apply)" }],
            "Destinations": [{ "Id": "origin", "MediaPackageSettings": [{ "ChannelId": "(known after apply)" }] }],
            "EncoderSettings": {
                "TimecodeConfig": { "Source": "SYSTEMCLOCK" },
                "AudioDescriptions": [{ "Name": "audio", "AudioSelectorName": "default",
                    "CodecSettings": { "AacSettings": { "Bitrate": 128000 } } }],
                "VideoDescriptions": [{ "Name": "video_720p", "Width": 1280, "Height": 720,
                    "CodecSettings": { "H264Settings": { "Bitrate": 3000000, "RateControlMode": "CBR",
                        "FramerateControl": "SPECIFIED", "FramerateNumerator": 30000,
                        "FramerateDenominator": 1000, "GopSize": 2, "GopSizeUnits": "SECONDS" } } }],
                "OutputGroups": [{ "Name": "mediapackage",
                    "OutputGroupSettings": { "MediaPackageGroupSettings": { "Destination": { "DestinationRefId": "origin" } } },
                    "Outputs": [{ "OutputName": "720p", "VideoDescriptionName": "video_720p",
                        "AudioDescriptionNames": ["audio"], "OutputSettings": { "MediaPackageOutputSettings": {} } }] }]
            }
        })
    }

    #[test]
    fn the_rendered_channel_becomes_the_request_with_the_ids_filled_in() {
        let d = ChannelDoc::parse(&doc()).unwrap();
        let enc = d.encoder_settings();
        let v = &enc.video_descriptions()[0];
        assert_eq!((v.width(), v.height()), (Some(1280), Some(720)));
        let h264 = v.codec_settings().unwrap().h264_settings().unwrap();
        assert_eq!(h264.bitrate(), Some(3_000_000));
        assert_eq!(h264.gop_size(), Some(2.0));
        assert_eq!(h264.rate_control_mode().map(|m| m.as_str()), Some("CBR"));
        let ids = std::collections::BTreeMap::from([("input".to_string(), "1234".to_string())]);
        assert_eq!(d.input_attachments(&ids)[0].input_id(), Some("1234"));
        let dest = &d.destinations(Package::V1 {
            channel_id: "orch-x-origin",
        })[0];
        assert_eq!(
            dest.media_package_settings()[0].channel_id(),
            Some("orch-x-origin")
        );
        let group = &enc.output_groups()[0];
        assert_eq!(
            group.outputs()[0].video_description_name(),
            Some("video_720p")
        );
    }

    #[test]
    fn a_field_it_does_not_read_is_named() {
        let mut v = doc();
        v["EncoderSettings"]["VideoDescriptions"][0]["Sharpness"] = json!(50);
        let e = ChannelDoc::parse(&v).unwrap_err();
        assert!(
            e.starts_with(
                "channel.EncoderSettings.VideoDescriptions[0].Sharpness: unknown field `Sharpness`"
            ),
            "{e}"
        );
    }

    #[test]
    fn references_must_resolve() {
        let mut v = doc();
        v["EncoderSettings"]["OutputGroups"][0]["Outputs"][0]["VideoDescriptionName"] =
            json!("video_1080p");
        let e = ChannelDoc::parse(&v).unwrap_err();
        assert!(e.contains("no VideoDescription `video_1080p`"), "{e}");
        let mut v = doc();
        v["Destinations"][0]["Id"] = json!("elsewhere");
        let e = ChannelDoc::parse(&v).unwrap_err();
        assert!(e.contains("no destination `origin`"), "{e}");
    }
}
