//! What both state backends read back the same way: times stored as RFC 3339 text, and the
//! spec of a resource known only from its intent.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::Outcome;
use crate::model::{ResourceId, ResourceSpec, TAG_EVENT, TAG_OWNER, TAG_REGION, Window};

/// A stored time; one that does not parse reads as the epoch rather than failing the state.
pub(super) fn ts(s: String) -> Timestamp {
    s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

/// The spec of a resource known only from its intent (a create that never answered).
#[allow(clippy::too_many_arguments)]
pub(super) fn intent_spec(
    owner: &str,
    id: &str,
    provider: String,
    region: String,
    event: String,
    kind: crate::model::Kind,
    depends_on: Vec<ResourceId>,
    at: Timestamp,
) -> ResourceSpec {
    let tags = BTreeMap::from([
        (TAG_OWNER.to_string(), owner.to_string()),
        (TAG_EVENT.to_string(), event.clone()),
        (TAG_REGION.to_string(), region.clone()),
    ]);
    ResourceSpec {
        id: ResourceId(id.to_string()),
        name: id.rsplit('/').next().unwrap_or(id).to_string(),
        provider,
        region,
        event,
        kind,
        depends_on,
        definition: crate::model::Definition::null(),
        tags,
        hourly_price: 0.0,
        window: Window { from: at, to: at },
        on_air: None,
        spec_hash: String::new(),
    }
}

/// The spec a completion records: the one made or updated, as JSON; nothing for a delete or a
/// failure, which keep (or drop) the row's.
pub(super) fn recorded_spec(spec: &ResourceSpec, outcome: &Outcome) -> String {
    match outcome {
        Outcome::Created { .. } | Outcome::Updated { .. } => {
            serde_json::to_string(spec).unwrap_or_default()
        }
        _ => String::new(),
    }
}
