//! `cover cover`: a buyer's quote, purchase, policies, transfer and close.

use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anyhow::{anyhow, Result};
use clap::{Args, Subcommand};
use coverage_pool::state::{Market, Policy};
use coverage_sdk::ix::{self, BuyCoverKeys};
use coverage_sdk::pyth::{push_feed_address, SPONSORED_SHARD};
use coverage_sdk::transport::{fetch, SendMode, Transport};
use coverage_sdk::{pda, quote};
use serde_json::json;

use crate::output::{amount, pairs, parse_amount, table, time};
use crate::Cli;

use super::{key, pool_keys, say, transport_for};

/// What `quote` prices and `buy` buys.
#[derive(Args, Debug)]
pub struct CoverTerms {
    #[arg(long)]
    market: String,
    /// Amount covered, collateral tokens.
    #[arg(long)]
    amount: String,
    /// Length of cover, days.
    #[arg(long)]
    days: u16,
}

/// `cover cover`.
#[derive(Subcommand, Debug)]
pub enum CoverCmd {
    /// The premium buy would charge now (the program's own pricing code).
    Quote {
        #[command(flatten)]
        terms: CoverTerms,
    },
    /// Buy cover (the premium is capped at the quote plus --slippage-bps).
    Buy {
        #[command(flatten)]
        terms: CoverTerms,
        /// Extra premium accepted over the quote, bps.
        #[arg(long, default_value_t = 50)]
        slippage_bps: u64,
    },
    /// A market's policies.
    List {
        #[arg(long)]
        market: String,
    },
    /// Give a policy to a new owner.
    Transfer {
        #[arg(long)]
        policy: String,
        #[arg(long)]
        to: String,
    },
    /// Close a finished policy (rent to its owner).
    Close {
        #[arg(long)]
        policy: String,
    },
}

/// `cover cover …`.
pub async fn cover(cli: &Cli, cmd: &CoverCmd) -> Result<()> {
    // quote and list only read: no keypair needed
    let signs = matches!(
        cmd,
        CoverCmd::Buy { .. } | CoverCmd::Transfer { .. } | CoverCmd::Close { .. }
    );
    let mut t = transport_for(cli, signs)?;
    let me = t.payer();
    match cmd {
        CoverCmd::Quote {
            terms: CoverTerms {
                market,
                amount: a,
                days,
            },
        }
        | CoverCmd::Buy {
            terms: CoverTerms {
                market,
                amount: a,
                days,
            },
            ..
        } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            let (p, keys) = pool_keys(&mut t, &m.pool).await?;
            let ledger = coverage_sdk::transport::fetch_zero_copy(&mut t, &keys.ledger()).await?;
            let book = coverage_sdk::transport::fetch_zero_copy(&mut t, &m.book).await?;
            let now = t.now().await?;
            let amt = parse_amount(a, p.collateral_decimals)?;
            let premium = quote::premium(&p, &ledger, &m, &book, amt, *days, now)
                .map_err(|e| anyhow!(coverage_sdk::errors::explain(&format!("{e}"))))?;
            if let CoverCmd::Buy { slippage_bps, .. } = cmd {
                let max = premium + premium * slippage_bps / 10_000;
                let k = BuyCoverKeys {
                    keys,
                    market: address,
                    policy_id: m.policy_count,
                    payer_collateral: get_associated_token_address_with_program_id(
                        &me,
                        &keys.collateral_mint,
                        &keys.token_program,
                    ),
                    price_update: push_feed_address(&m.feed_id, SPONSORED_SHARD),
                };
                let sig = t
                    .send(&[ix::buy_cover(&me, &me, &k, amt, *days, max)], &[], SendMode::Send)
                    .await?;
                say(
                    cli,
                    "buy_cover",
                    &sig,
                    json!({"policy": pda::policy(&address, m.policy_count).0.to_string(), "premium_max": max}),
                );
            } else if cli.json {
                println!(
                    "{}",
                    json!({"market": address.to_string(), "amount": amt, "days": days, "premium": premium})
                );
            } else {
                pairs(&[
                    ("amount", amount(amt, p.collateral_decimals)),
                    ("days", days.to_string()),
                    ("premium", amount(premium, p.collateral_decimals)),
                    (
                        "annualized rate",
                        format!(
                            "{:.4} %",
                            premium as f64 / amt as f64 * 365.0 / f64::from(*days) * 100.0
                        ),
                    ),
                ]);
            }
        }
        CoverCmd::List { market } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            let (p, _) = pool_keys(&mut t, &m.pool).await?;
            let policies = t.policies(&address, m.policy_count).await?;
            if cli.json {
                let v: Vec<_> = policies.iter().map(|(a, x)| json!({"policy": a.to_string(), "owner": x.owner.to_string(), "amount": x.amount, "premium": x.premium, "epoch": x.epoch, "activation_time": x.activation_time, "end_time": x.end_time, "status": format!("{:?}", x.status), "payout": x.payout})).collect();
                println!("{}", json!({ "policies": v }));
            } else {
                let d = p.collateral_decimals;
                let rows: Vec<Vec<String>> = policies
                    .iter()
                    .map(|(a, x)| {
                        vec![
                            a.to_string(),
                            x.owner.to_string(),
                            amount(x.amount, d),
                            amount(x.premium, d),
                            time(x.end_time),
                            format!("{:?}", x.status),
                            amount(x.payout, d),
                        ]
                    })
                    .collect();
                table(
                    &["policy", "owner", "amount", "premium", "ends", "status", "payout"],
                    &rows,
                );
            }
        }
        CoverCmd::Transfer { policy, to } => {
            let sig = t
                .send(
                    &[ix::transfer_policy(&me, &key(policy)?, &key(to)?)],
                    &[],
                    SendMode::Send,
                )
                .await?;
            say(cli, "transfer_policy", &sig, json!({}));
        }
        CoverCmd::Close { policy } => {
            let address = key(policy)?;
            let p: Policy = fetch(&mut t, &address).await?;
            let sig = t
                .send(&[ix::close_policy(&p.owner, &address, &p.market)], &[], SendMode::Send)
                .await?;
            say(cli, "close_policy", &sig, json!({}));
        }
    }
    Ok(())
}
