use anchor_lang::prelude::*;

use crate::error::ErrorCode;
use crate::events::PolicyClosed;
use crate::state::{Market, Policy, PolicyStatus};

/// `close_policy` — closes a finished policy; its rent always goes to the
/// policy owner.
///
/// * Caller: anyone (a keeper tidying up expired policies, or the owner).
/// * Checks: `owner` is the policy's owner (`NotPolicyOwner`: the rent
///   cannot be redirected); `market` is the policy's (`WrongMarket`); the
///   policy is settled, or it has ended and no claim can still reach it
///   (`PolicyNotClosable`), the core's `policy::policy_closable`: its epoch
///   is over, or its market has no open streak, has not triggered unless the
///   reserve was released, and no streak still to be reported can have begun
///   before the policy's end — `now ≥ end + max_price_age`, or the keepers
///   already reported a price published at `end − 1` or later (a streak
///   reported after it starts after it, so at or after the end).
/// * Emits `PolicyClosed`.
#[derive(Accounts)]
pub struct ClosePolicy<'info> {
    /// CHECK: only receives the rent; must be the policy's owner (constraint).
    #[account(mut)]
    pub owner: UncheckedAccount<'info>,
    #[account(
        mut,
        close = owner,
        has_one = owner @ ErrorCode::NotPolicyOwner,
        has_one = market @ ErrorCode::WrongMarket,
    )]
    pub policy: Box<Account<'info, Policy>>,
    pub market: Box<Account<'info, Market>>,
}

pub fn close_policy_handler(ctx: Context<ClosePolicy>) -> Result<()> {
    let now = Clock::get()?.unix_timestamp;
    let policy = &ctx.accounts.policy;
    let market = &ctx.accounts.market;
    require!(
        coverage_core::policy::policy_closable(
            policy.status == PolicyStatus::Settled,
            policy.epoch,
            policy.end_time,
            &market.claims(),
            now
        ),
        ErrorCode::PolicyNotClosable
    );
    emit!(PolicyClosed {
        policy: policy.key(),
        owner: policy.owner,
        payout: policy.payout
    });
    Ok(())
}
