//! Test controls, each named `localnet_…` (surfpool names its cheat codes
//! `surfnet_…`): what a cluster cannot do and a test needs.
//!
//! - `localnet_info []` → the ready line, with the current clock and slot.
//! - `localnet_advanceClock [seconds]` → `{slot, unixTimestamp}`: moves the
//!   bank's clock forward (1 s to 10 years) and makes a block at the new time.
//! - `localnet_setClock [unixTimestamp]` → `{slot, unixTimestamp}`: the same,
//!   to a time (later than the clock, at most 10 years ahead), e.g. a moment
//!   of a replayed series.
//! - `localnet_setPrice [feed, {price, conf?, exponent?, publishTime?}]` →
//!   `{feedAccount, publishTime}`: writes a fully verified `PriceUpdateV2`
//!   for `feed` (a known name such as `"USDC/USD"`, or a feed id in hex) at
//!   its push-feed account; `price` and `conf` are integers with `exponent`
//!   (default −8). Without `publishTime` the price is held live (republished
//!   with the current time every clock second, as a sponsored feed); with it,
//!   written once and left alone. Either ends a `--prices` replay on that feed.
//! - `localnet_mintCollateral [owner, amount]` → `{signature, tokenAccount,
//!   amount}`: the faucet; mints `amount` base units of the collateral mint to
//!   the owner's associated token account (created if missing), in one
//!   transaction signed by the mint authority the server keeps.

use anchor_spl::associated_token::{get_associated_token_address_with_program_id, spl_associated_token_account};
use anchor_spl::token_2022::spl_token_2022;
use coverage_sdk::pyth::PriceUpdate;
use jsonrpc_core::Error;
use serde::Deserialize;
use serde_json::json;
use solana_signer::Signer;

use super::{invalid_param, method, Io};
use crate::ledger::execute::Preflight;
use crate::ledger::internal;

/// The longest single clock advance: ten years.
const MAX_ADVANCE_SECS: u64 = 10 * 366 * 86_400;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PriceParams {
    price: i64,
    #[serde(default)]
    conf: u64,
    exponent: Option<i32>,
    publish_time: Option<i64>,
}

fn feed_id(feed: &str) -> Result<[u8; 32], Error> {
    coverage_sdk::config::feed_id(feed).map_err(|e| invalid_param("feed", format!("{e:#}")))
}

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "localnet_info", |args, s| async move {
        args.at_most(0)?;
        s.run(|l| Box::pin(async move { l.info().ok_or_else(|| internal("not ready")) }))
            .await
    });
    method(io, "localnet_advanceClock", |args, s| async move {
        args.at_most(1)?;
        let secs: u64 = args.required(0, "seconds")?;
        if !(1..=MAX_ADVANCE_SECS).contains(&secs) {
            return Err(invalid_param("seconds", format!("must be 1 to {MAX_ADVANCE_SECS}")));
        }
        s.run(move |l| {
            Box::pin(async move {
                l.advance(secs as i64).await?;
                Ok(json!({ "slot": l.slot, "unixTimestamp": l.time.unix() }))
            })
        })
        .await
    });
    method(io, "localnet_setClock", |args, s| async move {
        args.at_most(1)?;
        let target: i64 = args.required(0, "unixTimestamp")?;
        s.run(move |l| {
            Box::pin(async move {
                let now = l.time.unix();
                let secs = target.saturating_sub(now);
                if !(1..=MAX_ADVANCE_SECS as i64).contains(&secs) {
                    return Err(invalid_param(
                        "unixTimestamp",
                        format!("must be after the bank's clock ({now}; it never goes back) and at most {MAX_ADVANCE_SECS} s ahead"),
                    ));
                }
                l.advance(secs).await?;
                Ok(json!({ "slot": l.slot, "unixTimestamp": l.time.unix() }))
            })
        })
        .await
    });
    method(io, "localnet_setPrice", |args, s| async move {
        args.at_most(2)?;
        let feed = feed_id(&args.required::<String>(0, "feed")?)?;
        let p: PriceParams = args.required(1, "price")?;
        s.run(move |l| {
            Box::pin(async move {
                let exponent = p.exponent.unwrap_or(-8);
                let (address, publish_time) = match p.publish_time {
                    Some(t) => (l.feeds.set_fixed(feed), t),
                    None => (l.feeds.set_live(feed, p.price, p.conf, exponent), l.time.unix()),
                };
                let update = PriceUpdate {
                    exponent,
                    ..PriceUpdate::new(feed, p.price, p.conf, publish_time)
                };
                l.write_price(&address, &update).await?;
                Ok(json!({ "feedAccount": address.to_string(), "publishTime": publish_time }))
            })
        })
        .await
    });
    method(io, "localnet_mintCollateral", |args, s| async move {
        args.at_most(2)?;
        let owner = args.pubkey(0, "owner")?;
        let amount: u64 = args.required(1, "amount")?;
        if amount == 0 {
            return Err(invalid_param("amount", "must be positive (base units)"));
        }
        s.run(move |l| {
            Box::pin(async move {
                let faucet = l.faucet.as_ref().ok_or_else(|| internal("no faucet"))?;
                let (mint, authority) = (faucet.mint, faucet.authority.insecure_clone());
                let payer = l.ctx.payer.pubkey();
                let token = anchor_spl::token::ID;
                let ata = get_associated_token_address_with_program_id(&owner, &mint, &token);
                let ixs = [
                    spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                        &payer, &owner, &mint, &token,
                    ),
                    spl_token_2022::instruction::mint_to(&token, &mint, &ata, &authority.pubkey(), &[], amount)
                        .map_err(internal)?,
                ];
                let signature = l.send_own(&ixs, &[&authority], "faucet", Preflight::Simulate).await?;
                Ok(json!({ "signature": signature.to_string(), "tokenAccount": ata.to_string(), "amount": amount }))
            })
        })
        .await
    });
}
