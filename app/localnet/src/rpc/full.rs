//! Full: transactions and blockhashes (agave's `rpc_full`).
//!
//! sendTransaction, simulateTransaction, requestAirdrop,
//! getSignatureStatuses, getTransaction, getLatestBlockhash,
//! isBlockhashValid, getRecentPrioritizationFees.

use base64::Engine;
use bincode::Options;
use jsonrpc_core::Error;
use solana_hash::Hash;
use solana_packet::PACKET_DATA_SIZE;
use solana_pubkey::Pubkey;
use solana_rpc_client_api::custom_error::RpcCustomError;
use solana_rpc_client_types::config::{
    RpcContextConfig, RpcEncodingConfigWrapper, RpcRequestAirdropConfig, RpcSendTransactionConfig,
    RpcSignatureStatusConfig, RpcSimulateTransactionConfig, RpcTransactionConfig,
};
use solana_rpc_client_types::request::MAX_GET_SIGNATURE_STATUSES_QUERY_ITEMS;
use solana_rpc_client_types::response::RpcBlockhash;
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::sanitized::MAX_TX_ACCOUNT_LOCKS;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_status::{
    ConfirmedTransactionWithStatusMeta, EncodeError, TransactionBinaryEncoding, TransactionWithStatusMeta,
    UiTransactionEncoding, VersionedTransactionWithStatusMeta,
};

use super::{at, commitment, context_method, invalid_param, method, parse_base58, with_context, Io};
use crate::ledger::execute::Preflight;
use crate::ledger::{Ledger, View};

/// Longest base58 text of a 1 232-byte packet.
const MAX_BASE58_SIZE: usize = 1683;
/// Longest base64 text of a 1 232-byte packet.
const MAX_BASE64_SIZE: usize = PACKET_DATA_SIZE.div_ceil(3) * 4;

/// Decodes a wire transaction as agave does: the encoded and decoded sizes
/// of one packet at most, then bincode with the packet as limit.
fn decode_transaction(data: &str, encoding: UiTransactionEncoding) -> Result<VersionedTransaction, Error> {
    let name = std::any::type_name::<VersionedTransaction>();
    let binary = encoding.into_binary_encoding().ok_or_else(|| {
        invalid_param(
            "config.encoding",
            format!("unsupported encoding: {encoding}. Supported encodings: base58, base64"),
        )
    })?;
    let too_large = |kind: &str, max: usize| {
        invalid_param(
            "transaction",
            format!(
                "{kind} encoded {name} too large: {} bytes (max: encoded/raw {max}/{PACKET_DATA_SIZE})",
                data.len()
            ),
        )
    };
    let wire = match binary {
        TransactionBinaryEncoding::Base58 => {
            if data.len() > MAX_BASE58_SIZE {
                return Err(too_large("base58", MAX_BASE58_SIZE));
            }
            bs58::decode(data)
                .into_vec()
                .map_err(|e| invalid_param("transaction", format!("invalid base58 encoding: {e:?}")))?
        }
        TransactionBinaryEncoding::Base64 => {
            if data.len() > MAX_BASE64_SIZE {
                return Err(too_large("base64", MAX_BASE64_SIZE));
            }
            base64::prelude::BASE64_STANDARD
                .decode(data)
                .map_err(|e| invalid_param("transaction", format!("invalid base64 encoding: {e:?}")))?
        }
    };
    if wire.len() > PACKET_DATA_SIZE {
        return Err(invalid_param(
            "transaction",
            format!(
                "decoded {name} too large: {} bytes (max: {PACKET_DATA_SIZE} bytes)",
                wire.len()
            ),
        ));
    }
    bincode::options()
        .with_limit(PACKET_DATA_SIZE as u64)
        .with_fixint_encoding()
        .allow_trailing_bytes()
        .deserialize_from(&wire[..])
        .map_err(|e| invalid_param("transaction", format!("failed to deserialize {name}: {e}")))
}

fn latest_blockhash(l: &Ledger, view: View) -> RpcBlockhash {
    let (hash, last_valid_block_height) = l.latest_blockhash(view);
    RpcBlockhash {
        blockhash: hash.to_string(),
        last_valid_block_height,
    }
}

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "sendTransaction", |args, s| async move {
        args.at_most(2)?;
        let data: String = args.required(0, "transaction")?;
        let config: RpcSendTransactionConfig = args.optional(1, "config")?.unwrap_or_default();
        let tx = decode_transaction(&data, config.encoding.unwrap_or(UiTransactionEncoding::Base58))?;
        let preflight = if config.skip_preflight {
            Preflight::Skip
        } else {
            Preflight::Simulate
        };
        s.run(move |l| {
            Box::pin(async move {
                // the bank a preflight reads, as agave's: `processed` when skipped
                let preflight_commitment = match preflight {
                    Preflight::Skip => Some(solana_commitment_config::CommitmentLevel::Processed),
                    Preflight::Simulate => config.preflight_commitment,
                };
                at(l, preflight_commitment, config.min_context_slot)?;
                let loaded = l.load(tx).await?;
                Ok(l.submit(loaded, preflight).await?.to_string())
            })
        })
        .await
    });
    method(io, "simulateTransaction", |args, s| async move {
        args.at_most(2)?;
        let data: String = args.required(0, "transaction")?;
        let config: RpcSimulateTransactionConfig = args.optional(1, "config")?.unwrap_or_default();
        let mut tx = decode_transaction(&data, config.encoding.unwrap_or(UiTransactionEncoding::Base58))?;
        if config.accounts.is_some() {
            return Err(invalid_param(
                "config.accounts",
                "not supported: the bank's simulation does not return the accounts it wrote",
            ));
        }
        if config.replace_recent_blockhash && config.sig_verify {
            return Err(Error::invalid_params(
                "sigVerify may not be used with replaceRecentBlockhash",
            ));
        }
        s.run(move |l| {
            Box::pin(async move {
                let view = at(l, commitment(config.commitment), config.min_context_slot)?;
                let mut replacement = None;
                if config.replace_recent_blockhash {
                    let latest = latest_blockhash(l, view);
                    tx.message.set_recent_blockhash(l.latest_blockhash(view).0);
                    replacement = Some(latest);
                }
                let loaded = l.load(tx).await?;
                if config.sig_verify {
                    Ledger::verify(&loaded)?;
                }
                let (fee, _) = l.fee(&loaded);
                let mut result = l
                    .simulate(&loaded)
                    .await?
                    .into_rpc(&loaded, fee, config.inner_instructions);
                result.replacement_blockhash = replacement;
                Ok(with_context(view.slot, result))
            })
        })
        .await
    });
    method(io, "requestAirdrop", |args, s| async move {
        args.at_most(3)?;
        let to = args.pubkey(0, "pubkey")?;
        let lamports: u64 = args.required(1, "lamports")?;
        let _: Option<RpcRequestAirdropConfig> = args.optional(2, "config")?;
        s.run(move |l| {
            Box::pin(async move {
                let ix = solana_system_interface::instruction::transfer(&l.ctx.payer.pubkey(), &to, lamports);
                let sig = l.send_own(&[ix], &[], Preflight::Simulate).await?;
                Ok(sig.to_string())
            })
        })
        .await
    });
    method(io, "getSignatureStatuses", |args, s| async move {
        args.at_most(2)?;
        let sigs: Vec<Signature> = args.base58_list(0, "signatures", MAX_GET_SIGNATURE_STATUSES_QUERY_ITEMS)?;
        let _: Option<RpcSignatureStatusConfig> = args.optional(1, "config")?;
        s.run(move |l| {
            Box::pin(async move {
                // finalized once its block closed, as getSlot at `finalized` says
                let statuses: Vec<_> = sigs.iter().map(|s| l.history.status(s, l.parent_slot)).collect();
                // agave's context: the processed bank
                Ok(with_context(l.slot, statuses))
            })
        })
        .await
    });
    method(io, "getTransaction", |args, s| async move {
        args.at_most(2)?;
        let sig: Signature = parse_base58(&args.required::<String>(0, "signature")?, "signature")?;
        let config = args
            .optional::<RpcEncodingConfigWrapper<RpcTransactionConfig>>(1, "config")?
            .map(|c| c.convert_to_current())
            .unwrap_or_default();
        if !config.commitment.unwrap_or_default().is_at_least_confirmed() {
            return Err(Error::invalid_params(
                "Method does not support commitment below `confirmed`",
            ));
        }
        s.run(move |l| {
            Box::pin(async move {
                let Some(record) = l.history.get(&sig).cloned() else {
                    return Ok(None);
                };
                let confirmed = ConfirmedTransactionWithStatusMeta {
                    slot: record.slot,
                    tx_with_meta: TransactionWithStatusMeta::Complete(VersionedTransactionWithStatusMeta {
                        transaction: record.transaction,
                        meta: record.meta,
                    }),
                    block_time: Some(record.block_time),
                };
                confirmed
                    .encode(
                        config.encoding.unwrap_or(UiTransactionEncoding::Json),
                        config.max_supported_transaction_version,
                    )
                    .map(Some)
                    .map_err(|EncodeError::UnsupportedTransactionVersion(v)| {
                        RpcCustomError::UnsupportedTransactionVersion(v).into()
                    })
            })
        })
        .await
    });
    context_method(io, "getLatestBlockhash", |l, view| {
        with_context(view.slot, latest_blockhash(l, view))
    });
    method(io, "isBlockhashValid", |args, s| async move {
        args.at_most(2)?;
        let hash: Hash = parse_base58(&args.required::<String>(0, "blockhash")?, "blockhash")?;
        let config: RpcContextConfig = args.optional(1, "config")?.unwrap_or_default();
        s.run(move |l| {
            Box::pin(async move {
                let level = commitment(config.commitment);
                let view = at(l, level, config.min_context_slot)?;
                Ok(with_context(view.slot, l.is_blockhash_valid(&hash, level)))
            })
        })
        .await
    });
    method(io, "getRecentPrioritizationFees", |args, s| async move {
        args.at_most(1)?;
        let keys: Vec<Pubkey> = args.base58_list(0, "pubkeys", MAX_TX_ACCOUNT_LOCKS)?;
        s.run(move |l| Box::pin(async move { Ok(l.history.prioritization_fees(&keys)) }))
            .await
    });
}
