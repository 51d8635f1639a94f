//! `cover pool`: create a pool from a deployment file, show one.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anyhow::Result;
use clap::Subcommand;
use coverage_sdk::transport::Transport;
use serde_json::json;

use crate::output::{amount, pairs, table};
use crate::Cli;

use super::{key, pool_keys, reader, supply};

/// `cover pool`.
#[derive(Subcommand, Debug)]
pub enum PoolCmd {
    /// Create the pool (and its tranches) described by a deployment TOML.
    Init {
        /// Deployment file (see migrations/).
        #[arg(long)]
        config: PathBuf,
        /// Print what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show a pool: tranches, capital, fees, markets.
    Show {
        /// Pool address.
        #[arg(long)]
        pool: String,
    },
}

/// `cover pool …`.
pub async fn pool(cli: &Cli, cmd: &PoolCmd) -> Result<()> {
    match cmd {
        PoolCmd::Init { config, dry_run } => {
            super::migrate::run_plan(cli, config, *dry_run, Some("initialize_pool")).await
        }
        PoolCmd::Show { pool } => {
            let mut t = reader(cli);
            let pool = key(pool)?;
            show_pool(&mut t, &pool, cli.json).await
        }
    }
}

/// Prints a pool (shared with the demo).
pub async fn show_pool<T: Transport>(t: &mut T, pool: &Pubkey, json_out: bool) -> Result<()> {
    let (p, keys) = pool_keys(t, pool).await?;
    let d = p.collateral_decimals;
    let mut tranches = Vec::new();
    for i in 0..p.tranche_count {
        let tr = p.tranches[i as usize];
        let supply = supply(t, &keys.share_mint(i)).await?;
        let sp = coverage_core::shares::share_price_scaled(tr.assets, supply + tr.dead_shares, 1_000_000_000)?;
        tranches.push((i, tr, supply, sp));
    }
    if json_out {
        let v: Vec<_> = tranches
            .iter()
            .map(|(i, tr, s, sp)| json!({"tranche": i, "weight_bps": tr.premium_weight_bps, "assets": tr.assets, "shares": s, "share_price": *sp as f64 / 1e9, "share_mint": tr.share_mint.to_string()}))
            .collect();
        println!(
            "{}",
            json!({"pool": pool.to_string(), "authority": p.authority.to_string(), "collateral_mint": p.collateral_mint.to_string(), "capital": p.capital()?, "fees_owed": p.fees_owed, "reserves": p.reserves_total, "markets": p.market_count, "paused": p.paused, "tranches": v})
        );
        return Ok(());
    }
    pairs(&[
        ("pool", pool.to_string()),
        ("authority", p.authority.to_string()),
        ("collateral", p.collateral_mint.to_string()),
        ("capital", amount(p.capital()?, d)),
        ("reserves", amount(p.reserves_total, d)),
        ("fees owed", amount(p.fees_owed, d)),
        ("markets", p.market_count.to_string()),
        (
            "cooldown / window",
            format!("{} s / {} s", p.cooldown, p.withdraw_window),
        ),
        ("max leverage", format!("{:.2}x", f64::from(p.max_leverage_bps) / 1e4)),
        ("paused", p.paused.to_string()),
    ]);
    let rows: Vec<Vec<String>> = tranches
        .iter()
        .map(|(i, tr, s, sp)| {
            vec![
                i.to_string(),
                format!("{} bps", tr.premium_weight_bps),
                amount(tr.assets, d),
                amount(*s, d),
                crate::output::share_price(*sp),
            ]
        })
        .collect();
    println!();
    table(&["tranche", "weight", "assets", "shares", "share price"], &rows);
    Ok(())
}
