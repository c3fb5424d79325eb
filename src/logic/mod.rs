//! Pure logic: functions of plain data, no I/O, no async, no clock (callers pass the
//! time in). Everything here is unit-tested on values built by hand.

pub mod airbyte_api;
pub mod checks;
pub mod counts;
pub mod diff;
pub mod divergence;
pub mod fixplan;
pub mod format;
pub mod mapping;
pub mod metrics;
pub mod monitor;
pub mod quote;
pub mod report;
pub mod seed;
pub mod syncs;
pub mod timeline;
pub mod types;
