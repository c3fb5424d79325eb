//! Throwaway local PostgreSQL servers ([`cluster`]) and a source/destination pair set up
//! from `sql/` on them ([`lab`]), and an Airbyte-style consumer of its slot ([`airbyte`]):
//! for `demo`, the tests and the benchmarks.

pub mod airbyte;
pub mod cluster;
pub mod lab;
