//! Role commands against a real cluster (RPC transport), one module per role
//! as the program lays out its instructions: `pool`, `market`, `stake`,
//! `cover`, `keeper`, `gov`, `migrate`. Shared helpers live here.

mod cover;
mod gov;
mod keeper;
mod market;
mod migrate;
mod pool;
mod stake;

pub use cover::{cover, CoverCmd};
pub use gov::{gov, GovCmd};
pub use keeper::{keeper, KeeperCmd};
pub use market::{market, MarketCmd};
pub use migrate::{migrate, MigrateCmd};
pub use pool::{pool, PoolCmd};
pub use stake::{stake, StakeCmd};

use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use anyhow::{anyhow, Context, Result};
use coverage_pool::state::Pool;
use coverage_sdk::ix::PoolKeys;
use coverage_sdk::transport::{fetch, RpcTransport, SendMode, Transport};
use serde_json::json;

use crate::{cluster, Cli};

pub(super) fn key(s: &str) -> Result<Pubkey> {
    Pubkey::from_str(s).map_err(|_| anyhow!("{s:?} is not a base58 address"))
}

pub(super) fn transport(cli: &Cli) -> Result<RpcTransport> {
    Ok(RpcTransport::new(
        &cluster::url(&cli.url),
        cluster::keypair(&cli.keypair)?,
    ))
}

/// A transport for a command that only reads: it needs no keypair.
pub(super) fn reader(cli: &Cli) -> RpcTransport {
    RpcTransport::read_only(&cluster::url(&cli.url))
}

/// The transport of a command that `signs` (loads the keypair) or only reads.
pub(super) fn transport_for(cli: &Cli, signs: bool) -> Result<RpcTransport> {
    if signs {
        transport(cli)
    } else {
        Ok(reader(cli))
    }
}

pub(super) fn mode(dry_run: bool) -> SendMode {
    if dry_run {
        SendMode::Simulate
    } else {
        SendMode::Send
    }
}

pub(super) async fn pool_keys<T: Transport>(t: &mut T, pool: &Pubkey) -> Result<(Pool, PoolKeys)> {
    let p: Pool = fetch(t, pool)
        .await
        .with_context(|| format!("no pool at {pool}: check --pool and --url"))?;
    let keys = PoolKeys {
        pool: *pool,
        collateral_mint: p.collateral_mint,
        token_program: p.token_program,
    };
    Ok((p, keys))
}

/// Prints a sent transaction: `{action, signature, …extra}` under `--json`,
/// else `action: signature` and the extra fields that are addresses.
pub(super) fn say(cli: &Cli, what: &str, sig: &str, extra: serde_json::Value) {
    if cli.json {
        let mut v = json!({ "action": what, "signature": sig });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        println!("{v}");
    } else {
        println!("{what}: {sig}");
        // addresses (strings); numbers are base units, for machines
        for (k, v) in extra.as_object().into_iter().flatten() {
            if let Some(text) = v.as_str() {
                println!("  {k}: {text}");
            }
        }
    }
}

pub(super) async fn supply<T: Transport>(t: &mut T, mint: &Pubkey) -> Result<u64> {
    use anchor_lang::solana_program::program_pack::Pack;
    use anchor_spl::token_2022::spl_token_2022::state::Mint;
    let acc = t.account(mint).await?.ok_or_else(|| anyhow!("no mint {mint}"))?;
    Ok(Mint::unpack_from_slice(&acc.data[..Mint::LEN])?.supply)
}

pub(super) async fn balance<T: Transport>(t: &mut T, account: &Pubkey) -> Result<u64> {
    use anchor_lang::solana_program::program_pack::Pack;
    use anchor_spl::token_2022::spl_token_2022::state::Account;
    match t.account(account).await? {
        Some(acc) => Ok(Account::unpack_from_slice(&acc.data[..Account::LEN])?.amount),
        None => Ok(0),
    }
}
