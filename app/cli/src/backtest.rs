//! `cover backtest`: every row of a price CSV through the real program on the
//! embedded bank, the clock at each row's publish time.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use coverage_pool::state::{MarketStatus, PayoutShape, PricingCurve};
use coverage_sdk::bank::BankTransport;
use coverage_sdk::config::{usd, Deployment};
use coverage_sdk::ix;
use coverage_sdk::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use coverage_sdk::transport::{fetch, SendMode, Transport};
use serde::Serialize;

/// `cover backtest` arguments.
#[derive(Args, Debug)]
pub struct BacktestArgs {
    /// CSV with a header and columns publish_time (unix s), price, conf (USD).
    #[arg(long)]
    pub prices: PathBuf,
    /// Strike, USD.
    #[arg(long)]
    pub strike: f64,
    /// Recovery price, USD (≥ strike).
    #[arg(long)]
    pub recovery: f64,
    /// Trigger duration, seconds.
    #[arg(long)]
    pub duration: u32,
    /// Max gap between observations, seconds.
    #[arg(long)]
    pub max_gap: u32,
    /// Max confidence, bps of price.
    #[arg(long)]
    pub max_conf_bps: u16,
}

pub use coverage_sdk::pyth::{parse_csv, Row};

/// What a backtest found.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Outcome {
    /// The market triggered.
    pub triggered: bool,
    /// Start of the triggering streak (unix), or null.
    pub streak_start: Option<i64>,
    /// Trigger time (unix), or null.
    pub trigger_time: Option<i64>,
    /// Rows the program accepted (up to and including the triggering one).
    pub accepted: u64,
    /// Rows the program rejected (same span).
    pub rejected: u64,
    /// Lowest price + conf of the triggering streak, USD, or null.
    pub lowest_price: Option<f64>,
}

/// Replays `rows` through the program on a fresh bank.
pub async fn replay(rows: &[Row], a: &BacktestArgs) -> Result<Outcome> {
    let feed = [0x42u8; 32];
    let deployment = Deployment::parse(
        "[pool]\npool_id = 1\ntranches = [{ name = \"all\", weight_bps = 10000 }]\ncooldown_secs = 604800\nwithdraw_window_secs = 172800\nmax_leverage_bps = 10000\nprotocol_fee_bps = 0\n",
    )?;
    // the market is created early enough to be open (past its governance delay) an hour before the first row
    let created = rows[0].publish_time - 3_600 - deployment.pool.governance_delay();
    let mut bank = BankTransport::start(created).await?;
    let (keys, _, _) = bank.deploy(&deployment).await?;
    let args = coverage_pool::instructions::CreateMarketArgs {
        feed_id: feed,
        strike: usd(a.strike)?,
        recovery: usd(a.recovery)?,
        duration: a.duration,
        max_gap: a.max_gap,
        max_price_age: 60,
        max_conf_bps: a.max_conf_bps,
        payout: PayoutShape::Binary,
        curve: PricingCurve {
            base_rate_bps: 200,
            slope_below_kink_bps: 800,
            slope_above_kink_bps: 4_000,
            kink_utilization_bps: 8_000,
        },
        allocation_bps: 10_000,
        activation_delay: 120,
    };
    let payer = bank.payer();
    bank.send(
        &[ix::create_market(&payer, &payer, &keys.pool, 0, args)],
        &[],
        SendMode::Send,
    )
    .await
    .context("the program refused these market terms")?;
    let market = coverage_sdk::pda::market(&keys.pool, 0).0;
    let account = push_feed_address(&feed, SPONSORED_SHARD);
    let (mut accepted, mut rejected) = (0u64, 0u64);
    for row in rows {
        bank.set_time(row.publish_time).await?;
        bank.install_price(&account, &PriceUpdate::new(feed, row.price, row.conf, row.publish_time));
        match bank
            .send(&[ix::check_trigger(&market, &keys.pool, &account)], &[], SendMode::Send)
            .await
        {
            Ok(_) => accepted += 1,
            Err(_) => rejected += 1,
        }
        let m: coverage_pool::state::Market = fetch(&mut bank, &market).await?;
        if m.status == MarketStatus::Triggered {
            return Ok(Outcome {
                triggered: true,
                streak_start: Some(m.event.streak_start),
                trigger_time: Some(m.event.trigger_time),
                accepted,
                rejected,
                lowest_price: Some(m.event.lowest_price as f64 / 1e8),
            });
        }
    }
    Ok(Outcome {
        triggered: false,
        streak_start: None,
        trigger_time: None,
        accepted,
        rejected,
        lowest_price: None,
    })
}

/// `cover backtest`.
pub async fn run(a: &BacktestArgs, json: bool) -> Result<()> {
    let text = std::fs::read_to_string(&a.prices).with_context(|| format!("reading {}", a.prices.display()))?;
    let rows = parse_csv(&text).with_context(|| format!("{}", a.prices.display()))?;
    use std::io::Write;
    let mut stdout = crate::output::capture_program_logs()?;
    let out = replay(&rows, a).await?;
    if json {
        writeln!(stdout, "{}", serde_json::to_string(&out)?)?;
        return Ok(());
    }
    use crate::output::{pairs_to, time};
    let opt_time = |t: Option<i64>| t.map(|t| format!("{t} ({})", time(t))).unwrap_or_else(|| "-".into());
    pairs_to(
        &mut stdout,
        &[
            ("rows", rows.len().to_string()),
            ("triggered", out.triggered.to_string()),
            ("streak start", opt_time(out.streak_start)),
            ("trigger time", opt_time(out.trigger_time)),
            ("accepted", out.accepted.to_string()),
            ("rejected", out.rejected.to_string()),
            (
                "lowest price + conf",
                out.lowest_price
                    .map(|p| format!("{p:.8}"))
                    .unwrap_or_else(|| "-".into()),
            ),
        ],
    );
    Ok(())
}
