//! The Monte Carlo: scenario model, chunked parallel run, and the report.

use crate::error::RiskError;
use crate::linalg::psd_cholesky;
use crate::portfolio::{Copula, Frequency, Payout, Portfolio, PRICE_UNITS, UNITS_PER_USD};
use crate::rng::{ziggurat, BetaSampler, GammaSampler, Rng, Ziggurat};
use crate::special::{beta_inc, normal_cdf, normal_quantile, student_t_cdf, student_t_quantile};
use coverage_core::settlement::{
    liability, payout_fraction, policy_payout, release_waterfall, reserve_waterfall, Fraction, Shape,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Scenarios per chunk; each chunk has its own random stream, derived from
/// `(seed, chunk index)`, so results do not depend on the thread count.
pub const CHUNK: u64 = 8192;
/// Points of the loss exceedance curve (plus the one at zero loss).
pub const EXCEEDANCE_POINTS: usize = 200;
/// The ES / VaR level of the report's `var_99_5` and `es_99_5`.
pub const LEVEL: f64 = 0.995;

/// Run options beyond the portfolio.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Number of scenarios (default 1 000 000).
    pub scenarios: u64,
    /// Seed of the random streams.
    pub seed: u64,
    /// Target solvency for `capital_needed` (default 0.995).
    pub target: f64,
    /// Annual cost of capital used in `suggested_rate_bps` (default 0.10).
    pub cost_of_capital: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            scenarios: 1_000_000,
            seed: 0,
            target: LEVEL,
            cost_of_capital: 0.10,
        }
    }
}

/// One simulated scenario, as given to [`for_each_scenario`]'s callback.
#[derive(Clone, Copy, Debug)]
pub struct Outcome<'a> {
    /// Which markets triggered within the horizon.
    pub triggered: &'a [bool],
    /// What each market's policies were paid, in base units (1e-6 USD).
    pub payouts: &'a [u64],
    /// What each tranche lost, in base units, junior first.
    pub tranche_losses: &'a [u64],
    /// Total paid, in base units.
    pub total: u64,
    /// Total owed (sum of the events' liabilities), in base units.
    pub owed: u64,
    /// Some event reserved less than its liability.
    pub short: bool,
}

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

enum Freq {
    /// `z < threshold` ⇔ the copula's uniform is below the horizon probability.
    Fixed(f64),
    /// Annual probability drawn from the posterior in every scenario, by
    /// inversion (`p = F⁻¹(v)`, `v` uniform), and compared in `v`-space.
    Posterior(PosteriorTrigger),
}

struct MarketModel {
    cover: u64,
    freq: Freq,
    shape: Shape,
    strike: u64,
    span: u64,
    severity: Option<BetaSampler>,
    /// For a binary payout, whose fraction never changes: the core's
    /// fraction, liability and full payout, computed once.
    binary: Option<(Fraction, u64, u64)>,
}

#[derive(Clone, Copy)]
enum CdfKind {
    Normal,
    T(f64),
}

impl CdfKind {
    fn cdf(self, z: f64) -> f64 {
        match self {
            CdfKind::Normal => normal_cdf(z),
            CdfKind::T(nu) => student_t_cdf(z, nu),
        }
    }
}

const TABLE_LO: f64 = -16.0;
const TABLE_PER_UNIT: f64 = 256.0;
const TABLE_LEN: usize = 32 * 256 + 1;

/// The trigger test of a market whose annual probability `p` has a Beta
/// posterior `F`. With `p = F⁻¹(v)` for a uniform `v` (an exact draw from
/// the posterior), the market triggers iff `u = CDF(z) < p_h(p)`, i.e. iff
/// `G(z) < v` with `G(z) = F(p_h⁻¹(CDF(z)))`, `p_h⁻¹(u) = 1 − (1 − u)^(365 / horizon)`.
/// `G` is increasing; a table of it at grid points decides almost every
/// scenario, and the exact `G` the few where `v` falls between the two grid
/// values around `z`.
struct PosteriorTrigger {
    kind: CdfKind,
    alpha: f64,
    beta: f64,
    inv_exponent: f64,
    values: Vec<f64>,
}

impl PosteriorTrigger {
    fn new(kind: CdfKind, alpha: f64, beta: f64, exponent: f64) -> PosteriorTrigger {
        let mut t = PosteriorTrigger {
            kind,
            alpha,
            beta,
            inv_exponent: 1.0 / exponent,
            values: Vec::new(),
        };
        t.values = (0..TABLE_LEN)
            .into_par_iter()
            .map(|k| t.g(TABLE_LO + k as f64 / TABLE_PER_UNIT))
            .collect();
        t
    }

    /// `G(z) = F(p_h⁻¹(CDF(z)))`.
    fn g(&self, z: f64) -> f64 {
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
    fn triggers(&self, z: f64, v: f64) -> bool {
        let x = (z - TABLE_LO) * TABLE_PER_UNIT;
        if x >= 0.0 && x < (TABLE_LEN - 1) as f64 {
            let k = x as usize;
            let zk = TABLE_LO + k as f64 / TABLE_PER_UNIT;
            if zk <= z && z < zk + 1.0 / TABLE_PER_UNIT {
                if v <= self.values[k] {
                    return false;
                }
                if v > self.values[k + 1] {
                    return true;
                }
            }
        }
        self.exact(z, v)
    }

    #[cold]
    #[inline(never)]
    fn exact(&self, z: f64, v: f64) -> bool {
        self.g(z) < v
    }
}

struct TDraw {
    dof: f64,
    half: GammaSampler,
}

/// The portfolio in integer base units with its samplers, ready to run.
struct Model {
    n: usize,
    k: usize,
    capital: [u64; 4],
    chol: Vec<f64>,
    t: Option<TDraw>,
    markets: Vec<MarketModel>,
    max_loss: u64,
    zig: &'static Ziggurat,
    any_posterior: bool,
}

/// P(at least one event within the horizon) from the annual probability:
/// `1 − (1 − p)^(horizon_days / 365)`.
pub fn horizon_probability(annual: f64, horizon_days: f64) -> f64 {
    horizon_prob(annual, horizon_days / 365.0)
}

#[inline]
fn horizon_prob(p: f64, exponent: f64) -> f64 {
    if p >= 1.0 {
        1.0
    } else if exponent == 1.0 {
        p
    } else {
        -(exponent * (-p).ln_1p()).exp_m1()
    }
}

fn usd(v: f64) -> u64 {
    (v * UNITS_PER_USD).round() as u64
}

fn to_usd(units: f64) -> f64 {
    units / UNITS_PER_USD
}

impl Model {
    fn new(p: &Portfolio) -> Result<Model, RiskError> {
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
                            Some(BetaSampler::new(severity.alpha, severity.beta)),
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
        let flat: Vec<f64> = p.correlation.matrix.iter().flatten().copied().collect();
        let cover_sum: u64 = markets.iter().map(|m| m.cover).sum();
        let capital_sum: u64 = capital.iter().sum();
        Ok(Model {
            n,
            k,
            capital,
            chol: psd_cholesky(&flat, n),
            t: match p.correlation.copula {
                Copula::Gaussian => None,
                Copula::T { dof } => Some(TDraw {
                    dof,
                    half: GammaSampler::new(0.5 * dof),
                }),
            },
            markets,
            max_loss: cover_sum.min(capital_sum).max(1),
            zig: ziggurat(),
            any_posterior: p.markets.iter().any(|m| m.frequency.posterior().is_some()),
        })
    }

    /// One scenario into `buf`, from its independent normals `g`; returns
    /// whether any market triggered.
    #[inline]
    fn scenario(&self, g: &[f64], rng: &mut Rng, buf: &mut Buffers) -> bool {
        let n = self.n;
        if buf.dirty {
            buf.payouts.fill(0);
            buf.tranche_losses.fill(0);
            buf.dirty = false;
        }
        for i in 0..n {
            let row = &self.chol[i * n..i * n + i + 1];
            buf.z[i] = row.iter().zip(&g[..=i]).map(|(a, b)| a * b).sum();
        }
        // t copula: the same Gaussian divided by w = sqrt(χ²_ν / ν); `z / w < c`
        // is tested as `z < c w` (w > 0) to spare the divisions
        let (w, inv_w) = match &self.t {
            None => (1.0, 1.0),
            Some(t) => {
                // (kept above zero: a χ² that underflows must not turn ±∞ thresholds into NaN)
                let w = (2.0 * rng.gamma(&t.half) / t.dof).sqrt().max(f64::MIN_POSITIVE);
                (w, if self.any_posterior { 1.0 / w } else { 1.0 })
            }
        };
        let mut any = false;
        for (i, m) in self.markets.iter().enumerate() {
            let hit = match &m.freq {
                Freq::Fixed(threshold) => buf.z[i] < *threshold * w,
                Freq::Posterior(t) => t.triggers(buf.z[i] * inv_w, rng.uniform()),
            };
            buf.triggered[i] = hit;
            any |= hit;
        }
        buf.total = 0;
        buf.owed = 0;
        buf.short = false;
        if any {
            self.settle(rng, buf);
        }
        any
    }

    /// The pool's rules for the scenario's triggered markets.
    #[inline(never)]
    fn settle(&self, rng: &mut Rng, buf: &mut Buffers) {
        let n = self.n;
        buf.dirty = true;
        // the pool's own rules, event by event in market order
        let mut assets = self.capital;
        let assets = &mut assets[..self.k];
        for (i, m) in self.markets.iter().enumerate() {
            if !buf.triggered[i] {
                continue;
            }
            let (f, owed) = match (&m.binary, &m.severity) {
                (Some((f, owed, _)), _) => (*f, *owed),
                (None, b) => {
                    let s = b.as_ref().map_or(1.0, |b| rng.beta(b));
                    let lowest = m.strike - ((s * m.span as f64).round() as u64).min(m.span);
                    let f = payout_fraction(m.shape, m.strike, lowest).expect("validated payout");
                    (f, liability(m.cover, f).expect("liability fits"))
                }
            };
            let (taken, reserve) = reserve_waterfall(assets, owed).expect("waterfall");
            let paid = match m.binary {
                Some((_, _, full)) if reserve >= owed => full,
                _ => policy_payout(m.cover, f, reserve, owed).expect("payout fits"),
            };
            buf.short |= reserve < owed;
            buf.owed += owed;
            buf.total += paid;
            buf.payouts[i] = paid;
            buf.taken[i] = taken;
            buf.left[i] = reserve - paid;
        }
        for i in 0..n {
            if buf.triggered[i] && buf.left[i] > 0 {
                // what the policies did not take goes back, senior first
                release_waterfall(assets, &buf.taken[i], buf.left[i]).expect("release");
                buf.left[i] = 0;
            }
        }
        for ((loss, c), a) in buf.tranche_losses.iter_mut().zip(&self.capital).zip(assets.iter()) {
            *loss = c - a;
        }
    }

    fn run_chunk<F: FnMut(u64, &Outcome)>(&self, seed: u64, chunk: u64, total: u64, keep: &Keep, hook: &mut F) -> Acc {
        let start = chunk * CHUNK;
        let end = (start + CHUNK).min(total);
        let mut rng = Rng::for_chunk(seed, chunk);
        let mut buf = Buffers::new(self.n, self.k);
        let mut acc = Acc::new(self.n, self.k);
        // the chunk's independent normals first, in one tight loop
        let n = self.n;
        let mut g = vec![0.0; n];
        for s in start..end {
            for x in g.iter_mut() {
                *x = rng.normal_with(self.zig);
            }
            if self.scenario(&g, &mut rng, &mut buf) {
                acc.add(&buf, self.max_loss);
            }
            hook(s, &buf.outcome());
        }
        if acc.recs.len() / (self.n + 1) > TRIM_FLOOR || acc.owed.len() > TRIM_FLOOR {
            acc.trim(keep);
        }
        acc
    }
}

struct Buffers {
    z: Vec<f64>,
    triggered: Vec<bool>,
    payouts: Vec<u64>,
    taken: Vec<[u64; 4]>,
    left: Vec<u64>,
    tranche_losses: Vec<u64>,
    total: u64,
    owed: u64,
    short: bool,
    /// `payouts` and `tranche_losses` hold a previous scenario's losses.
    dirty: bool,
}

impl Buffers {
    fn new(n: usize, k: usize) -> Buffers {
        Buffers {
            z: vec![0.0; n],
            triggered: vec![false; n],
            payouts: vec![0; n],
            taken: vec![[0; 4]; n],
            left: vec![0; n],
            tranche_losses: vec![0; k],
            total: 0,
            owed: 0,
            short: false,
            dirty: false,
        }
    }

    fn outcome(&self) -> Outcome<'_> {
        Outcome {
            triggered: &self.triggered,
            payouts: &self.payouts,
            tranche_losses: &self.tranche_losses,
            total: self.total,
            owed: self.owed,
            short: self.short,
        }
    }
}

/// How many of the largest losses must survive trimming.
struct Keep {
    /// For VaR / ES at [`LEVEL`] (records of total paid with market payouts).
    paid: usize,
    /// For `capital_needed` (records of total owed).
    owed: usize,
}

/// Tail size `N − m + 1` with `m = ⌈N α⌉`: the scenarios from the α-quantile up.
fn tail_count(n: u64, alpha: f64) -> u64 {
    let m = ((n as f64) * alpha - 1e-9).ceil().clamp(1.0, n as f64) as u64;
    n - m + 1
}

/// The exceedance bin of a loss `total > 0`: `⌈total B / max⌉ − 1`, i.e. the
/// number of edges `⌊max j / B⌋`, `j ≥ 1`, strictly below `total`.
#[inline]
fn exceedance_bin(total: u64, max_loss: u64) -> usize {
    match total.checked_mul(EXCEEDANCE_POINTS as u64) {
        Some(x) => ((x - 1) / max_loss) as usize,
        None => ((total as u128 * EXCEEDANCE_POINTS as u128 - 1) / max_loss as u128) as usize,
    }
}

/// Records of losses kept before the first trim (a few tens of MB at most).
const TRIM_FLOOR: usize = 1 << 21;

/// Integer tallies of a set of scenarios; merging is exact and order-free.
struct Acc {
    n: usize,
    n_loss: u64,
    n_short: u64,
    sum_paid: u128,
    triggers: Vec<u64>,
    market_paid: Vec<u128>,
    tranche_hits: Vec<u64>,
    tranche_loss: Vec<u128>,
    hist: Vec<u64>,
    /// Scenarios with a loss: `[total, payout_0, …, payout_{n−1}]` each.
    recs: Vec<u64>,
    /// Totals owed of the scenarios that owe anything.
    owed: Vec<u64>,
    /// Record counts past which `merge` trims again (doubling: ties at the
    /// cut can keep many records, and trimming must stay linear overall).
    trim_at: (usize, usize),
}

impl Acc {
    fn new(n: usize, k: usize) -> Acc {
        Acc {
            n,
            n_loss: 0,
            n_short: 0,
            sum_paid: 0,
            triggers: vec![0; n],
            market_paid: vec![0; n],
            tranche_hits: vec![0; k],
            tranche_loss: vec![0; k],
            hist: vec![0; EXCEEDANCE_POINTS],
            recs: Vec::new(),
            owed: Vec::new(),
            trim_at: (0, 0),
        }
    }

    fn add(&mut self, b: &Buffers, max_loss: u64) {
        for i in 0..self.n {
            if b.triggered[i] {
                self.triggers[i] += 1;
                self.market_paid[i] += b.payouts[i] as u128;
            }
        }
        for (j, &l) in b.tranche_losses.iter().enumerate() {
            if l > 0 {
                self.tranche_hits[j] += 1;
                self.tranche_loss[j] += l as u128;
            }
        }
        if b.short {
            self.n_short += 1;
        }
        if b.owed > 0 {
            self.owed.push(b.owed);
        }
        if b.total > 0 {
            self.n_loss += 1;
            self.sum_paid += b.total as u128;
            // bin j counts losses above the j-th edge max_loss·j/B and up to the next
            let bin = exceedance_bin(b.total, max_loss);
            self.hist[bin.min(EXCEEDANCE_POINTS - 1)] += 1;
            self.recs.push(b.total);
            self.recs.extend_from_slice(&b.payouts);
        }
    }

    fn merge(&mut self, o: Acc, keep: &Keep) {
        self.n_loss += o.n_loss;
        self.n_short += o.n_short;
        self.sum_paid += o.sum_paid;
        for (a, b) in self.triggers.iter_mut().zip(&o.triggers) {
            *a += b;
        }
        for (a, b) in self.market_paid.iter_mut().zip(&o.market_paid) {
            *a += b;
        }
        for (a, b) in self.tranche_hits.iter_mut().zip(&o.tranche_hits) {
            *a += b;
        }
        for (a, b) in self.tranche_loss.iter_mut().zip(&o.tranche_loss) {
            *a += b;
        }
        for (a, b) in self.hist.iter_mut().zip(&o.hist) {
            *a += b;
        }
        self.recs.extend_from_slice(&o.recs);
        self.owed.extend_from_slice(&o.owed);
        let stride = self.n + 1;
        // trimming costs a pass over the records: only when they grow large
        let floor = (
            keep.paid.saturating_mul(2).max(TRIM_FLOOR),
            keep.owed.saturating_mul(2).max(TRIM_FLOOR),
        );
        if self.recs.len() / stride > self.trim_at.0.max(floor.0) || self.owed.len() > self.trim_at.1.max(floor.1) {
            self.trim(keep);
            self.trim_at = (2 * self.recs.len() / stride, 2 * self.owed.len());
        }
    }

    /// Drops records that cannot be among the `keep` largest (ties with the
    /// `keep`-th largest are all kept): the tail statistics stay exact, and
    /// the kept set does not depend on the order of merging.
    fn trim(&mut self, keep: &Keep) {
        let stride = self.n + 1;
        let count = self.recs.len() / stride;
        if count > keep.paid {
            let cut = kth_largest(self.recs.iter().step_by(stride).copied().collect(), keep.paid);
            let mut kept = Vec::with_capacity(keep.paid * stride);
            for r in self.recs.chunks_exact(stride) {
                if r[0] >= cut {
                    kept.extend_from_slice(r);
                }
            }
            self.recs = kept;
        }
        if self.owed.len() > keep.owed {
            let cut = kth_largest(self.owed.clone(), keep.owed);
            self.owed.retain(|&v| v >= cut);
        }
    }
}

/// The `r`-th largest (1-based) of `v`, or 0 when `v` has fewer than `r`
/// values (the missing scenarios lost nothing).
fn kth_largest(mut v: Vec<u64>, r: usize) -> u64 {
    if r == 0 || r > v.len() {
        return 0;
    }
    *v.select_nth_unstable_by(r - 1, |a, b| b.cmp(a)).1
}

/// Runs the simulation with default target (0.995) and cost of capital (0.10).
/// `progress` is called on the calling thread with the number of scenarios
/// done so far. Panics if the portfolio is invalid (a portfolio from
/// [`Portfolio::from_toml`] is always valid); see [`simulate_with`].
pub fn simulate(p: &Portfolio, scenarios: u64, seed: u64, progress: Option<&dyn Fn(u64)>) -> Report {
    let opts = Options {
        scenarios,
        seed,
        ..Options::default()
    };
    match simulate_with(p, &opts, progress) {
        Ok(r) => r,
        Err(e) => panic!("coverage-risk: cannot simulate: {e}"),
    }
}

fn check_options(o: &Options) -> Result<(), RiskError> {
    if !(o.target > 0.0 && o.target < 1.0) {
        return Err(RiskError::invalid(
            "target",
            format!(
                "the target solvency is a probability strictly between 0 and 1 (got {})",
                o.target
            ),
        ));
    }
    if !(o.cost_of_capital.is_finite() && o.cost_of_capital >= 0.0) {
        return Err(RiskError::invalid(
            "cost_of_capital",
            format!("must be a rate ≥ 0 (got {})", o.cost_of_capital),
        ));
    }
    Ok(())
}

/// Runs the simulation on rayon's current thread pool. Deterministic: the
/// same portfolio, options and seed give the same report whatever the
/// number of threads.
pub fn simulate_with(p: &Portfolio, opts: &Options, progress: Option<&dyn Fn(u64)>) -> Result<Report, RiskError> {
    check_options(opts)?;
    let model = Model::new(p)?;
    let total = opts.scenarios;
    let keep = Keep {
        paid: tail_count(total.max(1), LEVEL) as usize,
        owed: tail_count(total.max(1), opts.target) as usize,
    };
    let chunks = total.div_ceil(CHUNK);
    // chunks reduce in a tree as they finish (no barrier); merging is exact and
    // the kept tail records do not depend on the tree's shape, so neither
    // does the report. With a progress callback, batches of chunks report in between.
    let (n, k) = (model.n, model.k);
    let run = |range: std::ops::Range<u64>| -> Acc {
        range
            .into_par_iter()
            .map(|ci| model.run_chunk(opts.seed, ci, total, &keep, &mut |_, _: &Outcome| {}))
            .reduce(
                || Acc::new(n, k),
                |mut a, mut b| {
                    if a.recs.len() < b.recs.len() {
                        std::mem::swap(&mut a, &mut b); // copy the smaller set of records
                    }
                    a.merge(b, &keep);
                    a
                },
            )
    };
    let acc = match progress {
        None => run(0..chunks),
        Some(f) => {
            let batch = (rayon::current_num_threads() as u64 * 8).max(1);
            let mut acc = Acc::new(n, k);
            let mut c = 0;
            while c < chunks {
                let end = (c + batch).min(chunks);
                acc.merge(run(c..end), &keep);
                c = end;
                f((c * CHUNK).min(total));
            }
            acc
        }
    };
    Ok(model.report(p, opts, acc))
}

/// Runs the same scenarios as [`simulate_with`] (same seed, same streams),
/// one by one on this thread, and shows each to `f` with its index: for
/// checks per scenario and for debugging.
pub fn for_each_scenario(
    p: &Portfolio,
    scenarios: u64,
    seed: u64,
    mut f: impl FnMut(u64, &Outcome),
) -> Result<(), RiskError> {
    let model = Model::new(p)?;
    let keep = Keep {
        paid: usize::MAX,
        owed: usize::MAX,
    };
    for c in 0..scenarios.div_ceil(CHUNK) {
        model.run_chunk(seed, c, scenarios, &keep, &mut f);
    }
    Ok(())
}

impl Model {
    fn report(&self, p: &Portfolio, opts: &Options, acc: Acc) -> Report {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exceedance_bins_are_exact() {
        for max in [1u64, 7, 1_000_000, 1_000_000_000_000, 4_000_000_000_000_000_000] {
            for total in [1, 2, max / 3, max / 2, max - 1, max]
                .into_iter()
                .filter(|&t| t >= 1 && t <= max)
            {
                let want = ((total as u128 * EXCEEDANCE_POINTS as u128 - 1) / max as u128) as usize;
                assert_eq!(exceedance_bin(total, max), want, "{total} of {max}");
            }
        }
    }

    #[test]
    fn tail_counts() {
        assert_eq!(tail_count(1_000_000, 0.995), 5_001);
        assert_eq!(tail_count(200_000, 0.995), 1_001);
        assert_eq!(tail_count(1, 0.995), 1);
        assert_eq!(kth_largest(vec![5, 1, 9, 3], 2), 5);
        assert_eq!(kth_largest(vec![5], 3), 0);
    }

    #[test]
    fn posterior_table_agrees_with_exact() {
        for kind in [CdfKind::Normal, CdfKind::T(3.0)] {
            for exponent in [1.0, 30.0 / 365.0] {
                let t = PosteriorTrigger::new(kind, 2.0, 23.0, exponent);
                let mut r = Rng::for_chunk(3, 3);
                for _ in 0..20_000 {
                    let z = 3.0 * r.normal();
                    let v = r.uniform();
                    assert_eq!(t.triggers(z, v), t.g(z) < v);
                }
            }
        }
    }

    #[test]
    fn inversion_draw_matches_the_posterior() {
        // P(trigger) = E[p_h] over the posterior; for a one-year horizon, the posterior mean
        let t = PosteriorTrigger::new(CdfKind::Normal, 2.0, 23.0, 1.0);
        let mut r = Rng::for_chunk(5, 0);
        let n = 400_000;
        let hits = (0..n).filter(|_| t.triggers(r.normal(), r.uniform())).count() as f64 / n as f64;
        assert!((hits - 0.08).abs() < 5.0 * (0.08f64 * 0.92 / n as f64).sqrt(), "{hits}");
    }
}
