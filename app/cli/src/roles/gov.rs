//! `cover gov`: two-step authority, queued parameter changes, pause.

use anchor_lang::prelude::Pubkey;
use anyhow::{bail, Result};
use clap::Subcommand;
use coverage_pool::state::Market;
use coverage_sdk::ix::{self};
use coverage_sdk::pda;
use coverage_sdk::transport::{fetch, SendMode, Transport};
use serde_json::json;

use crate::Cli;

use super::{key, pool_keys, say, transport_for};

/// `cover gov`.
#[derive(Subcommand, Debug)]
pub enum GovCmd {
    /// Propose a new pool authority (step 1; e.g. a Squads vault).
    ProposeAuthority {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        new_authority: String,
    },
    /// Accept the authority (step 2; signed by the proposed key).
    AcceptAuthority {
        #[arg(long)]
        pool: String,
    },
    /// Queue new pool parameters (applied by anyone after cooldown + window + 1 day).
    QueuePool {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        fee_bps: Option<u16>,
        #[arg(long)]
        max_leverage_bps: Option<u32>,
        #[arg(long)]
        cooldown: Option<u32>,
        #[arg(long)]
        window: Option<u32>,
        /// Premium weights, junior first, e.g. 7000,3000.
        #[arg(long, value_delimiter = ',')]
        weights: Option<Vec<u16>>,
    },
    /// Cancel the queued pool change.
    CancelPool {
        #[arg(long)]
        pool: String,
    },
    /// Apply the due pool change (anyone).
    ApplyPool {
        #[arg(long)]
        pool: String,
    },
    /// Queue a market's new pricing curve / allocation / activation delay.
    QueueMarket {
        #[arg(long)]
        market: String,
        #[arg(long)]
        base_bps: Option<u32>,
        #[arg(long)]
        slope_below_kink_bps: Option<u32>,
        #[arg(long)]
        slope_above_kink_bps: Option<u32>,
        #[arg(long)]
        kink_bps: Option<u32>,
        #[arg(long)]
        allocation_bps: Option<u32>,
        #[arg(long)]
        activation_delay: Option<u32>,
    },
    /// Cancel a market's queued change.
    CancelMarket {
        #[arg(long)]
        market: String,
    },
    /// Apply a market's due change (anyone).
    ApplyMarket {
        #[arg(long)]
        market: String,
    },
    /// Pause or resume deposits and cover sales (pool, or one market). Never blocks redemptions or payouts.
    Pause {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        market: Option<String>,
        /// Resume instead of pause.
        #[arg(long)]
        resume: bool,
    },
    /// Show queued changes and a pending authority transfer.
    Pending {
        #[arg(long)]
        pool: String,
    },
}

/// `cover gov …`.
pub async fn gov(cli: &Cli, cmd: &GovCmd) -> Result<()> {
    // `gov pending` only reads: no keypair needed
    let signs = !matches!(cmd, GovCmd::Pending { .. });
    let mut t = transport_for(cli, signs)?;
    let me = t.payer();
    let (name, ix) = match cmd {
        GovCmd::ProposeAuthority { pool, new_authority } => (
            "propose_authority",
            ix::propose_authority(&me, &key(pool)?, &key(new_authority)?),
        ),
        GovCmd::AcceptAuthority { pool } => ("accept_authority", ix::accept_authority(&me, &key(pool)?)),
        GovCmd::QueuePool {
            pool,
            fee_bps,
            max_leverage_bps,
            cooldown,
            window,
            weights,
        } => {
            let address = key(pool)?;
            let (p, _) = pool_keys(&mut t, &address).await?;
            let mut w = [0u16; 4];
            for (slot, t) in w.iter_mut().zip(p.tranches.iter()).take(p.tranche_count as usize) {
                *slot = t.premium_weight_bps;
            }
            if let Some(new) = weights {
                if new.len() != p.tranche_count as usize {
                    bail!("--weights needs {} values (one per tranche)", p.tranche_count);
                }
                w = [0; 4];
                w[..new.len()].copy_from_slice(new);
            }
            let change = coverage_pool::PoolParamsChange {
                protocol_fee_bps: fee_bps.unwrap_or(p.protocol_fee_bps),
                max_leverage_bps: max_leverage_bps.unwrap_or(p.max_leverage_bps),
                cooldown: cooldown.unwrap_or(p.cooldown),
                withdraw_window: window.unwrap_or(p.withdraw_window),
                weights_bps: w,
            };
            ("queue_pool_params", ix::queue_pool_params(&me, &address, change))
        }
        GovCmd::CancelPool { pool } => ("cancel_pool_params", ix::cancel_pool_params(&me, &key(pool)?)),
        GovCmd::ApplyPool { pool } => ("apply_pool_params", ix::apply_pool_params(&key(pool)?)),
        GovCmd::QueueMarket {
            market,
            base_bps,
            slope_below_kink_bps,
            slope_above_kink_bps,
            kink_bps,
            allocation_bps,
            activation_delay,
        } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            let change = coverage_pool::MarketParamsChange {
                curve: coverage_pool::state::PricingCurve {
                    base_rate_bps: base_bps.unwrap_or(m.curve.base_rate_bps),
                    slope_below_kink_bps: slope_below_kink_bps.unwrap_or(m.curve.slope_below_kink_bps),
                    slope_above_kink_bps: slope_above_kink_bps.unwrap_or(m.curve.slope_above_kink_bps),
                    kink_utilization_bps: kink_bps.unwrap_or(m.curve.kink_utilization_bps),
                },
                allocation_bps: allocation_bps.unwrap_or(m.allocation_bps),
                activation_delay: activation_delay.unwrap_or(m.activation_delay),
            };
            (
                "queue_market_params",
                ix::queue_market_params(&me, &m.pool, &address, change),
            )
        }
        GovCmd::CancelMarket { market } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            ("cancel_market_params", ix::cancel_market_params(&me, &m.pool, &address))
        }
        GovCmd::ApplyMarket { market } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            ("apply_market_params", ix::apply_market_params(&m.pool, &address))
        }
        GovCmd::Pause { pool, market, resume } => {
            let pool = key(pool)?;
            match market {
                Some(m) => (
                    "set_market_paused",
                    ix::set_market_paused(&me, &pool, &key(m)?, !resume),
                ),
                None => ("set_pool_paused", ix::set_pool_paused(&me, &pool, !resume)),
            }
        }
        GovCmd::Pending { pool } => {
            let address = key(pool)?;
            let (p, _) = pool_keys(&mut t, &address).await?;
            let mut markets = Vec::new();
            for i in 0..p.market_count {
                let a = pda::market(&address, i).0;
                let m: Market = fetch(&mut t, &a).await?;
                if m.pending_change_eta != 0 {
                    markets.push(json!({"market": a.to_string(), "eta": m.pending_change_eta, "change": format!("{:?}", m.pending_change)}));
                }
            }
            let v = json!({
                "pool": address.to_string(),
                "pending_authority": (p.pending_authority != Pubkey::default()).then(|| p.pending_authority.to_string()),
                "pool_change": (p.pending_change_eta != 0).then(|| json!({"eta": p.pending_change_eta, "change": format!("{:?}", p.pending_change)})),
                "market_changes": markets,
            });
            println!(
                "{}",
                if cli.json {
                    v.to_string()
                } else {
                    serde_json::to_string_pretty(&v)?
                }
            );
            return Ok(());
        }
    };
    let sig = t.send(&[ix], &[], SendMode::Send).await?;
    say(cli, name, &sig, json!({}));
    Ok(())
}
