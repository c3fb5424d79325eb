//! syncwatch: watch a PostgreSQL → PostgreSQL change-data-capture sync and fix its setup.
//!
//! The layers, each a folder, and the one rule between them: a module uses only modules
//! of its own layer or of the layers before it in this list.
//!
//! 1. [`model`] and [`config`]: plain data — snapshots, checks, sides, settings. `config`
//!    also reads the settings once at start (file, environment, `.pgpass`).
//! 2. [`logic`]: pure functions over that data — checks, divergence, count and fix
//!    planning, diff planning and SQL text, value generation, reports, formatting. No
//!    I/O, no async, no clock: unit-tested on plain values.
//! 3. [`io`]: everything that talks to PostgreSQL — sessions and catalog reads (`io::pg`),
//!    pollers, the fix runner, the diff driver, COPY and traffic — and [`sandbox`], which
//!    starts throwaway servers.
//! 4. [`cmd`] (one module per subcommand) and [`tui`] (the live view).
//!
//! The binary (`main.rs`) only parses flags and calls a command.

pub mod cmd;
pub mod config;
pub mod io;
pub mod logic;
pub mod model;
pub mod sandbox;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tui;
