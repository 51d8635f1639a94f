//! Tail statistics: the integer tallies of a set of scenarios, their exact
//! merge, the exceedance histogram, and the loss records kept only where
//! they can still be in the tail (VaR, ES, Euler contributions, capital needed).

use super::sampling::Buffers;
use super::EXCEEDANCE_POINTS;

/// How many of the largest losses must survive trimming.
pub(super) struct Keep {
    /// For VaR / ES at [`LEVEL`](super::LEVEL) (records of total paid with market payouts).
    pub(super) paid: usize,
    /// For `capital_needed` (records of total owed).
    pub(super) owed: usize,
}

/// Tail size `N − m + 1` with `m = ⌈N α⌉`: the scenarios from the α-quantile up.
pub(super) fn tail_count(n: u64, alpha: f64) -> u64 {
    let m = ((n as f64) * alpha - 1e-9).ceil().clamp(1.0, n as f64) as u64;
    n - m + 1
}

/// The exceedance bin of a loss `total > 0`: `⌈total B / max⌉ − 1`, i.e. the
/// number of edges `⌊max j / B⌋`, `j ≥ 1`, strictly below `total`.
#[inline]
pub(super) fn exceedance_bin(total: u64, max_loss: u64) -> usize {
    match total.checked_mul(EXCEEDANCE_POINTS as u64) {
        Some(x) => ((x - 1) / max_loss) as usize,
        None => ((total as u128 * EXCEEDANCE_POINTS as u128 - 1) / max_loss as u128) as usize,
    }
}

/// The least value a loss in bin `bin` or above can have, minus one: the
/// bin's lower edge `⌊max bin / B⌋` (a loss `x > 0` is in bin `bin` or above
/// iff `x > edge`).
pub(super) fn bin_edge(bin: usize, max: u64) -> u64 {
    (max as u128 * bin as u128 / EXCEEDANCE_POINTS as u128) as u64
}

/// The bin holding the `r`-th largest of the values counted by `hist`
/// (every value among the `r` largest, ties included, is in it or above);
/// bin 0 when fewer than `r` values were counted.
pub(super) fn tail_bin(hist: &[u64], r: usize) -> usize {
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
pub(super) const TRIM_FLOOR: usize = 1 << 21;

/// Integer tallies of a set of scenarios; merging is exact and order-free.
pub(super) struct Acc {
    pub(super) n: usize,
    /// Scales of the histograms: the largest total paid and total owed.
    pub(super) max_paid: u64,
    pub(super) max_owed: u64,
    pub(super) n_loss: u64,
    pub(super) n_short: u64,
    pub(super) sum_paid: u128,
    pub(super) triggers: Vec<u64>,
    pub(super) market_paid: Vec<u128>,
    pub(super) tranche_hits: Vec<u64>,
    pub(super) tranche_loss: Vec<u128>,
    /// Scenarios with a loss by [`exceedance_bin`] of their total paid.
    pub(super) hist: Vec<u64>,
    /// Scenarios owing anything by [`exceedance_bin`] of their total owed.
    pub(super) owed_hist: Vec<u64>,
    /// Scenarios with a loss: `[total, payout_0, …, payout_{n−1}]` each
    /// (all of a chunk's; only those that may be in the tail once merged).
    pub(super) recs: Vec<u64>,
    /// Totals owed of the scenarios that owe anything (same).
    pub(super) owed: Vec<u64>,
    /// Record counts past which `take_records` trims again.
    pub(super) trim_at: (usize, usize),
}

impl Acc {
    pub(super) fn new(n: usize, k: usize, max_paid: u64, max_owed: u64) -> Acc {
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

    pub(super) fn add(&mut self, b: &Buffers) {
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
    pub(super) fn merge_tallies(&mut self, o: &Acc) {
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
    pub(super) fn cuts(&self, keep: &Keep) -> (u64, u64) {
        (
            bin_edge(tail_bin(&self.hist, keep.paid), self.max_paid),
            bin_edge(tail_bin(&self.owed_hist, keep.owed), self.max_owed),
        )
    }

    /// Takes the records of `o` above the cuts (its tallies must already be
    /// merged), then trims exactly if the records still grow large.
    pub(super) fn take_records(&mut self, o: &Acc, cuts: (u64, u64), keep: &Keep) {
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
    pub(super) fn trim(&mut self, keep: &Keep) {
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
pub(super) fn kth_largest(mut v: Vec<u64>, r: usize) -> u64 {
    if r == 0 || r > v.len() {
        return 0;
    }
    *v.select_nth_unstable_by(r - 1, |a, b| b.cmp(a)).1
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
}
