//! Every change to the UI's state is one of these; keys, ticks, poller reports and
//! background tasks all become actions, and only `App::update` applies them.

use crate::io::airbyte::task::ApiMsg;
use crate::model::side::Side;
use crate::model::snapshot::SideSnapshot;

#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    Quit,
    ToggleHelp,
    NextPane,
    PrevPane,
    Up,
    Down,
    PageUp,
    PageDown,
    Details,
    StartFilter,
    FilterChar(char),
    FilterBackspace,
    FilterApply,
    FilterCancel,
    CycleSort,
    Refresh,
    TogglePause,
    CountExact,
    Fix,
    FixAll,
    Seed,
    Traffic,
    Diff,
    /// The slot's history as charts.
    SlotHistory,
    /// `a`: start an Airbyte sync now (asks first).
    SyncNow,
    /// Airbyte's API task reported.
    Api(ApiMsg),
    /// `y` in a confirmation.
    Confirm,
    /// `n` / Esc: closes whatever popup is open.
    Cancel,
    /// The clock moved (milliseconds since the epoch).
    Tick(i64),
    PollStarted(Side, i64),
    Polled(Side, Box<SideSnapshot>, i64),
    /// A line for the log pane from a background task.
    Log(LogLevel, String),
    /// In the seed form: ten times more / fewer rows; all tables or the selected one.
    SeedMore,
    SeedLess,
    SeedScope,
    /// A seed reported progress.
    SeedProgress(SeedProgress),
    /// A seed ended (the summary goes to the log).
    SeedDone(String),
    /// Change traffic reported.
    TrafficStats(TrafficReport),
    /// A diff reported progress.
    DiffProgress(DiffProgress),
    /// A diff of the named table ended: the report's lines, or why it could not run.
    DiffDone(String, Result<Vec<String>, String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}

/// Where a seed stands.
#[derive(Clone, Debug, PartialEq)]
pub struct SeedProgress {
    pub table: String,
    pub written: u64,
    pub target: u64,
    pub rows_per_sec: f64,
}

/// Change traffic's counts, from run number `run`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrafficReport {
    pub run: u32,
    /// Statements so far.
    pub changes: u64,
    /// Statements per second.
    pub rate: f64,
    /// False once the run has ended (stopped, failed or never started).
    pub running: bool,
}

/// Where a diff stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffProgress {
    pub phase: String,
    pub done: u64,
    pub total: u64,
}
