//! The key table: one list feeds key handling, the footer and the help overlay, so the
//! help can never disagree with what the keys do.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::action::Action;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Code(KeyCode),
}

pub struct Binding {
    pub keys: &'static [Key],
    /// As the help and footer print it.
    pub label: &'static str,
    pub help: &'static str,
    /// Short word for the footer; `None` keeps it out of the footer.
    pub footer: Option<&'static str>,
    /// The action changes a database (refused in read-only mode).
    pub writes: bool,
    pub action: Action,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[Key::Char('q'), Key::Ctrl('c')],
        label: "q  Ctrl-C",
        help: "quit",
        footer: Some("quit"),
        writes: false,
        action: Action::Quit,
    },
    Binding {
        keys: &[Key::Char('?')],
        label: "?",
        help: "this help",
        footer: Some("help"),
        writes: false,
        action: Action::ToggleHelp,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Tab)],
        label: "Tab",
        help: "next pane",
        footer: Some("pane"),
        writes: false,
        action: Action::NextPane,
    },
    Binding {
        keys: &[Key::Code(KeyCode::BackTab)],
        label: "Shift-Tab",
        help: "previous pane",
        footer: None,
        writes: false,
        action: Action::PrevPane,
    },
    Binding {
        keys: &[Key::Char('k'), Key::Code(KeyCode::Up)],
        label: "k  ↑",
        help: "move up",
        footer: None,
        writes: false,
        action: Action::Up,
    },
    Binding {
        keys: &[Key::Char('j'), Key::Code(KeyCode::Down)],
        label: "j  ↓",
        help: "move down",
        footer: None,
        writes: false,
        action: Action::Down,
    },
    Binding {
        keys: &[Key::Code(KeyCode::PageUp)],
        label: "PgUp",
        help: "page up",
        footer: None,
        writes: false,
        action: Action::PageUp,
    },
    Binding {
        keys: &[Key::Code(KeyCode::PageDown)],
        label: "PgDn",
        help: "page down",
        footer: None,
        writes: false,
        action: Action::PageDown,
    },
    Binding {
        keys: &[Key::Code(KeyCode::Enter)],
        label: "Enter",
        help: "details of the selected table or check",
        footer: None,
        writes: false,
        action: Action::Details,
    },
    Binding {
        keys: &[Key::Char('/')],
        label: "/",
        help: "filter tables by name (Enter keeps, Esc clears)",
        footer: Some("filter"),
        writes: false,
        action: Action::StartFilter,
    },
    Binding {
        keys: &[Key::Char('o')],
        label: "o",
        help: "sort tables: name, difference, state",
        footer: None,
        writes: false,
        action: Action::CycleSort,
    },
    Binding {
        keys: &[Key::Char('r')],
        label: "r",
        help: "refresh now",
        footer: Some("refresh"),
        writes: false,
        action: Action::Refresh,
    },
    Binding {
        keys: &[Key::Char('p')],
        label: "p",
        help: "pause / resume polling",
        footer: Some("pause"),
        writes: false,
        action: Action::TogglePause,
    },
    Binding {
        keys: &[Key::Char('c')],
        label: "c",
        help: "exact count(*) of the selected table now",
        footer: Some("count"),
        writes: false,
        action: Action::CountExact,
    },
    Binding {
        keys: &[Key::Char('f')],
        label: "f",
        help: "fix the selected check, showing its SQL first",
        footer: Some("fix"),
        writes: true,
        action: Action::Fix,
    },
    Binding {
        keys: &[Key::Char('F')],
        label: "F",
        help: "run every available fix, all listed first",
        footer: None,
        writes: true,
        action: Action::FixAll,
    },
    Binding {
        keys: &[Key::Char('s')],
        label: "s",
        help: "seed sample rows",
        footer: Some("seed"),
        writes: true,
        action: Action::Seed,
    },
    Binding {
        keys: &[Key::Char('g')],
        label: "g",
        help: "change traffic on / off",
        footer: Some("traffic"),
        writes: true,
        action: Action::Traffic,
    },
    Binding {
        keys: &[Key::Char('d')],
        label: "d",
        help: "row-level diff of the selected table",
        footer: Some("diff"),
        writes: false,
        action: Action::Diff,
    },
    Binding {
        keys: &[Key::Char('w')],
        label: "w",
        help: "slot history: WAL and lag charts",
        footer: Some("charts"),
        writes: false,
        action: Action::SlotHistory,
    },
    Binding {
        keys: &[Key::Char('a')],
        label: "a",
        help: "Airbyte: sync now, showing the API call first",
        footer: None,
        writes: true,
        action: Action::SyncNow,
    },
];

fn matches(key: &Key, ev: &KeyEvent) -> bool {
    match key {
        Key::Ctrl(c) => {
            ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char(*c)
        }
        Key::Char(c) => {
            !ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char(*c)
        }
        Key::Code(code) => ev.code == *code,
    }
}

/// What a key means in the normal mode (no popup, not typing a filter).
pub fn normal(ev: &KeyEvent) -> Option<Action> {
    BINDINGS
        .iter()
        .find(|b| b.keys.iter().any(|k| matches(k, ev)))
        .map(|b| b.action.clone())
}

/// Keys while typing a filter.
pub fn filtering(ev: &KeyEvent) -> Option<Action> {
    if ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match ev.code {
        KeyCode::Enter => Some(Action::FilterApply),
        KeyCode::Esc => Some(Action::FilterCancel),
        KeyCode::Backspace => Some(Action::FilterBackspace),
        KeyCode::Char(c) => Some(Action::FilterChar(c)),
        _ => None,
    }
}

/// Keys while a popup is open: it captures them.
pub fn popup(ev: &KeyEvent, confirming: bool) -> Option<Action> {
    if ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char('c') {
        return Some(Action::Quit);
    }
    match ev.code {
        KeyCode::Char('y') | KeyCode::Char('Y') if confirming => Some(Action::Confirm),
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::Cancel),
        KeyCode::Char('q') | KeyCode::Char('?') | KeyCode::Enter if !confirming => {
            Some(Action::Cancel)
        }
        KeyCode::Char('j') | KeyCode::Down => Some(Action::Down),
        KeyCode::Char('k') | KeyCode::Up => Some(Action::Up),
        // The seed form's fields.
        KeyCode::Char('+') | KeyCode::Char('=') if confirming => Some(Action::SeedMore),
        KeyCode::Char('-') if confirming => Some(Action::SeedLess),
        KeyCode::Tab if confirming => Some(Action::SeedScope),
        _ => None,
    }
}
