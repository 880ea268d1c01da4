//! Sweep's teardown of leaked resources (pure): each listed resource becomes a delete, ordered
//! by what may use what.

use serde_json::{Value, json};

use crate::model::{
    Definition, RecordedResource, ResourceId, ResourceSpec, ResourceStatus, TAG_EVENT, Window,
};
use crate::plan::{Action, Op};
use crate::providers::{InventoryItem, SWEPT_PART};

/// A listed part goes after the resources that sit in it (a channel group after its channels).
fn rank(i: &InventoryItem) -> u8 {
    i.kind.teardown_rank() + u8::from(i.part.is_some())
}

/// The deletes of what sweep found, each after the deletes of what may use it in the same
/// provider and region (a MediaLive input cannot go while its channel exists): the order
/// comes from the kinds' dependencies alone, since the state records none of these.
pub fn teardown(items: Vec<InventoryItem>) -> Vec<Action> {
    let keys: Vec<(String, String, u8)> = items
        .iter()
        .map(|i| (i.provider.clone(), i.region.clone(), rank(i)))
        .collect();
    items
        .into_iter()
        .map(sweep_action)
        .enumerate()
        .map(|(i, mut a)| {
            let (p, r, rank) = &keys[i];
            a.after = keys
                .iter()
                .enumerate()
                .filter(|(_, (p2, r2, rank2))| p2 == p && r2 == r && rank2 < rank)
                .map(|(j, _)| j as u32)
                .collect();
            a
        })
        .collect()
}

/// A delete of something the state never recorded; its id is distinct from every recorded one.
fn sweep_action(item: InventoryItem) -> Action {
    let now = crate::clock::now();
    let spec = ResourceSpec {
        id: ResourceId(format!("sweep/{}/{}", item.provider, item.provider_id)),
        provider: item.provider.clone(),
        region: item.region.clone(),
        event: item.tags.get(TAG_EVENT).cloned().unwrap_or_default(),
        kind: item.kind,
        name: item.name.clone(),
        depends_on: Vec::new(),
        definition: match item.part {
            Some(part) => Definition::from_value(&json!({ SWEPT_PART: part })),
            None => Definition::null(),
        },
        tags: item.tags.clone(),
        hourly_price: 0.0,
        window: Window { from: now, to: now },
        on_air: None,
        spec_hash: String::new(),
    };
    Action {
        id: spec.id.clone(),
        op: Op::Delete,
        reason: Some("leaked: tagged as ours, unknown to the state".into()),
        changes: Vec::new(),
        desired: None,
        recorded: Some(RecordedResource {
            spec,
            status: ResourceStatus::Ready,
            provider_id: Some(item.provider_id),
            client_token: item.client_token,
            outputs: Value::Null,
            created_at: now,
            updated_at: now,
        }),
        after: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;

    fn listed(kind: Kind, part: Option<&'static str>, id: &str) -> InventoryItem {
        InventoryItem {
            provider: "aws".into(),
            provider_id: id.into(),
            kind,
            part,
            region: "eu-west-1".into(),
            name: id.into(),
            client_token: None,
            status: "available".into(),
            tags: Default::default(),
        }
    }

    #[test]
    fn users_go_before_what_they_use_and_parts_last() {
        let actions = teardown(vec![
            listed(Kind::Origin, Some("channel_group"), "group"),
            listed(Kind::Archive, None, "bucket"),
            listed(Kind::Origin, None, "channel"),
            listed(Kind::Encoder, None, "ch"),
            listed(Kind::Input, None, "in"),
            listed(Kind::Cdn, None, "dist"),
        ]);
        let after = |id: &str| -> Vec<String> {
            let a = actions
                .iter()
                .find(|a| a.recorded.as_ref().unwrap().provider_id.as_deref() == Some(id))
                .unwrap();
            let mut v: Vec<String> = a
                .after
                .iter()
                .map(|&j| {
                    actions[j as usize]
                        .recorded
                        .as_ref()
                        .unwrap()
                        .provider_id
                        .clone()
                        .unwrap()
                })
                .collect();
            v.sort();
            v
        };
        assert!(after("ch").is_empty());
        assert!(after("dist").is_empty());
        assert_eq!(after("in"), ["ch", "dist"]);
        assert_eq!(after("channel"), ["ch", "dist"]);
        assert_eq!(after("group"), ["ch", "channel", "dist", "in"]);
        assert_eq!(after("bucket"), ["ch", "channel", "dist", "in"]);
        let part = &actions[0].recorded.as_ref().unwrap().spec.definition;
        assert_eq!(part.value()[SWEPT_PART], "channel_group");
    }
}
