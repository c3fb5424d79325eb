//! Every change to the UI's state is one of these; keys, ticks and poller reports all
//! become actions, and only `App::update` applies them.

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
    /// A seed reported progress (table, rows written, rows asked, rows per second).
    SeedProgress(String, u64, u64, f64),
    /// A seed ended (the summary goes to the log).
    SeedDone(String),
    /// Change traffic run number `.0` reported (statements so far, statements per
    /// second, running).
    TrafficStats(u32, u64, f64, bool),
    /// A diff reported progress (phase, segments done, segments known).
    DiffProgress(String, u64, u64),
    /// A diff ended: the report's lines, or why it could not run.
    DiffDone(String, Result<Vec<String>, String>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    Info,
    Warn,
    Error,
}
