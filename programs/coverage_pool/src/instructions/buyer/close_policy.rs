use anchor_lang::prelude::*;

use crate::error::ErrorCode;
use crate::events::PolicyClosed;
use crate::state::{Market, MarketStatus, Policy, PolicyStatus};

/// `close_policy` — closes a finished policy; its rent always goes to the
/// policy owner.
///
/// * Caller: anyone (a keeper tidying up expired policies, or the owner).
/// * Checks: `owner` is the policy's owner (`NotPolicyOwner`: the rent
///   cannot be redirected); `market` is the policy's (`WrongMarket`); the
///   policy is settled, or it has ended and cannot be paid any more: its
///   market has no open streak, and has not triggered in the policy's epoch
///   unless that event's reserve was released (`PolicyNotClosable`).
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
    let closable = match policy.status {
        PolicyStatus::Settled => true,
        PolicyStatus::Active => {
            let ended = now >= policy.end_time;
            let may_still_pay = market.status == MarketStatus::StreakOpen
                || (market.status == MarketStatus::Triggered
                    && market.epoch == policy.epoch
                    && !market.settlement.released);
            ended && !may_still_pay
        }
    };
    require!(closable, ErrorCode::PolicyNotClosable);
    emit!(PolicyClosed {
        policy: policy.key(),
        owner: policy.owner,
        payout: policy.payout
    });
    Ok(())
}
