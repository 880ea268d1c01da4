//! The schedule table and what waits for approval.

use std::fmt::Write as _;

use super::{Frame, countdown, esc};
use crate::console::auth::Role;
use crate::monitor::actions::ActionRecord;
use crate::schedule::phase::Phase;

fn phase_icon(p: Phase) -> &'static str {
    match p {
        Phase::Scheduled => "◷",
        Phase::Provisioning => "⟳",
        Phase::Ready => "✓",
        Phase::Live => "●",
        Phase::Handoff => "⇢",
        Phase::Teardown => "⌫",
        Phase::Done => "✔",
    }
}

pub(super) fn schedule(h: &mut String, f: &Frame<'_>) {
    h.push_str("<section id=\"schedule\"><h2>Schedule</h2>");
    let Some(tick) = f.tick else {
        h.push_str("<p class=\"muted\">Waiting for the first reconciliation…</p></section>");
        return;
    };
    if tick.events.is_empty() {
        h.push_str("<p class=\"muted\">No events in the schedule.</p></section>");
        return;
    }
    h.push_str(
        "<table><thead><tr><th>Event</th><th>Phase</th><th>On air</th><th>Next</th>\
         <th>Regions</th></tr></thead><tbody>",
    );
    for e in &tick.events {
        let _ = write!(
            h,
            "<tr data-event=\"{id}\"><td>{id}</td><td><span class=\"phase phase-{p}\">{icon} {p}\
             </span></td><td>{} → {}</td><td>",
            e.start.strftime("%Y-%m-%d %H:%M:%S UTC"),
            e.end.strftime("%H:%M:%S"),
            id = esc(&e.id),
            p = e.phase.as_str(),
            icon = phase_icon(e.phase),
        );
        // The next step, and always the start and the teardown while they are ahead.
        if f.now < e.provision_at {
            countdown(h, "provisioning in", e.provision_at, f.now);
            h.push_str("<br>");
        }
        if f.now < e.start {
            countdown(h, "on air in", e.start, f.now);
            h.push_str("<br>");
        } else if f.now < e.end {
            countdown(h, "ends in", e.end, f.now);
            h.push_str("<br>");
        }
        if f.now < e.release_at {
            countdown(h, "teardown in", e.release_at, f.now);
        } else {
            h.push('—');
        }
        let _ = write!(h, "</td><td>{}</td></tr>", esc(&e.regions.join(", ")));
    }
    h.push_str("</tbody></table></section>");
}

pub(super) fn approvals(h: &mut String, f: &Frame<'_>) {
    let waiting: Vec<&ActionRecord> = f.screen.awaiting().collect();
    if waiting.is_empty() {
        return;
    }
    h.push_str("<section id=\"approvals\"><h2>Awaiting approval</h2><ul>");
    for a in waiting {
        let _ = write!(
            h,
            "<li class=\"approval\" data-action=\"{id}\"><b>⚠ {act}</b> {target} on {ev} in {rg}: \
             {reason} <span class=\"muted\">[{id}]</span>",
            id = esc(&a.id),
            act = a.action,
            target = esc(a.target.as_deref().unwrap_or("")),
            ev = esc(&a.labels.event),
            rg = esc(&a.labels.region),
            reason = esc(&a.reason),
        );
        if f.role == Role::Operator {
            let _ = write!(
                h,
                " <button class=\"verdict approve\" data-id=\"{id}\" data-verdict=\"approve\">\
                 Approve</button> <button class=\"verdict reject\" data-id=\"{id}\" \
                 data-verdict=\"reject\">Reject</button>",
                id = esc(&a.id)
            );
        } else {
            h.push_str(" <span class=\"muted\">(an operator decides)</span>");
        }
        h.push_str("</li>");
    }
    h.push_str("</ul></section>");
}
