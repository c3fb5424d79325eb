//! Details of the selected check (its detail and fix) or table (counts, key, identity,
//! columns), and a check's step only a person can do.

use crate::logic::divergence::State;
use crate::logic::format::age_ms;
use crate::model::check::Check;
use crate::model::snapshot::{RowCount, TableInfo};

use super::Popup;

pub fn check(c: &Check) -> Popup {
    let mut lines = vec![
        format!(
            "{} {} · {}",
            c.status.symbol(),
            c.status.label(),
            c.side.label()
        ),
        String::new(),
        c.detail.clone(),
    ];
    if let Some(fix) = &c.fix {
        lines.push(String::new());
        if !fix.sql.is_empty() {
            lines.push("Fix (SQL):".into());
            lines.extend(fix.sql.iter().map(|s| format!("  {s};")));
        }
        if let Some(m) = &fix.manual {
            lines.push(format!("To do by hand: {m}"));
        }
        if let Some(caution) = &fix.caution {
            lines.push(format!("Note: {caution}"));
        }
    }
    Popup::Text {
        title: c.id.to_string(),
        lines,
    }
}

/// A check whose only fix is a step by hand (a package to install, …).
pub fn manual_step(c: &Check, manual: &str) -> Popup {
    Popup::Text {
        title: format!("{} needs a step by hand", c.id),
        lines: vec![c.detail.clone(), String::new(), manual.to_string()],
    }
}

/// One table's row: its state and counts, and what the source's catalog says of it.
pub struct TableDetails<'a> {
    pub name: String,
    pub state: State,
    pub source: Option<RowCount>,
    pub dest: Option<RowCount>,
    pub info: Option<&'a TableInfo>,
    /// Rows changed per second on each side.
    pub rates: (Option<f64>, Option<f64>),
    /// Airbyte: when the destination table last had rows loaded, how long ago.
    pub loaded_ago_ms: Option<i64>,
}

/// Rows per second as the tables pane and the details print it.
pub fn rate_text(r: Option<f64>) -> String {
    match r {
        None => "—".into(),
        Some(r) if r < 10.0 => format!("{r:.1} rows/s"),
        Some(r) => format!("{r:.0} rows/s"),
    }
}

pub fn table(t: TableDetails<'_>) -> Popup {
    let count = |c: Option<RowCount>| match c {
        Some(c) if c.exact => format!("{} (exact)", c.rows),
        Some(c) => format!("≈{} (estimate; c counts exactly)", c.rows),
        None => "—".into(),
    };
    let mut lines = vec![
        format!("state        {}", t.state.label()),
        format!("source       {}", count(t.source)),
        format!("destination  {}", count(t.dest)),
        format!(
            "throughput   {} source, {} destination",
            rate_text(t.rates.0),
            rate_text(t.rates.1)
        ),
    ];
    if let Some(ago) = t.loaded_ago_ms {
        lines.push(format!("loaded       {} ago", age_ms(ago)));
    }
    if let Some(info) = t.info {
        lines.push(format!(
            "primary key  {}",
            if info.has_primary_key { "yes" } else { "no" }
        ));
        lines.push(format!("identity     {}", info.replica_identity.label()));
        lines.push(String::new());
        lines.push("columns".into());
        lines.extend(
            info.columns
                .iter()
                .map(|c| format!("  {} {}", c.name, c.data_type)),
        );
    }
    Popup::Text {
        title: t.name,
        lines,
    }
}
