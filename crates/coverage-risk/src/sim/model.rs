//! The portfolio in integer base units with its samplers, ready to run:
//! each market's trigger test (a fixed threshold, or the posterior table),
//! its payout, the copula's factor.

use crate::error::RiskError;
use crate::linalg::correlation_factor;
use crate::portfolio::{Copula, Frequency, Payout, Portfolio, PRICE_UNITS, UNITS_PER_USD};
use crate::rng::{BetaDistr, ChiSquared, UNIFORM_MAX, UNIFORM_MIN};
use crate::special::{beta_inc, normal_cdf, normal_quantile, student_t_cdf, student_t_quantile};
use coverage_core::settlement::{liability, payout_fraction, policy_payout, Fraction, Shape};
use rayon::prelude::*;

pub(super) enum Freq {
    /// `z < threshold` ⇔ the copula's uniform is below the horizon probability.
    Fixed(f64),
    /// Annual probability drawn from the posterior in every scenario, by
    /// inversion (`p = F⁻¹(v)`, `v` uniform), and compared in `v`-space.
    Posterior(PosteriorTrigger),
}

pub(super) struct MarketModel {
    pub(super) cover: u64,
    pub(super) freq: Freq,
    pub(super) shape: Shape,
    pub(super) strike: u64,
    pub(super) span: u64,
    pub(super) severity: Option<BetaDistr<f64>>,
    /// For a binary payout, whose fraction never changes: the core's
    /// fraction, liability and full payout, computed once.
    pub(super) binary: Option<(Fraction, u64, u64)>,
}

#[derive(Clone, Copy)]
pub(super) enum CdfKind {
    Normal,
    T(f64),
}

impl CdfKind {
    pub(super) fn cdf(self, z: f64) -> f64 {
        match self {
            CdfKind::Normal => normal_cdf(z),
            CdfKind::T(nu) => student_t_cdf(z, nu),
        }
    }
}

pub(super) const TABLE_LO: f64 = -16.0;
pub(super) const TABLE_PER_UNIT: f64 = 256.0;
pub(super) const TABLE_LEN: usize = 32 * 256 + 1;

/// The trigger test of a market whose annual probability `p` has a Beta
/// posterior `F`. With `p = F⁻¹(v)` for a uniform `v` (an exact draw from
/// the posterior), the market triggers iff `u = CDF(z) < p_h(p)`, i.e. iff
/// `G(z) < v` with `G(z) = F(p_h⁻¹(CDF(z)))`, `p_h⁻¹(u) = 1 − (1 − u)^(365 / horizon)`.
/// `G` is increasing; a table of it at grid points decides almost every
/// scenario, and the exact `G` the few where `v` falls between the two grid
/// values around `z`. The table spans only the grid points between the last
/// one below which `G` is under every uniform (the market always triggers)
/// and the first one above which it is at least every uniform (it never does).
pub(super) struct PosteriorTrigger {
    pub(super) kind: CdfKind,
    pub(super) alpha: f64,
    pub(super) beta: f64,
    pub(super) inv_exponent: f64,
    /// Grid index of `values[0]`.
    pub(super) start: usize,
    /// `G` at grid points `start..start + values.len()`.
    pub(super) values: Vec<f64>,
    /// `G(grid(start)) < UNIFORM_MIN`: every `z` below the table triggers.
    pub(super) below_triggers: bool,
    /// `G(grid(end)) ≥ UNIFORM_MAX`: no `z` at or above the table's end triggers.
    pub(super) above_never: bool,
    /// `start` and `end` as f64: the range of `(z − TABLE_LO) · TABLE_PER_UNIT` the table decides.
    pub(super) bounds: (f64, f64),
}

/// The grid point of index `k` (a multiplication by the exact power of two
/// `1 / TABLE_PER_UNIT` rather than a slower division, same result).
#[inline(always)]
pub(super) fn grid(k: usize) -> f64 {
    TABLE_LO + k as f64 * (1.0 / TABLE_PER_UNIT)
}

impl PosteriorTrigger {
    pub(super) fn new(kind: CdfKind, alpha: f64, beta: f64, exponent: f64) -> PosteriorTrigger {
        let mut t = PosteriorTrigger {
            kind,
            alpha,
            beta,
            inv_exponent: 1.0 / exponent,
            start: 0,
            values: Vec::new(),
            below_triggers: false,
            above_never: false,
            bounds: (0.0, 0.0),
        };
        // first grid index where `G` reaches `level` (TABLE_LEN if none), by bisection
        let first_at = |level: f64| {
            let (mut lo, mut hi) = (0, TABLE_LEN);
            while lo < hi {
                let mid = (lo + hi) / 2;
                if t.g(grid(mid)) < level {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            lo
        };
        let start = first_at(UNIFORM_MIN).saturating_sub(1);
        let end = first_at(UNIFORM_MAX).min(TABLE_LEN - 1).max(start + 1);
        t.below_triggers = t.g(grid(start)) < UNIFORM_MIN;
        t.above_never = t.g(grid(end)) >= UNIFORM_MAX;
        t.start = start;
        t.bounds = (start as f64, end as f64);
        t.values = (start..=end).into_par_iter().map(|k| t.g(grid(k))).collect();
        t
    }

    /// `G(z) = F(p_h⁻¹(CDF(z)))`.
    pub(super) fn g(&self, z: f64) -> f64 {
        let u = self.kind.cdf(z);
        let p = if self.inv_exponent == 1.0 {
            u
        } else {
            -(self.inv_exponent * (-u).ln_1p()).exp_m1()
        };
        beta_inc(self.alpha, self.beta, p)
    }

    /// Whether the market triggers, given its copula variable `z` and the uniform `v`.
    #[inline]
    pub(super) fn triggers(&self, z: f64, v: f64) -> bool {
        let x = (z - TABLE_LO) * TABLE_PER_UNIT;
        if x >= self.bounds.0 && x < self.bounds.1 {
            // (signed conversions: cheaper than unsigned ones, and k ≥ 0 here)
            let k = x as i64;
            let zk = TABLE_LO + k as f64 * (1.0 / TABLE_PER_UNIT);
            if zk <= z && z < zk + (1.0 / TABLE_PER_UNIT) {
                let i = k as usize - self.start;
                let (below, above) = (self.values[i], self.values[i + 1]);
                // `v ≤ G(zₖ) ≤ G(z)`: no trigger; `v > G(zₖ₊₁) > G(z)`: a trigger
                // (both tests evaluated, without a branch that `v` would mispredict)
                if (v <= below) | (v > above) {
                    return v > below;
                }
            }
        } else if x < self.bounds.0 && z < grid(self.start) && self.below_triggers {
            return true;
        } else if z >= grid(self.start + self.values.len() - 1) && self.above_never {
            return false;
        }
        self.exact(z, v)
    }

    #[cold]
    #[inline(never)]
    pub(super) fn exact(&self, z: f64, v: f64) -> bool {
        self.g(z) < v
    }
}

/// The t copula's scale: `w = sqrt(χ²_ν / ν)`.
pub(super) struct TDraw {
    pub(super) dof: f64,
    pub(super) chi2: ChiSquared<f64>,
}

/// The portfolio in integer base units with its samplers, ready to run.
pub(super) struct Model {
    pub(super) n: usize,
    pub(super) k: usize,
    pub(super) capital: [u64; 4],
    /// `F` with `F Fᵀ` the correlation matrix, row-major (see [`correlation_factor`]).
    pub(super) factor: Vec<f64>,
    pub(super) t: Option<TDraw>,
    pub(super) markets: Vec<MarketModel>,
    pub(super) max_loss: u64,
    /// The largest total owed: every market's full cover.
    pub(super) max_owed: u64,
}

/// P(at least one event within the horizon) from the annual probability:
/// `1 − (1 − p)^(horizon_days / 365)`.
pub fn horizon_probability(annual: f64, horizon_days: f64) -> f64 {
    horizon_prob(annual, horizon_days / 365.0)
}

#[inline]
pub(super) fn horizon_prob(p: f64, exponent: f64) -> f64 {
    if p >= 1.0 {
        1.0
    } else if exponent == 1.0 {
        p
    } else {
        -(exponent * (-p).ln_1p()).exp_m1()
    }
}

pub(super) fn usd(v: f64) -> u64 {
    (v * UNITS_PER_USD).round() as u64
}

pub(super) fn to_usd(units: f64) -> f64 {
    units / UNITS_PER_USD
}

impl Model {
    pub(super) fn new(p: &Portfolio) -> Result<Model, RiskError> {
        p.validate()?;
        let n = p.markets.len();
        let k = p.capital.len();
        let mut capital = [0u64; 4];
        for (c, v) in capital.iter_mut().zip(&p.capital) {
            *c = usd(*v);
        }
        let exponent = p.horizon_days / 365.0;
        let kind = match p.correlation.copula {
            Copula::Gaussian => CdfKind::Normal,
            Copula::T { dof } => CdfKind::T(dof),
        };
        let markets: Vec<MarketModel> = p
            .markets
            .iter()
            .map(|m| {
                let freq = match &m.frequency {
                    Frequency::Annual(a) => {
                        let ph = horizon_prob(*a, exponent);
                        Freq::Fixed(match kind {
                            CdfKind::Normal => normal_quantile(ph),
                            CdfKind::T(nu) => student_t_quantile(ph, nu),
                        })
                    }
                    f @ Frequency::Prior { .. } => {
                        let b = f.posterior().expect("a prior has a posterior");
                        Freq::Posterior(PosteriorTrigger::new(kind, b.alpha, b.beta, exponent))
                    }
                };
                let (shape, strike, span, severity) = match m.payout {
                    Payout::Binary => (Shape::Binary, 0, 0, None),
                    Payout::Linear {
                        strike,
                        floor,
                        severity,
                    } => {
                        let s = (strike * PRICE_UNITS).round() as u64;
                        let f = (floor * PRICE_UNITS).round() as u64;
                        (
                            Shape::Linear { floor_price: f },
                            s,
                            s - f,
                            Some(BetaDistr::new(severity.alpha, severity.beta).expect("validated severity")),
                        )
                    }
                };
                let cover = usd(m.cover);
                let binary = match shape {
                    Shape::Binary => {
                        let f = payout_fraction(shape, 0, 0).expect("binary fraction");
                        let owed = liability(cover, f).expect("liability fits");
                        Some((f, owed, policy_payout(cover, f, owed, owed).expect("payout fits")))
                    }
                    Shape::Linear { .. } => None,
                };
                MarketModel {
                    cover,
                    freq,
                    shape,
                    strike,
                    span,
                    severity,
                    binary,
                }
            })
            .collect();
        let cover_sum: u64 = markets.iter().map(|m| m.cover).sum();
        let capital_sum: u64 = capital.iter().sum();
        Ok(Model {
            n,
            k,
            capital,
            factor: correlation_factor(&p.correlation.matrix),
            t: match p.correlation.copula {
                Copula::Gaussian => None,
                Copula::T { dof } => Some(TDraw {
                    dof,
                    chi2: ChiSquared::new(dof).expect("validated degrees of freedom"),
                }),
            },
            markets,
            max_loss: cover_sum.min(capital_sum).max(1),
            max_owed: cover_sum.max(1),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{stream, Open01, RngExt, StandardNormal};

    #[test]
    fn posterior_table_agrees_with_exact() {
        for kind in [CdfKind::Normal, CdfKind::T(3.0)] {
            for exponent in [1.0, 30.0 / 365.0] {
                let t = PosteriorTrigger::new(kind, 2.0, 23.0, exponent);
                let mut r = stream(3, 3);
                for _ in 0..20_000 {
                    let z = 3.0 * r.sample::<f64, _>(StandardNormal);
                    let v = r.sample(Open01);
                    assert_eq!(t.triggers(z, v), t.g(z) < v);
                }
                // beyond the table and the grid, at and next to its ends, and the extreme uniforms
                let end = t.start + t.values.len() - 1;
                let edges = [grid(t.start), grid(end), -16.0, 16.0];
                let near = edges.iter().flat_map(|&e| [e, e.next_down(), e.next_up()]);
                for z in near.chain([-1e9, -40.0, -16.5, 16.5, 40.0, 1e9, f64::INFINITY, f64::NEG_INFINITY]) {
                    for v in [UNIFORM_MIN, 0.5, UNIFORM_MAX, r.sample(Open01)] {
                        assert_eq!(t.triggers(z, v), t.g(z) < v, "z {z} v {v}");
                    }
                }
            }
        }
    }

    #[test]
    fn inversion_draw_matches_the_posterior() {
        // P(trigger) = E[p_h] over the posterior; for a one-year horizon, the posterior mean
        let t = PosteriorTrigger::new(CdfKind::Normal, 2.0, 23.0, 1.0);
        let mut r = stream(5, 0);
        let n = 400_000;
        let hits = (0..n)
            .filter(|_| t.triggers(r.sample(StandardNormal), r.sample(Open01)))
            .count() as f64
            / n as f64;
        assert!((hits - 0.08).abs() < 5.0 * (0.08f64 * 0.92 / n as f64).sqrt(), "{hits}");
    }
}
