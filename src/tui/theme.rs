//! Colours, or none: with `NO_COLOR` set every style is plain (bold and reverse only), so
//! meaning never rests on colour alone — symbols (✓ ! ✗ ?) carry it too.

use ratatui::style::{Color, Modifier, Style};

use crate::logic::divergence::State;
use crate::model::check::Status;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to anything non-empty (no-color.org).
    pub fn from_env() -> Self {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn status(&self, s: Status) -> Style {
        match s {
            Status::Ok => self.fg(Color::Green),
            Status::Warning => self.fg(Color::Yellow),
            Status::Unknown => self.fg(Color::Magenta),
            Status::Critical => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub fn state(&self, s: State) -> Style {
        match s {
            State::InSync => self.fg(Color::Green),
            State::Pending => self.fg(Color::Cyan),
            State::Stuck | State::Missing => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            State::Unknown | State::Raw => self.fg(Color::DarkGray),
        }
    }

    pub fn dim(&self) -> Style {
        self.fg(Color::DarkGray)
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    pub fn border(&self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }

    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red)
    }
}
