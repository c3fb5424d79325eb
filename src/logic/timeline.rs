//! The slot over time. Each poll adds a point — the source's WAL position, the slot's
//! retained and unconfirmed WAL, `safe_wal_size` — kept for a window (an hour by
//! default) at a bounded resolution, so memory stays fixed however long the screen is
//! open. From the points, pure functions answer what a person on call asks:
//! - how far behind *in time* the destination is: the moment the source was at the
//!   position the consumer has applied ([`Timeline::behind`]);
//! - how fast retained WAL grows ([`Timeline::rate`]);
//! - when it breaks at that rate: the slot invalidated (`safe_wal_size` reaching 0 with
//!   `max_slot_wal_keep_size` set) or the critical threshold reached ([`forecast`]).

use std::collections::VecDeque;

use crate::model::lsn::Lsn;

/// The window kept by default: long enough to see an hourly Airbyte cadence.
pub const DEFAULT_WINDOW_MS: i64 = 3_600_000;
/// Points kept over the window at most: one every 2 s over an hour.
pub const MAX_POINTS: usize = 1800;
/// The span over which growth is measured: long enough to smooth polls, short enough
/// to follow a change of pace.
pub const RATE_SPAN_MS: i64 = 300_000;
/// A rate needs points at least this far apart.
const MIN_RATE_SPAN_MS: i64 = 10_000;

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Point {
    pub at_ms: i64,
    /// The source's written WAL position.
    pub source: Lsn,
    /// WAL kept for the slot (current − `restart_lsn`).
    pub retained: Option<i64>,
    /// WAL the consumer has not confirmed (current − `confirmed_flush_lsn`).
    pub lag_bytes: Option<i64>,
    /// How far behind in time the destination was at this point, when known.
    pub lag_ms: Option<i64>,
    /// Retained WAL the server may still keep (`max_slot_wal_keep_size` set).
    pub safe_wal_size: Option<i64>,
}

/// How far behind in time the destination is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behind {
    /// The source was at the applied position this long ago (0: caught up).
    By(i64),
    /// The source was past the applied position before the oldest point kept: at
    /// least this long.
    AtLeast(i64),
    Unknown,
}

impl Behind {
    /// Under a second behind: as good as caught up (polls are a second apart).
    pub fn caught_up(self) -> bool {
        matches!(self, Behind::By(ms) if ms < 1000)
    }

    /// The lag in ms when known exactly.
    pub fn ms(self) -> Option<i64> {
        match self {
            Behind::By(ms) => Some(ms),
            _ => None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Timeline {
    points: VecDeque<Point>,
    window_ms: i64,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new(DEFAULT_WINDOW_MS)
    }
}

impl Timeline {
    pub fn new(window_ms: i64) -> Timeline {
        Timeline {
            points: VecDeque::new(),
            window_ms: window_ms.max(1000),
        }
    }

    /// Time between two kept points: the newest point is always the latest poll, the
    /// others are at least this far apart.
    pub fn step_ms(&self) -> i64 {
        (self.window_ms / MAX_POINTS as i64).max(1)
    }

    pub fn window_ms(&self) -> i64 {
        self.window_ms
    }

    /// Adds a poll's point. Positions that go backwards (another server behind the same
    /// address, a restore) or a clock that does make the old points meaningless: they
    /// are dropped rather than mixed in.
    pub fn push(&mut self, p: Point) {
        if let Some(last) = self.points.back()
            && (p.source < last.source || p.at_ms < last.at_ms)
        {
            self.points.clear();
        }
        // The newest point floats: it is replaced by the next poll until it is a step
        // past the one before it, and only then stays.
        let n = self.points.len();
        if n >= 2 && self.points[n - 1].at_ms - self.points[n - 2].at_ms < self.step_ms() {
            self.points[n - 1] = p;
        } else {
            self.points.push_back(p);
        }
        while self
            .points
            .front()
            .is_some_and(|f| f.at_ms < p.at_ms - self.window_ms)
        {
            self.points.pop_front();
        }
    }

    pub fn points(&self) -> &VecDeque<Point> {
        &self.points
    }

    pub fn last(&self) -> Option<&Point> {
        self.points.back()
    }

    /// Records the lag judged at the newest point (it needs the point itself).
    pub fn set_last_lag(&mut self, lag_ms: Option<i64>) {
        if let Some(p) = self.points.back_mut() {
            p.lag_ms = lag_ms;
        }
    }

    /// When the source's position first reached `pos`, interpolated between the two
    /// points around it; `Err(oldest)` when it was already past `pos` at the oldest point.
    pub fn reached_at(&self, pos: Lsn) -> Option<Result<i64, i64>> {
        let first = self.points.front()?;
        let i = self.points.partition_point(|p| p.source < pos);
        if i == self.points.len() {
            return None;
        }
        if i == 0 {
            return Some(if first.source == pos {
                Ok(first.at_ms)
            } else {
                Err(first.at_ms)
            });
        }
        let (a, b) = (self.points[i - 1], self.points[i]);
        let span = b.source.0 - a.source.0;
        let part = (pos.0 - a.source.0) as f64 / span as f64;
        Some(Ok(
            a.at_ms + (part * (b.at_ms - a.at_ms) as f64).round() as i64
        ))
    }

    /// How far behind in time a consumer that has applied `applied` is at `now_ms`.
    pub fn behind(&self, applied: Option<Lsn>, now_ms: i64) -> Behind {
        let (Some(applied), Some(last)) = (applied, self.points.back()) else {
            return Behind::Unknown;
        };
        if applied >= last.source {
            return Behind::By(0);
        }
        match self.reached_at(applied) {
            Some(Ok(at)) => Behind::By((now_ms - at).max(0)),
            Some(Err(oldest)) => Behind::AtLeast((now_ms - oldest).max(0)),
            None => Behind::Unknown,
        }
    }

    /// Growth per second of a series over the last `span_ms` (least squares over the
    /// points that have it), once they cover at least ten seconds.
    pub fn rate(&self, span_ms: i64, value: impl Fn(&Point) -> Option<i64>) -> Option<f64> {
        let last = self.points.back()?.at_ms;
        let xs: Vec<(f64, f64)> = self
            .points
            .iter()
            .rev()
            .take_while(|p| p.at_ms >= last - span_ms)
            .filter_map(|p| Some(((p.at_ms - last) as f64 / 1000.0, value(p)? as f64)))
            .collect();
        let covered = xs.first()?.0 - xs.last()?.0;
        if xs.len() < 2 || covered * 1000.0 < MIN_RATE_SPAN_MS as f64 {
            return None;
        }
        let n = xs.len() as f64;
        let (mx, my) = (
            xs.iter().map(|p| p.0).sum::<f64>() / n,
            xs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let var: f64 = xs.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let cov: f64 = xs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        (var > 0.0).then(|| cov / var)
    }

    /// Retained WAL growth, bytes per second.
    pub fn retained_rate(&self) -> Option<f64> {
        self.rate(RATE_SPAN_MS, |p| p.retained)
    }

    /// Bytes per point as stored (for the memory figure).
    pub const POINT_BYTES: usize = std::mem::size_of::<Point>();
}

/// What breaks first at the current rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Breaks {
    /// `safe_wal_size` reaches 0: the slot is invalidated at the next checkpoint (for
    /// Airbyte a full re-sync; for a subscription, a new one).
    Invalidated,
    /// Retained WAL reaches the critical threshold.
    Critical,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Forecast {
    pub breaks: Breaks,
    pub in_ms: i64,
    /// The growth judged by, bytes per second.
    pub rate: f64,
}

/// When retained WAL growing at `rate` bytes/s breaks something: with
/// `max_slot_wal_keep_size` set (`safe_wal_size` known), the slot's invalidation;
/// otherwise the critical threshold. `None` while it does not grow, or when it is
/// already past the threshold (the byte check says so).
pub fn forecast(
    retained: i64,
    safe_wal_size: Option<i64>,
    critical_bytes: u64,
    rate: f64,
) -> Option<Forecast> {
    // NaN too.
    if rate.is_nan() || rate <= 0.0 {
        return None;
    }
    let (breaks, room) = match safe_wal_size {
        Some(safe) => (Breaks::Invalidated, safe.max(0)),
        None => {
            let room = critical_bytes as i64 - retained;
            if room <= 0 {
                return None;
            }
            (Breaks::Critical, room)
        }
    };
    Some(Forecast {
        breaks,
        in_ms: (room as f64 / rate * 1000.0).round() as i64,
        rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64, lsn: u64) -> Point {
        Point {
            at_ms: ms,
            source: Lsn(lsn),
            ..Point::default()
        }
    }

    #[test]
    fn the_lag_is_the_time_since_the_source_was_at_the_applied_position() {
        let mut t = Timeline::default();
        for s in 0..=60 {
            t.push(at(s * 1000, 1000 + s as u64 * 100));
        }
        // Applied 0x…: the source was at 1000 + 30·100 at second 30.
        assert_eq!(t.behind(Some(Lsn(4000)), 60_000), Behind::By(30_000));
        // Between two points: interpolated.
        assert_eq!(t.behind(Some(Lsn(4050)), 60_000), Behind::By(29_500));
        assert_eq!(t.behind(Some(Lsn(7000)), 60_000), Behind::By(0));
        assert_eq!(
            t.behind(Some(Lsn(9000)), 60_000),
            Behind::By(0),
            "past the source"
        );
        assert_eq!(t.behind(Some(Lsn(500)), 60_000), Behind::AtLeast(60_000));
        assert_eq!(t.behind(None, 60_000), Behind::Unknown);
        assert_eq!(Timeline::default().behind(Some(Lsn(1)), 0), Behind::Unknown);
    }

    #[test]
    fn an_idle_source_is_not_behind_however_old_the_position() {
        let mut t = Timeline::default();
        t.push(at(0, 5000));
        t.push(at(600_000, 5000));
        assert_eq!(t.behind(Some(Lsn(5000)), 600_000), Behind::By(0));
        // The position was reached at the first point and the source stood still: the
        // consumer at 4999 is behind since before the window began.
        assert_eq!(t.behind(Some(Lsn(4999)), 600_000), Behind::AtLeast(600_000));
    }

    #[test]
    fn an_hour_at_one_poll_a_second_keeps_at_most_max_points() {
        let mut t = Timeline::default();
        for s in 0..(3 * 3600) {
            t.push(at(s * 1000, s as u64));
        }
        assert!(t.points().len() <= MAX_POINTS + 1, "{}", t.points().len());
        let (first, last) = (t.points().front().unwrap(), t.last().unwrap());
        assert_eq!(
            last.at_ms,
            (3 * 3600 - 1) * 1000,
            "the newest is the last poll"
        );
        assert!(last.at_ms - first.at_ms <= DEFAULT_WINDOW_MS);
        for w in t
            .points()
            .iter()
            .collect::<Vec<_>>()
            .windows(2)
            .rev()
            .skip(1)
        {
            assert!(w[1].at_ms - w[0].at_ms >= t.step_ms());
        }
    }

    #[test]
    fn positions_going_backwards_start_a_new_timeline() {
        let mut t = Timeline::default();
        t.push(at(0, 9000));
        t.push(at(1000, 9100));
        t.push(at(2000, 100));
        assert_eq!(t.points().len(), 1);
        assert_eq!(t.behind(Some(Lsn(9000)), 2000), Behind::By(0));
    }

    #[test]
    fn growth_is_the_slope_over_the_recent_span() {
        let mut t = Timeline::default();
        for s in 0..120 {
            t.push(Point {
                retained: Some(1_000_000 + s * 4096),
                ..at(s * 1000, s as u64)
            });
        }
        let r = t.retained_rate().unwrap();
        assert!((r - 4096.0).abs() < 1e-6, "{r}");
        // Too short a span says nothing.
        let mut short = Timeline::default();
        short.push(Point {
            retained: Some(1),
            ..at(0, 0)
        });
        short.push(Point {
            retained: Some(2),
            ..at(5000, 1)
        });
        assert_eq!(short.retained_rate(), None);
    }

    #[test]
    fn the_forecast_is_the_room_left_over_the_rate() {
        let f = forecast(0, Some(64 << 20), 10 << 30, (1 << 20) as f64).unwrap();
        assert_eq!((f.breaks, f.in_ms), (Breaks::Invalidated, 64_000));
        let f = forecast(9 << 30, None, 10 << 30, (1 << 20) as f64).unwrap();
        assert_eq!((f.breaks, f.in_ms), (Breaks::Critical, 1_024_000));
        assert_eq!(forecast(0, Some(1), 10, 0.0), None, "not growing");
        assert_eq!(forecast(0, Some(1), 10, -5.0), None);
        assert_eq!(
            forecast(11, None, 10, 1.0),
            None,
            "already past: the byte check"
        );
        assert_eq!(forecast(0, Some(-5), 10, 1.0).unwrap().in_ms, 0);
    }
}
