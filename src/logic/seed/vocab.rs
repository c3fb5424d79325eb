//! The generator's vocabulary: how one column's values are made ([`Gen`]) and the kinds
//! of text and dates a column's name can ask for. [`super::hints`] picks them from names,
//! [`super::generate`] from types, [`super::rows`] makes the values.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextStyle {
    Email,
    Username,
    FirstName,
    LastName,
    FullName,
    Title,
    Description,
    City,
    Country,
    Phone,
    Url,
    Address,
    Words,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateStyle {
    /// A deadline: from a month ago to four months ahead.
    Due,
    /// A birth date: 1950–2006.
    Birth,
    /// Something that happened: within the last two years, never in the future.
    Past,
    /// Anything: within a year either side of today.
    Around,
}

/// How one column's values are made.
#[derive(Clone, Debug, PartialEq)]
pub enum Gen {
    Bool {
        p_true: f64,
        /// Done more often when the row's due date has passed.
        follows_due: bool,
    },
    Int {
        bytes: u8,
        lo: i64,
        hi: i64,
    },
    Money,
    Float {
        double: bool,
        lo: f64,
        hi: f64,
    },
    Numeric {
        scale: u16,
        /// Largest mantissa generated (value × 10^scale).
        hi: i128,
        /// Mantissas must stay below this (the column's precision), when it has one.
        limit: Option<i128>,
    },
    Text {
        style: TextStyle,
        max_chars: Option<usize>,
    },
    Date(DateStyle),
    Timestamp(DateStyle),
    Time,
    TimeTz,
    Interval,
    Uuid,
    Json,
    Jsonb,
    Bytea,
    Inet {
        cidr: bool,
    },
    MacAddr,
    Vector {
        dim: usize,
    },
    Enum(Vec<String>),
    Array {
        elem_oid: u32,
        elem: Box<Gen>,
    },
}

impl Gen {
    /// Whether unique values can be produced (else a unique index may reject rows).
    pub(super) fn can_be_unique(&self) -> bool {
        matches!(
            self,
            Gen::Int { .. }
                | Gen::Money
                | Gen::Float { .. }
                | Gen::Numeric { .. }
                | Gen::Text { .. }
                | Gen::Uuid
                | Gen::Date(_)
                | Gen::Timestamp(_)
                | Gen::Bytea
        )
    }

    /// Unique numbers continue after the column's maximum, which must be read first.
    pub(super) fn needs_max(&self) -> bool {
        matches!(
            self,
            Gen::Int { .. } | Gen::Money | Gen::Float { .. } | Gen::Numeric { .. }
        )
    }
}
