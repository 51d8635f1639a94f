use anchor_lang::prelude::*;

use crate::error::ErrorCode;
use crate::events::PolicyTransferred;
use crate::state::{Policy, PolicyStatus};

/// `transfer_policy(new_owner)` — the policy owner hands the policy (its
/// payout and its rent refund) to `new_owner`.
///
/// * Caller: the policy's owner (`NotPolicyOwner`); nobody else can redirect
///   a policy.
/// * Checks: the policy is not settled (`PolicySettled`).
/// * Emits `PolicyTransferred`.
#[derive(Accounts)]
pub struct TransferPolicy<'info> {
    pub owner: Signer<'info>,
    #[account(mut, has_one = owner @ ErrorCode::NotPolicyOwner)]
    pub policy: Box<Account<'info, Policy>>,
}

pub fn transfer_policy_handler(ctx: Context<TransferPolicy>, new_owner: Pubkey) -> Result<()> {
    let policy = &mut ctx.accounts.policy;
    require!(policy.status == PolicyStatus::Active, ErrorCode::PolicySettled);
    let from = policy.owner;
    policy.owner = new_owner;
    emit!(PolicyTransferred {
        policy: policy.key(),
        from,
        to: new_owner
    });
    Ok(())
}
