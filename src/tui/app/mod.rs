//! The UI's whole state and `update`, the only function that changes it. Pure: it takes
//! actions and returns effects (work for the event loop to start), never awaits. The
//! state is here; each feature's handlers are in a file of their own (`poll.rs`,
//! `navigate.rs`, `filter.rs`, `seed.rs`, `traffic.rs`, `diff.rs`, `fix.rs`, `airbyte.rs`).

mod airbyte;
mod diff;
mod filter;
mod fix;
mod navigate;
mod poll;
mod seed;
mod traffic;

use std::collections::VecDeque;

use crate::config::Settings;
use crate::logic::divergence::{State, Tracker, classify};
use crate::logic::mapping::Mapping;
use crate::model::airbyte::ApiView;
use crate::model::check::{self, Check};
use crate::model::snapshot::TableKey;
use crate::model::snapshot::{Reach, RowCount, SideSnapshot, Snapshot};

use super::action::{Action, DiffProgress, LogLevel, SeedProgress};
use super::effect::Effect;
use super::popups::Popup;

/// Lines kept in the log pane.
pub const LOG_LINES: usize = 500;
/// Slot samples kept for the retained-WAL sparkline.
pub const SLOT_HISTORY: usize = 120;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Tables,
    Slot,
    Checks,
    Log,
}

impl Pane {
    const ORDER: [Pane; 4] = [Pane::Tables, Pane::Slot, Pane::Checks, Pane::Log];
    fn step(self, by: isize) -> Pane {
        let i = Self::ORDER.iter().position(|p| *p == self).unwrap_or(0) as isize;
        Self::ORDER[(i + by).rem_euclid(Self::ORDER.len() as isize) as usize]
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sort {
    Name,
    Difference,
    State,
}

impl Sort {
    pub fn label(self) -> &'static str {
        match self {
            Sort::Name => "name",
            Sort::Difference => "Δ",
            Sort::State => "state",
        }
    }
}

/// Latest report of one side, with when it came and whether a poll is under way.
#[derive(Clone, Debug, Default)]
pub struct SideView {
    pub snap: Option<SideSnapshot>,
    pub polled_at_ms: Option<i64>,
    pub poll_started_ms: Option<i64>,
}

impl SideView {
    /// A poll has been running this long without an answer.
    pub fn stalled_for_ms(&self, now_ms: i64) -> Option<i64> {
        let started = self.poll_started_ms?;
        (now_ms - started > 0).then_some(now_ms - started)
    }
}

/// One row of the tables pane, derived from the snapshot and the tracker.
#[derive(Clone, Debug, PartialEq)]
pub struct TableRow<'a> {
    pub key: &'a TableKey,
    pub source: Option<RowCount>,
    pub dest: Option<RowCount>,
    pub difference: Option<i64>,
    pub state: State,
    /// A side is down: the counts are the last known, not current.
    pub stale: bool,
    /// Airbyte: when the destination's table last had rows loaded.
    pub loaded_at_ms: Option<i64>,
    /// Rows changed per second, source and destination.
    pub rates: (Option<f64>, Option<f64>),
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotSample {
    pub at_ms: i64,
    pub retained: i64,
    pub lag: i64,
    pub confirmed_flush: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at_ms: i64,
    pub level: LogLevel,
    pub text: String,
}

/// Change traffic as the screen shows it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum TrafficState {
    #[default]
    Off,
    /// Asked for; its session is connecting (a stalled source can keep it here).
    Starting,
    /// Statements so far and statements per second.
    Running { changes: u64, rate: f64 },
}

/// A diff under way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diffing {
    pub table: String,
    pub progress: DiffProgress,
}

pub struct App {
    pub settings: Settings,
    /// Shown in the header, e.g. "demo".
    pub badge: Option<String>,
    pub source: SideView,
    pub dest: SideView,
    pub checks: Vec<Check>,
    pub tracker: Tracker,
    pub slot_history: VecDeque<SlotSample>,
    pub focus: Pane,
    pub table_selected: usize,
    pub check_selected: usize,
    pub log_scroll: usize,
    pub filter: String,
    pub filter_editing: bool,
    pub sort: Sort,
    pub paused: bool,
    pub popup: Option<Popup>,
    pub log: VecDeque<LogLine>,
    pub now_ms: i64,
    /// Local time's offset from UTC for the clock; fixed at start (tests set 0).
    pub utc_offset_secs: i32,
    pub quit: bool,
    /// Rows the tables pane showed last frame: the page size for PgUp/PgDn.
    pub page: usize,
    /// A seed under way.
    pub seeding: Option<SeedProgress>,
    pub traffic: TrafficState,
    /// The newest traffic run: reports of older ones are late and ignored.
    traffic_run: u32,
    pub diffing: Option<Diffing>,
    /// Airbyte's API, when configured: the connection and its jobs.
    pub api: Option<ApiView>,
    /// When `a` → `y` asked for a sync that the API has not answered yet.
    pub sync_asked_ms: Option<i64>,
    /// Source and destination samples not yet paired into the tracker.
    pending_source: bool,
    pending_dest: bool,
}

impl App {
    pub fn new(settings: Settings, now_ms: i64) -> Self {
        let mapping = Mapping::new(&settings);
        let history_ms = crate::logic::format::millis(settings.history);
        let api = settings
            .airbyte
            .as_ref()
            .map(|a| ApiView::new(a.url.clone()));
        App {
            settings,
            badge: None,
            source: SideView::default(),
            dest: SideView::default(),
            checks: Vec::new(),
            tracker: Tracker::new(mapping).with_history(history_ms),
            slot_history: VecDeque::new(),
            focus: Pane::Tables,
            table_selected: 0,
            check_selected: 0,
            log_scroll: 0,
            filter: String::new(),
            filter_editing: false,
            sort: Sort::Name,
            paused: false,
            popup: None,
            log: VecDeque::new(),
            now_ms,
            utc_offset_secs: chrono::Local::now().offset().local_minus_utc(),
            quit: false,
            page: 10,
            seeding: None,
            traffic: TrafficState::Off,
            traffic_run: 0,
            diffing: None,
            api,
            sync_asked_ms: None,
            pending_source: false,
            pending_dest: false,
        }
    }

    /// Applies one action; returns what the event loop should start.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Tick(now) => self.tick(now),
            Action::PollStarted(side, at) => self.poll_started(side, at),
            Action::Polled(side, snap, at) => self.polled(side, *snap, at),
            Action::Log(level, text) => {
                self.push_log(level, text);
                vec![]
            }
            Action::Quit => self.quit(),
            Action::Cancel => self.cancel(),
            Action::Confirm => self.confirm(),
            Action::ToggleHelp => self.toggle_help(),
            Action::NextPane => self.step_pane(1),
            Action::PrevPane => self.step_pane(-1),
            Action::Up => self.move_selection(-1),
            Action::Down => self.move_selection(1),
            Action::PageUp => self.move_selection(-(self.page.max(1) as isize)),
            Action::PageDown => self.move_selection(self.page.max(1) as isize),
            Action::Details => self.details(),
            Action::CycleSort => self.cycle_sort(),
            Action::StartFilter => self.start_filter(),
            Action::FilterChar(c) => self.filter_char(c),
            Action::FilterBackspace => self.filter_backspace(),
            Action::FilterApply => self.filter_apply(),
            Action::FilterCancel => self.filter_cancel(),
            Action::Refresh => self.refresh(),
            Action::TogglePause => self.toggle_pause(),
            Action::CountExact => self.count_exact(),
            Action::Fix => self.ask_fix(false),
            Action::FixAll => self.ask_fix(true),
            Action::Seed => self.open_seed_form(),
            Action::SeedMore => self.seed_rows_times(10),
            Action::SeedLess => self.seed_rows_divided(10),
            Action::SeedScope => self.seed_scope(),
            Action::SeedProgress(p) => self.seed_progress(p),
            Action::SeedDone(summary) => self.seed_done(summary),
            Action::Traffic => self.toggle_traffic(),
            Action::TrafficStats(report) => self.traffic_report(report),
            Action::Diff => self.start_diff(),
            Action::SlotHistory => {
                self.popup = Some(Popup::Slot);
                vec![]
            }
            Action::DiffProgress(p) => self.diff_progress(p),
            Action::DiffDone(table, result) => self.diff_done(table, result),
            Action::SyncNow => self.ask_sync_now(),
            Action::Api(msg) => self.api_report(msg),
        }
    }

    pub fn push_log(&mut self, level: LogLevel, text: impl Into<String>) {
        self.log.push_back(LogLine {
            at_ms: self.now_ms,
            level,
            text: text.into(),
        });
        while self.log.len() > LOG_LINES {
            self.log.pop_front();
        }
    }

    /// The tables pane's rows: filtered, sorted.
    pub fn rows(&self) -> Vec<TableRow<'_>> {
        let filter = self.filter.to_lowercase();
        let up = |v: &SideView| v.snap.as_ref().is_some_and(|s| s.reach.is_up());
        let stale = !up(&self.source) || !up(&self.dest);
        let mut rows: Vec<TableRow> = self
            .tracker
            .tables()
            .filter(|((s, t), _)| {
                filter.is_empty() || format!("{s}.{t}").to_lowercase().contains(&filter)
            })
            .map(|(key, t)| {
                let last = t.samples.back();
                TableRow {
                    key,
                    source: last.and_then(|s| s.source),
                    dest: last.and_then(|s| s.dest),
                    difference: last.and_then(|s| s.difference()),
                    state: classify(&t.samples),
                    stale,
                    loaded_at_ms: t.freshness.and_then(|f| f.loaded_at_ms),
                    rates: (t.source_rate.per_second, t.dest_rate.per_second),
                }
            })
            .collect();
        match self.sort {
            Sort::Name => {}
            Sort::Difference => {
                rows.sort_by_key(|r| std::cmp::Reverse(r.difference.map(i64::abs).unwrap_or(-1)))
            }
            Sort::State => rows.sort_by_key(|r| r.state.attention_rank()),
        }
        rows
    }

    /// A table's Δ over its history, oldest first: built only for the rows on screen,
    /// since with 10 000 tables building it for every row dominated a frame.
    pub fn trend(&self, key: &TableKey) -> Vec<i64> {
        self.tracker
            .history(key)
            .map(|h| h.iter().filter_map(|s| s.difference()).collect())
            .unwrap_or_default()
    }

    pub fn selected_table(&self) -> Option<TableKey> {
        self.rows().get(self.table_selected).map(|r| r.key.clone())
    }

    /// Runs `f` on both sides' latest reports as one snapshot. The reports are moved in
    /// and back out, not cloned: with a thousand tables a clone per poll would cost more
    /// than everything else the UI does.
    fn with_snapshot<R>(&mut self, f: impl FnOnce(&mut Self, &Snapshot) -> R) -> Option<R> {
        let source = self.source.snap.take()?;
        let had_dest = self.dest.snap.is_some();
        let dest = self.dest.snap.take().unwrap_or_else(|| {
            SideSnapshot::down(
                self.settings.dest.to_string(),
                Reach::Unreachable("not polled yet".into()),
            )
        });
        let snap = Snapshot {
            taken_at_ms: self.source.polled_at_ms.unwrap_or(self.now_ms),
            source,
            dest,
        };
        let r = f(self, &snap);
        self.source.snap = Some(snap.source);
        if had_dest {
            self.dest.snap = Some(snap.dest);
        }
        Some(r)
    }

    /// Refuses a write in read-only mode; true when refused.
    fn refuse_write(&mut self, what: &str) -> bool {
        if self.settings.read_only {
            self.push_log(LogLevel::Warn, format!("read-only mode: {what} disabled"));
        }
        self.settings.read_only
    }

    /// How far behind in time the destination is, while the source and its slot are
    /// readable (a lag from a side that is down would be stale).
    pub fn behind(&self) -> Option<crate::logic::timeline::Behind> {
        let src = self.source.snap.as_ref()?;
        if !src.reach.is_up() || !matches!(src.slot.ok(), Some(Some(_))) {
            return None;
        }
        Some(self.tracker.syncs().behind(self.now_ms))
    }

    /// Tables whose state needs attention (stuck or missing), for the header.
    pub fn troubled_tables(&self) -> usize {
        self.tracker
            .iter()
            .filter(|(_, h)| matches!(classify(h), State::Stuck | State::Missing))
            .count()
    }

    /// The worst check status, for the header.
    pub fn overall(&self) -> check::Status {
        check::worst(&self.checks)
    }
}
