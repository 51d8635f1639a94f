//! Seeded random numbers: xoshiro256++ streams, one per chunk of scenarios,
//! derived from `(seed, chunk index)` with SplitMix64, so a run is the same
//! whatever the number of threads. Samplers: normal (128-layer ziggurat,
//! Marsaglia–Tsang with Doornik's exact edge test), gamma (Marsaglia–Tsang),
//! beta (ratio of gammas), chi-square (gamma).

use std::sync::OnceLock;

const ZIG_LAYERS: usize = 128;
/// Start of the normal's tail for 128 layers, and the area of each layer.
const ZIG_R: f64 = 3.442_619_855_899;
const ZIG_V: f64 = 9.912_563_035_262_17e-3;

/// Layer edges `x` (129, decreasing to 0); `k[i] = ⌊2⁵² x[i+1] / x[i]⌋`
/// (the rectangle test on a 53-bit signed integer) and `w[i] = x[i] / 2⁵²`.
pub struct Ziggurat {
    x: [f64; ZIG_LAYERS + 1],
    k: [u64; ZIG_LAYERS],
    w: [f64; ZIG_LAYERS],
}

const TWO_52: f64 = (1u64 << 52) as f64;

/// The normal sampler's tables (built once).
pub fn ziggurat() -> &'static Ziggurat {
    static Z: OnceLock<Ziggurat> = OnceLock::new();
    Z.get_or_init(|| {
        let mut x = [0.0; ZIG_LAYERS + 1];
        let mut f = (-0.5 * ZIG_R * ZIG_R).exp();
        x[0] = ZIG_V / f; // the base layer, tail included, as a rectangle of area V
        x[1] = ZIG_R;
        for i in 2..ZIG_LAYERS {
            x[i] = (-2.0 * (ZIG_V / x[i - 1] + f).ln()).sqrt();
            f = (-0.5 * x[i] * x[i]).exp();
        }
        x[ZIG_LAYERS] = 0.0;
        let mut k = [0u64; ZIG_LAYERS];
        let mut w = [0.0; ZIG_LAYERS];
        for i in 0..ZIG_LAYERS {
            k[i] = (x[i + 1] / x[i] * TWO_52) as u64;
            w[i] = x[i] / TWO_52;
        }
        Ziggurat { x, k, w }
    })
}

/// SplitMix64 step: the standard seeder of the xoshiro family.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A xoshiro256++ generator with the samplers the model needs.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream of chunk `chunk` of a run seeded with `seed`. Distinct
    /// chunks of one seed get distinct states (SplitMix64 is a bijection).
    pub fn for_chunk(seed: u64, chunk: u64) -> Rng {
        let mut sm = seed;
        let mut x = splitmix64(&mut sm) ^ chunk;
        let mut s = [0u64; 4];
        for v in &mut s {
            *v = splitmix64(&mut x);
        }
        if s == [0; 4] {
            s[0] = 1;
        }
        Rng { s }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        xoshiro_next(&mut self.s)
    }

    /// Fills `out` with standard normals: the same values, in the same
    /// order, as calling [`Rng::normal_with`] for each, with the state kept
    /// in registers between draws.
    pub fn fill_normals(&mut self, z: &Ziggurat, out: &mut [f64]) {
        let mut s = self.s;
        for x in out {
            let bits = xoshiro_next(&mut s);
            let i = (bits & 0x7F) as usize;
            let j = (bits as i64) >> 11;
            *x = if j.unsigned_abs() < z.k[i] {
                j as f64 * z.w[i]
            } else {
                self.s = s;
                let v = self.normal_edge(z, i, j);
                s = self.s;
                v
            };
        }
        self.s = s;
    }

    /// Fills `out` with uniforms: the same values, in the same order, as
    /// calling [`Rng::uniform`] for each.
    pub fn fill_uniforms(&mut self, out: &mut [f64]) {
        let mut s = self.s;
        for x in out {
            *x = to_uniform(xoshiro_next(&mut s));
        }
        self.s = s;
    }

    /// Uniform in the open interval (0, 1).
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        to_uniform(self.next_u64())
    }
}

/// One xoshiro256++ step.
#[inline(always)]
fn xoshiro_next(s: &mut [u64; 4]) -> u64 {
    let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
    let t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = s[3].rotate_left(45);
    result
}

/// The smallest uniform [`Rng::uniform`] returns: 2⁻⁵³.
pub const UNIFORM_MIN: f64 = 0.5 / (1u64 << 52) as f64;
/// The largest uniform [`Rng::uniform`] returns: 1 − 2⁻⁵³.
pub const UNIFORM_MAX: f64 = 1.0 - UNIFORM_MIN;

/// A uniform in the open interval (0, 1) from 64 random bits: the 52 high
/// bits, centred in their cell (`(k + ½) / 2⁵²` is exact in an f64, so
/// neither 0 nor 1 can come out; with 53 bits, `2⁵³ − ½` would round up to 1).
#[inline(always)]
fn to_uniform(bits: u64) -> f64 {
    ((bits >> 12) as f64 + 0.5) * (1.0 / (1u64 << 52) as f64)
}

impl Rng {
    /// Standard normal (ziggurat: one 64-bit draw and a multiply ~98 % of the time).
    #[inline]
    pub fn normal(&mut self) -> f64 {
        self.normal_with(ziggurat())
    }

    /// Standard normal with the tables at hand (see [`ziggurat`]).
    #[inline(always)]
    pub fn normal_with(&mut self, z: &Ziggurat) -> f64 {
        let bits = self.next_u64();
        let i = (bits & 0x7F) as usize;
        // the 53 high bits as a signed integer j: u = j / 2⁵² uniform in [−1, 1)
        let j = (bits as i64) >> 11;
        if j.unsigned_abs() < z.k[i] {
            return j as f64 * z.w[i];
        }
        self.normal_edge(z, i, j)
    }

    /// The ziggurat's rare cases (about 1.2 % of draws): a point in a layer's
    /// edge or in the tail, then fresh draws until one is accepted.
    #[cold]
    #[inline(never)]
    fn normal_edge(&mut self, z: &Ziggurat, mut i: usize, mut j: i64) -> f64 {
        loop {
            let u = j as f64 / TWO_52;
            if i == 0 {
                // the tail beyond R (Marsaglia 1964)
                loop {
                    let x = self.uniform().ln() / ZIG_R;
                    let y = self.uniform().ln();
                    if -2.0 * y >= x * x {
                        return if u < 0.0 { x - ZIG_R } else { ZIG_R - x };
                    }
                }
            }
            let x = u * z.x[i];
            let f0 = (-0.5 * (z.x[i] * z.x[i] - x * x)).exp();
            let f1 = (-0.5 * (z.x[i + 1] * z.x[i + 1] - x * x)).exp();
            if f1 + self.uniform() * (f0 - f1) < 1.0 {
                return x;
            }
            let bits = self.next_u64();
            i = (bits & 0x7F) as usize;
            j = (bits as i64) >> 11;
            if j.unsigned_abs() < z.k[i] {
                return j as f64 * z.w[i];
            }
        }
    }

    /// Gamma(shape, 1) with the shape's constants precomputed.
    #[inline]
    pub fn gamma(&mut self, g: &GammaSampler) -> f64 {
        // Marsaglia & Tsang (2000) for shape ≥ 1; shape < 1 boosted by U^{1/shape}
        let zig = ziggurat();
        let x = loop {
            let (x, v) = loop {
                let x = self.normal_with(zig);
                let v = 1.0 + g.c * x;
                if v > 0.0 {
                    break (x, v * v * v);
                }
            };
            let u = self.uniform();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + g.d * (1.0 - v + v.ln()) {
                break g.d * v;
            }
        };
        if g.boost {
            x * self.uniform().powf(g.inv_shape)
        } else {
            x
        }
    }

    /// Beta(α, β) as X / (X + Y) with X ~ Gamma(α), Y ~ Gamma(β).
    #[inline]
    pub fn beta(&mut self, b: &BetaSampler) -> f64 {
        let x = self.gamma(&b.a);
        let y = self.gamma(&b.b);
        let s = x + y;
        if s > 0.0 {
            x / s
        } else {
            // both underflowed (tiny shapes): the mass sits at the ends
            if b.a.shape >= b.b.shape {
                1.0
            } else {
                0.0
            }
        }
    }
}

/// Precomputed constants of a Gamma(shape) sampler.
#[derive(Clone, Copy, Debug)]
pub struct GammaSampler {
    shape: f64,
    d: f64,
    c: f64,
    boost: bool,
    inv_shape: f64,
}

impl GammaSampler {
    /// For a shape > 0.
    pub fn new(shape: f64) -> GammaSampler {
        let boost = shape < 1.0;
        let d = if boost { shape + 1.0 } else { shape } - 1.0 / 3.0;
        GammaSampler {
            shape,
            d,
            c: 1.0 / (9.0 * d).sqrt(),
            boost,
            inv_shape: 1.0 / shape,
        }
    }
}

/// Precomputed constants of a Beta(α, β) sampler.
#[derive(Clone, Copy, Debug)]
pub struct BetaSampler {
    a: GammaSampler,
    b: GammaSampler,
}

impl BetaSampler {
    /// For α, β > 0.
    pub fn new(alpha: f64, beta: f64) -> BetaSampler {
        BetaSampler {
            a: GammaSampler::new(alpha),
            b: GammaSampler::new(beta),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniforms_stay_inside_the_open_interval() {
        assert_eq!(to_uniform(0), UNIFORM_MIN);
        assert_eq!(to_uniform(u64::MAX), UNIFORM_MAX);
        const { assert!(UNIFORM_MIN > 0.0 && UNIFORM_MAX < 1.0) };
    }

    #[test]
    fn batch_fills_are_the_scalar_draws() {
        let z = ziggurat();
        let (mut a, mut b) = (Rng::for_chunk(9, 4), Rng::for_chunk(9, 4));
        let mut normals = vec![0.0; 100_000]; // enough to hit the ziggurat's edges and tail
        let mut uniforms = vec![0.0; 1_000];
        for _ in 0..3 {
            a.fill_normals(z, &mut normals);
            a.fill_uniforms(&mut uniforms);
            assert!(normals.iter().all(|&x| x == b.normal_with(z)));
            assert!(uniforms.iter().all(|&x| x == b.uniform()));
        }
        assert!(normals.iter().any(|x| x.abs() > ZIG_R), "a tail draw was tested");
    }

    fn moments(mut f: impl FnMut() -> f64, n: usize) -> (f64, f64) {
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = f();
            s += x;
            s2 += x * x;
        }
        let m = s / n as f64;
        (m, s2 / n as f64 - m * m)
    }

    #[test]
    fn sampler_moments() {
        let mut r = Rng::for_chunk(7, 0);
        let (m, v) = moments(|| r.normal(), 400_000);
        assert!(m.abs() < 0.01 && (v - 1.0).abs() < 0.01, "{m} {v}");
        // the ziggurat's layers, edges and tail: CDF at a few points (within ~5 s.e.)
        let draws: Vec<f64> = (0..1_000_000).map(|_| r.normal()).collect();
        for (x, want) in [
            (-3.5, 2.326e-4),
            (-1.96, 0.025),
            (0.0, 0.5),
            (0.3, 0.617_911),
            (2.5, 0.993_790),
        ] {
            let got = draws.iter().filter(|&&d| d < x).count() as f64 / 1e6;
            let se = (want * (1.0 - want) / 1e6_f64).sqrt();
            assert!((got - want).abs() < 5.0 * se, "P(z < {x}) = {got}, want {want}");
        }
        let tail = draws.iter().filter(|&&d| d > 3.6).count() as f64 / 1e6;
        assert!((tail - 1.591e-4).abs() < 5.0 * (1.591e-4f64 / 1e6).sqrt(), "{tail}");
        for shape in [0.3, 1.0, 2.5, 40.0] {
            let g = GammaSampler::new(shape);
            let (m, v) = moments(|| r.gamma(&g), 400_000);
            assert!(
                (m / shape - 1.0).abs() < 0.02 && (v / shape - 1.0).abs() < 0.04,
                "{shape}: {m} {v}"
            );
        }
        let b = BetaSampler::new(2.0, 5.0);
        let (m, v) = moments(|| r.beta(&b), 400_000);
        assert!(
            (m - 2.0 / 7.0).abs() < 0.002 && (v - 10.0 / (49.0 * 8.0)).abs() < 0.001,
            "{m} {v}"
        );
    }

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::for_chunk(1, 2).next_u64()).collect();
        assert!(a.iter().all(|&x| x == a[0]));
        assert_ne!(Rng::for_chunk(1, 2).next_u64(), Rng::for_chunk(1, 3).next_u64());
        assert_ne!(Rng::for_chunk(1, 2).next_u64(), Rng::for_chunk(2, 2).next_u64());
    }
}
