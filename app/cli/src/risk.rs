//! `cover risk`: the risk engine (`coverage-risk`) on a portfolio file, on a
//! pool read from a cluster, or on the demo's pool.

use std::path::PathBuf;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use coverage_pool::state::{CoverBook, Market, MarketStatus, PayoutShape, Pool};
use coverage_risk::{Beta, Copula, Correlation, Frequency, History, Payout, Portfolio, PriceHistory};
use coverage_sdk::transport::{fetch, fetch_zero_copy, Transport};
use coverage_sdk::{ix::PoolKeys, pda};

use crate::output::{pairs_to, table_to};

/// `cover risk` arguments.
#[derive(Args, Debug)]
pub struct RiskArgs {
    /// Portfolio TOML (see risk/portfolio.toml).
    #[arg(long, conflicts_with_all = ["demo", "pool"])]
    pub portfolio: Option<PathBuf>,
    /// Read the demo's pool (runs the demo quietly on the embedded bank).
    #[arg(long, conflicts_with = "pool")]
    pub demo: bool,
    /// Read a pool from the cluster (--url): capital by tranche, markets, active cover.
    #[arg(long)]
    pub pool: Option<String>,
    /// Scenarios.
    #[arg(long, default_value_t = 1_000_000)]
    pub scenarios: u64,
    /// Seed (same seed, same report, whatever the thread count).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Target solvency for the capital needed.
    #[arg(long, default_value_t = 0.995)]
    pub target: f64,
    /// Annual cost of capital in the suggested rates.
    #[arg(long, default_value_t = 0.10)]
    pub cost_of_capital: f64,
    /// For --pool/--demo: Beta prior of each market's annual trigger probability.
    #[arg(long, conflicts_with = "portfolio", num_args = 2, value_names = ["ALPHA", "BETA"], default_values_t = [1.0, 19.0])]
    pub prior: Vec<f64>,
    /// For --pool/--demo: observed history, years and years with an event.
    #[arg(long, conflicts_with = "portfolio", num_args = 2, value_names = ["YEARS", "EVENTS"])]
    pub history: Option<Vec<f64>>,
    /// For --pool/--demo: Gaussian-copula correlation between every two markets.
    #[arg(long, conflicts_with = "portfolio", default_value_t = 0.5)]
    pub correlation: f64,
    /// Write the plots (loss exceedance, tranche loss probabilities; SVG and PNG) and the JSON report here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Builds a portfolio from a pool's accounts: tranche assets as capital,
/// every open market's active cover, the given prior, a Gaussian copula.
pub async fn portfolio_from_pool<T: Transport>(t: &mut T, keys: &PoolKeys, a: &RiskArgs) -> Result<Portfolio> {
    let p: Pool = fetch(t, &keys.pool).await?;
    let unit = 10f64.powi(i32::from(p.collateral_decimals));
    let capital: Vec<f64> = p
        .tranches
        .iter()
        .take(p.tranche_count as usize)
        .map(|tr| tr.assets as f64 / unit)
        .collect();
    let today = coverage_core::policy::day_of(t.now().await?);
    let mut markets = Vec::new();
    for i in 0..p.market_count {
        let address = pda::market(&keys.pool, i).0;
        let m: Market = fetch(t, &address).await?;
        if matches!(m.status, MarketStatus::Closed | MarketStatus::Triggered) {
            continue;
        }
        let book: CoverBook = fetch_zero_copy(t, &m.book).await?;
        let cover = book.active_cover_on(today)? as f64 / unit;
        let payout = match m.payout {
            PayoutShape::Binary => Payout::Binary,
            PayoutShape::Linear { floor_price } => Payout::Linear {
                strike: m.strike as f64 / 1e8,
                floor: floor_price as f64 / 1e8,
                severity: Beta { alpha: 2.0, beta: 5.0 },
            },
        };
        let history = a.history.as_ref().map(|h| History {
            years: h[0],
            events: h[1],
        });
        markets.push(coverage_risk::Market {
            name: format!("market {i} ({})", &coverage_sdk::pyth::feed_id_hex(&m.feed_id)[..10]),
            cover,
            frequency: Frequency::Prior {
                prior: Beta {
                    alpha: a.prior[0],
                    beta: a.prior[1],
                },
                history,
            },
            payout,
        });
    }
    if markets.is_empty() {
        bail!("the pool has no open market with cover to assess");
    }
    let n = markets.len();
    let matrix = (0..n)
        .map(|r| (0..n).map(|c| if r == c { 1.0 } else { a.correlation }).collect())
        .collect();
    let portfolio = Portfolio {
        horizon_days: 365.0,
        tranche_names: coverage_risk::default_tranche_names(capital.len()),
        capital,
        markets,
        correlation: Correlation {
            copula: Copula::Gaussian,
            matrix,
        },
    };
    portfolio.validate().map_err(|e| anyhow!("{e}"))?;
    Ok(portfolio)
}

/// One observed year per window of at most 365 days of each price file; an
/// event year when the real program's trigger rule fires in it (the
/// backtest, replayed on the embedded bank with the spec's trigger terms).
pub async fn history_from_prices(dir: &std::path::Path, spec: &PriceHistory) -> Result<History> {
    const YEAR: i64 = 365 * 86_400;
    if spec.prices.is_empty() {
        bail!("prices: name at least one price file");
    }
    let (mut years, mut events) = (0u32, 0u32);
    for file in &spec.prices {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let rows = coverage_sdk::pyth::parse_csv(&text).with_context(|| format!("{}", path.display()))?;
        let args = crate::backtest::BacktestArgs {
            prices: path.clone(),
            strike: spec.strike,
            recovery: spec.recovery,
            duration: spec.duration,
            max_gap: spec.max_gap,
            max_conf_bps: spec.max_conf_bps,
        };
        let mut start = 0;
        while start < rows.len() {
            let end = rows[start..]
                .iter()
                .position(|r| r.publish_time >= rows[start].publish_time + YEAR)
                .map_or(rows.len(), |k| start + k);
            let outcome = crate::backtest::replay(&rows[start..end], &args)
                .await
                .with_context(|| format!("{}: backtest", path.display()))?;
            years += 1;
            events += u32::from(outcome.triggered);
            start = end;
        }
    }
    Ok(History {
        years: f64::from(years),
        events: f64::from(events),
    })
}

/// `cover risk`.
pub async fn run(cli: &crate::Cli, a: &RiskArgs) -> Result<()> {
    let stdout = std::cell::RefCell::new(crate::output::capture_program_logs()?);
    let portfolio = if let Some(path) = &a.portfolio {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let bad = |e: coverage_risk::RiskError| anyhow!("{}: {e}", path.display());
        // histories given as price files: the backtest, on the embedded bank, first
        let mut resolved = std::collections::HashMap::new();
        for (i, spec) in Portfolio::price_histories(&text).map_err(bad)? {
            let dir = path.parent().unwrap_or(std::path::Path::new("."));
            let h = history_from_prices(dir, &spec)
                .await
                .with_context(|| format!("{}: market #{}: history from prices", path.display(), i + 1))?;
            resolved.insert(i, h);
        }
        Portfolio::from_toml_resolving(&text, |i, _| {
            resolved.get(&i).copied().ok_or_else(|| "not resolved".into())
        })
        .map_err(bad)?
    } else if a.demo {
        let (mut bank, keys) = crate::demo::play(true, None, true, &stdout).await?;
        portfolio_from_pool(&mut bank, &keys, a).await?
    } else if let Some(pool) = &a.pool {
        let pool = Pubkey::from_str(pool).map_err(|_| anyhow!("{pool:?} is not a base58 address"))?;
        let signer = crate::cluster::keypair(&cli.keypair).unwrap_or_else(|_| solana_keypair::Keypair::new());
        let mut t = coverage_sdk::transport::RpcTransport::new(&crate::cluster::url(&cli.url), signer);
        let p: Pool = fetch(&mut t, &pool).await?;
        let keys = PoolKeys {
            pool,
            collateral_mint: p.collateral_mint,
            token_program: p.token_program,
        };
        portfolio_from_pool(&mut t, &keys, a).await?
    } else {
        bail!("say what to assess: --portfolio FILE, --demo, or --pool ADDRESS");
    };
    let opts = coverage_risk::Options {
        scenarios: a.scenarios,
        seed: a.seed,
        target: a.target,
        cost_of_capital: a.cost_of_capital,
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(a.scenarios), indicatif::ProgressDrawTarget::stderr());
    let started = std::time::Instant::now();
    let progress = |done: u64| bar.set_position(done);
    let report = coverage_risk::simulate_with(&portfolio, &opts, Some(&progress)).map_err(|e| anyhow!("{e}"))?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)?;
        coverage_risk::plot::write(&coverage_risk::plot::exceedance(&report), dir, "loss_exceedance")?;
        coverage_risk::plot::write(&coverage_risk::plot::tranche_losses(&report), dir, "tranche_losses")?;
        std::fs::write(dir.join("risk.json"), serde_json::to_string_pretty(&report)?)?;
    }
    use std::io::Write;
    let mut w = stdout.borrow_mut();
    if cli.json {
        writeln!(w, "{}", serde_json::to_string(&report)?)?;
        return Ok(());
    }
    let money = |x: f64| format!("{x:.2}");
    pairs_to(
        &mut *w,
        &[
            (
                "scenarios",
                format!("{} ({:.2} s)", report.scenarios, elapsed.as_secs_f64()),
            ),
            ("p(any market pays)", format!("{:.4}", report.p_loss)),
            ("expected loss", money(report.expected_loss)),
            ("VaR 99.5 %", money(report.var_99_5)),
            ("ES 99.5 %", money(report.es_99_5)),
            ("p(shortfall)", format!("{:.6}", report.p_shortfall)),
            (
                "capital needed",
                format!(
                    "{} for {:.1} % solvency (have {})",
                    money(report.capital_needed),
                    report.target * 100.0,
                    money(report.total_capital)
                ),
            ),
        ],
    );
    writeln!(w)?;
    let rows: Vec<Vec<String>> = report
        .tranches
        .iter()
        .map(|t| {
            vec![
                t.name.clone(),
                money(t.capital),
                format!("{:.5}", t.p_loss),
                money(t.expected_loss),
            ]
        })
        .collect();
    table_to(&mut *w, &["tranche", "capital", "p(loss)", "expected loss"], &rows);
    writeln!(w)?;
    let rows: Vec<Vec<String>> = report
        .markets
        .iter()
        .map(|m| {
            vec![
                m.name.clone(),
                money(m.cover),
                format!("{:.5}", m.p_trigger),
                money(m.expected_loss),
                money(m.capital_contribution),
                format!("{:.1}", m.suggested_rate_bps),
                m.posterior
                    .as_ref()
                    .map(|p| format!("{:.4} [{:.4}, {:.4}]", p.mean, p.ci_90[0], p.ci_90[1]))
                    .unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table_to(
        &mut *w,
        &[
            "market",
            "cover",
            "p(trigger)",
            "expected loss",
            "ES contribution",
            "rate bps",
            "posterior mean [90 % CI]",
        ],
        &rows,
    );
    Ok(())
}
