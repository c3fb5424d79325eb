//! Several pairs: one line per pair first (status, tables pending / stuck / missing,
//! largest Δ, retained WAL and lag, last sync, poll age), sortable and filterable;
//! Enter opens that pair's own screen (an [`App`] per pair, the usual keys), Esc comes
//! back. Pure like `App`: keys in, effects (tagged with their pair) out.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

use crate::config::Engine;
use crate::logic::divergence::{State, classify};
use crate::logic::format::{age_ms, behind_label, difference_cell, human_bytes};
use crate::logic::syncs;
use crate::model::check::Status;

use super::action::Action;
use super::app::App;
use super::effect::Effect;
use super::panes::header::clock;
use super::theme::Theme;

/// One pair's line, from its `App`.
#[derive(Clone, Debug, PartialEq)]
pub struct PairLine {
    pub name: String,
    pub status: Status,
    pub pending: usize,
    pub stuck: usize,
    pub missing: usize,
    /// The largest |Δ| of its tables, with its sign.
    pub largest_difference: Option<i64>,
    pub retained: Option<i64>,
    pub lag_bytes: Option<i64>,
    /// `behind 3m12s` / `caught up`, when known.
    pub behind: Option<String>,
    pub last_sync: String,
    /// The older of the two sides' last answers.
    pub poll_age_ms: Option<i64>,
    /// A side is down.
    pub down: bool,
}

pub fn line(name: &str, app: &App) -> PairLine {
    let mut l = PairLine {
        name: name.to_string(),
        status: app.overall(),
        pending: 0,
        stuck: 0,
        missing: 0,
        largest_difference: None,
        retained: None,
        lag_bytes: None,
        behind: app.behind().and_then(behind_label),
        last_sync: match app.settings.engine {
            Engine::Airbyte => syncs::summary(app.tracker.syncs(), app.now_ms),
            // A subscription streams: there are no syncs to date.
            Engine::Native => "streaming (subscription)".into(),
        },
        poll_age_ms: None,
        down: false,
    };
    for (_, history) in app.tracker.iter() {
        match classify(history) {
            State::Pending => l.pending += 1,
            State::Stuck => l.stuck += 1,
            State::Missing => l.missing += 1,
            _ => {}
        }
        if let Some(d) = history.back().and_then(|s| s.difference())
            && l.largest_difference.is_none_or(|m| d.abs() > m.abs())
        {
            l.largest_difference = Some(d);
        }
    }
    if let Some(slot) = app
        .source
        .snap
        .as_ref()
        .and_then(|s| s.slot.ok())
        .and_then(|s| s.as_ref())
    {
        l.retained = slot.retained_bytes;
        l.lag_bytes = slot.lag_bytes;
    }
    let ages: Vec<Option<i64>> = [&app.source, &app.dest]
        .iter()
        .map(|v| v.polled_at_ms.map(|t| (app.now_ms - t).max(0)))
        .collect();
    l.poll_age_ms = match (ages[0], ages[1]) {
        (Some(a), Some(b)) => Some(a.max(b)),
        _ => None,
    };
    l.down = [&app.source, &app.dest]
        .iter()
        .any(|v| v.snap.as_ref().is_some_and(|s| !s.reach.is_up()));
    l
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OverviewSort {
    Name,
    Status,
    Difference,
}

/// What a key in the overview does.
#[derive(Clone, Debug, PartialEq)]
pub enum OverviewKey {
    Quit,
    Up,
    Down,
    Open,
    Sort,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterDone,
    FilterCancel,
    Refresh,
}

pub struct Overview {
    /// Each pair's name and screen.
    pub pairs: Vec<(String, App)>,
    /// The pair whose screen is open.
    pub open: Option<usize>,
    pub selected: usize,
    pub sort: OverviewSort,
    pub filter: String,
    pub filter_editing: bool,
    pub quit: bool,
}

impl Overview {
    pub fn new(mut pairs: Vec<(String, App)>) -> Overview {
        // Each pair's own screen says whose it is.
        for (name, app) in &mut pairs {
            app.badge = Some(name.clone());
        }
        Overview {
            pairs,
            open: None,
            selected: 0,
            sort: OverviewSort::Name,
            filter: String::new(),
            filter_editing: false,
            quit: false,
        }
    }

    /// The lines shown, filtered and sorted, with the index of each pair.
    pub fn lines(&self) -> Vec<(usize, PairLine)> {
        let f = self.filter.to_lowercase();
        let mut lines: Vec<(usize, PairLine)> = self
            .pairs
            .iter()
            .enumerate()
            .filter(|(_, (name, _))| f.is_empty() || name.to_lowercase().contains(&f))
            .map(|(i, (name, app))| (i, line(name, app)))
            .collect();
        match self.sort {
            OverviewSort::Name => {}
            OverviewSort::Status => {
                lines.sort_by_key(|(_, l)| std::cmp::Reverse(l.status));
            }
            OverviewSort::Difference => lines
                .sort_by_key(|(_, l)| std::cmp::Reverse(l.largest_difference.map_or(-1, i64::abs))),
        }
        lines
    }

    /// Which pair a key goes to, and what it means there: the open pair's screen takes
    /// its keys as always, except Esc with nothing to close, which comes back here.
    pub fn map_key(&self, ev: &KeyEvent) -> Option<Routed> {
        if ev.kind != KeyEventKind::Press {
            return None;
        }
        if let Some(i) = self.open {
            let app = &self.pairs[i].1;
            let idle = app.popup.is_none() && !app.filter_editing && app.seeding.is_none();
            if idle && ev.code == KeyCode::Esc {
                return Some(Routed::Back);
            }
            return super::map_key(app, ev).map(|a| Routed::Pair(i, a));
        }
        let ctrl_c = ev.modifiers.contains(KeyModifiers::CONTROL) && ev.code == KeyCode::Char('c');
        let k = if ctrl_c {
            OverviewKey::Quit
        } else if self.filter_editing {
            match ev.code {
                KeyCode::Enter => OverviewKey::FilterDone,
                KeyCode::Esc => OverviewKey::FilterCancel,
                KeyCode::Backspace => OverviewKey::FilterBackspace,
                KeyCode::Char(c) => OverviewKey::FilterChar(c),
                _ => return None,
            }
        } else {
            match ev.code {
                KeyCode::Char('q') => OverviewKey::Quit,
                KeyCode::Char('j') | KeyCode::Down => OverviewKey::Down,
                KeyCode::Char('k') | KeyCode::Up => OverviewKey::Up,
                KeyCode::Enter => OverviewKey::Open,
                KeyCode::Char('o') => OverviewKey::Sort,
                KeyCode::Char('/') => OverviewKey::StartFilter,
                KeyCode::Char('r') => OverviewKey::Refresh,
                KeyCode::Esc => OverviewKey::FilterCancel,
                _ => return None,
            }
        };
        Some(Routed::Overview(k))
    }

    /// Applies a routed key or report; returns effects, each for its pair.
    pub fn update(&mut self, r: Routed) -> Vec<(usize, Effect)> {
        match r {
            Routed::Pair(i, action) => {
                let Some((_, app)) = self.pairs.get_mut(i) else {
                    return vec![];
                };
                let effects = app.update(action);
                if app.quit {
                    self.quit = true;
                }
                effects.into_iter().map(|e| (i, e)).collect()
            }
            Routed::All(action) => {
                let mut out = Vec::new();
                for (i, (_, app)) in self.pairs.iter_mut().enumerate() {
                    out.extend(app.update(action.clone()).into_iter().map(|e| (i, e)));
                }
                out
            }
            Routed::Back => {
                self.open = None;
                vec![]
            }
            Routed::Overview(k) => self.key(k),
        }
    }

    fn key(&mut self, k: OverviewKey) -> Vec<(usize, Effect)> {
        let n = self.lines().len();
        match k {
            OverviewKey::Quit => {
                self.quit = true;
                return (0..self.pairs.len()).map(|i| (i, Effect::Quit)).collect();
            }
            OverviewKey::Up => self.selected = self.selected.saturating_sub(1),
            OverviewKey::Down => self.selected = (self.selected + 1).min(n.saturating_sub(1)),
            OverviewKey::Open => self.open = self.lines().get(self.selected).map(|(i, _)| *i),
            OverviewKey::Sort => {
                self.sort = match self.sort {
                    OverviewSort::Name => OverviewSort::Status,
                    OverviewSort::Status => OverviewSort::Difference,
                    OverviewSort::Difference => OverviewSort::Name,
                }
            }
            OverviewKey::StartFilter => self.filter_editing = true,
            OverviewKey::FilterChar(c) => {
                self.filter.push(c);
                self.selected = 0;
            }
            OverviewKey::FilterBackspace => {
                self.filter.pop();
            }
            OverviewKey::FilterDone => self.filter_editing = false,
            OverviewKey::FilterCancel => {
                self.filter.clear();
                self.filter_editing = false;
            }
            OverviewKey::Refresh => {
                return (0..self.pairs.len())
                    .map(|i| (i, Effect::Refresh))
                    .collect();
            }
        }
        vec![]
    }
}

/// A key or a report, and where it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Routed {
    /// To one pair's `App`.
    Pair(usize, Action),
    /// To every pair (the clock).
    All(Action),
    /// Esc on a pair's screen: back to the overview.
    Back,
    Overview(OverviewKey),
}

const HEAD: &str = "pair                 status     pend stuck miss     max Δ   retained    lag       behind  poll  last sync";

fn row(l: &PairLine) -> String {
    let name: String = l.name.chars().take(20).collect();
    format!(
        "{name:<20} {:<10} {:>4} {:>5} {:>4} {:>9} {:>10} {:>6} {:>12} {:>5}  {}",
        l.status.label(),
        l.pending,
        l.stuck,
        l.missing,
        difference_cell(l.largest_difference),
        l.retained.map(human_bytes).unwrap_or_else(|| "—".into()),
        l.lag_bytes.map(human_bytes).unwrap_or_else(|| "—".into()),
        l.behind.clone().unwrap_or_else(|| "—".into()),
        l.poll_age_ms
            .map(|a| age_ms(a).replace(".0s", "s"))
            .unwrap_or_else(|| "—".into()),
        l.last_sync,
    )
}

/// Draws the overview, or the open pair's screen.
pub fn draw(frame: &mut Frame, o: &mut Overview, theme: &Theme) {
    if let Some(i) = o.open {
        let (_, app) = &mut o.pairs[i];
        super::draw::draw(frame, app, theme);
        return;
    }
    let area = frame.area();
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let lines = o.lines();
    let worst = lines
        .iter()
        .map(|(_, l)| l.status)
        .max()
        .unwrap_or(Status::Ok);
    let now = o
        .pairs
        .first()
        .map(|(_, a)| clock(a, a.now_ms))
        .unwrap_or_default();
    let troubled = lines
        .iter()
        .filter(|(_, l)| l.status >= Status::Warning)
        .count();
    frame.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled("syncwatch ", theme.title()),
            Span::raw(format!("─ {} pairs ", o.pairs.len())),
            Span::styled(
                format!("{} {}", worst.symbol(), worst.label()),
                theme.status(worst),
            ),
            Span::raw(format!(" ─ {troubled} need attention ─ {now}")),
        ])),
        header,
    );
    let height = body.height.saturating_sub(3) as usize;
    o.selected = o.selected.min(lines.len().saturating_sub(1));
    let start = super::panes::tables::window_start(o.selected, height, lines.len());
    let mut text = vec![Line::styled(HEAD, theme.dim())];
    for (n, (_, l)) in lines.iter().enumerate().skip(start).take(height) {
        let mut style = theme.status(l.status);
        if l.down {
            style = theme.error();
        }
        if n == o.selected {
            style = style.patch(theme.selected());
        }
        text.push(Line::styled(row(l), style));
    }
    if lines.is_empty() {
        text.push(Line::styled("no pair matches the filter", theme.dim()));
    }
    let title = match (&o.filter, o.filter_editing) {
        (f, true) => format!(" Pairs ({}) filter: {f}▏ ", lines.len()),
        (f, false) if !f.is_empty() => format!(" Pairs ({}) filter: {f} ", lines.len()),
        _ => format!(" Pairs ({}) ", lines.len()),
    };
    let sort = match o.sort {
        OverviewSort::Name => "name",
        OverviewSort::Status => "status",
        OverviewSort::Difference => "Δ",
    };
    frame.render_widget(
        Paragraph::new(text).block(
            Block::bordered()
                .title(Span::styled(format!("{title}sort {sort} "), theme.title()))
                .border_style(theme.border(true)),
        ),
        body,
    );
    frame.render_widget(
        Paragraph::new(Line::styled(
            "q quit  j/k move  Enter open (Esc back)  / filter  o sort  r refresh",
            theme.dim(),
        )),
        footer,
    );
}
