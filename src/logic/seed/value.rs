//! Generated values and their binary wire format. tokio-postgres is built here without its
//! uuid/json/chrono features (the dependency tree stays as it is), and several types
//! (`numeric`, `vector`, enums, arrays of them) have no `ToSql` at all, so one enum encodes
//! every type the generator produces. The pairing of a value with its column's type is the
//! generator's job: `accepts` is true for everything.

use std::error::Error;

use tokio_postgres::types::private::BytesMut;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};

/// Days from 1970-01-01 to 2000-01-01, PostgreSQL's epoch for dates and timestamps.
pub const PG_EPOCH_DAYS: i64 = 10_957;
pub const MICROS_PER_DAY: i64 = 86_400_000_000;

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    /// `int8` and `money` (cents).
    I64(i64),
    F32(f32),
    F64(f64),
    /// `mantissa × 10^-scale`.
    Numeric {
        mantissa: i128,
        scale: u16,
    },
    /// text, varchar, bpchar, name, citext and enum labels share this encoding.
    Text(String),
    Bytes(Vec<u8>),
    /// Days since 2000-01-01.
    Date(i32),
    /// Microseconds since 2000-01-01 00:00 (UTC for `timestamptz`).
    Timestamp(i64),
    /// Microseconds since midnight.
    Time(i64),
    /// Microseconds since midnight and the zone's offset in seconds *west* of UTC.
    TimeTz(i64, i32),
    Interval {
        micros: i64,
        days: i32,
        months: i32,
    },
    Uuid([u8; 16]),
    Json(String),
    Jsonb(String),
    /// pgvector's `vector`: `u16` dimension, `u16` unused, `f32` × dimension.
    Vector(Vec<f32>),
    Inet {
        addr: [u8; 4],
        bits: u8,
        cidr: bool,
    },
    MacAddr([u8; 6]),
    /// A one-dimensional array whose elements have type `elem_oid`.
    Array {
        elem_oid: u32,
        items: Vec<Value>,
    },
    /// Bytes read from the server in binary form, sent back as they came (parent keys).
    Raw(Vec<u8>),
}

fn put(out: &mut BytesMut, bytes: &[u8]) {
    out.extend_from_slice(bytes);
}

impl Value {
    /// Appends the binary form (without the length word); false for NULL.
    pub fn encode(&self, out: &mut BytesMut) -> Result<bool, Box<dyn Error + Sync + Send>> {
        match self {
            Value::Null => return Ok(false),
            Value::Bool(b) => put(out, &[u8::from(*b)]),
            Value::I16(v) => put(out, &v.to_be_bytes()),
            Value::I32(v) => put(out, &v.to_be_bytes()),
            Value::I64(v) => put(out, &v.to_be_bytes()),
            Value::F32(v) => put(out, &v.to_be_bytes()),
            Value::F64(v) => put(out, &v.to_be_bytes()),
            Value::Numeric { mantissa, scale } => encode_numeric(*mantissa, *scale, out),
            Value::Text(s) | Value::Json(s) => put(out, s.as_bytes()),
            Value::Jsonb(s) => {
                put(out, &[1]);
                put(out, s.as_bytes());
            }
            Value::Bytes(b) | Value::Raw(b) => put(out, b),
            Value::Date(d) => put(out, &d.to_be_bytes()),
            Value::Timestamp(t) | Value::Time(t) => put(out, &t.to_be_bytes()),
            Value::TimeTz(t, zone) => {
                put(out, &t.to_be_bytes());
                put(out, &zone.to_be_bytes());
            }
            Value::Interval {
                micros,
                days,
                months,
            } => {
                put(out, &micros.to_be_bytes());
                put(out, &days.to_be_bytes());
                put(out, &months.to_be_bytes());
            }
            Value::Uuid(u) => put(out, u),
            Value::Vector(v) => {
                let dim = u16::try_from(v.len())
                    .map_err(|_| format!("a vector of {} dimensions is too long", v.len()))?;
                put(out, &dim.to_be_bytes());
                put(out, &0u16.to_be_bytes());
                for x in v {
                    put(out, &x.to_be_bytes());
                }
            }
            Value::Inet { addr, bits, cidr } => {
                // PGSQL_AF_INET is 2 whatever the platform's AF_INET.
                put(out, &[2, *bits, u8::from(*cidr), 4]);
                put(out, addr);
            }
            Value::MacAddr(m) => put(out, m),
            Value::Array { elem_oid, items } => encode_array(*elem_oid, items, out)?,
        }
        Ok(true)
    }
}

fn encode_array(
    elem_oid: u32,
    items: &[Value],
    out: &mut BytesMut,
) -> Result<(), Box<dyn Error + Sync + Send>> {
    let has_null = items.iter().any(|v| matches!(v, Value::Null));
    let ndim: i32 = if items.is_empty() { 0 } else { 1 };
    put(out, &ndim.to_be_bytes());
    put(out, &i32::from(has_null).to_be_bytes());
    put(out, &elem_oid.to_be_bytes());
    if ndim == 1 {
        put(out, &(items.len() as i32).to_be_bytes());
        put(out, &1i32.to_be_bytes());
    }
    for item in items {
        let at = out.len();
        put(out, &0i32.to_be_bytes());
        if item.encode(out)? {
            let len = i32::try_from(out.len() - at - 4)
                .map_err(|_| "an array element is larger than 2 GB")?;
            out[at..at + 4].copy_from_slice(&len.to_be_bytes());
        } else {
            out[at..at + 4].copy_from_slice(&(-1i32).to_be_bytes());
        }
    }
    Ok(())
}

/// PostgreSQL's binary `numeric`: base-10000 digits around the decimal point, with the
/// display scale kept so that `1.50` stays `1.50`.
fn encode_numeric(mantissa: i128, scale: u16, out: &mut BytesMut) {
    let sign: u16 = if mantissa < 0 { 0x4000 } else { 0 };
    let mut digits_text = mantissa.unsigned_abs().to_string();
    let scale_len = usize::from(scale);
    if digits_text.len() <= scale_len {
        digits_text = format!(
            "{}{digits_text}",
            "0".repeat(scale_len + 1 - digits_text.len())
        );
    }
    let (int_part, frac_part) = digits_text.split_at(digits_text.len() - scale_len);
    let int_padded = format!("{}{int_part}", "0".repeat((4 - int_part.len() % 4) % 4));
    let frac_padded = format!("{frac_part}{}", "0".repeat((4 - frac_part.len() % 4) % 4));
    let group = |s: &str| -> Vec<i16> {
        s.as_bytes()
            .chunks(4)
            .map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d - b'0')))
            .collect()
    };
    let int_groups = group(&int_padded);
    let mut weight = int_groups.len() as i16 - 1;
    let mut digits: Vec<i16> = int_groups;
    digits.extend(group(&frac_padded));
    let leading = digits.iter().take_while(|d| **d == 0).count();
    digits.drain(..leading);
    weight -= leading as i16;
    while digits.last() == Some(&0) {
        digits.pop();
    }
    if digits.is_empty() {
        weight = 0;
    }
    put(out, &(digits.len() as i16).to_be_bytes());
    put(out, &weight.to_be_bytes());
    put(out, &sign.to_be_bytes());
    put(out, &scale.to_be_bytes());
    for d in digits {
        put(out, &d.to_be_bytes());
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        _ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        Ok(if self.encode(out)? {
            IsNull::No
        } else {
            IsNull::Yes
        })
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// A column read in binary form whatever its type, to be written back unchanged (a parent
/// key copied into a child's foreign-key column, a primary key in a WHERE clause).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RawValue(pub Option<Vec<u8>>);

impl<'a> FromSql<'a> for RawValue {
    fn from_sql(_ty: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(RawValue(Some(raw.to_vec())))
    }

    fn from_sql_null(_ty: &Type) -> Result<Self, Box<dyn Error + Sync + Send>> {
        Ok(RawValue(None))
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }
}

impl From<RawValue> for Value {
    fn from(r: RawValue) -> Value {
        match r.0 {
            Some(b) => Value::Raw(b),
            None => Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(v: &Value) -> Vec<u8> {
        let mut out = BytesMut::new();
        v.encode(&mut out).unwrap();
        out.to_vec()
    }

    fn words(b: &[u8]) -> Vec<i16> {
        b.chunks(2)
            .map(|c| i16::from_be_bytes([c[0], c[1]]))
            .collect()
    }

    #[test]
    fn numeric_groups_base_10000_digits_around_the_point() {
        // 12345.67 = 1·10000¹ + 2345·10000⁰ + 6700·10000⁻¹
        let b = bytes(&Value::Numeric {
            mantissa: 1_234_567,
            scale: 2,
        });
        assert_eq!(words(&b), vec![3, 1, 0, 2, 1, 2345, 6700]);
        // 0.05: the leading zero group is dropped and the weight goes below zero.
        let b = bytes(&Value::Numeric {
            mantissa: 5,
            scale: 2,
        });
        assert_eq!(words(&b), vec![1, -1, 0, 2, 500]);
        // −10000: trailing zero groups are dropped, the weight says where the point is.
        let b = bytes(&Value::Numeric {
            mantissa: -10_000,
            scale: 0,
        });
        assert_eq!(words(&b), vec![1, 1, 0x4000, 0, 1]);
        let b = bytes(&Value::Numeric {
            mantissa: 0,
            scale: 3,
        });
        assert_eq!(words(&b), vec![0, 0, 0, 3]);
    }

    #[test]
    fn vector_is_dimension_then_unused_then_floats() {
        let b = bytes(&Value::Vector(vec![1.0, -0.5]));
        assert_eq!(&b[..4], &[0, 2, 0, 0]);
        assert_eq!(&b[4..8], &1.0f32.to_be_bytes());
        assert_eq!(&b[8..12], &(-0.5f32).to_be_bytes());
        assert_eq!(b.len(), 12);
    }

    #[test]
    fn arrays_carry_element_oid_dimensions_and_lengths() {
        let b = bytes(&Value::Array {
            elem_oid: 23,
            items: vec![Value::I32(7), Value::Null],
        });
        let ints: Vec<i32> = b
            .chunks(4)
            .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(ints, vec![1, 1, 23, 2, 1, 4, 7, -1]);
        let empty = bytes(&Value::Array {
            elem_oid: 25,
            items: vec![],
        });
        assert_eq!(empty.len(), 12);
    }

    #[test]
    fn jsonb_has_a_version_byte_and_null_writes_nothing() {
        assert_eq!(bytes(&Value::Jsonb("{}".into())), b"\x01{}".to_vec());
        assert_eq!(bytes(&Value::Json("{}".into())), b"{}".to_vec());
        let mut out = BytesMut::new();
        assert!(!Value::Null.encode(&mut out).unwrap());
        assert!(out.is_empty());
    }

    #[test]
    fn inet_uses_postgres_own_family_number() {
        let b = bytes(&Value::Inet {
            addr: [10, 1, 2, 3],
            bits: 32,
            cidr: false,
        });
        assert_eq!(b, vec![2, 32, 0, 4, 10, 1, 2, 3]);
    }
}
