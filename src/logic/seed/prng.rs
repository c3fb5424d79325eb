//! A tiny deterministic PRNG (SplitMix64). Seeding is about realistic-looking data, not
//! security, and a fixed seed must give the same rows on every machine and in unit tests,
//! which rules out any OS source of randomness here.

/// SplitMix64: one `u64` of state, full period, good enough statistical quality for
/// sample data, and cheap enough to call a dozen times per generated row.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// An independent stream for `(seed, stream)`, e.g. one per batch, so that batches
    /// written in any order or in parallel still produce the same rows.
    pub fn for_stream(seed: u64, stream: u64) -> Rng {
        let mut r = Rng::new(seed ^ mix(stream.wrapping_add(GOLDEN)));
        r.next_u64();
        r
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// Uniform in `0..n` (`n > 0`), by Lemire's multiply-shift: no modulo bias worth
    /// caring about for sample data, and no division.
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        let span = (hi as i128 - lo as i128 + 1) as u128;
        if span > u128::from(u64::MAX) {
            return self.next_u64() as i64;
        }
        (lo as i128 + i128::from(self.below(span as u64))) as i64
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of a list of words (a `pick` whose result needs no dereference).
    pub fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len() as u64) as usize]
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// SplitMix64's finaliser; also a decent 64-bit hash for deriving seeds.
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable hash of a string (FNV-1a then mixed), to give each table its own stream.
pub fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in s.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01B3);
    }
    mix(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_streams_differ() {
        let a: Vec<u64> = (0..5).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = Rng::new(7);
        let mut y = Rng::new(7);
        for _ in 0..100 {
            assert_eq!(x.next_u64(), y.next_u64());
        }
        let s0: Vec<u64> = {
            let mut r = Rng::for_stream(1, 0);
            (0..4).map(|_| r.next_u64()).collect()
        };
        let s1: Vec<u64> = {
            let mut r = Rng::for_stream(1, 1);
            (0..4).map(|_| r.next_u64()).collect()
        };
        assert_ne!(s0, s1);
    }

    #[test]
    fn ranges_stay_in_bounds_and_cover_them() {
        let mut r = Rng::new(42);
        let mut seen = [false; 7];
        for _ in 0..10_000 {
            let v = r.range(-3, 3);
            assert!((-3..=3).contains(&v));
            seen[(v + 3) as usize] = true;
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
            assert!(r.below(5) < 5);
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.range(5, 5), 5);
        let full = r.range(i64::MIN, i64::MAX);
        let _ = full;
    }

    #[test]
    fn chance_is_roughly_right() {
        let mut r = Rng::new(3);
        let hits = (0..100_000).filter(|_| r.chance(0.3)).count();
        assert!((28_000..32_000).contains(&hits), "{hits}");
    }
}
