//! Changes in place, where AWS allows them; what it does not is a replacement, which the
//! catalog's `replace_on` (and `replace_why`, which `plan` shows) says before anything is done.
//! A MediaLive channel is updated while stopped (stopped, updated and started again; never
//! while its show is on air); a MediaPackage endpoint's segments, window, startover and
//! encryption (v1's, and v2's but for its container); an RTMP input's admitted networks; a distribution's origins and behaviours; a
//! bucket's tags.

use serde_json::Value;

use super::{
    AwsProvider, ChannelParts, definition, medialive, mediapackage, mediapackage_v2, names, s3,
};
use crate::model::{Kind, RecordedResource, ResourceSpec};
use crate::providers::ProviderError;

impl AwsProvider {
    pub(super) async fn update_in_place(
        &self,
        rec: &RecordedResource,
        spec: &ResourceSpec,
    ) -> Result<Value, ProviderError> {
        let region = spec.region.as_str();
        let id = rec.provider_id.clone().unwrap_or_else(|| names::own(spec));
        match spec.kind {
            Kind::Archive => {
                let bucket = rec
                    .provider_id
                    .clone()
                    .unwrap_or_else(|| names::bucket(spec));
                s3::tag_bucket(&self.s3(region).await, &bucket, &spec.tags).await?;
                Ok(rec.outputs.clone())
            }
            Kind::Encoder => {
                let parts = ChannelParts::of(spec)?;
                let token = rec.client_token.clone().unwrap_or_default();
                let client = self.medialive(region).await;
                let made = medialive::update_channel(
                    &client,
                    &id,
                    parts.request(spec, &token),
                    spec.on_air,
                )
                .await?;
                Ok(made.outputs)
            }
            Kind::Origin => {
                let def: mediapackage::OriginDef = definition(spec)?;
                match id
                    .split_once('/')
                    .filter(|_| def.channel_group_of.is_some())
                {
                    Some((group, channel)) => {
                        let client = self.mediapackage_v2(region).await;
                        mediapackage_v2::update(&client, group, channel, &def).await?;
                    }
                    None => {
                        mediapackage::update(&self.mediapackage(region).await, &id, &def).await?;
                    }
                }
                Ok(rec.outputs.clone())
            }
            Kind::Input => {
                let def: medialive::InputDef = definition(spec)?;
                let client = self.medialive(region).await;
                medialive::update_input(&client, &names::own(spec), &def, &spec.tags).await?;
                let mut out = rec.outputs.clone();
                if let Some(o) = out.as_object_mut().filter(|o| o.contains_key("allow")) {
                    o.insert("allow".into(), serde_json::json!(def.allow));
                }
                Ok(out)
            }
            // The distribution's create converges an existing one's origins and behaviours.
            Kind::Cdn => {
                let token = rec.client_token.clone().unwrap_or_default();
                Ok(crate::providers::Provider::create(self, spec, &token)
                    .await?
                    .outputs)
            }
            Kind::Firewall => Err(not_in_place("an EC2 encoder's security group")),
            Kind::Instance => Err(not_in_place("an EC2 encoder")),
            Kind::Vod => Err(not_in_place("a harvested VOD")),
        }
    }
}

fn not_in_place(what: &str) -> ProviderError {
    ProviderError::Permanent(format!(
        "the aws provider cannot change {what} in place: `down` the event, then `up` it again"
    ))
}
