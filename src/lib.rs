//! syncwatch: watch a PostgreSQL → PostgreSQL change-data-capture sync and fix its setup.
//! The binary (`main.rs`) is a thin CLI over these modules.

pub mod cluster;
pub mod config;
pub mod demo;
pub mod lab;
pub mod pg;
pub mod seed;
