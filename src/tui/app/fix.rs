//! `f` / `F`: shows exactly what would run and asks; a fix the role cannot run, or a
//! step only a person can do, is shown without the question.

use crate::logic::fixplan;
use crate::model::check::Status;
use crate::tui::action::LogLevel;
use crate::tui::effect::Effect;
use crate::tui::popups::{confirm, details};

use super::App;

impl App {
    pub(super) fn ask_fix(&mut self, all: bool) -> Vec<Effect> {
        if self.refuse_write("fixes are") {
            return vec![];
        }
        let chosen = if all {
            None
        } else {
            match self.checks.get(self.check_selected) {
                Some(c) => Some(c.clone()),
                None => return vec![],
            }
        };
        if let Some(c) = &chosen {
            if c.status == Status::Ok {
                self.push_log(LogLevel::Info, format!("{}: nothing to fix", c.id));
                return vec![];
            }
            match &c.fix {
                None => {
                    self.push_log(
                        LogLevel::Warn,
                        format!("{}: no automatic fix — {}", c.id, c.detail),
                    );
                    return vec![];
                }
                Some(f) if f.sql.is_empty() => {
                    let manual = f.manual.clone().unwrap_or_default();
                    self.popup = Some(details::manual_step(c, &manual));
                    return vec![];
                }
                Some(_) => {}
            }
        }
        let checks = self.checks.clone();
        let steps = self
            .with_snapshot(|_, snap| match &chosen {
                Some(c) => fixplan::step_for(c, snap).into_iter().collect::<Vec<_>>(),
                None => fixplan::plan(&checks, snap),
            })
            .unwrap_or_default();
        if steps.is_empty() {
            self.push_log(LogLevel::Info, "no fix to run");
            return vec![];
        }
        self.popup = Some(confirm::fixes(&steps, all));
        vec![]
    }
}
