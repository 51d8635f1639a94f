//! Minimal: what every node answers (agave's `rpc_minimal`).
//!
//! getBalance, getEpochInfo, getGenesisHash, getHealth, getSlot,
//! getBlockHeight, getTransactionCount, getVersion.

use solana_epoch_info::EpochInfo;
use solana_rpc_client_types::config::RpcContextConfig;
use solana_rpc_client_types::response::RpcVersionInfo;

use super::{check_min_context_slot, method, with_context, Io};

fn context_config(args: &super::Args, i: usize) -> Result<RpcContextConfig, jsonrpc_core::Error> {
    args.at_most(i + 1)?;
    Ok(args.optional::<RpcContextConfig>(i, "config")?.unwrap_or_default())
}

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "getBalance", |args, s| async move {
        let pubkey = args.pubkey(0, "pubkey")?;
        let config = context_config(&args, 1)?;
        s.run(move |l| {
            Box::pin(async move {
                check_min_context_slot(l, config.min_context_slot)?;
                let lamports = l.get_account(&pubkey).await?.map_or(0, |a| a.lamports);
                Ok(with_context(l.slot, lamports))
            })
        })
        .await
    });
    method(io, "getEpochInfo", |args, s| async move {
        let config = context_config(&args, 0)?;
        s.run(move |l| {
            Box::pin(async move {
                check_min_context_slot(l, config.min_context_slot)?;
                let slot = l.slot_at(config.commitment.map(|c| c.commitment));
                let (epoch, slot_index) = l.epoch_schedule.get_epoch_and_slot_index(slot);
                Ok(EpochInfo {
                    epoch,
                    slot_index,
                    slots_in_epoch: l.epoch_schedule.get_slots_in_epoch(epoch),
                    absolute_slot: slot,
                    block_height: l.block_height(),
                    transaction_count: Some(l.history.transaction_count),
                })
            })
        })
        .await
    });
    method(io, "getGenesisHash", |args, s| async move {
        args.at_most(0)?;
        s.run(|l| Box::pin(async move { Ok(l.ctx.genesis_config().hash().to_string()) }))
            .await
    });
    method(io, "getHealth", |args, s| async move {
        args.at_most(0)?;
        // answered by the ledger thread: healthy means it serves
        s.run(|_| Box::pin(async move { Ok("ok") })).await
    });
    method(io, "getSlot", |args, s| async move {
        let config = context_config(&args, 0)?;
        s.run(move |l| {
            Box::pin(async move {
                check_min_context_slot(l, config.min_context_slot)?;
                Ok(l.slot_at(config.commitment.map(|c| c.commitment)))
            })
        })
        .await
    });
    method(io, "getBlockHeight", |args, s| async move {
        let config = context_config(&args, 0)?;
        s.run(move |l| {
            Box::pin(async move {
                check_min_context_slot(l, config.min_context_slot)?;
                Ok(l.block_height())
            })
        })
        .await
    });
    method(io, "getTransactionCount", |args, s| async move {
        let config = context_config(&args, 0)?;
        s.run(move |l| {
            Box::pin(async move {
                check_min_context_slot(l, config.min_context_slot)?;
                Ok(l.history.transaction_count)
            })
        })
        .await
    });
    method(io, "getVersion", |args, _s| async move {
        args.at_most(0)?;
        let version = solana_version::Version::default();
        Ok(RpcVersionInfo {
            solana_core: version.to_string(),
            feature_set: Some(version.feature_set),
        })
    });
}
