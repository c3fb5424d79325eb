//! Work the event loop starts after an update: what `App::update` asks for, as data, so
//! that the update stays pure and tests can read what a key would start.

use crate::logic::fixplan::Step;
use crate::model::snapshot::TableKey;

#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    Quit,
    Refresh,
    SetPaused(bool),
    CountExact(TableKey),
    /// Run these fixes (already confirmed), then refresh.
    RunFixes(Vec<Step>),
    /// Seed `rows` rows into `table` (all published tables when None).
    Seed {
        table: Option<String>,
        rows: u64,
    },
    /// Stop a running seed after its current batch.
    CancelSeed,
    /// Start change traffic; its reports carry this run number.
    StartTraffic(u32),
    /// Stop the traffic, or give up starting it.
    StopTraffic,
    /// Diff this table in the background, with what the tracker knows of the consumer.
    Diff(TableKey, DiffHints),
    /// Ask Airbyte's API for a sync of the connection (already confirmed).
    StartSync,
}

/// What the monitor knows that a one-shot diff cannot: which rows the consumer has
/// certainly read. See [`crate::io::diff::DiffOptions`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DiffHints {
    /// A transaction horizon the consumer has read past (from the syncs seen).
    pub read_horizon: Option<u64>,
    /// The table's insert + delete counter when the consumer was seen past its last change.
    pub settled_modifications: Option<i64>,
}
