//! The alerts, the actions, and what became of each event after its show.

use std::fmt::Write as _;

use super::{Frame, esc};
use crate::monitor::engine::AlertState;

pub(super) fn alerts(h: &mut String, f: &Frame<'_>) {
    h.push_str("<section id=\"alerts\"><h2>Alerts</h2>");
    if f.screen.open.is_empty() && f.screen.resolved.is_empty() {
        h.push_str("<p class=\"muted\">No alert so far.</p></section>");
        return;
    }
    h.push_str(
        "<table><thead><tr><th>State</th><th>Since</th><th>Where</th><th>Rule</th>\
         <th>What</th></tr></thead><tbody>",
    );
    let open = f.screen.open.values();
    let resolved = f.screen.resolved.iter().rev();
    for a in open.chain(resolved).filter(|a| f.shown(&a.event)) {
        let (class, word) = match a.state {
            AlertState::Firing => ("alert", "✖ firing"),
            AlertState::Pending => ("warn", "! pending"),
            AlertState::Resolved => ("ok", "✓ resolved"),
        };
        let _ = write!(
            h,
            "<tr class=\"{class}\" data-alert=\"{id}\" data-rule=\"{rule}\" data-state=\"{st}\">\
             <td>{word}</td>\
             <td>{since}</td><td>{ev} / {rg} / {tier} / {res}</td><td>{rule} ({sev})</td>\
             <td>{msg}</td></tr>",
            id = esc(&a.id),
            st = a.state.as_str(),
            since = a.since.strftime("%H:%M:%S"),
            ev = esc(&a.event),
            rg = esc(&a.region),
            tier = a.tier.as_str(),
            res = esc(&a.resource),
            rule = esc(&a.rule),
            sev = esc(&a.severity),
            msg = esc(&a.message),
        );
    }
    h.push_str("</tbody></table></section>");
}

pub(super) fn actions(h: &mut String, f: &Frame<'_>) {
    if f.screen.actions.is_empty() {
        return;
    }
    h.push_str(
        "<section id=\"actions\"><h2>Actions</h2><table><thead><tr><th>At</th><th>Action</th>\
         <th>State</th><th>Where</th><th>Why</th><th>Outcome</th></tr></thead><tbody>",
    );
    for a in f
        .screen
        .actions
        .iter()
        .rev()
        .filter(|a| f.shown(&a.labels.event))
    {
        let _ = write!(
            h,
            "<tr data-action=\"{id}\" data-state=\"{st}\"><td>{at}</td><td>{act} {target}</td>\
             <td>{st}</td><td>{ev} / {rg}</td><td>{reason} <span class=\"muted\">({src}, \
             alert {rule} {ast})</span></td><td>{detail}</td></tr>",
            id = esc(&a.id),
            at = a.at.strftime("%H:%M:%S"),
            act = a.action,
            target = esc(a.target.as_deref().unwrap_or("")),
            st = a.state.as_str(),
            ev = esc(&a.labels.event),
            rg = esc(&a.labels.region),
            reason = esc(&a.reason),
            src = esc(&a.source),
            rule = esc(&a.rule),
            ast = a.alert_state.as_str(),
            detail = esc(a.detail.as_deref().unwrap_or("")),
        );
    }
    h.push_str("</tbody></table></section>");
}

/// After the show: each region's hand-off to VOD and a link to the event's report.
pub(super) fn after(h: &mut String, f: &Frame<'_>) {
    let Some(tick) = f.tick else { return };
    let over: Vec<_> = tick.events.iter().filter(|e| f.now >= e.end).collect();
    if over.is_empty() {
        return;
    }
    h.push_str("<section id=\"after\"><h2>After the show</h2><ul>");
    for e in over {
        let _ = write!(h, "<li data-event=\"{id}\"><b>{id}</b>: ", id = esc(&e.id));
        let handoffs: Vec<_> = tick.handoffs.iter().filter(|x| x.event == e.id).collect();
        if handoffs.is_empty() {
            h.push_str("no hand-off recorded yet. ");
        }
        for x in handoffs {
            let said = serde_json::to_value(&x.handoff).unwrap_or_default();
            let state = said["state"]
                .as_str()
                .unwrap_or("unknown")
                .replace('_', " ");
            let _ = write!(h, "VOD in {}: <b>{}</b>", esc(&x.region), esc(&state));
            if let Some(reason) = said["reason"].as_str() {
                let _ = write!(h, " ({})", esc(reason));
            }
            h.push_str(". ");
        }
        let _ = write!(
            h,
            "<a href=\"/console/report/{id}\">Report: cost, efficiency, availability, VOD and \
             its protection</a></li>",
            id = esc(&e.id)
        );
    }
    h.push_str("</ul></section>");
}
