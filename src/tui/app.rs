//! The UI's whole state and `update`, the only function that changes it. Pure: it takes
//! actions and returns effects (things for the event loop to start), never awaits.

use crate::model::side::Side;
use std::collections::VecDeque;

use crate::config::Settings;
use crate::logic::checks;
use crate::logic::counts::TableKey;
use crate::logic::divergence::{State, Tracker, classify};
use crate::logic::fixplan;
use crate::model::check::Check;
use crate::model::snapshot::{Reach, RowCount, SideSnapshot, Snapshot};

use super::action::{Action, LogLevel};

/// Lines kept in the log pane.
pub const LOG_LINES: usize = 500;
/// Slot samples kept for the retained-WAL sparkline.
pub const SLOT_HISTORY: usize = 120;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Tables,
    Checks,
    Log,
}

impl Pane {
    const ORDER: [Pane; 3] = [Pane::Tables, Pane::Checks, Pane::Log];
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

#[derive(Clone, Debug, PartialEq)]
pub enum Popup {
    Help,
    /// The seed form: how many rows, into what; y starts it.
    SeedForm {
        table: Option<String>,
        rows: u64,
    },
    /// A write waits for y/n; `lines` is exactly what will run.
    Confirm {
        title: String,
        lines: Vec<String>,
        on_yes: Effect,
    },
    /// Read-only text (details of a table or check).
    Text {
        title: String,
        lines: Vec<String>,
    },
}

/// Work the event loop starts after an update.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    Refresh,
    SetPaused(bool),
    CountExact(TableKey),
    /// Run these fixes (already confirmed), then refresh.
    RunFixes(Vec<fixplan::Step>),
    /// Seed `rows` rows into `table` (all published tables when None).
    Seed {
        table: Option<String>,
        rows: u64,
    },
    /// Stop a running seed after its current batch.
    CancelSeed,
    StartTraffic,
    StopTraffic,
    /// Diff this table in the background.
    Diff(TableKey),
}

#[derive(Clone, Debug, PartialEq)]
pub struct LogLine {
    pub at_ms: i64,
    pub level: LogLevel,
    pub text: String,
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
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SlotSample {
    pub at_ms: i64,
    pub retained: i64,
    pub lag: i64,
    pub confirmed_flush: Option<String>,
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
    /// A seed under way: (table, written, target, rows/s).
    pub seeding: Option<(String, u64, u64, f64)>,
    /// Change traffic: (statements so far, statements/s) while it runs.
    pub traffic: Option<(u64, f64)>,
    /// The newest traffic run that reported.
    traffic_run: u32,
    /// A diff under way: (table, phase, segments done, segments known).
    pub diffing: Option<(String, String, u64, u64)>,
    /// Source and destination samples not yet paired into the tracker.
    pending_source: bool,
    pending_dest: bool,
}

impl App {
    pub fn new(settings: Settings, now_ms: i64) -> Self {
        App {
            settings,
            badge: None,
            source: SideView::default(),
            dest: SideView::default(),
            checks: Vec::new(),
            tracker: Tracker::default(),
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
            traffic: None,
            traffic_run: 0,
            diffing: None,
            pending_source: false,
            pending_dest: false,
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
            .iter()
            .filter(|((s, t), _)| {
                filter.is_empty() || format!("{s}.{t}").to_lowercase().contains(&filter)
            })
            .map(|(key, h)| {
                let last = h.back();
                TableRow {
                    key,
                    source: last.and_then(|s| s.source),
                    dest: last.and_then(|s| s.dest),
                    difference: last.and_then(|s| s.difference()),
                    state: classify(h),
                    stale,
                }
            })
            .collect();
        match self.sort {
            Sort::Name => {}
            Sort::Difference => {
                rows.sort_by_key(|r| std::cmp::Reverse(r.difference.map(i64::abs).unwrap_or(-1)))
            }
            Sort::State => rows.sort_by_key(|r| state_rank(r.state)),
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

    /// Applies one action; returns what the event loop should start.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Tick(now) => {
                self.now_ms = now;
                // A side that stopped answering must not hold the other's samples back.
                let stale = 2 * self.settings.poll_interval.as_millis() as i64;
                let overdue = |v: &SideView| v.polled_at_ms.is_some_and(|t| now - t > stale);
                if (self.pending_source && overdue(&self.source))
                    || (self.pending_dest && overdue(&self.dest))
                {
                    self.pair_samples();
                }
                vec![]
            }
            Action::PollStarted(side, at) => {
                self.view_mut(side).poll_started_ms = Some(at);
                vec![]
            }
            Action::Polled(side, snap, at) => {
                self.now_ms = self.now_ms.max(at);
                self.on_polled(side, *snap, at);
                vec![]
            }
            Action::Log(level, text) => {
                self.push_log(level, text);
                vec![]
            }
            Action::Quit => {
                self.quit = true;
                vec![Effect::Quit]
            }
            Action::Cancel => {
                // Esc with nothing open stops a seed after its current batch.
                if self.popup.is_none() && self.seeding.is_some() {
                    self.push_log(LogLevel::Info, "stopping the seed after the current batch");
                    return vec![Effect::CancelSeed];
                }
                self.popup = None;
                vec![]
            }
            Action::SeedMore | Action::SeedLess | Action::SeedScope => {
                let selected = self
                    .rows()
                    .get(self.table_selected)
                    .map(|r| r.key.1.clone());
                if let Some(Popup::SeedForm { table, rows }) = &mut self.popup {
                    match action {
                        Action::SeedMore => *rows = rows.saturating_mul(10).min(100_000_000),
                        Action::SeedLess => *rows = (*rows / 10).max(1),
                        _ => {
                            *table = match table {
                                Some(_) => None,
                                None => selected,
                            }
                        }
                    }
                }
                vec![]
            }
            Action::SeedProgress(table, written, target, rate) => {
                self.seeding = Some((table, written, target, rate));
                vec![]
            }
            Action::SeedDone(summary) => {
                self.seeding = None;
                self.push_log(LogLevel::Info, summary);
                vec![Effect::Refresh]
            }
            Action::TrafficStats(run, changes, rate, running) => {
                // A late report of a run already stopped must not hide the one after it.
                if run >= self.traffic_run {
                    self.traffic_run = run;
                    self.traffic = running.then_some((changes, rate));
                }
                vec![]
            }
            Action::Confirm => match self.popup.take() {
                Some(Popup::Confirm { on_yes, .. }) => vec![on_yes],
                Some(Popup::SeedForm { table, rows }) => {
                    self.seeding =
                        Some((table.clone().unwrap_or_else(|| "…".into()), 0, rows, 0.0));
                    vec![Effect::Seed { table, rows }]
                }
                other => {
                    self.popup = other;
                    vec![]
                }
            },
            Action::ToggleHelp => {
                self.popup = match self.popup {
                    Some(Popup::Help) => None,
                    _ => Some(Popup::Help),
                };
                vec![]
            }
            Action::NextPane => {
                self.focus = self.focus.step(1);
                vec![]
            }
            Action::PrevPane => {
                self.focus = self.focus.step(-1);
                vec![]
            }
            Action::Up => {
                self.move_selection(-1);
                vec![]
            }
            Action::Down => {
                self.move_selection(1);
                vec![]
            }
            Action::PageUp => {
                self.move_selection(-(self.page.max(1) as isize));
                vec![]
            }
            Action::PageDown => {
                self.move_selection(self.page.max(1) as isize);
                vec![]
            }
            Action::Details => {
                self.popup = self.details();
                vec![]
            }
            Action::StartFilter => {
                self.focus = Pane::Tables;
                self.filter_editing = true;
                vec![]
            }
            Action::FilterChar(c) => {
                self.filter.push(c);
                self.table_selected = 0;
                vec![]
            }
            Action::FilterBackspace => {
                self.filter.pop();
                self.table_selected = 0;
                vec![]
            }
            Action::FilterApply => {
                self.filter_editing = false;
                vec![]
            }
            Action::FilterCancel => {
                self.filter_editing = false;
                self.filter.clear();
                self.table_selected = 0;
                vec![]
            }
            Action::CycleSort => {
                self.sort = match self.sort {
                    Sort::Name => Sort::Difference,
                    Sort::Difference => Sort::State,
                    Sort::State => Sort::Name,
                };
                vec![]
            }
            Action::Refresh => {
                self.push_log(LogLevel::Info, "refresh requested");
                vec![Effect::Refresh]
            }
            Action::TogglePause => {
                self.paused = !self.paused;
                let word = if self.paused { "paused" } else { "resumed" };
                self.push_log(LogLevel::Info, format!("polling {word}"));
                vec![Effect::SetPaused(self.paused)]
            }
            Action::CountExact => match self.selected_table() {
                Some(key) => {
                    self.push_log(
                        LogLevel::Info,
                        format!("exact count of {}.{} requested", key.0, key.1),
                    );
                    vec![Effect::CountExact(key)]
                }
                None => vec![],
            },
            Action::Fix => self.ask_fix(false),
            Action::FixAll => self.ask_fix(true),
            Action::Seed => {
                if self.refuse_write("seeding is") {
                    return vec![];
                }
                if self.seeding.is_some() {
                    self.push_log(LogLevel::Warn, "a seed is already running (Esc stops it)");
                    return vec![];
                }
                self.popup = Some(Popup::SeedForm {
                    table: self
                        .rows()
                        .get(self.table_selected)
                        .map(|r| r.key.1.clone()),
                    rows: 1_000,
                });
                vec![]
            }
            Action::Traffic => {
                if self.traffic.is_some() {
                    self.push_log(LogLevel::Info, "stopping change traffic");
                    self.traffic = None;
                    return vec![Effect::StopTraffic];
                }
                if self.refuse_write("traffic is") {
                    return vec![];
                }
                self.popup = Some(Popup::Confirm {
                    title: "Start change traffic?".into(),
                    lines: vec![
                        "A steady mix of INSERT, UPDATE and DELETE on the published tables".into(),
                        "of the source (20 statements/s, 60/30/10), foreign keys kept.".into(),
                        "g again stops it.".into(),
                    ],
                    on_yes: Effect::StartTraffic,
                });
                vec![]
            }
            Action::Diff => {
                if let Some((t, ..)) = &self.diffing {
                    self.push_log(LogLevel::Warn, format!("a diff of {t} is already running"));
                    return vec![];
                }
                match self.selected_table() {
                    Some(key) => {
                        let name = format!("{}.{}", key.0, key.1);
                        self.push_log(LogLevel::Info, format!("diffing {name} (read-only)"));
                        self.diffing = Some((name, "connecting".into(), 0, 0));
                        vec![Effect::Diff(key)]
                    }
                    None => vec![],
                }
            }
            Action::DiffProgress(phase, done, total) => {
                if let Some(d) = &mut self.diffing {
                    d.1 = phase;
                    d.2 = done;
                    d.3 = total;
                }
                vec![]
            }
            Action::DiffDone(table, result) => {
                self.diffing = None;
                match result {
                    Ok(lines) => {
                        self.push_log(
                            LogLevel::Info,
                            format!(
                                "diff of {table} done: {}",
                                lines.first().cloned().unwrap_or_default()
                            ),
                        );
                        self.popup = Some(Popup::Text {
                            title: format!("diff {table}"),
                            lines,
                        });
                    }
                    Err(why) => self.push_log(LogLevel::Error, format!("diff of {table}: {why}")),
                }
                vec![]
            }
        }
    }

    /// Refuses a write in read-only mode; true when refused.
    fn refuse_write(&mut self, what: &str) -> bool {
        if self.settings.read_only {
            self.push_log(LogLevel::Warn, format!("read-only mode: {what} disabled"));
        }
        self.settings.read_only
    }

    /// `f` / `F`: shows exactly what would run and asks; a fix the role cannot run, or a
    /// step only a person can do, is shown without the question.
    fn ask_fix(&mut self, all: bool) -> Vec<Effect> {
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
            if c.status == crate::model::check::Status::Ok {
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
                    self.popup = Some(Popup::Text {
                        title: format!("{} needs a step by hand", c.id),
                        lines: vec![
                            c.detail.clone(),
                            String::new(),
                            f.manual.clone().unwrap_or_default(),
                        ],
                    });
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
        let runnable: Vec<fixplan::Step> = steps
            .iter()
            .filter(|s| s.blocked.is_none())
            .cloned()
            .collect();
        let mut lines = fixplan::describe(&steps);
        if runnable.is_empty() {
            lines.push(String::new());
            lines.push(
                "Nothing here can run as this role; run the SQL above as the role named.".into(),
            );
            self.popup = Some(Popup::Text {
                title: "Fix needs another role".into(),
                lines,
            });
            return vec![];
        }
        let title = if all {
            format!("Run {} fix(es)?", runnable.len())
        } else {
            format!("Fix {}?", steps[0].check_id)
        };
        self.popup = Some(Popup::Confirm {
            title,
            lines,
            on_yes: Effect::RunFixes(runnable),
        });
        vec![]
    }

    fn view_mut(&mut self, side: Side) -> &mut SideView {
        match side {
            Side::Source => &mut self.source,
            Side::Dest => &mut self.dest,
        }
    }

    fn on_polled(&mut self, side: Side, snap: SideSnapshot, at: i64) {
        let label = side.label();
        let was = self.view_mut(side).snap.as_ref().map(|s| s.reach.clone());
        match (&was, &snap.reach) {
            (Some(Reach::Up) | None, Reach::Up) => {}
            (_, Reach::Up) => self.push_log(LogLevel::Info, format!("{label} reachable again")),
            (Some(old), new) if old == new => {}
            (_, new) => self.push_log(
                LogLevel::Error,
                format!("{label}: {}", new.reason().unwrap_or("down")),
            ),
        }
        let view = self.view_mut(side);
        view.poll_started_ms = None;
        view.polled_at_ms = Some(at);
        view.snap = Some(snap);
        match side {
            Side::Source => {
                self.pending_source = true;
                self.record_slot(at);
            }
            Side::Dest => self.pending_dest = true,
        }
        if self.pending_source && self.pending_dest {
            self.pair_samples();
        }
        self.with_snapshot(|app, snap| app.checks = checks::evaluate(snap, &app.settings));
        self.clamp_selection();
    }

    /// Feeds the tracker one sample per table from the latest of both sides.
    fn pair_samples(&mut self) {
        self.with_snapshot(|app, snap| app.tracker.observe(snap));
        self.pending_source = false;
        self.pending_dest = false;
    }

    fn record_slot(&mut self, at: i64) {
        let Some(slot) = self
            .source
            .snap
            .as_ref()
            .and_then(|s| s.slot.ok())
            .and_then(|s| s.as_ref())
        else {
            return;
        };
        self.slot_history.push_back(SlotSample {
            at_ms: at,
            retained: slot.retained_bytes.unwrap_or(0),
            lag: slot.lag_bytes.unwrap_or(0),
            confirmed_flush: slot.confirmed_flush_lsn.clone(),
        });
        while self.slot_history.len() > SLOT_HISTORY {
            self.slot_history.pop_front();
        }
    }

    /// How long the slot's confirmed position has stood still, if it has.
    pub fn confirmed_flush_still_ms(&self) -> Option<i64> {
        let last = self.slot_history.back()?;
        let since = self
            .slot_history
            .iter()
            .rev()
            .take_while(|s| s.confirmed_flush == last.confirmed_flush)
            .last()?;
        (self.slot_history.len() > 1 && since.at_ms < last.at_ms)
            .then_some(last.at_ms - since.at_ms)
    }

    fn move_selection(&mut self, by: isize) {
        match self.focus {
            Pane::Tables => {
                let n = self.rows().len();
                self.table_selected = step(self.table_selected, by, n);
            }
            Pane::Checks => {
                self.check_selected = step(self.check_selected, by, self.checks.len());
            }
            Pane::Log => {
                // Scrolling back from the newest line.
                let n = self.log.len();
                self.log_scroll = step(self.log_scroll, -by, n);
            }
        }
    }

    fn clamp_selection(&mut self) {
        let n = self.rows().len();
        self.table_selected = self.table_selected.min(n.saturating_sub(1));
        self.check_selected = self.check_selected.min(self.checks.len().saturating_sub(1));
    }

    fn details(&self) -> Option<Popup> {
        match self.focus {
            Pane::Checks => {
                let c = self.checks.get(self.check_selected)?;
                let mut lines = vec![
                    format!(
                        "{} {} · {}",
                        c.status.symbol(),
                        c.status.label(),
                        c.side.label()
                    ),
                    String::new(),
                    c.detail.clone(),
                ];
                if let Some(fix) = &c.fix {
                    lines.push(String::new());
                    if !fix.sql.is_empty() {
                        lines.push("Fix (SQL):".into());
                        lines.extend(fix.sql.iter().map(|s| format!("  {s};")));
                    }
                    if let Some(m) = &fix.manual {
                        lines.push(format!("To do by hand: {m}"));
                    }
                    if let Some(caution) = &fix.caution {
                        lines.push(format!("Note: {caution}"));
                    }
                }
                Some(Popup::Text {
                    title: c.id.to_string(),
                    lines,
                })
            }
            _ => {
                let row = self.rows().into_iter().nth(self.table_selected)?;
                let count = |c: Option<RowCount>| match c {
                    Some(c) if c.exact => format!("{} (exact)", c.rows),
                    Some(c) => format!("≈{} (estimate; c counts exactly)", c.rows),
                    None => "—".into(),
                };
                let src_info = self
                    .source
                    .snap
                    .as_ref()
                    .and_then(|s| s.table(&row.key.0, &row.key.1));
                let mut lines = vec![
                    format!("state        {}", row.state.label()),
                    format!("source       {}", count(row.source)),
                    format!("destination  {}", count(row.dest)),
                ];
                if let Some(t) = src_info {
                    lines.push(format!(
                        "primary key  {}",
                        if t.has_primary_key { "yes" } else { "no" }
                    ));
                    lines.push(format!("identity     {}", t.replica_identity.label()));
                    lines.push(String::new());
                    lines.push("columns".into());
                    lines.extend(
                        t.columns
                            .iter()
                            .map(|c| format!("  {} {}", c.name, c.data_type)),
                    );
                }
                Some(Popup::Text {
                    title: format!("{}.{}", row.key.0, row.key.1),
                    lines,
                })
            }
        }
    }

    /// Tables whose state needs attention (stuck or missing), for the header.
    pub fn troubled_tables(&self) -> usize {
        self.tracker
            .iter()
            .filter(|(_, h)| matches!(classify(h), State::Stuck | State::Missing))
            .count()
    }

    /// The worst check status, for the header.
    pub fn overall(&self) -> crate::model::check::Status {
        checks::worst(&self.checks)
    }
}

fn state_rank(s: State) -> u8 {
    match s {
        State::Stuck => 0,
        State::Missing => 1,
        State::InFlight => 2,
        State::Unknown => 3,
        State::InSync => 4,
    }
}

fn step(current: usize, by: isize, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (current as isize + by).clamp(0, len as isize - 1) as usize
}
