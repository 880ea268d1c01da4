//! A profile's reactions, and what an alert points at among an event's resources (pure).

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::profile::{GuardrailSpec, HookSpec, NotifierSpec, ReactionKind, ReactionSpec};
use crate::model::{Profile, RecordedResource};
use crate::monitor::engine::{Alert, AlertState};
use crate::monitor::{Labels, Tier};

use super::Act;

/// `monitoring.actions` and what they refer to, compiled once per profile.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub reactions: Vec<ReactionSpec>,
    pub notifiers: BTreeMap<String, NotifierSpec>,
    pub hooks: BTreeMap<String, HookSpec>,
    pub guardrails: GuardrailSpec,
}

impl Plan {
    pub fn of(profile: &Profile) -> Self {
        let m = &profile.monitoring;
        Self {
            reactions: m.actions.clone(),
            notifiers: m.notifiers.clone(),
            hooks: m.hooks.clone(),
            guardrails: m.guardrails.clone(),
        }
    }

    /// How much of the recent signals the hooks are sent (nothing is kept without a hook).
    pub fn keep_signals(&self) -> Duration {
        self.reactions
            .iter()
            .filter_map(|r| self.hooks.get(r.hook.as_deref()?))
            .map(|h| h.window.0)
            .max()
            .unwrap_or_default()
    }

    /// The reactions to this alert transition: every matching one when it fires, only the
    /// notifications when it resolves.
    pub fn reactions_to<'a>(&'a self, alert: &'a Alert) -> impl Iterator<Item = &'a ReactionSpec> {
        self.reactions.iter().filter(move |r| {
            let when = match alert.state {
                AlertState::Firing => true,
                AlertState::Resolved => r.action == ReactionKind::Notify,
                AlertState::Pending => false,
            };
            when && r.tier.is_none_or(|t| t == alert.labels.tier)
                && r.on.iter().any(|n| n == "*" || *n == alert.rule)
        })
    }
}

impl From<ReactionKind> for Act {
    fn from(k: ReactionKind) -> Self {
        match k {
            ReactionKind::Failover => Act::Failover,
            ReactionKind::Restart => Act::Restart,
            ReactionKind::Scale => Act::Scale,
            ReactionKind::Notify => Act::Notify,
            // Asking decides the action; nothing is done until the hook answers.
            ReactionKind::Ask => Act::None,
        }
    }
}

/// An event's resources in one region, as the actions need them.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// The encoders, primary first.
    pub encoders: Vec<RecordedResource>,
    pub cdn: Option<RecordedResource>,
}

impl Resources {
    /// Whether one encoder runs several pipelines: then it switches between them itself.
    fn runs_several(rec: &RecordedResource) -> bool {
        RecordedResource::pipelines(rec).len() > 1
    }

    pub fn pipelines(&self) -> Vec<String> {
        self.encoders
            .iter()
            .flat_map(RecordedResource::pipelines)
            .collect()
    }

    /// The encoder running pipeline `p`.
    fn encoder_of(&self, p: &str) -> Option<&RecordedResource> {
        self.encoders
            .iter()
            .find(|e| RecordedResource::pipelines(e).iter().any(|x| x == p))
    }

    /// What makes a pipeline the one served: the encoder, where one runs both pipelines (it
    /// pauses the other), else the CDN edge, which picks the pipeline it fetches from.
    pub fn switch(&self) -> Option<&RecordedResource> {
        self.encoders
            .iter()
            .find(|e| Self::runs_several(e))
            .or(self.cdn.as_ref())
    }

    /// The pipeline an alert is about: its encoder's (`encoder-b`, or `encoder/b` for one of
    /// the pipelines of an encoder that runs both), the origin playlist's (`origin/b`), or the
    /// one the edge served the content sample from (`content/b`). Edge and viewer alerts see
    /// the event through the edge and cannot tell.
    pub fn failing_pipeline(&self, labels: &Labels) -> Option<String> {
        let known = |p: &str| self.pipelines().iter().any(|x| x == p);
        match labels.tier {
            Tier::Encoder => {
                if let Some(e) = self
                    .encoders
                    .iter()
                    .find(|e| e.spec.name == *labels.resource)
                {
                    let own = RecordedResource::pipelines(e);
                    return (own.len() == 1).then(|| own[0].clone());
                }
                let (name, p) = labels.resource.split_once('/')?;
                self.encoders
                    .iter()
                    .any(|e| {
                        e.spec.name == name && RecordedResource::pipelines(e).iter().any(|x| x == p)
                    })
                    .then(|| p.to_string())
            }
            Tier::Origin | Tier::Content => labels
                .resource
                .strip_prefix(match labels.tier {
                    Tier::Origin => "origin/",
                    _ => "content/",
                })
                .filter(|p| known(p))
                .map(String::from),
            Tier::Edge | Tier::Viewer => None,
        }
    }
}

/// A decided action made concrete: which resource, which pipeline.
#[derive(Debug, Clone)]
pub enum Step {
    /// `via` makes `to` the pipeline served (see [`Resources::switch`]).
    Failover {
        via: RecordedResource,
        to: String,
    },
    /// `pipeline` is named where the encoder runs several.
    Restart {
        encoder: RecordedResource,
        pipeline: Option<String>,
    },
    Scale {
        resource: RecordedResource,
    },
}

impl Step {
    /// What the action record names as its target.
    pub fn target(&self) -> String {
        match self {
            Step::Failover { to, .. } => format!("pipeline {to}"),
            Step::Restart {
                encoder,
                pipeline: Some(p),
            } => format!("{}/{p}", encoder.spec.name),
            Step::Restart { encoder, .. } => encoder.spec.name.clone(),
            Step::Scale { resource } => resource.spec.name.clone(),
        }
    }
}

/// The step `act` takes for an alert with `labels`; `pipeline` is a hook's choice of where to
/// fail over to, or of which pipeline's encoder to restart.
pub fn step(
    act: Act,
    res: &Resources,
    labels: &Labels,
    pipeline: Option<&str>,
) -> Result<Step, String> {
    let failing = res.failing_pipeline(labels);
    let pipelines = res.pipelines();
    let named = |p: &str| {
        if pipelines.iter().any(|x| x == p) {
            Ok(p.to_string())
        } else {
            Err(format!(
                "no pipeline `{p}` in this event (pipelines: {})",
                pipelines.join(", ")
            ))
        }
    };
    match act {
        Act::Failover => {
            let via = res
                .switch()
                .cloned()
                .ok_or("this event has no CDN edge to fail over")?;
            let to = match pipeline {
                Some(p) => named(p)?,
                None => {
                    let failing = failing.clone().ok_or_else(|| {
                        format!(
                            "an alert on the {} tier does not say which pipeline failed; a hook may name the `pipeline` to fail over to",
                            labels.tier
                        )
                    })?;
                    pipelines
                        .iter()
                        .find(|p| **p != failing)
                        .cloned()
                        .ok_or_else(|| {
                            format!("pipeline {failing} has no backup to fail over to (redundancy: single)")
                        })?
                }
            };
            if failing.as_deref() == Some(to.as_str()) {
                return Err(format!("pipeline {to} is the one failing"));
            }
            Ok(Step::Failover { via, to })
        }
        Act::Restart => {
            let p = match pipeline {
                Some(p) => named(p)?,
                None => failing.ok_or_else(|| {
                    format!(
                        "an alert on the {} tier does not say which encoder to restart; a hook may name the `pipeline`",
                        labels.tier
                    )
                })?,
            };
            let encoder = res
                .encoder_of(&p)
                .cloned()
                .ok_or_else(|| format!("no encoder runs pipeline {p}"))?;
            let pipeline = Resources::runs_several(&encoder).then_some(p);
            Ok(Step::Restart { encoder, pipeline })
        }
        Act::Scale => {
            let resource = match labels.tier {
                Tier::Edge | Tier::Viewer => res.cdn.clone(),
                Tier::Encoder | Tier::Origin | Tier::Content => {
                    failing.and_then(|p| res.encoder_of(&p).cloned())
                }
            }
            .ok_or_else(|| format!("nothing to scale for an alert on {}", labels.resource))?;
            Ok(Step::Scale { resource })
        }
        Act::Notify | Act::None => Err(format!("`{act}` is not a step on a resource")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ResourceSpec;
    use std::sync::Arc;

    fn rec(name: &str, kind: &str, outputs: serde_json::Value) -> RecordedResource {
        RecordedResource::ready(
            ResourceSpec::bare("local", "show", "eu", name, kind),
            outputs,
        )
    }

    fn dual() -> Resources {
        Resources {
            encoders: vec![
                rec("encoder-a", "encoder", serde_json::json!({"pipeline": "a"})),
                rec("encoder-b", "encoder", serde_json::json!({"pipeline": "b"})),
            ],
            cdn: Some(rec("cdn", "cdn", serde_json::json!({"url": "http://e"}))),
        }
    }

    fn labels(tier: Tier, resource: &str) -> Labels {
        Labels {
            event: Arc::from("show"),
            region: Arc::from("eu"),
            tier,
            resource: Arc::from(resource),
            rendition: None,
        }
    }

    #[test]
    fn failover_leaves_the_failing_pipeline() {
        let r = dual();
        for l in [
            labels(Tier::Origin, "origin/a"),
            labels(Tier::Encoder, "encoder-a"),
            // A frozen picture sampled from pipeline a at the edge.
            labels(Tier::Content, "content/a"),
        ] {
            let s = step(Act::Failover, &r, &l, None).map(|s| s.target());
            assert_eq!(s.as_deref(), Ok("pipeline b"));
        }
        let s = step(Act::Failover, &r, &labels(Tier::Origin, "origin/b"), None);
        assert_eq!(s.map(|s| s.target()).as_deref(), Ok("pipeline a"));
    }

    #[test]
    fn an_edge_alert_fails_over_only_where_told() {
        let r = dual();
        let l = labels(Tier::Viewer, "cdn");
        let e = step(Act::Failover, &r, &l, None).map(|s| s.target());
        assert!(e.is_err_and(|e| e.contains("does not say which pipeline")));
        let s = step(Act::Failover, &r, &l, Some("b")).map(|s| s.target());
        assert_eq!(s.as_deref(), Ok("pipeline b"));
        let e = step(Act::Failover, &r, &l, Some("z")).map(|s| s.target());
        assert!(e.is_err_and(|e| e.contains("no pipeline `z`")));
    }

    #[test]
    fn a_single_pipeline_has_nowhere_to_fail_over() {
        let mut r = dual();
        r.encoders.pop();
        let e = step(Act::Failover, &r, &labels(Tier::Origin, "origin/a"), None);
        assert!(e.is_err_and(|e| e.contains("no backup")));
        r.cdn = None;
        let e = step(Act::Failover, &r, &labels(Tier::Origin, "origin/a"), None);
        assert!(e.is_err_and(|e| e.contains("no CDN")));
    }

    #[test]
    fn restart_finds_the_failing_pipelines_encoder() {
        let r = dual();
        let s = step(Act::Restart, &r, &labels(Tier::Origin, "origin/b"), None);
        assert_eq!(s.map(|s| s.target()).as_deref(), Ok("encoder-b"));
        let s = step(Act::Scale, &r, &labels(Tier::Edge, "cdn"), None);
        assert_eq!(s.map(|s| s.target()).as_deref(), Ok("cdn"));
    }

    /// One MediaLive STANDARD channel running both pipelines, behind a CDN.
    fn standard() -> Resources {
        Resources {
            encoders: vec![rec(
                "encoder",
                "encoder",
                serde_json::json!({"pipelines": ["a", "b"]}),
            )],
            cdn: Some(rec("cdn", "cdn", serde_json::json!({"url": "http://e"}))),
        }
    }

    #[test]
    fn an_encoder_running_both_pipelines_switches_between_them_itself() {
        let r = standard();
        assert_eq!(r.pipelines(), ["a", "b"]);
        let s = step(Act::Failover, &r, &labels(Tier::Encoder, "encoder/a"), None).unwrap();
        let Step::Failover { via, to } = &s else {
            panic!("{s:?}")
        };
        assert_eq!((via.spec.name.as_str(), to.as_str()), ("encoder", "b"));
        // The channel as a whole says nothing of one pipeline.
        let e = step(Act::Failover, &r, &labels(Tier::Encoder, "encoder"), None);
        assert!(e.is_err_and(|e| e.contains("does not say which pipeline")));
        let s = step(Act::Restart, &r, &labels(Tier::Encoder, "encoder/b"), None);
        assert_eq!(s.map(|s| s.target()).as_deref(), Ok("encoder/b"));
        let e = step(Act::Restart, &r, &labels(Tier::Encoder, "encoder/c"), None);
        assert!(e.is_err());
    }
}
