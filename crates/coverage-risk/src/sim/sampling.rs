//! Drawing scenarios: a batch's triggers in tight loops over arrays, the
//! pool's own rules for the scenarios where some market triggered, and a
//! chunk's run on its own random stream.

use super::model::{Freq, Model};
use super::tail::Acc;
use super::CHUNK;
use crate::rng::{stream, Distribution, Open01, Rng, StandardNormal};
use coverage_core::settlement::{liability, payout_fraction, policy_payout, release_waterfall, reserve_waterfall};

/// One simulated scenario, as given to [`for_each_scenario`](super::for_each_scenario)'s callback.
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

impl Model {
    /// The triggers of a batch of `len` scenarios (see [`Batch`]): the
    /// independent normals, the copula's correlation (and, for the t copula,
    /// its scaling), then each market's trigger test, one market at a time.
    pub(super) fn draw_batch(&self, len: usize, rng: &mut Rng, b: &mut Batch) {
        let n = self.n;
        fill(rng, StandardNormal, &mut b.g[..n * len]);
        // z = F g, each row summed in column order
        for i in 0..n {
            let row = &self.factor[i * n..(i + 1) * n];
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
                    *w = (t.chi2.sample(rng) / t.dof).sqrt().max(f64::MIN_POSITIVE);
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
                    fill(rng, Open01, v);
                    for ((h, z), v) in hit.iter_mut().zip(z).zip(v.iter()) {
                        *h = t.triggers(*z, *v);
                    }
                }
                (Freq::Posterior(t), true) => {
                    let v = &mut b.v[..len];
                    fill(rng, Open01, v);
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
    pub(super) fn settle(&self, rng: &mut Rng, buf: &mut Buffers) {
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
                    let s = b.as_ref().map_or(1.0, |b| b.sample(rng));
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
    pub(super) fn run_chunk<F: FnMut(u64, &Outcome)>(
        &self,
        seed: u64,
        chunk: u64,
        total: u64,
        (batch, buf): &mut (Batch, Buffers),
        hook: &mut F,
    ) -> Acc {
        let start = chunk * CHUNK;
        let end = (start + CHUNK).min(total);
        let mut rng = stream(seed, chunk);
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
    pub(super) fn scratch(&self) -> (Batch, Buffers) {
        (Batch::new(self.n), Buffers::new(self.n, self.k))
    }

    /// Empty tallies for this model's scenarios.
    pub(super) fn acc(&self) -> Acc {
        Acc::new(self.n, self.k, self.max_loss, self.max_owed)
    }
}

/// Fills `out` with draws from `d`, in order.
#[inline]
fn fill<D: Distribution<f64>>(rng: &mut Rng, d: D, out: &mut [f64]) {
    for x in out {
        *x = d.sample(rng);
    }
}

/// Scenarios drawn together, within a chunk: small enough for the arrays to
/// stay in the L1 cache.
pub(super) const BATCH: usize = 512;

/// A batch's arrays, market-major (`[i * len + s]` is market `i` in scenario `s`).
pub(super) struct Batch {
    /// Independent standard normals.
    pub(super) g: Vec<f64>,
    /// The copula's correlated normals.
    pub(super) z: Vec<f64>,
    /// The t copula's scale per scenario.
    pub(super) w: Vec<f64>,
    /// Uniforms of the market being tested (posterior frequencies).
    pub(super) v: Vec<f64>,
    /// Whether market `i` triggers in scenario `s`.
    pub(super) hit: Vec<bool>,
    /// Whether any market triggers in scenario `s`.
    pub(super) any: Vec<bool>,
}

impl Batch {
    pub(super) fn new(n: usize) -> Batch {
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

pub(super) struct Buffers {
    pub(super) triggered: Vec<bool>,
    pub(super) payouts: Vec<u64>,
    pub(super) taken: Vec<[u64; 4]>,
    pub(super) left: Vec<u64>,
    pub(super) tranche_losses: Vec<u64>,
    pub(super) total: u64,
    pub(super) owed: u64,
    pub(super) short: bool,
    /// `payouts` and `tranche_losses` hold a previous scenario's losses.
    pub(super) dirty: bool,
}

impl Buffers {
    pub(super) fn new(n: usize, k: usize) -> Buffers {
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
    pub(super) fn clear(&mut self) {
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

    pub(super) fn outcome(&self) -> Outcome<'_> {
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
