//! Accounts scan: accounts by owner (agave's `rpc_accounts_scan`), from the
//! ledger's index of every address seen, each candidate read again from the
//! bank and filtered as agave filters.
//!
//! getProgramAccounts (memcmp, dataSize, tokenAccountState, withContext),
//! getTokenAccountsByOwner (mint or programId).

use jsonrpc_core::Error;
use solana_account::Account;
use solana_account_decoder::UiAccountEncoding;
use solana_pubkey::Pubkey;
use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcTokenAccountsFilter};
use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
use solana_rpc_client_types::request::MAX_GET_PROGRAM_ACCOUNT_FILTERS;
use solana_rpc_client_types::response::{OptionalContext, RpcKeyedAccount};
use spl_generic_token::token::GenericTokenAccount;

use super::{at, commitment, encode, invalid_param, method, parse_base58, with_context, Io};
use crate::ledger::Ledger;

/// Offset of the owner in a token account.
const TOKEN_OWNER_OFFSET: usize = 32;

fn allows(filter: &RpcFilterType, account: &Account) -> bool {
    match filter {
        RpcFilterType::DataSize(size) => account.data.len() as u64 == *size,
        RpcFilterType::Memcmp(m) => m.bytes_match(&account.data),
        RpcFilterType::TokenAccountState => spl_generic_token::token_2022::Account::valid_account_data(&account.data),
    }
}

fn verify_filters(filters: &mut [RpcFilterType]) -> Result<(), Error> {
    if filters.len() > MAX_GET_PROGRAM_ACCOUNT_FILTERS {
        return Err(invalid_param(
            "filters",
            format!("too many filters provided; max {MAX_GET_PROGRAM_ACCOUNT_FILTERS}"),
        ));
    }
    for f in filters.iter_mut() {
        f.verify().map_err(|e| invalid_param("filters", format!("{e:?}")))?;
        if let RpcFilterType::Memcmp(m) = f {
            m.convert_to_raw_bytes()
                .map_err(|e| invalid_param("filters", format!("{e:?}")))?;
        }
    }
    Ok(())
}

/// Accounts owned by `program` passing every filter, in address order.
async fn scan(
    l: &mut Ledger,
    program: &Pubkey,
    filters: &[RpcFilterType],
    config: &RpcAccountInfoConfig,
) -> Result<Vec<RpcKeyedAccount>, Error> {
    let encoding = config.encoding.unwrap_or(UiAccountEncoding::Binary);
    let mut out = Vec::new();
    for address in l.index.owned_by(program) {
        let account = l.get_account(&address).await?;
        l.index.observe(&address, account.as_ref());
        let Some(account) = account.filter(|a| a.owner == *program) else {
            continue;
        };
        if filters.iter().all(|f| allows(f, &account)) {
            out.push(RpcKeyedAccount {
                pubkey: address.to_string(),
                account: encode(l, &address, &account, encoding, config.data_slice).await?,
            });
        }
    }
    Ok(out)
}

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "getProgramAccounts", |args, s| async move {
        args.at_most(2)?;
        let program = args.pubkey(0, "programId")?;
        let config: RpcProgramAccountsConfig = args.optional(1, "config")?.unwrap_or_default();
        let mut filters = config.filters.clone().unwrap_or_default();
        verify_filters(&mut filters)?;
        s.run(move |l| {
            Box::pin(async move {
                let view = at(
                    l,
                    commitment(config.account_config.commitment),
                    config.account_config.min_context_slot,
                )?;
                let accounts = scan(l, &program, &filters, &config.account_config).await?;
                Ok(if config.with_context.unwrap_or_default() {
                    OptionalContext::Context(with_context(view.slot, accounts))
                } else {
                    OptionalContext::NoContext(accounts)
                })
            })
        })
        .await
    });
    method(io, "getTokenAccountsByOwner", |args, s| async move {
        args.at_most(3)?;
        let owner = args.pubkey(0, "owner")?;
        let filter: RpcTokenAccountsFilter = args.required(1, "filter")?;
        let config: RpcAccountInfoConfig = args.optional(2, "config")?.unwrap_or_default();
        let (mint, program) = match &filter {
            RpcTokenAccountsFilter::Mint(m) => (Some(parse_base58(m, "filter.mint")?), None),
            RpcTokenAccountsFilter::ProgramId(p) => (None, Some(parse_base58(p, "filter.programId")?)),
        };
        s.run(move |l| {
            Box::pin(async move {
                let view = at(l, commitment(config.commitment), config.min_context_slot)?;
                let program = match (mint, program) {
                    (Some(mint), _) => l
                        .get_account(&mint)
                        .await?
                        .map(|a| a.owner)
                        .filter(spl_generic_token::is_known_spl_token_id)
                        .ok_or_else(|| invalid_param("filter.mint", "not a Token mint"))?,
                    (None, Some(p)) if spl_generic_token::is_known_spl_token_id(&p) => p,
                    _ => return Err(invalid_param("filter.programId", "unrecognized Token program id")),
                };
                let mut filters = vec![
                    RpcFilterType::TokenAccountState,
                    RpcFilterType::Memcmp(Memcmp::new_raw_bytes(TOKEN_OWNER_OFFSET, owner.to_bytes().to_vec())),
                ];
                if let Some(mint) = mint {
                    filters.push(RpcFilterType::Memcmp(Memcmp::new_raw_bytes(
                        0,
                        mint.to_bytes().to_vec(),
                    )));
                }
                let accounts = scan(l, &program, &filters, &config).await?;
                Ok(with_context(view.slot, accounts))
            })
        })
        .await
    });
}
