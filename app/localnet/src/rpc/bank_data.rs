//! Bank data: values of the bank itself (agave's `rpc_bank`).
//!
//! getMinimumBalanceForRentExemption, getEpochSchedule.

use jsonrpc_core::Error;
use solana_commitment_config::CommitmentConfig;

use super::{method, Io};

/// Registers the group.
pub fn register(io: &mut Io) {
    method(io, "getMinimumBalanceForRentExemption", |args, s| async move {
        args.at_most(2)?;
        let len: usize = args.required(0, "dataLength")?;
        let _: Option<CommitmentConfig> = args.optional(1, "config")?;
        if len as u64 > solana_system_interface::MAX_PERMITTED_DATA_LENGTH {
            return Err(Error::invalid_request());
        }
        s.run(move |l| Box::pin(async move { Ok(l.rent.minimum_balance(len).max(1)) }))
            .await
    });
    method(io, "getEpochSchedule", |args, s| async move {
        args.at_most(0)?;
        s.run(|l| Box::pin(async move { Ok(l.epoch_schedule.clone()) })).await
    });
}
