//! Splitting a plan into independent plans, one per place: an event or shared unit in one
//! region (pure).
//!
//! The daemon applies each part on its own, so that a slow step in one place (a CDN that takes
//! twenty minutes to deploy, an encoder slow to start in one of an event's regions) never holds
//! back the next resource of another: an apply's places stay busy until all of its steps are
//! done.

use std::collections::BTreeMap;

use super::{Op, Plan};

impl Plan {
    /// The parts of the plan that share no place and no dependency, each with something to do,
    /// in the order of their first action. Together they hold every action that is not a
    /// no-op, and every no-op one of those waits for.
    pub fn split_by_place(&self) -> Vec<Plan> {
        let n = self.actions.len();
        let mut parent: Vec<usize> = (0..n).collect();
        let mut by_place: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for (i, a) in self.actions.iter().enumerate() {
            if let Some(spec) = a.spec() {
                let place = (spec.event.as_str(), spec.region.as_str());
                let first = *by_place.entry(place).or_insert(i);
                union(&mut parent, first, i);
            }
            for &j in &a.after {
                if (j as usize) < n {
                    union(&mut parent, i, j as usize);
                }
            }
        }
        let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for i in 0..n {
            let root = find(&mut parent, i);
            groups.entry(root).or_default().push(i);
        }
        let mut parts: Vec<Vec<usize>> = groups
            .into_values()
            .filter(|members| members.iter().any(|&i| self.actions[i].op != Op::NoOp))
            .collect();
        parts.sort_by_key(|members| members[0]);
        parts
            .into_iter()
            .map(|members| {
                let index: BTreeMap<usize, u32> = members
                    .iter()
                    .enumerate()
                    .map(|(new, &old)| (old, new as u32))
                    .collect();
                let actions = members
                    .iter()
                    .map(|&i| {
                        let mut a = self.actions[i].clone();
                        a.after = a
                            .after
                            .iter()
                            .filter_map(|j| index.get(&(*j as usize)).copied())
                            .collect();
                        a
                    })
                    .collect();
                Plan {
                    actions,
                    ..self.clone_header()
                }
            })
            .collect()
    }

    fn clone_header(&self) -> Plan {
        Plan {
            format: self.format,
            owner: self.owner.clone(),
            state_serial: self.state_serial,
            created_at: self.created_at,
            actions: Vec::new(),
            cost: self.cost.clone(),
        }
    }
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

fn union(parent: &mut [usize], a: usize, b: usize) {
    let (ra, rb) = (find(parent, a), find(parent, b));
    if ra != rb {
        parent[ra.max(rb)] = ra.min(rb);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{RecordedResource, ResourceId, ResourceSpec};
    use crate::plan::{Action, CostEstimate};

    fn action(key: &str, name: &str, op: Op, after: &[u32]) -> Action {
        in_region(key, "eu-west-1", name, op, after)
    }

    fn in_region(key: &str, region: &str, name: &str, op: Op, after: &[u32]) -> Action {
        let spec = ResourceSpec::bare("sim", key, region, name, name);
        let (desired, recorded) = match op {
            Op::Delete => (
                None,
                Some(RecordedResource::ready(spec, serde_json::json!({}))),
            ),
            _ => (Some(spec), None),
        };
        Action {
            id: ResourceId::new(key, region, name),
            op,
            reason: None,
            changes: Vec::new(),
            desired,
            recorded,
            after: after.to_vec(),
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            format: crate::plan::PLAN_FORMAT,
            owner: "o".into(),
            state_serial: 3,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            actions,
            cost: CostEstimate::default(),
        }
    }

    fn ids(p: &Plan) -> Vec<&str> {
        p.actions.iter().map(|a| a.id.as_str()).collect()
    }

    #[test]
    fn one_part_per_place_with_its_edges_renumbered() {
        let p = plan(vec![
            action("@cdn", "cdn", Op::Create, &[]),
            action("a", "origin", Op::NoOp, &[]),
            action("b", "archive", Op::Create, &[]),
            action("a", "encoder", Op::Create, &[1]),
            action("b", "origin", Op::Create, &[2]),
            action("c", "origin", Op::NoOp, &[]),
            in_region("@cdn", "us-east-1", "cdn", Op::Delete, &[]),
        ]);
        let parts = p.split_by_place();
        let got: Vec<Vec<&str>> = parts.iter().map(ids).collect();
        assert_eq!(
            got,
            vec![
                vec!["@cdn/eu-west-1/cdn"],
                vec!["a/eu-west-1/origin", "a/eu-west-1/encoder"],
                vec!["b/eu-west-1/archive", "b/eu-west-1/origin"],
                vec!["@cdn/us-east-1/cdn"],
            ],
            "a place with nothing to do is no part"
        );
        assert_eq!(parts[1].actions[1].after, vec![0]);
        assert_eq!(parts[2].actions[1].after, vec![0]);
        for part in &parts {
            assert_eq!(part.state_serial, 3);
            part.check().unwrap();
        }
    }

    #[test]
    fn keys_joined_by_a_dependency_stay_together() {
        let p = plan(vec![
            action("a", "vod", Op::Create, &[]),
            action("b", "origin", Op::Delete, &[0]),
        ]);
        let parts = p.split_by_place();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].actions[1].after, vec![0]);
    }
}
