//! Row-level diff between source and destination (being built).
