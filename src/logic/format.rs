//! Numbers, bytes, durations and counts as the screen and the reports print them: one
//! place, so a figure reads the same in the TUI, `check`, `diff` and `seed`.

use std::time::Duration;

use crate::model::snapshot::RowCount;

/// `1 234 567`: digits grouped by thousands with a space.
pub fn group_digits(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(ch);
    }
    out
}

/// A row count: `1 234` when exact, `≈1 234` for an estimate, `—` when unknown.
pub fn count_cell(count: Option<RowCount>) -> String {
    match count {
        Some(RowCount { rows, exact: true }) => group_digits(rows),
        Some(RowCount { rows, exact: false }) => format!("≈{}", group_digits(rows)),
        None => "—".to_string(),
    }
}

/// A difference, or `—` when one side's count is unknown.
pub fn difference_cell(difference: Option<i64>) -> String {
    difference.map(group_digits).unwrap_or_else(|| "—".into())
}

/// Bytes as people read them: 1.5 GB, 12 MB, 300 B.
pub fn human_bytes(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes.max(0) as f64;
    let mut i = 0;
    while v >= 1024.0 && i < UNITS.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{bytes} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[i])
    } else {
        format!("{v:.0} {}", UNITS[i])
    }
}

/// A duration in milliseconds, as the snapshots' times are; saturating (a setting of
/// years does not wrap).
pub fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The age of a poll: `0.9s`, `6.0s`, `1m05s`.
pub fn age_ms(ms: i64) -> String {
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else if ms < 86_400_000 {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    } else {
        format!("{}d{:02}h", ms / 86_400_000, (ms / 3_600_000) % 24)
    }
}

/// How far behind in time, for the header and the slot pane: `behind 3m12s`,
/// `behind ≥12m00s` (a lower bound), `caught up` under a second, nothing when unknown.
pub fn behind_label(b: crate::logic::timeline::Behind) -> Option<String> {
    use crate::logic::timeline::Behind;
    match b {
        b if b.caught_up() => Some("caught up".to_string()),
        Behind::By(ms) => Some(format!("behind {}", age_ms(ms))),
        Behind::AtLeast(ms) => Some(format!("behind ≥{}", age_ms(ms))),
        Behind::Unknown => None,
    }
}

/// What a forecast says, short: `invalidated in ~3h10m`, `10 GB in ~45m00s`.
pub fn forecast_label(f: &crate::logic::timeline::Forecast, critical_bytes: u64) -> String {
    match f.breaks {
        crate::logic::timeline::Breaks::Invalidated => {
            format!("invalidated in ~{}", age_ms(f.in_ms))
        }
        crate::logic::timeline::Breaks::Critical => {
            format!(
                "{} in ~{}",
                human_bytes(critical_bytes as i64),
                age_ms(f.in_ms)
            )
        }
    }
}

/// Time left: `3 s`, `1m15s`, `2h05m`.
pub fn eta(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{:.0} s", d.as_secs_f64().ceil())
    }
}

/// `▰▰▰▱▱▱▱▱▱▱`: `fraction` of `width` cells, rounded up so that anything above zero
/// shows.
pub fn gauge(fraction: f64, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0)) * width as f64).ceil() as usize;
    let filled = filled.min(width);
    format!("{}{}", "▰".repeat(filled), "▱".repeat(width - filled))
}

/// "16.4" from 160004 (13+ only, so never the "9.6" style).
pub fn version_label(version_num: i32) -> String {
    format!("{}.{}", version_num / 10000, version_num % 10000)
}

/// `a, b, c and 7 more`.
pub fn abbreviate(names: &[String], max: usize) -> String {
    if names.len() <= max {
        names.join(", ")
    } else {
        format!("{} and {} more", names[..max].join(", "), names.len() - max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_thousands() {
        assert_eq!(group_digits(0), "0");
        assert_eq!(group_digits(999), "999");
        assert_eq!(group_digits(1000), "1 000");
        assert_eq!(group_digits(1234567), "1 234 567");
        assert_eq!(group_digits(-120), "-120");
        assert_eq!(group_digits(-1_000i64), "-1 000");
        assert_eq!(group_digits(2_000_000u64), "2 000 000");
    }

    #[test]
    fn version_label_reads_major_and_minor() {
        assert_eq!(version_label(160014), "16.14");
        assert_eq!(version_label(150018), "15.18");
        assert_eq!(version_label(180000), "18.0");
    }

    #[test]
    fn counts_say_whether_they_are_exact() {
        assert_eq!(
            count_cell(Some(RowCount {
                rows: 1960,
                exact: false
            })),
            "≈1 960"
        );
        assert_eq!(
            count_cell(Some(RowCount {
                rows: 12,
                exact: true
            })),
            "12"
        );
        assert_eq!(count_cell(None), "—");
        assert_eq!(difference_cell(None), "—");
    }

    #[test]
    fn bytes_durations_and_gauges_read_as_people_read_them() {
        assert_eq!(human_bytes(300), "300 B");
        assert_eq!(human_bytes(1536), "1.5 kB");
        assert_eq!(human_bytes(12 << 20), "12 MB");
        assert_eq!(age_ms(900), "0.9s");
        assert_eq!(age_ms(65_000), "1m05s");
        assert_eq!(age_ms(7_260_000), "2h01m");
        assert_eq!(age_ms(90_000_000), "1d01h");
        assert_eq!(eta(Duration::from_secs(75)), "1m15s");
        assert_eq!(eta(Duration::from_secs(7500)), "2h05m");
        assert_eq!(gauge(0.0, 10), "▱▱▱▱▱▱▱▱▱▱");
        assert_eq!(gauge(0.01, 10), "▰▱▱▱▱▱▱▱▱▱");
        assert_eq!(gauge(2.0, 4), "▰▰▰▰");
        assert_eq!(
            abbreviate(&["a".into(), "b".into(), "c".into()], 2),
            "a, b and 1 more"
        );
    }
}
