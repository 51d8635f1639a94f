//! Risk engine of the coverage pool (issue 8): Monte Carlo over a portfolio
//! of markets with a copula, Bayesian event frequencies, the pool's own loss
//! waterfall and haircut, capital and rate advice.
//!
//! # Model, per scenario
//! 1. **Frequencies.** A market with `annual_probability = p` uses it as is.
//!    A market with a Beta prior (optionally updated with `history`, see
//!    [`posterior`]) draws `p` from its posterior in every scenario, so the
//!    uncertainty about the parameter is in the results, not only its mean.
//!    The history may be counts or price files ([`PriceHistory`]), which
//!    `cover risk` turns into counts by running the backtest.
//!    The horizon probability is `p_h = 1 − (1 − p)^(horizon_days / 365)`.
//! 2. **Dependence.** Standard normals `g` are correlated as `z = F g` with
//!    `F Fᵀ` the correlation matrix (`F = Q √Λ` from its eigendecomposition,
//!    which exists for singular, e.g. perfectly correlated, matrices too; see
//!    [`linalg`]). The Gaussian copula's
//!    uniforms are `u = Φ(z)`; the t copula divides the same `z` by
//!    `sqrt(χ²_ν / ν)` (one draw per scenario, shared by all markets) and maps
//!    with the Student-t CDF. Market `i` triggers within the horizon iff
//!    `u_i < p_h,i`. (Decided without evaluating the CDF where possible: a
//!    fixed probability becomes a threshold `z < CDF⁻¹(p_h)`; a posterior
//!    probability is drawn by inversion, `p = F⁻¹(v)` with `v` uniform, and
//!    the test `u < p_h(p)` becomes `G(z) < v` for the increasing
//!    `G = F ∘ p_h⁻¹ ∘ CDF`, read from a table with an exact fallback — the
//!    same draws and decisions, without sampling the Beta.)
//! 3. **Severity.** A linear payout draws `s ~ Beta(severity)` per event
//!    (independently of the copula): the fraction of the way from strike to
//!    floor reached by the event's lowest price, so
//!    `lowest = strike − s × (strike − floor)` in 1e-8 price units and the
//!    payout fraction comes from [`coverage_core::settlement::payout_fraction`].
//! 4. **The pool's rules** (PROTOCOL.md 3.5), from the pure core, in base
//!    units (1e-6 USD): triggered markets reserve in market order, each from
//!    what the earlier ones left, `liability = ceil(cover × fraction)` and
//!    [`coverage_core::settlement::reserve_waterfall`] (junior first); the
//!    market's cover, as one aggregate policy, is paid
//!    [`coverage_core::settlement::policy_payout`] (the equal haircut
//!    `reserve / liability` when capital is short); what the payout leaves of
//!    the reserve (at most a base unit of rounding) goes back senior first
//!    with [`coverage_core::settlement::release_waterfall`] once every event
//!    has reserved. The pool is *short* in a scenario when some event's
//!    reserve is below its liability.
//!
//! # Outputs
//! See [`Report`]. With `N` scenarios and `m = ⌈N α⌉`, VaR is the `m`-th
//! smallest total paid and ES the mean of the `N − m` scenarios ranked
//! above it (the worst 0.5 %; scenarios tied at VaR share the tail's places
//! evenly), so ES ≥ VaR; each market's `capital_contribution` is its mean
//! payout over that same tail (Euler allocation: they add up to ES). `capital_needed` is the `target` quantile of the total *owed*
//! (sum of liabilities, before the pool's capital limits it).
//! `suggested_rate_bps = (expected_loss + cost_of_capital × contribution)
//! / cover × 365 / horizon_days × 10 000`.
//!
//! # Reproducibility
//! Scenarios run in chunks of [`CHUNK`]; chunk `c` draws from its own
//! xoshiro256++ stream seeded from `(seed, c)` ([`rng::stream`]), and
//! everything the chunks tally is integer, so the report is identical for
//! any number of threads.
//!
//! # Libraries
//! Random streams from `rand_xoshiro`, samplers from `rand_distr` (normal,
//! Beta severity, χ² of the t copula), the eigendecomposition from
//! `nalgebra`, the normal CDF and `ln Γ` from `libm`, the Student-t CDF and
//! the quantiles from `statrs`. One numerical piece is written here, with
//! its measured reason: the regularized incomplete beta ([`special`]).
//!
//! # How it is fast
//! Inside a chunk, scenarios go in batches of 512 through tight loops over
//! arrays (market-major): all the batch's normals, then `z = L g` column by
//! column, then each market's trigger test; only the scenarios where some
//! market triggered (a few percent) go through the pool's rules one by one.
//! Chunks run on rayon's threads in waves; a wave's tallies merge in chunk
//! order, and of its loss records only those that can still be in the tail
//! are kept: the histogram of totals (the exceedance curve's) says which bin
//! holds the tail's last record, and records below that bin are dropped —
//! exact, since VaR, ES and the Euler contributions read only the tail.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod error;
pub mod linalg;
pub mod plot;
pub mod portfolio;
pub mod rng;
pub mod sim;
pub mod special;

pub use error::RiskError;
pub use portfolio::{
    default_tranche_names, Copula, Correlation, Frequency, History, Market, Payout, Portfolio, PriceHistory,
};
pub use sim::{
    for_each_scenario, horizon_probability, simulate, simulate_with, ExceedancePoint, MarketReport, Options, Outcome,
    PosteriorReport, Report, TrancheReport, CHUNK,
};
pub use special::{posterior, Beta};
