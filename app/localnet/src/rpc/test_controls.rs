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
//!   its push-feed account; `price` (any `i64`: the program refuses a price
//!   that is not positive) and `conf` (any `u64`) are integers with
//!   `exponent` (−18 to 18, default −8). Without `publishTime` the price is
//!   held live (republished with the current time every clock second, as a
//!   sponsored feed); with it (0 to 10 years after the bank's clock),
//!   written once and left alone. Either ends a `--prices` replay on that feed.
//! - `localnet_mintCollateral [owner, amount]` → `{signature, tokenAccount,
//!   amount}`: the faucet; mints `amount` base units (at least 1; a supply
//!   past `u64::MAX` is the token program's refusal) of the collateral mint
//!   to the owner's associated token account (created if missing), in one
//!   transaction signed by the mint authority the server keeps.
//!
//! The clock never passes [`MAX_UNIX`] (9999-12-31). Every value out of its
//! range is -32602 naming it, and changes nothing.
//!
//! A test control answers only requests without an `Origin` header (curl,
//! the official clients, scripts) or from a page on this machine (an origin
//! on 127.0.0.1, localhost or [::1]), so a web page elsewhere cannot mint or
//! move the clock through a browser; `cover localnet --no-test-controls`
//! serves none but `localnet_info`.

use anchor_spl::associated_token::{get_associated_token_address_with_program_id, spl_associated_token_account};
use anchor_spl::token_2022::spl_token_2022;
use coverage_sdk::pyth::PriceUpdate;
use jsonrpc_core::Error;
use serde::Deserialize;
use serde_json::json;
use solana_signer::Signer;

use super::{invalid_param, method, Args, Io, Session};
use crate::ledger::execute::Preflight;
use crate::ledger::time::MAX_UNIX;
use crate::ledger::{internal, Ledger};

/// The longest single clock advance: ten years.
const MAX_ADVANCE_SECS: u64 = 10 * 366 * 86_400;
/// Price exponents a feed may be written with.
const EXPONENTS: std::ops::RangeInclusive<i32> = -18..=18;

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

/// The -32600 answer to a test control asked by a web page elsewhere.
fn foreign(name: &str, origin: &str) -> Error {
    Error {
        code: jsonrpc_core::ErrorCode::InvalidRequest,
        message: format!(
            "Invalid request: {name} is refused to the web page at {origin}: test controls answer requests \
             without an Origin header or from a page on this machine (127.0.0.1, localhost or [::1])"
        ),
        data: None,
    }
}

/// Registers `name` as a test control: refused to a foreign origin.
fn control<F, Fut, T>(io: &mut Io, name: &'static str, f: F)
where
    F: Fn(Args, Session) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<T, Error>> + Send + 'static,
    T: serde::Serialize + Send + 'static,
{
    let f = std::sync::Arc::new(f);
    method(io, name, move |args, s: Session| {
        let f = f.clone();
        async move {
            if let Some(origin) = &s.foreign_origin {
                return Err(foreign(name, origin));
            }
            f(args, s).await
        }
    });
}

/// How far the clock may move from `now`, at most: ten years, and never
/// past [`MAX_UNIX`].
fn max_advance(now: i64) -> i64 {
    (MAX_ADVANCE_SECS as i64).min(MAX_UNIX.saturating_sub(now))
}

/// Moves the clock by `secs` (checked by the caller) and answers the new time.
async fn advanced(l: &mut Ledger, secs: i64) -> Result<serde_json::Value, Error> {
    l.advance(secs).await?;
    Ok(json!({ "slot": l.slot, "unixTimestamp": l.time.unix() }))
}

/// Registers the group: `localnet_info`, and with `controls` the methods
/// that change the ledger.
pub fn register(io: &mut Io, controls: bool) {
    control(io, "localnet_info", |args, s| async move {
        args.at_most(0)?;
        s.run(|l| Box::pin(async move { l.info().ok_or_else(|| internal("not ready")) }))
            .await
    });
    if !controls {
        return;
    }
    control(io, "localnet_advanceClock", |args, s| async move {
        args.at_most(1)?;
        let secs: u64 = args.required(0, "seconds")?;
        if !(1..=MAX_ADVANCE_SECS).contains(&secs) {
            return Err(invalid_param("seconds", format!("must be 1 to {MAX_ADVANCE_SECS}")));
        }
        s.run(move |l| {
            Box::pin(async move {
                let now = l.time.unix();
                if secs as i64 > max_advance(now) {
                    return Err(invalid_param(
                        "seconds",
                        format!("the clock ({now}) may not pass {MAX_UNIX} (9999-12-31)"),
                    ));
                }
                advanced(l, secs as i64).await
            })
        })
        .await
    });
    control(io, "localnet_setClock", |args, s| async move {
        args.at_most(1)?;
        let target: i64 = args.required(0, "unixTimestamp")?;
        s.run(move |l| {
            Box::pin(async move {
                let now = l.time.unix();
                let secs = target.saturating_sub(now);
                if !(1..=max_advance(now)).contains(&secs) {
                    return Err(invalid_param(
                        "unixTimestamp",
                        format!(
                            "must be after the bank's clock ({now}; it never goes back), at most {MAX_ADVANCE_SECS} s ahead and at most {MAX_UNIX}"
                        ),
                    ));
                }
                advanced(l, secs).await
            })
        })
        .await
    });
    control(io, "localnet_setPrice", |args, s| async move {
        args.at_most(2)?;
        let feed = feed_id(&args.required::<String>(0, "feed")?)?;
        let p: PriceParams = args.required(1, "price")?;
        let exponent = p.exponent.unwrap_or(-8);
        if !EXPONENTS.contains(&exponent) {
            return Err(invalid_param(
                "price.exponent",
                format!("must be {} to {}, got {exponent}", EXPONENTS.start(), EXPONENTS.end()),
            ));
        }
        s.run(move |l| {
            Box::pin(async move {
                let now = l.time.unix();
                let (address, publish_time) = match p.publish_time {
                    Some(t) => {
                        let latest = now.saturating_add(max_advance(now));
                        if !(0..=latest).contains(&t) {
                            return Err(invalid_param(
                                "price.publishTime",
                                format!("must be 0 to {latest} (10 years after the bank's clock, {now}), got {t}"),
                            ));
                        }
                        (l.feeds.set_fixed(feed), t)
                    }
                    None => (l.feeds.set_live(feed, p.price, p.conf, exponent), now),
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
    control(io, "localnet_mintCollateral", |args, s| async move {
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
                let signature = l.send_own(&ixs, &[&authority], Preflight::Simulate).await?;
                Ok(json!({ "signature": signature.to_string(), "tokenAccount": ata.to_string(), "amount": amount }))
            })
        })
        .await
    });
}
