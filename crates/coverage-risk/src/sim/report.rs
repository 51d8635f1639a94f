//! The report of a run: VaR, ES and the Euler contributions from the tail
//! records, per-tranche and per-market figures, the exceedance curve.

use super::model::{to_usd, Model};
use super::tail::{kth_largest, tail_count, Acc};
use super::{Options, EXCEEDANCE_POINTS, LEVEL};
use crate::portfolio::Portfolio;
use serde::{Deserialize, Serialize};

/// The report of a run. Amounts in USD, probabilities per horizon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Number of scenarios simulated.
    pub scenarios: u64,
    /// Seed of the run.
    pub seed: u64,
    /// Horizon of every probability, in days.
    pub horizon_days: f64,
    /// Pool capital (all tranches).
    pub total_capital: f64,
    /// Probability that any market pays.
    pub p_loss: f64,
    /// Mean total paid.
    pub expected_loss: f64,
    /// 99.5 % quantile of the total paid.
    pub var_99_5: f64,
    /// Expected shortfall at 99.5 %: mean total paid in the worst 0.5 % of scenarios.
    pub es_99_5: f64,
    /// Probability that the pool cannot pay some event in full.
    pub p_shortfall: f64,
    /// Target solvency of `capital_needed`.
    pub target: f64,
    /// Capital for the target solvency: the `target` quantile of the total owed.
    pub capital_needed: f64,
    /// Annual cost of capital used for the rates.
    pub cost_of_capital: f64,
    /// Per tranche, junior first.
    pub tranches: Vec<TrancheReport>,
    /// Per market, in portfolio order.
    pub markets: Vec<MarketReport>,
    /// Loss exceedance curve: P(total paid > loss).
    pub exceedance: Vec<ExceedancePoint>,
}

/// A tranche's losses.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrancheReport {
    /// Display name.
    pub name: String,
    /// Its capital.
    pub capital: f64,
    /// Probability that it loses anything.
    pub p_loss: f64,
    /// Its mean loss.
    pub expected_loss: f64,
}

/// A market's risk and price.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MarketReport {
    /// Display name.
    pub name: String,
    /// Its cover.
    pub cover: f64,
    /// Probability that it triggers within the horizon.
    pub p_trigger: f64,
    /// Mean paid to its policies.
    pub expected_loss: f64,
    /// Euler allocation of `es_99_5`: its mean payout in the tail scenarios.
    pub capital_contribution: f64,
    /// (expected loss + cost of capital × contribution) / cover, per year, in bps.
    pub suggested_rate_bps: f64,
    /// Posterior of its annual probability, when it has a prior.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub posterior: Option<PosteriorReport>,
}

/// Posterior Beta of a market's annual event probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PosteriorReport {
    /// Posterior α.
    pub alpha: f64,
    /// Posterior β.
    pub beta: f64,
    /// Posterior mean.
    pub mean: f64,
    /// 5 % and 95 % quantiles.
    pub ci_90: [f64; 2],
}

/// One point of the loss exceedance curve.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExceedancePoint {
    /// Loss level, USD.
    pub loss: f64,
    /// P(total paid > loss).
    pub probability: f64,
}

impl Model {
    pub(super) fn report(&self, p: &Portfolio, opts: &Options, acc: Acc) -> Report {
        let n_sc = opts.scenarios;
        let nf = n_sc.max(1) as f64;
        let stride = self.n + 1;

        // VaR: the m-th smallest total paid, m = ⌈Nα⌉. ES: the mean of the
        // W = N − m scenarios ranked above it (ties at VaR shared evenly).
        let r = tail_count(n_sc.max(1), LEVEL) as usize;
        let var = kth_largest(acc.recs.iter().step_by(stride).copied().collect(), r);
        let w = (r as u128).saturating_sub(1);
        let mut above = 0u128;
        let mut sum_above = 0u128;
        let mut at = 0u128;
        let mut m_above = vec![0u128; self.n];
        let mut m_at = vec![0u128; self.n];
        for rec in acc.recs.chunks_exact(stride) {
            if rec[0] > var {
                above += 1;
                sum_above += rec[0] as u128;
                for (s, &x) in m_above.iter_mut().zip(&rec[1..]) {
                    *s += x as u128;
                }
            } else if rec[0] == var && var > 0 {
                at += 1;
                for (s, &x) in m_at.iter_mut().zip(&rec[1..]) {
                    *s += x as u128;
                }
            }
        }
        if var == 0 {
            at = (n_sc - acc.n_loss) as u128;
        }
        // `above` ≤ W < above + at: the tail takes W − above of the ties
        let from_ties = w - above.min(w);
        let es_units = if w == 0 {
            var as f64
        } else {
            (sum_above + from_ties * var as u128) as f64 / w as f64
        };
        let contribution_units = |i: usize| -> f64 {
            match (w, at) {
                (_, 0) => m_above[i] as f64 / w.max(1) as f64,
                // no scenario beyond VaR (tiny runs): ES = VaR, split as the ties at VaR are
                (0, _) => m_at[i] as f64 / at as f64,
                _ => (m_above[i] * at + from_ties * m_at[i]) as f64 / (at * w) as f64,
            }
        };
        let annualise = 365.0 / p.horizon_days;

        let capital_needed = kth_largest(acc.owed.clone(), tail_count(n_sc.max(1), opts.target) as usize);

        let markets = p
            .markets
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let el = to_usd(acc.market_paid[i] as f64 / nf);
                let contribution = to_usd(contribution_units(i));
                let rate = (el + opts.cost_of_capital * contribution) / m.cover * annualise * 10_000.0;
                MarketReport {
                    name: m.name.clone(),
                    cover: m.cover,
                    p_trigger: acc.triggers[i] as f64 / nf,
                    expected_loss: el,
                    capital_contribution: contribution,
                    suggested_rate_bps: rate,
                    posterior: m.frequency.posterior().map(|b| PosteriorReport {
                        alpha: b.alpha,
                        beta: b.beta,
                        mean: b.mean(),
                        ci_90: b.ci_90(),
                    }),
                }
            })
            .collect();

        let tranches = (0..self.k)
            .map(|j| TrancheReport {
                name: p.tranche_names[j].clone(),
                capital: p.capital[j],
                p_loss: acc.tranche_hits[j] as f64 / nf,
                expected_loss: to_usd(acc.tranche_loss[j] as f64 / nf),
            })
            .collect();

        let mut exceedance = Vec::with_capacity(EXCEEDANCE_POINTS + 1);
        let mut above_edge: u64 = acc.hist.iter().sum();
        for j in 0..=EXCEEDANCE_POINTS {
            let edge = (self.max_loss as u128 * j as u128 / EXCEEDANCE_POINTS as u128) as f64;
            exceedance.push(ExceedancePoint {
                loss: to_usd(edge),
                probability: above_edge as f64 / nf,
            });
            if j < EXCEEDANCE_POINTS {
                above_edge -= acc.hist[j];
            }
        }

        Report {
            scenarios: n_sc,
            seed: opts.seed,
            horizon_days: p.horizon_days,
            total_capital: p.total_capital(),
            p_loss: acc.n_loss as f64 / nf,
            expected_loss: to_usd(acc.sum_paid as f64 / nf),
            var_99_5: to_usd(var as f64),
            es_99_5: to_usd(es_units),
            p_shortfall: acc.n_short as f64 / nf,
            target: opts.target,
            capital_needed: to_usd(capital_needed as f64),
            cost_of_capital: opts.cost_of_capital,
            tranches,
            markets,
            exceedance,
        }
    }
}
