//! `cover market`: create markets from a deployment file, show and list them.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anyhow::Result;
use clap::Subcommand;
use coverage_pool::state::Market;
use coverage_sdk::pda;
use coverage_sdk::pyth::{feed_id_hex, push_feed_address, SPONSORED_SHARD};
use coverage_sdk::transport::fetch;
use serde_json::json;

use crate::output::{pairs, price, table, time};
use crate::Cli;

use super::{key, pool_keys, reader};

/// `cover market`.
#[derive(Subcommand, Debug)]
pub enum MarketCmd {
    /// Create the markets of a deployment TOML that the pool does not have yet.
    Create {
        /// Deployment file (see migrations/).
        #[arg(long)]
        config: PathBuf,
        /// Print what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show one market.
    Show {
        /// Market address.
        market: String,
    },
    /// List a pool's markets.
    List {
        /// Pool address.
        #[arg(long)]
        pool: String,
    },
}

fn market_row(address: &Pubkey, m: &Market) -> Vec<String> {
    vec![
        m.index.to_string(),
        address.to_string(),
        feed_id_hex(&m.feed_id)[..10].to_string() + "…",
        format!("{:?}{}", m.status, if m.paused { " (paused)" } else { "" }),
        price(m.strike),
        price(m.recovery),
        format!("{} s", m.duration),
        m.epoch.to_string(),
        m.policy_count.to_string(),
    ]
}

/// `cover market …`.
pub async fn market(cli: &Cli, cmd: &MarketCmd) -> Result<()> {
    match cmd {
        MarketCmd::Create { config, dry_run } => {
            super::migrate::run_plan(cli, config, *dry_run, Some("create_market")).await
        }
        MarketCmd::Show { market } => {
            let mut t = reader(cli);
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            if cli.json {
                println!(
                    "{}",
                    json!({"market": address.to_string(), "pool": m.pool.to_string(), "status": format!("{:?}", m.status), "paused": m.paused, "epoch": m.epoch, "feed_id": feed_id_hex(&m.feed_id), "feed_account": push_feed_address(&m.feed_id, SPONSORED_SHARD).to_string(), "strike": m.strike, "recovery": m.recovery, "duration": m.duration, "max_gap": m.max_gap, "max_price_age": m.max_price_age, "max_conf_bps": m.max_conf_bps, "last_publish_time": m.last_publish_time, "sales_open_at": m.sales_open_at, "streak_start": m.streak_start, "event": {"epoch": m.event.epoch, "streak_start": m.event.streak_start, "trigger_time": m.event.trigger_time, "lowest_price": m.event.lowest_price}, "policies": m.policy_count})
                );
                return Ok(());
            }
            pairs(&[
                ("market", address.to_string()),
                ("pool", m.pool.to_string()),
                (
                    "status",
                    format!("{:?}{}", m.status, if m.paused { " (paused)" } else { "" }),
                ),
                ("epoch", m.epoch.to_string()),
                ("sales open", time(m.sales_open_at)),
                ("feed id", feed_id_hex(&m.feed_id)),
                (
                    "push feed account",
                    push_feed_address(&m.feed_id, SPONSORED_SHARD).to_string(),
                ),
                (
                    "trigger",
                    format!(
                        "price + conf < {} for {} s (gap ≤ {} s), recovers at {}",
                        price(m.strike),
                        m.duration,
                        m.max_gap,
                        price(m.recovery)
                    ),
                ),
                (
                    "oracle",
                    format!("age ≤ {} s, conf ≤ {} bps", m.max_price_age, m.max_conf_bps),
                ),
                ("payout", format!("{:?}", m.payout)),
                (
                    "last observation",
                    if m.last_publish_time == 0 {
                        "-".into()
                    } else {
                        format!("{} at {}", price(m.last_price), time(m.last_publish_time))
                    },
                ),
                ("policies sold", m.policy_count.to_string()),
            ]);
            Ok(())
        }
        MarketCmd::List { pool } => {
            let mut t = reader(cli);
            let pool = key(pool)?;
            let (p, _) = pool_keys(&mut t, &pool).await?;
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for i in 0..p.market_count {
                let a = pda::market(&pool, i).0;
                let m: Market = fetch(&mut t, &a).await?;
                js.push(json!({"index": i, "market": a.to_string(), "status": format!("{:?}", m.status), "strike": m.strike, "epoch": m.epoch}));
                rows.push(market_row(&a, &m));
            }
            if cli.json {
                println!("{}", json!({ "markets": js }));
            } else {
                table(
                    &[
                        "#", "market", "feed", "status", "strike", "recovery", "duration", "epoch", "policies",
                    ],
                    &rows,
                );
            }
            Ok(())
        }
    }
}
