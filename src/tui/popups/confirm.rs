//! Questions before a write: each shows exactly what `y` will run.

use crate::logic::fixplan::{self, Step};
use crate::tui::effect::Effect;

use super::Popup;

/// Starting change traffic (run number `run`).
pub fn traffic(run: u32) -> Popup {
    Popup::Confirm {
        title: "Start change traffic?".into(),
        lines: vec![
            "A steady mix of INSERT, UPDATE and DELETE on the published tables".into(),
            "of the source (20 statements/s, 60/30/10), foreign keys kept.".into(),
            "g again stops it.".into(),
        ],
        on_yes: Effect::StartTraffic(run),
    }
}

/// Running `steps` (one check's fix, or every fix when `all`): the SQL of each, and the
/// question for those the role may run; a plan of which none may run is shown as text
/// that names the role to use instead.
pub fn fixes(steps: &[Step], all: bool) -> Popup {
    let runnable: Vec<Step> = steps
        .iter()
        .filter(|s| s.blocked.is_none())
        .cloned()
        .collect();
    let mut lines = fixplan::describe(steps);
    if runnable.is_empty() {
        lines.push(String::new());
        lines
            .push("Nothing here can run as this role; run the SQL above as the role named.".into());
        return Popup::Text {
            title: "Fix needs another role".into(),
            lines,
        };
    }
    let title = if all {
        format!("Run {} fix(es)?", runnable.len())
    } else {
        format!("Fix {}?", steps[0].check_id)
    };
    Popup::Confirm {
        title,
        lines,
        on_yes: Effect::RunFixes(runnable),
    }
}
