//! What the monitor does about an alert: the profile's reactions (`monitoring.actions`) pick an
//! action, or ask an external hook to; guardrails and approvals stand between a decision and
//! the running event; every decision goes out on the health stream with its reason.
//!
//! - [`plan`] (pure): the reactions, and which pipeline or resource an alert points at;
//! - [`guard`] (pure): cooldowns and the cap on actions per window;
//! - [`call`]: webhooks (HMAC-SHA256 signed) and commands (JSON on stdin, no shell);
//! - [`runner`]: the task that decides, waits for approvals and acts through the provider.

pub mod call;
pub mod guard;
pub mod plan;
pub mod runner;

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Labels;
use super::engine::AlertState;

/// What can be done: the built-in actions, and `none` (a hook may decide to do nothing).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Act {
    Failover,
    Restart,
    Scale,
    Notify,
    None,
}

impl Act {
    pub const ALL: [Act; 5] = [
        Act::Failover,
        Act::Restart,
        Act::Scale,
        Act::Notify,
        Act::None,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Act::Failover => "failover",
            Act::Restart => "restart",
            Act::Scale => "scale",
            Act::Notify => "notify",
            Act::None => "none",
        }
    }

    /// Changes the running event, so guardrails and approvals apply.
    pub fn changes_the_event(self) -> bool {
        matches!(self, Act::Failover | Act::Restart | Act::Scale)
    }
}

impl std::fmt::Display for Act {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionState {
    /// Waits for `orchestrate approve ID` (or `reject`).
    AwaitingApproval,
    Approved,
    Rejected,
    /// Not approved before the event went off air.
    Expired,
    /// Held back by a guardrail (cooldown, cap).
    Suppressed,
    /// A hook decided to do nothing.
    Declined,
    Done,
    Failed,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::AwaitingApproval => "awaiting_approval",
            ActionState::Approved => "approved",
            ActionState::Rejected => "rejected",
            ActionState::Expired => "expired",
            ActionState::Suppressed => "suppressed",
            ActionState::Declined => "declined",
            ActionState::Done => "done",
            ActionState::Failed => "failed",
        }
    }
}

/// One step of one decision, as the health stream carries it; `id` stays the same from the
/// decision to its outcome.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionRecord {
    pub id: String,
    pub action: Act,
    pub state: ActionState,
    pub at: Timestamp,
    /// The alert it answers, and that alert's rule and state.
    pub alert: String,
    pub rule: String,
    pub alert_state: AlertState,
    /// `profile` (a reaction chose it) or `hook:NAME`.
    pub source: String,
    pub reason: String,
    /// What it acts on: `pipeline b`, `encoder-a`, a notifier's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The outcome, an error, or who approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(flatten)]
    pub labels: Labels,
}

impl ActionRecord {
    /// One line for a terminal: `ACTION failover done [act-…] pipeline b: reason (detail)`.
    pub fn line(&self) -> String {
        let mut l = format!(
            "ACTION {} {} [{}] {}/{}",
            self.action,
            self.state.as_str(),
            self.id,
            self.labels.event,
            self.labels.region
        );
        if let Some(t) = &self.target {
            l.push_str(&format!(" -> {t}"));
        }
        let reason = if self.reason.is_empty() {
            format!("{} ({})", self.rule, self.source)
        } else {
            format!("{} ({})", self.reason, self.source)
        };
        l.push_str(&format!(": {reason}"));
        if let Some(d) = &self.detail {
            l.push_str(&format!("; {d}"));
        }
        l
    }
}
