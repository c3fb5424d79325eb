//! Which side of the sync a fact, a check or a statement belongs to.

use std::fmt;

/// The source (where changes happen) or the destination (where they arrive).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Source,
    Dest,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Source, Side::Dest];

    /// As a person reads it: `source`, `destination`.
    pub fn label(self) -> &'static str {
        match self {
            Side::Source => "source",
            Side::Dest => "destination",
        }
    }

    /// The short tag the screen uses: `src`, `dst`.
    pub fn tag(self) -> &'static str {
        match self {
            Side::Source => "src",
            Side::Dest => "dst",
        }
    }

    /// This side's one of a pair of values: `side.pick(&a.source, &a.dest)`.
    pub fn pick<T>(self, source: T, dest: T) -> T {
        match self {
            Side::Source => source,
            Side::Dest => dest,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_side_picks_its_own_value_and_reads_as_a_word() {
        assert_eq!(Side::Source.pick(1, 2), 1);
        assert_eq!(Side::Dest.pick(1, 2), 2);
        assert_eq!(Side::Dest.to_string(), "destination");
        assert_eq!(serde_json::to_string(&Side::Dest).unwrap(), "\"dest\"");
    }
}
