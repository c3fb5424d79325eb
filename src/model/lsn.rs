//! A WAL position (`pg_lsn`), as PostgreSQL prints it (`16/B374D848`) and as a number
//! that orders and subtracts.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// From PostgreSQL's text form `X/Y` (hexadecimal halves); `None` for anything else.
    pub fn parse(text: &str) -> Option<Lsn> {
        let (hi, lo) = text.trim().split_once('/')?;
        let hi = u64::from_str_radix(hi, 16).ok()?;
        let lo = u64::from_str_radix(lo, 16).ok()?;
        (hi <= u32::MAX as u64 && lo <= u32::MAX as u64).then_some(Lsn((hi << 32) | lo))
    }

    /// Bytes from `earlier` to `self`, zero when `earlier` is ahead.
    pub fn bytes_since(self, earlier: Lsn) -> u64 {
        self.0.saturating_sub(earlier.0)
    }
}

/// Printed as PostgreSQL prints it, in JSON too.
impl serde::Serialize for Lsn {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_order_and_print_as_postgres_does() {
        let a = Lsn::parse("0/1933020").unwrap();
        let b = Lsn::parse("16/B374D848").unwrap();
        assert!(a < b);
        assert_eq!(b.to_string(), "16/B374D848");
        assert_eq!(a.to_string(), "0/1933020");
        assert_eq!(
            Lsn::parse("0/10")
                .unwrap()
                .bytes_since(Lsn::parse("0/4").unwrap()),
            12
        );
        assert_eq!(a.bytes_since(b), 0);
        for bad in ["", "12", "x/1", "1/2/3", "100000000/0"] {
            assert_eq!(Lsn::parse(bad), None, "{bad}");
        }
    }
}
