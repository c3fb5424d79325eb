//! One file per pane; each draws its part of a given `App`.

pub mod checks;
pub mod footer;
pub mod header;
pub mod jobs;
pub mod log;
pub mod slot;
pub mod tables;
