//! syncwatch: watch a PostgreSQL → PostgreSQL change-data-capture sync and fix its setup.
//! The binary (`main.rs`) is a thin CLI over these modules.

pub mod checks;
pub mod cluster;
pub mod config;
pub mod counts;
pub mod demo;
pub mod diff;
pub mod divergence;
pub mod fix;
pub mod fixtures;
pub mod lab;
pub mod pg;
pub mod poll;
pub mod report;
pub mod seed;
pub mod setup;
pub mod snapshot;
pub mod tui;
