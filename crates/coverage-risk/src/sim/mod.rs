//! The Monte Carlo: the chunked parallel run over the scenarios of a
//! [`Portfolio`]. Its parts: `model` (the portfolio in base units with its
//! samplers and trigger tests), `sampling` (batches of draws, the pool's
//! rules per scenario, a chunk's run), `tail` (the integer tallies and the
//! tail records VaR and ES need) and `report` (the statistics of a run).

mod model;
mod report;
mod sampling;
mod tail;

use crate::error::RiskError;
use crate::portfolio::Portfolio;
pub use model::horizon_probability;
use model::Model;
use rayon::prelude::*;
pub use report::{ExceedancePoint, MarketReport, PosteriorReport, Report, TrancheReport};
pub use sampling::Outcome;
use tail::{tail_count, Acc, Keep};

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
