//! Minimal: what every node answers (agave's `rpc_minimal`).
//!
//! getBalance, getEpochInfo, getGenesisHash, getHealth, getSlot,
//! getBlockHeight, getTransactionCount, getVersion.

use solana_epoch_info::EpochInfo;
use solana_rpc_client_types::config::RpcContextConfig;
use solana_rpc_client_types::response::RpcVersionInfo;

use super::{at, commitment, context_method, method, with_context, Io};

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "getBalance", |args, s| async move {
        args.at_most(2)?;
        let pubkey = args.pubkey(0, "pubkey")?;
        let config: RpcContextConfig = args.optional(1, "config")?.unwrap_or_default();
        s.run(move |l| {
            Box::pin(async move {
                let view = at(l, commitment(config.commitment), config.min_context_slot)?;
                let lamports = l.get_account(&pubkey).await?.map_or(0, |a| a.lamports);
                Ok(with_context(view.slot, lamports))
            })
        })
        .await
    });
    context_method(io, "getEpochInfo", |l, view| {
        let slot = view.slot;
        let (epoch, slot_index) = l.epoch_schedule.get_epoch_and_slot_index(slot);
        EpochInfo {
            epoch,
            slot_index,
            slots_in_epoch: l.epoch_schedule.get_slots_in_epoch(epoch),
            absolute_slot: slot,
            block_height: view.block_height,
            transaction_count: Some(view.transaction_count),
        }
    });
    method(io, "getGenesisHash", |args, s| async move {
        args.at_most(0)?;
        s.run(|l| Box::pin(async move { Ok(l.ctx.genesis_config().hash().to_string()) }))
            .await
    });
    method(io, "getHealth", |args, s| async move {
        args.at_most(0)?;
        // answered by the ledger thread: healthy means it and the bank serve
        s.run(|l| Box::pin(async move { l.health().await.map(|()| "ok") }))
            .await
    });
    context_method(io, "getSlot", |_, view| view.slot);
    context_method(io, "getBlockHeight", |_, view| view.block_height);
    context_method(io, "getTransactionCount", |_, view| view.transaction_count);
    method(io, "getVersion", |args, _s| async move {
        args.at_most(0)?;
        let version = solana_version::Version::default();
        Ok(RpcVersionInfo {
            solana_core: version.to_string(),
            feature_set: Some(version.feature_set),
        })
    });
}
