//! Accounts: reads of known addresses (agave's `rpc_accounts`).
//!
//! getAccountInfo, getMultipleAccounts (base58, base64, base64+zstd,
//! jsonParsed; dataSlice), getTokenAccountBalance.

use solana_account_decoder::UiAccountEncoding;
use solana_commitment_config::CommitmentConfig;
use solana_pubkey::Pubkey;
use solana_rpc_client_types::config::RpcAccountInfoConfig;
use solana_rpc_client_types::request::MAX_MULTIPLE_ACCOUNTS;
use spl_token_2022_interface::extension::StateWithExtensions;

use super::{at, commitment, encode, invalid_param, method, with_context, Io};

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "getAccountInfo", |args, s| async move {
        args.at_most(2)?;
        let pubkey = args.pubkey(0, "pubkey")?;
        let config: RpcAccountInfoConfig = args.optional(1, "config")?.unwrap_or_default();
        s.run(move |l| {
            Box::pin(async move {
                let view = at(l, commitment(config.commitment), config.min_context_slot)?;
                let encoding = config.encoding.unwrap_or(UiAccountEncoding::Binary);
                let value = match l.get_account(&pubkey).await? {
                    Some(a) => Some(encode(l, &pubkey, &a, encoding, config.data_slice).await?),
                    None => None,
                };
                Ok(with_context(view.slot, value))
            })
        })
        .await
    });
    method(io, "getMultipleAccounts", |args, s| async move {
        args.at_most(2)?;
        let keys: Vec<Pubkey> = args.base58_list(0, "pubkeys", MAX_MULTIPLE_ACCOUNTS)?;
        let config: RpcAccountInfoConfig = args.optional(1, "config")?.unwrap_or_default();
        s.run(move |l| {
            Box::pin(async move {
                let view = at(l, commitment(config.commitment), config.min_context_slot)?;
                let encoding = config.encoding.unwrap_or(UiAccountEncoding::Base64);
                let mut out = Vec::with_capacity(keys.len());
                for k in &keys {
                    out.push(match l.get_account(k).await? {
                        Some(a) => Some(encode(l, k, &a, encoding, config.data_slice).await?),
                        None => None,
                    });
                }
                Ok(with_context(view.slot, out))
            })
        })
        .await
    });
    method(io, "getTokenAccountBalance", |args, s| async move {
        args.at_most(2)?;
        let pubkey = args.pubkey(0, "pubkey")?;
        let config: Option<CommitmentConfig> = args.optional(1, "config")?;
        s.run(move |l| {
            Box::pin(async move {
                let view = at(l, commitment(config), None)?;
                let account = l
                    .get_account(&pubkey)
                    .await?
                    .ok_or_else(|| invalid_param("pubkey", "could not find account"))?;
                let not_token = || invalid_param("pubkey", "not a Token account");
                if !spl_generic_token::is_known_spl_token_id(&account.owner) {
                    return Err(not_token());
                }
                let state = StateWithExtensions::<spl_token_2022_interface::state::Account>::unpack(&account.data)
                    .map_err(|_| not_token())?;
                let mint = l
                    .mint_data(&state.base.mint)
                    .await?
                    .ok_or_else(|| invalid_param("pubkey", "its mint is not a Token mint"))?;
                let amount =
                    solana_account_decoder::parse_token::token_amount_to_ui_amount_v3(state.base.amount, &mint);
                Ok(with_context(view.slot, amount))
            })
        })
        .await
    });
}
