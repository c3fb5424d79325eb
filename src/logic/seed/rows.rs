//! Fills rows from a table's plan: a row number (which makes unique values unique) and a
//! PRNG stream give a row, so batches can be generated in any order, on any session.

use std::collections::HashMap;
use std::fmt::Write as _;

use color_eyre::eyre::{Result, bail};

use super::generate::{FK_NULL_RATE, Source, TablePlan};
use super::prng::Rng;
use super::value::{MICROS_PER_DAY, Value};
use super::vocab::{DateStyle, Gen, TextStyle};
use super::words;

/// Values that are the same for a whole seed run.
#[derive(Clone, Debug)]
pub struct GenContext {
    /// Now, in microseconds since 2000-01-01 UTC (PostgreSQL's epoch).
    pub now: i64,
    /// A short per-run token that makes unique text differ from earlier runs'.
    pub token: String,
}

impl GenContext {
    /// The real clock, and a token from it mixed with `seed`.
    pub fn now(seed: u64) -> GenContext {
        let since_unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let micros = since_unix.as_micros() as i64;
        let now = micros - super::value::PG_EPOCH_DAYS * MICROS_PER_DAY;
        let token = base36(super::prng::mix(seed ^ micros as u64) % 36u64.pow(4), 4);
        GenContext { now, token }
    }
}

/// Lower-case base 36, zero-padded to `width`.
pub fn base36(mut n: u64, width: usize) -> String {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    while n > 0 || out.is_empty() {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.iter().rev().map(|&b| char::from(b)).collect()
}

/// Per-row state shared by columns so that they agree (the username and the e-mail name
/// the same person; completion follows the due date).
#[derive(Default)]
struct RowState {
    person: Option<(usize, usize)>,
    due_days: Option<i64>,
    fk_choice: Vec<Option<Option<usize>>>,
}

impl RowState {
    fn person(&mut self, rng: &mut Rng) -> (&'static str, &'static str) {
        let (f, l) = *self.person.get_or_insert_with(|| {
            (
                rng.below(words::FIRST_NAMES.len() as u64) as usize,
                rng.below(words::LAST_NAMES.len() as u64) as usize,
            )
        });
        (words::FIRST_NAMES[f], words::LAST_NAMES[l])
    }
}

/// Fills rows for one table from its plan.
#[derive(Clone, Debug)]
pub struct RowGen {
    pub plan: TablePlan,
    ctx: GenContext,
    /// Per foreign key of the plan: parent key tuples to choose from.
    pools: Vec<Vec<Vec<Value>>>,
    /// Per column: where unique numbers start.
    starts: Vec<i64>,
}

impl RowGen {
    /// `max` holds the current maximum of the columns [`TablePlan::needs_max`] named;
    /// `pools` the parent keys of each foreign key (empty when the parent is).
    pub fn new(
        plan: TablePlan,
        ctx: GenContext,
        max: &HashMap<String, i64>,
        pools: Vec<Vec<Vec<Value>>>,
    ) -> Result<RowGen> {
        for (fk, pool) in plan.foreign_keys.iter().zip(&pools) {
            if pool.is_empty() && !fk.nullable {
                let parent = format!("{}.{}", fk.fk.parent_schema, fk.fk.parent_table);
                bail!(
                    "cannot seed {}.{}: its foreign key {} needs rows in {parent}, which has none; seed {parent} first",
                    plan.schema,
                    plan.table,
                    fk.fk.name
                );
            }
        }
        let starts = plan
            .columns
            .iter()
            .map(|c| max.get(&c.name).map_or(1, |m| m.saturating_add(1)))
            .collect();
        Ok(RowGen {
            plan,
            ctx,
            pools,
            starts,
        })
    }

    pub fn width(&self) -> usize {
        self.plan.columns.len()
    }

    /// Fills `out` with row number `n` of this run (numbers make unique values unique).
    pub fn fill(&self, n: u64, rng: &mut Rng, out: &mut Vec<Value>) {
        out.clear();
        let mut state = RowState {
            fk_choice: vec![None; self.pools.len()],
            ..RowState::default()
        };
        for i in 0..self.plan.columns.len() {
            let v = self.column_value(i, n, rng, &mut state);
            out.push(v);
        }
    }

    /// A fresh value for column `i` alone (an UPDATE's new value).
    pub fn value(&self, i: usize, n: u64, rng: &mut Rng) -> Value {
        let mut state = RowState {
            fk_choice: vec![None; self.pools.len()],
            ..RowState::default()
        };
        self.column_value(i, n, rng, &mut state)
    }

    fn column_value(&self, i: usize, n: u64, rng: &mut Rng, state: &mut RowState) -> Value {
        let col = &self.plan.columns[i];
        match &col.source {
            Source::AlwaysNull => Value::Null,
            Source::ForeignKey { fk, position } => {
                let choice = *state.fk_choice[*fk].get_or_insert_with(|| {
                    let pool = &self.pools[*fk];
                    let nullable = self.plan.foreign_keys[*fk].nullable;
                    if pool.is_empty() || (nullable && rng.chance(FK_NULL_RATE)) {
                        None
                    } else {
                        Some(rng.below(pool.len() as u64) as usize)
                    }
                });
                match choice {
                    Some(k) => self.pools[*fk][k][*position].clone(),
                    None => Value::Null,
                }
            }
            Source::Generate {
                how,
                null_rate,
                unique,
            } => {
                if *null_rate > 0.0 && rng.chance(*null_rate) {
                    return Value::Null;
                }
                let unique_n = unique.then_some(n);
                self.generate(how, unique_n, self.starts[i], rng, state)
            }
        }
    }

    fn generate(
        &self,
        how: &Gen,
        unique: Option<u64>,
        start: i64,
        rng: &mut Rng,
        state: &mut RowState,
    ) -> Value {
        let now = self.ctx.now;
        let today = now.div_euclid(MICROS_PER_DAY);
        let seq = |n: u64| start.saturating_add(n as i64);
        match how {
            Gen::Bool {
                p_true,
                follows_due,
            } => {
                let p = match (follows_due, state.due_days) {
                    (true, Some(d)) if d < today => 0.8,
                    (true, Some(_)) => 0.15,
                    _ => *p_true,
                };
                Value::Bool(rng.chance(p))
            }
            Gen::Int { bytes, lo, hi } => {
                let v = unique.map_or_else(|| rng.range(*lo, *hi), seq);
                match bytes {
                    2 => Value::I16(v as i16),
                    4 => Value::I32(v as i32),
                    _ => Value::I64(v),
                }
            }
            Gen::Money => {
                Value::I64(unique.map_or_else(|| rng.range(100, 100_000), |n| seq(n) * 100))
            }
            Gen::Float { double, lo, hi } => {
                let v = match unique {
                    Some(n) => seq(n) as f64,
                    None => ((lo + rng.unit() * (hi - lo)) * 100.0).round() / 100.0,
                };
                if *double {
                    Value::F64(v)
                } else {
                    Value::F32(v as f32)
                }
            }
            Gen::Numeric { scale, hi, limit } => {
                let pow = 10i128.pow(u32::from(*scale));
                let mut mantissa = match unique {
                    Some(n) => i128::from(seq(n)) * pow,
                    None => i128::from(rng.range(0, (*hi).min(i128::from(i64::MAX)) as i64)),
                };
                if let Some(l) = limit {
                    mantissa %= *l;
                }
                Value::Numeric {
                    mantissa,
                    scale: *scale,
                }
            }
            Gen::Text { style, max_chars } => {
                Value::Text(self.text(*style, *max_chars, unique, rng, state))
            }
            Gen::Date(style) => {
                let d = match unique {
                    Some(n) => today - n as i64,
                    None => day_in(*style, today, rng),
                };
                if *style == DateStyle::Due {
                    state.due_days.get_or_insert(d);
                }
                Value::Date(d as i32)
            }
            Gen::Timestamp(style) => {
                let t = match unique {
                    Some(n) => now - (n as i64) * 1_000_000,
                    None => {
                        let d = day_in(*style, today, rng);
                        let t = d * MICROS_PER_DAY
                            + rng.range(7 * 3600, 20 * 3600) * 1_000_000
                            + rng.range(0, 999_999);
                        if *style == DateStyle::Past {
                            t.min(now)
                        } else {
                            t
                        }
                    }
                };
                if *style == DateStyle::Due {
                    state.due_days.get_or_insert(t.div_euclid(MICROS_PER_DAY));
                }
                Value::Timestamp(t)
            }
            Gen::Time => Value::Time(rng.range(28, 80) * 15 * 60 * 1_000_000),
            Gen::TimeTz => Value::TimeTz(
                rng.range(28, 80) * 15 * 60 * 1_000_000,
                *rng.pick(&[0, -3600, -7200]),
            ),
            Gen::Interval => Value::Interval {
                micros: rng.range(0, 8 * 4) * 15 * 60 * 1_000_000,
                days: rng.range(0, 14) as i32,
                months: rng.range(0, 2) as i32,
            },
            Gen::Uuid => {
                let mut b = [0u8; 16];
                b[..8].copy_from_slice(&rng.next_u64().to_be_bytes());
                b[8..].copy_from_slice(&rng.next_u64().to_be_bytes());
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                Value::Uuid(b)
            }
            Gen::Json => Value::Json(json_doc(unique.unwrap_or(0), rng)),
            Gen::Jsonb => Value::Jsonb(json_doc(unique.unwrap_or(0), rng)),
            Gen::Bytea => {
                let mut b: Vec<u8> = match unique {
                    Some(n) => {
                        let mut b = self.ctx.token.as_bytes().to_vec();
                        b.extend_from_slice(&n.to_be_bytes());
                        b
                    }
                    None => Vec::new(),
                };
                let len = rng.range(8, 32) as usize;
                while b.len() < len {
                    b.push(rng.next_u64() as u8);
                }
                Value::Bytes(b)
            }
            Gen::Inet { cidr } => {
                let r = rng.next_u64().to_be_bytes();
                if *cidr {
                    Value::Inet {
                        addr: [10, r[0], r[1], 0],
                        bits: 24,
                        cidr: true,
                    }
                } else {
                    Value::Inet {
                        addr: [10, r[0], r[1], r[2].max(1)],
                        bits: 32,
                        cidr: false,
                    }
                }
            }
            Gen::MacAddr => {
                let r = rng.next_u64().to_be_bytes();
                // Locally administered, unicast: never a real vendor's address.
                Value::MacAddr([0x02, r[0], r[1], r[2], r[3], r[4]])
            }
            Gen::Vector { dim } => Value::Vector(
                (0..*dim)
                    .map(|_| ((rng.unit() * 2.0 - 1.0) * 10_000.0).round() as f32 / 10_000.0)
                    .collect(),
            ),
            Gen::Enum(labels) => Value::Text(rng.pick(labels).clone()),
            Gen::Array { elem_oid, elem } => {
                let len = rng.below(4);
                let items = (0..len)
                    .map(|_| self.generate(elem, None, 0, rng, state))
                    .collect();
                Value::Array {
                    elem_oid: *elem_oid,
                    items,
                }
            }
        }
    }

    fn text(
        &self,
        style: TextStyle,
        max_chars: Option<usize>,
        unique: Option<u64>,
        rng: &mut Rng,
        state: &mut RowState,
    ) -> String {
        let tag = unique.map(|n| format!("{}{}", self.ctx.token, base36(n, 1)));
        let mut s = String::new();
        match style {
            TextStyle::Email => {
                let (f, l) = state.person(rng);
                let local = format!("{}.{}", words::ascii_fold(f), words::ascii_fold(l));
                let domain = rng.pick(words::EMAIL_DOMAINS);
                let suffix = match &tag {
                    Some(t) => format!(".{t}@{domain}"),
                    None => format!("{}@{domain}", rng.range(1, 99)),
                };
                return fit(&local, &suffix, max_chars);
            }
            TextStyle::Username => {
                let (f, l) = state.person(rng);
                let base = format!("{}.{}", words::ascii_fold(f), words::ascii_fold(l));
                let suffix = match &tag {
                    Some(t) => format!("_{t}"),
                    None => rng.range(1, 99).to_string(),
                };
                return fit(&base, &suffix, max_chars);
            }
            TextStyle::FirstName => s.push_str(state.person(rng).0),
            TextStyle::LastName => s.push_str(state.person(rng).1),
            TextStyle::FullName => {
                let (f, l) = state.person(rng);
                let _ = write!(s, "{f} {l}");
            }
            TextStyle::Title => {
                let _ = write!(
                    s,
                    "{} {}{}",
                    rng.pick(words::TASK_VERBS),
                    rng.pick(words::TASK_OBJECTS),
                    rng.pick(words::TASK_COMPLEMENTS)
                );
            }
            TextStyle::Description => {
                let n = rng.range(1, 3);
                for i in 0..n {
                    if i > 0 {
                        s.push(' ');
                    }
                    s.push_str(rng.word(words::SENTENCES));
                }
            }
            TextStyle::City => s.push_str(rng.word(words::CITIES)),
            TextStyle::Country => s.push_str(rng.word(words::COUNTRIES)),
            TextStyle::Phone => {
                let _ = write!(
                    s,
                    "+33 6 {:02} {:02} {:02} {:02}",
                    rng.below(100),
                    rng.below(100),
                    rng.below(100),
                    rng.below(100)
                );
            }
            TextStyle::Url => {
                let _ = write!(
                    s,
                    "https://{}/{}",
                    rng.pick(words::EMAIL_DOMAINS),
                    words::ascii_fold(rng.word(words::WORDS))
                );
            }
            TextStyle::Address => {
                let _ = write!(
                    s,
                    "{} {}, {}",
                    rng.range(1, 120),
                    rng.pick(words::STREETS),
                    rng.pick(words::CITIES)
                );
            }
            TextStyle::Words => {
                let n = rng.range(1, 4);
                for i in 0..n {
                    if i > 0 {
                        s.push(' ');
                    }
                    s.push_str(rng.word(words::WORDS));
                }
            }
        }
        match &tag {
            Some(t) => fit(&s, &format!(" #{t}"), max_chars),
            None => fit(&s, "", max_chars),
        }
    }
}

/// `base` then `suffix`, cutting `base` (by characters, as varchar(n) counts) so that the
/// whole fits in `max` characters; the suffix is what makes a value unique, so it stays.
fn fit(base: &str, suffix: &str, max: Option<usize>) -> String {
    let Some(max) = max else {
        return format!("{base}{suffix}");
    };
    let suffix_len = suffix.chars().count();
    if suffix_len >= max {
        return suffix
            .chars()
            .rev()
            .take(max)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
    }
    let mut out: String = base.chars().take(max - suffix_len).collect();
    out.push_str(suffix);
    out
}

fn day_in(style: DateStyle, today: i64, rng: &mut Rng) -> i64 {
    match style {
        DateStyle::Due => today + rng.range(-30, 120),
        // 1950-01-01 and 2006-12-31 in days since 2000-01-01.
        DateStyle::Birth => rng.range(-18_262, 2_556),
        DateStyle::Past => today - rng.range(0, 730),
        DateStyle::Around => today + rng.range(-365, 365),
    }
}

fn json_doc(n: u64, rng: &mut Rng) -> String {
    let tags: Vec<String> = (0..rng.range(0, 3))
        .map(|_| format!("\"{}\"", rng.pick(words::JSON_TAGS)))
        .collect();
    format!(
        "{{\"source\": \"syncwatch\", \"n\": {n}, \"ville\": \"{}\", \"tags\": [{}], \"score\": {:.1}, \"actif\": {}}}",
        rng.pick(words::CITIES),
        tags.join(", "),
        rng.unit() * 5.0,
        rng.chance(0.5)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logic::seed::facts::sample::*;
    use crate::logic::seed::facts::{ColumnFacts, TableFacts, TypeFacts};
    use crate::logic::seed::generate::plan;

    fn ctx() -> GenContext {
        // 2026-01-15 12:00 UTC.
        GenContext {
            now: (9_511 * 86_400 + 12 * 3600) * 1_000_000,
            token: "zz01".into(),
        }
    }

    fn rows(g: &RowGen, n: u64, seed: u64) -> Vec<Vec<Value>> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|i| {
                let mut out = Vec::new();
                g.fill(i, &mut rng, &mut out);
                out
            })
            .collect()
    }

    fn text(v: &Value) -> &str {
        match v {
            Value::Text(s) => s,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn sample_users_are_people_with_unique_names_and_addresses_within_limits() {
        let p = plan(&utilisateur()).unwrap();
        assert_eq!(p.left_to_server.len(), 1, "id is the server's");
        assert_eq!(p.columns.len(), 2);
        let g = RowGen::new(p, ctx(), &HashMap::new(), vec![]).unwrap();
        let rows = rows(&g, 20_000, 1);
        let mut names = std::collections::HashSet::new();
        let mut mails = std::collections::HashSet::new();
        for r in &rows {
            let (u, e) = (text(&r[0]), text(&r[1]));
            assert!(u.chars().count() <= 50, "{u}");
            assert!(u.is_ascii() && u.contains('.'), "{u}");
            assert!(
                e.contains('@') && e.starts_with(u.split('_').next().unwrap()),
                "{u} {e}"
            );
            assert!(names.insert(u.to_string()), "duplicate user name {u}");
            assert!(mails.insert(e.to_string()), "duplicate e-mail {e}");
        }
    }

    #[test]
    fn sample_tasks_are_realistic_and_point_at_pooled_users() {
        let p = plan(&tache()).unwrap();
        let names: Vec<&str> = p.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "title",
                "description",
                "due_date",
                "is_completed",
                "utilisateur_id"
            ]
        );
        assert!(matches!(
            p.columns[4].source,
            Source::ForeignKey { fk: 0, position: 0 }
        ));
        let pool: Vec<Vec<Value>> = (1..=10).map(|i| vec![Value::I32(i)]).collect();
        let g = RowGen::new(p, ctx(), &HashMap::new(), vec![pool]).unwrap();
        let rows = rows(&g, 5_000, 2);
        let (mut nulls, mut done, mut orphans) = (0, 0, 0);
        for r in &rows {
            let title = text(&r[0]);
            assert!(title.chars().count() <= 255);
            assert!(
                words::TASK_VERBS.iter().any(|v| title.starts_with(v)),
                "{title}"
            );
            match &r[1] {
                Value::Null => nulls += 1,
                Value::Text(d) => assert!(d.ends_with('.'), "{d}"),
                other => panic!("{other:?}"),
            }
            assert!(matches!(r[2], Value::Date(_) | Value::Null));
            if r[3] == Value::Bool(true) {
                done += 1;
            }
            match r[4] {
                Value::I32(id) => assert!((1..=10).contains(&id)),
                Value::Null => orphans += 1,
                ref other => panic!("{other:?}"),
            }
        }
        // Nullable columns are sometimes NULL, booleans vary.
        assert!((300..700).contains(&nulls), "{nulls}");
        assert!((500..4_500).contains(&done), "{done}");
        assert!(orphans < 250, "{orphans}");
    }

    #[test]
    fn same_seed_same_rows() {
        let g = RowGen::new(
            plan(&utilisateur()).unwrap(),
            ctx(),
            &HashMap::new(),
            vec![],
        )
        .unwrap();
        assert_eq!(rows(&g, 50, 9), rows(&g, 50, 9));
        assert_ne!(rows(&g, 50, 9), rows(&g, 50, 10));
    }

    #[test]
    fn an_empty_parent_is_an_error_unless_the_key_may_be_null() {
        let mut t = tache();
        let p = plan(&t).unwrap();
        let g = RowGen::new(p, ctx(), &HashMap::new(), vec![vec![]]).unwrap();
        assert!(rows(&g, 20, 1).iter().all(|r| r[4] == Value::Null));
        t.columns[5].not_null = true;
        let err = RowGen::new(plan(&t).unwrap(), ctx(), &HashMap::new(), vec![vec![]])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("public.utilisateur") && err.contains("seed"),
            "{err}"
        );
    }

    #[test]
    fn typed_columns_get_values_of_their_type_within_limits() {
        let vector = TypeFacts {
            oid: 90_000,
            name: "vector".into(),
            kind: 'b',
            enum_labels: vec![],
            elem: None,
        };
        let mood = TypeFacts {
            oid: 90_001,
            name: "mood".into(),
            kind: 'e',
            enum_labels: vec!["ok".into(), "bof".into()],
            elem: None,
        };
        let int_array = TypeFacts {
            oid: 1007,
            name: "_int4".into(),
            kind: 'b',
            enum_labels: vec![],
            elem: Some(Box::new(TypeFacts::simple(23, "int4"))),
        };
        let t = TableFacts {
            columns: vec![
                ColumnFacts {
                    base: vector,
                    ..col("embedding", "vector(5)", 90_000, 5, true)
                },
                ColumnFacts {
                    base: mood,
                    ..col("humeur", "mood", 90_001, -1, true)
                },
                ColumnFacts {
                    base: int_array,
                    ..col("scores", "integer[]", 1007, -1, true)
                },
                // numeric(5,2): below 1000.00
                col("prix", "numeric", 1700, (5 << 16 | 2) + 4, true),
                col("code", "bpchar", 1042, 3 + 4, true),
                col("id", "uuid", 2950, -1, true),
                col("doc", "jsonb", 3802, -1, true),
            ],
            unique: vec![vec!["id".into()]],
            ..tache()
        };
        let t = TableFacts {
            foreign_keys: vec![],
            ..t
        };
        let g = RowGen::new(plan(&t).unwrap(), ctx(), &HashMap::new(), vec![]).unwrap();
        for r in rows(&g, 500, 4) {
            match &r[0] {
                Value::Vector(v) => {
                    assert_eq!(v.len(), 5);
                    assert!(v.iter().all(|x| (-1.0..=1.0).contains(x)));
                }
                other => panic!("{other:?}"),
            }
            assert!(matches!(&r[1], Value::Text(s) if s == "ok" || s == "bof"));
            assert!(
                matches!(&r[2], Value::Array { elem_oid: 23, items } if items.len() <= 3 && items.iter().all(|i| matches!(i, Value::I32(_))))
            );
            match r[3] {
                Value::Numeric { mantissa, scale: 2 } => assert!((0..100_000).contains(&mantissa)),
                ref other => panic!("{other:?}"),
            }
            assert!(text(&r[4]).chars().count() <= 3);
            assert!(matches!(r[5], Value::Uuid(u) if u[6] >> 4 == 4));
            assert!(matches!(&r[6], Value::Jsonb(s) if s.starts_with('{') && s.ends_with('}')));
        }
    }

    #[test]
    fn unique_integers_continue_after_the_current_maximum() {
        let t = TableFacts {
            columns: vec![
                col("id", "int4", 23, -1, true),
                col("v", "text", 25, -1, false),
            ],
            unique: vec![vec!["id".into()]],
            foreign_keys: vec![],
            ..tache()
        };
        let p = plan(&t).unwrap();
        assert_eq!(p.needs_max(), ["id"]);
        let max = HashMap::from([("id".to_string(), 41)]);
        let g = RowGen::new(p, ctx(), &max, vec![]).unwrap();
        let ids: Vec<Value> = rows(&g, 3, 1).into_iter().map(|r| r[0].clone()).collect();
        assert_eq!(ids, [Value::I32(42), Value::I32(43), Value::I32(44)]);
    }

    #[test]
    fn fitting_keeps_the_unique_suffix() {
        assert_eq!(fit("camille.martin", "_zz01a", Some(10)), "cami_zz01a");
        assert_eq!(fit("abc", "", Some(2)), "ab");
        assert_eq!(fit("abc", "xyz", Some(2)), "yz");
        assert_eq!(fit("éèà", "", Some(2)), "éè");
        assert_eq!(base36(35, 1), "z");
        assert_eq!(base36(36, 4), "0010");
    }
}
