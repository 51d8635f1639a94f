//! `cover stake`: a staker's deposit, withdrawal request, cancel, redemption and position.

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anyhow::{Context, Result};
use clap::Subcommand;
use coverage_pool::state::WithdrawalRequest;
use coverage_sdk::ix::{self};
use coverage_sdk::pda;
use coverage_sdk::transport::{SendMode, Transport};
use serde_json::json;
use solana_signer::Signer;

use crate::output::{amount, parse_amount, table, time};
use crate::{cluster, Cli};

use super::{balance, key, pool_keys, say, supply, transport_for};

/// `cover stake`.
#[derive(Subcommand, Debug)]
pub enum StakeCmd {
    /// Deposit collateral into a tranche (0 = junior).
    Deposit {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
        /// Amount in collateral tokens (e.g. 1000.5).
        #[arg(long)]
        amount: String,
        /// Fewest shares accepted (slippage bound), in share tokens.
        #[arg(long, default_value = "0")]
        min_shares: String,
    },
    /// Request a withdrawal of shares (redeemable after the cooldown, within the window).
    Request {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
        /// Shares in share tokens.
        #[arg(long)]
        shares: String,
    },
    /// Cancel your withdrawal request.
    Cancel {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
    },
    /// Redeem your withdrawal request.
    Withdraw {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
    },
    /// Your shares, their value and your requests.
    Show {
        #[arg(long)]
        pool: String,
        /// Whose position (default: the signer).
        #[arg(long)]
        owner: Option<String>,
    },
}

/// `cover stake …`.
pub async fn stake(cli: &Cli, cmd: &StakeCmd) -> Result<()> {
    // `stake show` only reads: no keypair needed (with --owner)
    let signs = !matches!(cmd, StakeCmd::Show { .. });
    let mut t = transport_for(cli, signs)?;
    let me = t.payer();
    // whose position `show` reads: --owner, else the keypair's (resolved before any request)
    let show_owner = match cmd {
        StakeCmd::Show { owner: Some(o), .. } => Some(key(o)?),
        StakeCmd::Show { owner: None, .. } => Some(
            cluster::keypair(&cli.keypair)
                .map(|k| k.pubkey())
                .context("whose position? pass --owner ADDRESS (or --keypair)")?,
        ),
        _ => None,
    };
    let pool_arg = match cmd {
        StakeCmd::Deposit { pool, .. }
        | StakeCmd::Request { pool, .. }
        | StakeCmd::Cancel { pool, .. }
        | StakeCmd::Withdraw { pool, .. }
        | StakeCmd::Show { pool, .. } => key(pool)?,
    };
    let (p, keys) = pool_keys(&mut t, &pool_arg).await?;
    let d = p.collateral_decimals;
    let ata =
        |owner: &Pubkey, mint: &Pubkey| get_associated_token_address_with_program_id(owner, mint, &keys.token_program);
    match cmd {
        StakeCmd::Deposit {
            tranche,
            amount: a,
            min_shares,
            ..
        } => {
            let shares_ata = ata(&me, &keys.share_mint(*tranche));
            let create = anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(&me, &me, &keys.share_mint(*tranche), &keys.token_program);
            let ix = ix::deposit(
                &me,
                &keys,
                *tranche,
                &ata(&me, &keys.collateral_mint),
                &shares_ata,
                parse_amount(a, d)?,
                parse_amount(min_shares, d)?,
            );
            let sig = t.send(&[create, ix], &[], SendMode::Send).await?;
            say(cli, "deposit", &sig, json!({}));
        }
        StakeCmd::Request { tranche, shares, .. } => {
            let ix = ix::request_withdrawal(
                &me,
                &keys,
                *tranche,
                &ata(&me, &keys.share_mint(*tranche)),
                parse_amount(shares, d)?,
            );
            let sig = t.send(&[ix], &[], SendMode::Send).await?;
            say(cli, "request_withdrawal", &sig, json!({}));
        }
        StakeCmd::Cancel { tranche, .. } => {
            let req = pda::withdrawal_request(&keys.pool, *tranche, &me).0;
            let ix = ix::cancel_withdrawal(&me, &keys, *tranche, &req, &ata(&me, &keys.share_mint(*tranche)));
            let sig = t.send(&[ix], &[], SendMode::Send).await?;
            say(cli, "cancel_withdrawal", &sig, json!({}));
        }
        StakeCmd::Withdraw { tranche, .. } => {
            let req = pda::withdrawal_request(&keys.pool, *tranche, &me).0;
            let prices = coverage_sdk::transport::market_price_updates(&mut t, &keys.pool, p.market_count).await?;
            let ix = ix::withdraw(&me, &keys, *tranche, &req, &ata(&me, &keys.collateral_mint), &prices);
            let sig = t.send(&[ix], &[], SendMode::Send).await?;
            say(cli, "withdraw", &sig, json!({}));
        }
        StakeCmd::Show { .. } => {
            let owner = show_owner.expect("resolved above");
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for i in 0..p.tranche_count {
                let tr = p.tranches[i as usize];
                let total = supply(&mut t, &keys.share_mint(i)).await? + tr.dead_shares;
                let held = balance(&mut t, &ata(&owner, &keys.share_mint(i))).await?;
                let req: Option<WithdrawalRequest> =
                    match t.account(&pda::withdrawal_request(&keys.pool, i, &owner).0).await? {
                        Some(a) => Some(coverage_sdk::decode(&a.data)?),
                        None => None,
                    };
                let value = coverage_core::shares::assets_for_shares(held, tr.assets, total)?;
                let req_s = req
                    .as_ref()
                    .map(|r| {
                        format!(
                            "{} shares, redeemable {} to {}",
                            amount(r.shares, d),
                            time(r.requested_at + i64::from(r.cooldown)),
                            time(r.requested_at + i64::from(r.cooldown) + i64::from(r.withdraw_window))
                        )
                    })
                    .unwrap_or_else(|| "-".into());
                js.push(json!({"tranche": i, "shares": held, "value": value, "request": req.map(|r| json!({"shares": r.shares, "value_at_request": r.value_at_request, "requested_at": r.requested_at}))}));
                rows.push(vec![i.to_string(), amount(held, d), amount(value, d), req_s]);
            }
            if cli.json {
                println!("{}", json!({"owner": owner.to_string(), "positions": js}));
            } else {
                table(&["tranche", "shares", "value", "withdrawal request"], &rows);
            }
        }
    }
    Ok(())
}
