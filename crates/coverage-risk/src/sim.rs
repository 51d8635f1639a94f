//! The Monte Carlo: scenario model, chunked parallel run, and the report.

use crate::error::RiskError;
use crate::linalg::psd_cholesky;
use crate::portfolio::{Copula, Frequency, Payout, Portfolio, PRICE_UNITS, UNITS_PER_USD};
use crate::rng::{ziggurat, BetaSampler, GammaSampler, Rng, Ziggurat, UNIFORM_MAX, UNIFORM_MIN};
use crate::special::{beta_inc, normal_cdf, normal_quantile, student_t_cdf, student_t_quantile};
use coverage_core::settlement::{
    liability, payout_fraction, policy_payout, release_waterfall, reserve_waterfall, Fraction, Shape,
};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Scenarios per chunk; each chunk has its own random stream, derived from
/// `(seed, chunk index)`, so results do not depend on the thread count.
pub const CHUNK: u64 = 8192;
/// Chunks per wave of parallel work (without a progress callback): 2 097 152
/// scenarios, whose loss records take a few MB.
const WAVE_CHUNKS: u64 = 256;
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
/// values around `z`. The table spans only the grid points between the last
/// one below which `G` is under every uniform (the market always triggers)
/// and the first one above which it is at least every uniform (it never does).
struct PosteriorTrigger {
    kind: CdfKind,
    alpha: f64,
    beta: f64,
    inv_exponent: f64,
    /// Grid index of `values[0]`.
    start: usize,
    /// `G` at grid points `start..start + values.len()`.
    values: Vec<f64>,
    /// `G(grid(start)) < UNIFORM_MIN`: every `z` below the table triggers.
    below_triggers: bool,
    /// `G(grid(end)) ≥ UNIFORM_MAX`: no `z` at or above the table's end triggers.
    above_never: bool,
    /// `start` and `end` as f64: the range of `(z − TABLE_LO) · TABLE_PER_UNIT` the table decides.
    bounds: (f64, f64),
}

/// The grid point of index `k` (a multiplication by the exact power of two
/// `1 / TABLE_PER_UNIT` rather than a slower division, same result).
#[inline(always)]
fn grid(k: usize) -> f64 {
    TABLE_LO + k as f64 * (1.0 / TABLE_PER_UNIT)
}

impl PosteriorTrigger {
    fn new(kind: CdfKind, alpha: f64, beta: f64, exponent: f64) -> PosteriorTrigger {
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
    /// The largest total owed: every market's full cover.
    max_owed: u64,
    zig: &'static Ziggurat,
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
            max_owed: cover_sum.max(1),
            zig: ziggurat(),
        })
    }

    /// The triggers of a batch of `len` scenarios (see [`Batch`]): the
    /// independent normals, the copula's correlation (and, for the t copula,
    /// its scaling), then each market's trigger test, one market at a time.
    fn draw_batch(&self, len: usize, rng: &mut Rng, b: &mut Batch) {
        let n = self.n;
        rng.fill_normals(self.zig, &mut b.g[..n * len]);
        // z = L g, each row summed in column order
        for i in 0..n {
            let row = &self.chol[i * n..i * n + i + 1];
            let zi = &mut b.z[i * len..(i + 1) * len];
            for (z, g) in zi.iter_mut().zip(&b.g[..len]) {
                *z = row[0] * g;
            }
            for (j, &c) in row.iter().enumerate().skip(1) {
                if c != 0.0 {
                    for (z, g) in zi.iter_mut().zip(&b.g[j * len..(j + 1) * len]) {
                        *z += c * g;
                    }
                }
            }
        }
        // t copula: the same Gaussian divided by w = sqrt(χ²_ν / ν); `z / w < c`
        // is tested as `z < c w` (w > 0) where the threshold is fixed
        let w = &mut b.w[..len];
        let scaled = match &self.t {
            None => false,
            Some(t) => {
                for w in w.iter_mut() {
                    // (kept above zero: a χ² that underflows must not turn ±∞ thresholds into NaN)
                    *w = (2.0 * rng.gamma(&t.half) / t.dof).sqrt().max(f64::MIN_POSITIVE);
                }
                true
            }
        };
        let any = &mut b.any[..len];
        any.fill(false);
        for (i, m) in self.markets.iter().enumerate() {
            let z = &b.z[i * len..(i + 1) * len];
            let hit = &mut b.hit[i * len..(i + 1) * len];
            match (&m.freq, scaled) {
                (Freq::Fixed(c), false) => {
                    for (h, z) in hit.iter_mut().zip(z) {
                        *h = *z < *c;
                    }
                }
                (Freq::Fixed(c), true) => {
                    for ((h, z), w) in hit.iter_mut().zip(z).zip(w.iter()) {
                        *h = *z < *c * w;
                    }
                }
                (Freq::Posterior(t), false) => {
                    let v = &mut b.v[..len];
                    rng.fill_uniforms(v);
                    for ((h, z), v) in hit.iter_mut().zip(z).zip(v.iter()) {
                        *h = t.triggers(*z, *v);
                    }
                }
                (Freq::Posterior(t), true) => {
                    let v = &mut b.v[..len];
                    rng.fill_uniforms(v);
                    for (((h, z), w), v) in hit.iter_mut().zip(z).zip(w.iter()).zip(v.iter()) {
                        *h = t.triggers(*z / w, *v);
                    }
                }
            }
            for (a, h) in any.iter_mut().zip(hit.iter()) {
                *a |= *h;
            }
        }
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

    /// Runs chunk `chunk` of a run of `total` scenarios with the thread's
    /// scratch arrays, showing each scenario to `hook`.
    fn run_chunk<F: FnMut(u64, &Outcome)>(
        &self,
        seed: u64,
        chunk: u64,
        total: u64,
        (batch, buf): &mut (Batch, Buffers),
        hook: &mut F,
    ) -> Acc {
        let start = chunk * CHUNK;
        let end = (start + CHUNK).min(total);
        let mut rng = Rng::for_chunk(seed, chunk);
        let mut acc = self.acc();
        let mut first = start;
        while first < end {
            let len = (end - first).min(BATCH as u64) as usize;
            self.draw_batch(len, &mut rng, batch);
            for s in 0..len {
                buf.clear();
                if batch.any[s] {
                    for (i, t) in buf.triggered.iter_mut().enumerate() {
                        *t = batch.hit[i * len + s];
                    }
                    self.settle(&mut rng, buf);
                    acc.add(buf);
                }
                hook(first + s as u64, &buf.outcome());
            }
            first += len as u64;
        }
        acc
    }

    /// A thread's scratch arrays for [`Model::run_chunk`].
    fn scratch(&self) -> (Batch, Buffers) {
        (Batch::new(self.n), Buffers::new(self.n, self.k))
    }

    /// Empty tallies for this model's scenarios.
    fn acc(&self) -> Acc {
        Acc::new(self.n, self.k, self.max_loss, self.max_owed)
    }
}

/// Scenarios drawn together, within a chunk: small enough for the arrays to
/// stay in the L1 cache.
const BATCH: usize = 512;

/// A batch's arrays, market-major (`[i * len + s]` is market `i` in scenario `s`).
struct Batch {
    /// Independent standard normals.
    g: Vec<f64>,
    /// The copula's correlated normals.
    z: Vec<f64>,
    /// The t copula's scale per scenario.
    w: Vec<f64>,
    /// Uniforms of the market being tested (posterior frequencies).
    v: Vec<f64>,
    /// Whether market `i` triggers in scenario `s`.
    hit: Vec<bool>,
    /// Whether any market triggers in scenario `s`.
    any: Vec<bool>,
}

impl Batch {
    fn new(n: usize) -> Batch {
        Batch {
            g: vec![0.0; n * BATCH],
            z: vec![0.0; n * BATCH],
            w: vec![1.0; BATCH],
            v: vec![0.0; BATCH],
            hit: vec![false; n * BATCH],
            any: vec![false; BATCH],
        }
    }
}

struct Buffers {
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

    /// Back to a scenario without losses, if a settlement wrote to it.
    #[inline]
    fn clear(&mut self) {
        if self.dirty {
            self.triggered.fill(false);
            self.payouts.fill(0);
            self.tranche_losses.fill(0);
            self.total = 0;
            self.owed = 0;
            self.short = false;
            self.dirty = false;
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

/// The least value a loss in bin `bin` or above can have, minus one: the
/// bin's lower edge `⌊max bin / B⌋` (a loss `x > 0` is in bin `bin` or above
/// iff `x > edge`).
fn bin_edge(bin: usize, max: u64) -> u64 {
    (max as u128 * bin as u128 / EXCEEDANCE_POINTS as u128) as u64
}

/// The bin holding the `r`-th largest of the values counted by `hist`
/// (every value among the `r` largest, ties included, is in it or above);
/// bin 0 when fewer than `r` values were counted.
fn tail_bin(hist: &[u64], r: usize) -> usize {
    let mut above = 0u64;
    for (j, &c) in hist.iter().enumerate().rev() {
        above += c;
        if above >= r as u64 {
            return j;
        }
    }
    0
}

/// Records kept past which a set is trimmed to its tail exactly (a few tens
/// of MB at most); below it, the histogram's cut is enough.
const TRIM_FLOOR: usize = 1 << 21;

/// Integer tallies of a set of scenarios; merging is exact and order-free.
struct Acc {
    n: usize,
    /// Scales of the histograms: the largest total paid and total owed.
    max_paid: u64,
    max_owed: u64,
    n_loss: u64,
    n_short: u64,
    sum_paid: u128,
    triggers: Vec<u64>,
    market_paid: Vec<u128>,
    tranche_hits: Vec<u64>,
    tranche_loss: Vec<u128>,
    /// Scenarios with a loss by [`exceedance_bin`] of their total paid.
    hist: Vec<u64>,
    /// Scenarios owing anything by [`exceedance_bin`] of their total owed.
    owed_hist: Vec<u64>,
    /// Scenarios with a loss: `[total, payout_0, …, payout_{n−1}]` each
    /// (all of a chunk's; only those that may be in the tail once merged).
    recs: Vec<u64>,
    /// Totals owed of the scenarios that owe anything (same).
    owed: Vec<u64>,
    /// Record counts past which `take_records` trims again.
    trim_at: (usize, usize),
}

impl Acc {
    fn new(n: usize, k: usize, max_paid: u64, max_owed: u64) -> Acc {
        Acc {
            n,
            max_paid,
            max_owed,
            n_loss: 0,
            n_short: 0,
            sum_paid: 0,
            triggers: vec![0; n],
            market_paid: vec![0; n],
            tranche_hits: vec![0; k],
            tranche_loss: vec![0; k],
            hist: vec![0; EXCEEDANCE_POINTS],
            owed_hist: vec![0; EXCEEDANCE_POINTS],
            recs: Vec::new(),
            owed: Vec::new(),
            trim_at: (0, 0),
        }
    }

    fn add(&mut self, b: &Buffers) {
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
            let bin = exceedance_bin(b.owed, self.max_owed);
            self.owed_hist[bin.min(EXCEEDANCE_POINTS - 1)] += 1;
            self.owed.push(b.owed);
        }
        if b.total > 0 {
            self.n_loss += 1;
            self.sum_paid += b.total as u128;
            // bin j counts losses above the j-th edge max_paid·j/B and up to the next
            let bin = exceedance_bin(b.total, self.max_paid);
            self.hist[bin.min(EXCEEDANCE_POINTS - 1)] += 1;
            self.recs.push(b.total);
            self.recs.extend_from_slice(&b.payouts);
        }
    }

    /// Adds `o`'s tallies and histograms (not its records).
    fn merge_tallies(&mut self, o: &Acc) {
        self.n_loss += o.n_loss;
        self.n_short += o.n_short;
        self.sum_paid += o.sum_paid;
        let pairs = [
            (&mut self.triggers, &o.triggers),
            (&mut self.tranche_hits, &o.tranche_hits),
            (&mut self.hist, &o.hist),
            (&mut self.owed_hist, &o.owed_hist),
        ];
        for (a, b) in pairs {
            for (a, b) in a.iter_mut().zip(b) {
                *a += b;
            }
        }
        for (a, b) in [
            (&mut self.market_paid, &o.market_paid),
            (&mut self.tranche_loss, &o.tranche_loss),
        ] {
            for (a, b) in a.iter_mut().zip(b) {
                *a += b;
            }
        }
    }

    /// The record thresholds of the tail, from the histograms merged so far:
    /// a record can be among the `keep` largest only if its value is above
    /// them. They only rise as more scenarios are merged.
    fn cuts(&self, keep: &Keep) -> (u64, u64) {
        (
            bin_edge(tail_bin(&self.hist, keep.paid), self.max_paid),
            bin_edge(tail_bin(&self.owed_hist, keep.owed), self.max_owed),
        )
    }

    /// Takes the records of `o` above the cuts (its tallies must already be
    /// merged), then trims exactly if the records still grow large.
    fn take_records(&mut self, o: &Acc, cuts: (u64, u64), keep: &Keep) {
        let stride = self.n + 1;
        // (appended whole, then the next record overwrites a rejected one: no
        // branch on the values)
        let mut len = self.recs.len();
        self.recs.resize(len + o.recs.len(), 0);
        for r in o.recs.chunks_exact(stride) {
            self.recs[len..len + stride].copy_from_slice(r);
            len += stride * usize::from(r[0] > cuts.0);
        }
        self.recs.truncate(len);
        self.owed.extend(o.owed.iter().filter(|&&v| v > cuts.1));
        // (the thresholds double: ties at the cut can keep many records, and
        // trimming must stay linear overall)
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
    /// `keep`-th largest are all kept): the tail statistics stay exact.
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
    // chunks run in parallel in waves; each wave's tallies are merged in chunk
    // order on this thread (one copy of each record, trimmed when the records
    // grow large). Merging is exact and the kept tail records do not depend on
    // the order, so the report does not depend on the threads. With a progress
    // callback, the waves are shorter and report in between.
    let threads = rayon::current_num_threads() as u64;
    let wave = if progress.is_some() {
        threads * 8
    } else {
        WAVE_CHUNKS.max(threads)
    };
    let mut acc = model.acc();
    let mut c = 0;
    while c < chunks {
        let end = (c + wave).min(chunks);
        let done: Vec<Acc> = (c..end)
            .into_par_iter()
            .map_init(
                || model.scratch(),
                |scratch, ci| model.run_chunk(opts.seed, ci, total, scratch, &mut |_, _: &Outcome| {}),
            )
            .collect();
        for a in &done {
            acc.merge_tallies(a);
        }
        // only the records that can still be in the tail are copied
        let cuts = acc.cuts(&keep);
        for a in &done {
            acc.take_records(a, cuts, &keep);
        }
        c = end;
        if let Some(f) = progress {
            f((c * CHUNK).min(total));
        }
    }
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
    let mut scratch = model.scratch();
    for c in 0..scenarios.div_ceil(CHUNK) {
        model.run_chunk(seed, c, scenarios, &mut scratch, &mut f);
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
    fn bin_edges_split_the_bins() {
        // a loss is in bin b or above iff it is above the bin's edge
        for max in [1u64, 7, 999, 1_000_000, 4_000_000_000_000_000_000] {
            for total in [1, 2, 3, max / 3, max / 2, max - 1, max, max + 1]
                .into_iter()
                .filter(|&t| t >= 1)
            {
                let bin = exceedance_bin(total, max).min(EXCEEDANCE_POINTS - 1);
                for b in 0..EXCEEDANCE_POINTS {
                    assert_eq!(bin >= b, total > bin_edge(b, max), "{total} of {max}, bin {b}");
                }
            }
        }
        // the bin of the r-th largest
        let mut hist = vec![0u64; EXCEEDANCE_POINTS];
        hist[3] = 5;
        hist[10] = 2;
        assert_eq!(tail_bin(&hist, 1), 10);
        assert_eq!(tail_bin(&hist, 2), 10);
        assert_eq!(tail_bin(&hist, 3), 3);
        assert_eq!(tail_bin(&hist, 7), 3);
        assert_eq!(tail_bin(&hist, 8), 0);
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
                // beyond the table and the grid, at and next to its ends, and the extreme uniforms
                let end = t.start + t.values.len() - 1;
                let edges = [grid(t.start), grid(end), -16.0, 16.0];
                let near = edges.iter().flat_map(|&e| [e, e.next_down(), e.next_up()]);
                for z in near.chain([-1e9, -40.0, -16.5, 16.5, 40.0, 1e9, f64::INFINITY, f64::NEG_INFINITY]) {
                    for v in [UNIFORM_MIN, 0.5, UNIFORM_MAX, r.uniform()] {
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
        let mut r = Rng::for_chunk(5, 0);
        let n = 400_000;
        let hits = (0..n).filter(|_| t.triggers(r.normal(), r.uniform())).count() as f64 / n as f64;
        assert!((hits - 0.08).abs() < 5.0 * (0.08f64 * 0.92 / n as f64).sqrt(), "{hits}");
    }
}
