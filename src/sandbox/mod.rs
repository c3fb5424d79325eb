//! Throwaway local PostgreSQL servers ([`cluster`]) and a source/destination pair set up
//! from `sql/` on them ([`lab`]): for `demo`, the tests and the benchmarks.

pub mod cluster;
pub mod lab;
