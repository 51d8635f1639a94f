//! Special functions of the model. From libraries: the normal CDF from
//! `libm`'s `erfc` (musl's), `ln Γ` from `libm`'s
//! `lgamma`, the Student-t CDF and the normal, Student-t and Beta quantiles
//! from `statrs`. The Beta distribution and the Beta-Binomial posterior live
//! here too.
//!
//! # Written here: the regularized incomplete beta `I_x(a, b)`
//! It is the CDF of every Beta posterior and the core of the posterior
//! trigger table (`sim/model.rs`), and statrs' `beta_reg` is not accurate
//! enough for it. Measured against mpmath (50 digits) on 10 parameter pairs
//! × 14 points (`tests::beta_inc_matches_mpmath` keeps 24 of them): statrs
//! 0.19.1's `beta_reg` is off by up to 2.1e-13 relative on posteriors such as
//! Beta(2, 23) — the shipped portfolio's — and Beta(11, 90), so it fails the
//! closed-form check of `tests/closed_forms.rs` at `x = 0.08` (1.2e-13 against
//! 1e-13); the continued fraction below (modified Lentz, with `libm`'s
//! `lgamma`) stays within 3.7e-14 there. Both are off by 1e-12 for Beta(50,
//! 950), where `ln B` is a difference of `ln Γ` values near 5 900, whose ulp
//! is 9e-13. (statrs' `erfc` is off by up to 1e-10 relative, hence `libm`'s
//! for the normal CDF.) Speed is not the reason: the function runs when a
//! model is built and in the trigger test's rare exact fallback.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};
use std::f64::consts::SQRT_2;

/// `ln Γ(x)` for `x > 0` (`libm`'s `lgamma`).
pub fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

/// `ln B(a, b)`.
pub fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Continued fraction of the incomplete beta (modified Lentz).
fn beta_cf(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Regularized incomplete beta `I_x(a, b)`: the CDF of Beta(a, b) at `x`.
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    let y = 1.0 - x;
    if x <= 0.0 {
        return 0.0;
    }
    if y <= 0.0 {
        return 1.0;
    }
    let ln_front = a * x.ln() + b * (-x).ln_1p() - ln_beta(a, b);
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(a, b, x) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(b, a, y) / b
    }
}

/// Standard normal CDF `Φ(z)` (`libm`'s `erfc`).
pub fn normal_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

/// Standard normal quantile `Φ⁻¹(p)` (statrs' `erfc_inv`); −∞ at 0, +∞ at 1.
pub fn normal_quantile(p: f64) -> f64 {
    -SQRT_2 * statrs::function::erf::erfc_inv(2.0 * p)
}

/// The standard Student-t distribution with `nu > 0` degrees of freedom.
fn student_t(nu: f64) -> StudentsT {
    StudentsT::new(0.0, 1.0, nu).expect("degrees of freedom are positive")
}

/// Student-t CDF with `nu` degrees of freedom (statrs).
pub fn student_t_cdf(t: f64, nu: f64) -> f64 {
    if t.is_nan() {
        return f64::NAN;
    }
    student_t(nu).cdf(t)
}

/// Student-t quantile (statrs); −∞ at 0, +∞ at 1.
pub fn student_t_quantile(p: f64, nu: f64) -> f64 {
    student_t(nu).inverse_cdf(p.clamp(0.0, 1.0))
}

/// A Beta(alpha, beta) distribution (both parameters > 0).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Beta {
    /// First shape parameter.
    pub alpha: f64,
    /// Second shape parameter.
    pub beta: f64,
}

impl Beta {
    /// Mean `α / (α + β)`.
    pub fn mean(&self) -> f64 {
        self.alpha / (self.alpha + self.beta)
    }

    /// CDF at `x`: the regularized incomplete beta `I_x(α, β)`.
    pub fn cdf(&self, x: f64) -> f64 {
        beta_inc(self.alpha, self.beta, x)
    }

    /// The `q`-quantile (statrs: AS 109 with Newton steps).
    pub fn quantile(&self, q: f64) -> f64 {
        if q <= 0.0 {
            return 0.0;
        }
        if q >= 1.0 {
            return 1.0;
        }
        statrs::distribution::Beta::new(self.alpha, self.beta)
            .expect("a Beta's parameters are positive")
            .inverse_cdf(q)
    }

    /// Central 90 % credible interval: the 5 % and 95 % quantiles.
    pub fn ci_90(&self) -> [f64; 2] {
        [self.quantile(0.05), self.quantile(0.95)]
    }
}

/// Beta-Binomial update of a market's annual event probability.
///
/// Each observed year is one Bernoulli trial for "at least one triggering
/// event in the year", so a Beta(α, β) prior updated with `events` such
/// years out of `years` gives the posterior Beta(α + events, β + years −
/// events) (conjugacy). A fractional `years` is a partial year of exposure
/// counted by its weight (the likelihood `p^k (1 − p)^(n − k)` with real `n`).
/// The caller keeps `0 ≤ events ≤ years` and `α, β > 0` (the portfolio
/// parser checks it).
pub fn posterior(prior_alpha: f64, prior_beta: f64, years: f64, events: f64) -> Beta {
    Beta {
        alpha: prior_alpha + events,
        beta: prior_beta + years - events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::PI;

    /// `I_x(a, b)` from mpmath 1.3.0 at 50 digits (`mpmath.betainc(a, b, 0, x,
    /// regularized=True)` at the f64 `x`), computed once, rounded to f64.
    const BETA_INC_MPMATH: [(f64, f64, f64, f64); 24] = [
        (2.0, 23.0, 1e-08, 2.759999595200032e-14),
        (2.0, 23.0, 0.001, 0.0002719837086549085),
        (2.0, 23.0, 0.02, 0.0826129680579035),
        (2.0, 23.0, 0.08, 0.5827096236785),
        (2.0, 23.0, 0.3, 0.9978378689601336),
        (1.0, 19.0, 0.0001, 0.0018982909686125163),
        (1.0, 19.0, 0.08, 0.7948985552578298),
        (11.0, 90.0, 0.01, 6.25551838283409e-09),
        (11.0, 90.0, 0.1, 0.4168444877335083),
        (0.5, 0.5, 1e-08, 6.366197734286143e-05),
        (0.5, 0.5, 0.3, 0.36901011956554536),
        (0.5, 0.5, 0.99, 0.9362314391414801),
        (3.0, 3.0, 0.01, 9.8506e-06),
        (3.0, 3.0, 0.5, 0.5),
        (2.0, 5.0, 0.2, 0.34464),
        (2.0, 5.0, 0.9, 0.999945),
        (1.5, 2.5, 0.05, 0.036267791337913635),
        (1.5, 2.5, 0.7, 0.9110562768293343),
        (0.5, 2.0, 1e-08, 0.0001499999995),
        (0.5, 2.0, 0.5, 0.8838834764831844),
        (2.0, 0.5, 0.7, 0.2605745473680257),
        (2.0, 0.5, 0.99, 0.8504999999999999),
        (50.0, 950.0, 0.001, 3.5436165930386743e-66),
        (50.0, 950.0, 0.05, 0.5173695437269742),
    ];

    #[test]
    fn beta_inc_matches_mpmath() {
        // 1e-13 relative (statrs' beta_reg misses it on the posteriors, see
        // the module's comment); 2e-12 where a + b ≈ 1 000: ln B(a, b) is then a
        // difference of ln Γ values near 5 900, whose ulp is 9e-13
        for (a, b, x, want) in BETA_INC_MPMATH {
            let tol = if a + b < 500.0 { 1e-13 } else { 2e-12 };
            let got = beta_inc(a, b, x);
            assert!(
                (got - want).abs() <= tol * want,
                "I_{x}({a}, {b}) = {got}, want {want} (rel {:e})",
                (got - want).abs() / want
            );
        }
        // edges
        assert_eq!((beta_inc(2.0, 3.0, 0.0), beta_inc(2.0, 3.0, 1.0)), (0.0, 1.0));
    }

    #[test]
    fn normal_and_t() {
        // Φ from mpmath 1.3.0 (`mpmath.ncdf`, 50 digits), down to the posterior
        // table's end: within 3e-14 relative (libm's erfc is within an ulp; the
        // rounding of its argument −z/√2 dominates in the far tail)
        for (z, want) in [
            (-16.0, 6.388754400538087e-58),
            (-8.0, 6.220960574271784e-16),
            (-3.0, 0.0013498980316300946),
            (-1.0, 0.15865525393145705),
            (0.3, 0.6179114221889527),
            (2.5, 0.9937903346742238),
        ] {
            let got = normal_cdf(z);
            assert!((got - want).abs() <= 3e-14 * want, "Φ({z}) = {got}, want {want}");
        }
        assert!((normal_cdf(1.959963984540054) - 0.975).abs() < 1e-14);
        assert!((normal_quantile(0.05) + 1.6448536269514722).abs() < 1e-12);
        assert_eq!(
            (normal_quantile(0.0), normal_quantile(1.0)),
            (f64::NEG_INFINITY, f64::INFINITY)
        );
        // ν = 1 is Cauchy, ν = 2 has a closed form
        for t in [-30.0, -3.0, -0.5, 0.0, 0.7, 4.0] {
            let cauchy = 0.5 + f64::atan(t) / PI;
            assert!((student_t_cdf(t, 1.0) - cauchy).abs() < 1e-13);
            let two = 0.5 + t / (2.0 * (2.0 + t * t).sqrt());
            assert!((student_t_cdf(t, 2.0) - two).abs() < 1e-13);
        }
        assert!((student_t_quantile(0.975, 4.0) - 2.7764451051977987).abs() < 1e-10);
        assert_eq!(
            (student_t_quantile(0.0, 4.0), student_t_quantile(1.0, 4.0)),
            (f64::NEG_INFINITY, f64::INFINITY)
        );
        assert_eq!(
            (student_t_cdf(f64::NEG_INFINITY, 3.0), student_t_cdf(f64::INFINITY, 3.0)),
            (0.0, 1.0)
        );
    }

    #[test]
    fn ln_gamma_values() {
        assert!((ln_gamma(1.0)).abs() < 1e-14);
        assert!((ln_gamma(5.0) - 24f64.ln()).abs() < 1e-13);
        assert!((ln_gamma(0.5) - PI.sqrt().ln()).abs() < 1e-13);
    }
}
