use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use coverage_core::policy::is_eligible;
use coverage_core::settlement::policy_payout;

use crate::constants::MAX_SETTLE_BATCH;
use crate::error::{CoreResultExt, ErrorCode};
use crate::events::PolicySettled;
use crate::state::{Market, MarketStatus, Policy, PolicyStatus, Pool};
use crate::token_ops::transfer_from_pool;

/// `settle_policies` — settles a batch of policies of a triggered market
/// (PROTOCOL.md 3.5). Permissionless; never blocked by a pause.
///
/// * Remaining accounts: 1 to `MAX_SETTLE_BATCH` pairs `(policy, owner's
///   token account)`, both writable (`MalformedBatch` otherwise).
/// * Checks, for every pair, the whole batch failing on the first bad one:
///   the market has triggered (`MarketNotTriggered`) and its reserve is not
///   released (`ReserveReleased`); the policy is a `Policy` of this program
///   (`InvalidPolicyAccount`), of this market (`WrongMarket`) and epoch
///   (`WrongEpoch`), not settled (`PolicySettled` — so a policy is never paid
///   twice, even listed twice in one batch); the token account is a token
///   account of the pool's token program (`WrongTokenProgram`) and collateral
///   mint (`WrongMint`) owned by the policy's owner (`WrongTokenOwner`).
/// * Effects: an eligible policy (`activation ≤ streak start < end`) is paid
///   `floor(floor(amount × fraction) × reserve / liability)` from the vault
///   straight to its owner; an ineligible one is settled with zero. Either
///   way it is marked settled (and can be closed for rent).
/// * Emits `PolicySettled` per policy.
#[derive(Accounts)]
pub struct SettlePolicies<'info> {
    #[account(
        mut,
        has_one = vault @ ErrorCode::WrongPool,
        has_one = collateral_mint @ ErrorCode::WrongMint,
        constraint = token_program.key() == pool.token_program @ ErrorCode::WrongTokenProgram,
    )]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mut, has_one = pool @ ErrorCode::WrongPool)]
    pub market: Box<Account<'info, Market>>,
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(mut)]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
}

pub fn settle_policies_handler<'info>(ctx: Context<'info, SettlePolicies<'info>>) -> Result<()> {
    let market = &ctx.accounts.market;
    require!(market.status == MarketStatus::Triggered, ErrorCode::MarketNotTriggered);
    require!(!market.settlement.released, ErrorCode::ReserveReleased);
    let pairs = ctx.remaining_accounts;
    require!(
        !pairs.is_empty() && pairs.len().is_multiple_of(2) && pairs.len() / 2 <= MAX_SETTLE_BATCH,
        ErrorCode::MalformedBatch
    );
    for pair in pairs.chunks(2) {
        settle_one(
            &mut ctx.accounts.pool,
            &mut ctx.accounts.market,
            &ctx.accounts.vault,
            &ctx.accounts.collateral_mint,
            &ctx.accounts.token_program,
            &pair[0],
            &pair[1],
        )?;
    }
    Ok(())
}

fn settle_one<'info>(
    pool: &mut Box<Account<'info, Pool>>,
    market: &mut Box<Account<'info, Market>>,
    vault: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    token_program: &Interface<'info, TokenInterface>,
    policy_info: &'info AccountInfo<'info>,
    token_info: &'info AccountInfo<'info>,
) -> Result<()> {
    require!(
        policy_info.is_writable && token_info.is_writable,
        ErrorCode::MalformedBatch
    );
    let mut policy = Account::<Policy>::try_from(policy_info).map_err(|_| error!(ErrorCode::InvalidPolicyAccount))?;
    require_keys_eq!(policy.market, market.key(), ErrorCode::WrongMarket);
    require!(policy.epoch == market.event.epoch, ErrorCode::WrongEpoch);
    require!(policy.status == PolicyStatus::Active, ErrorCode::PolicySettled);
    require_keys_eq!(*token_info.owner, pool.token_program, ErrorCode::WrongTokenProgram);
    let owner_account =
        InterfaceAccount::<TokenAccount>::try_from(token_info).map_err(|_| error!(ErrorCode::WrongTokenOwner))?;
    require_keys_eq!(owner_account.mint, pool.collateral_mint, ErrorCode::WrongMint);
    require_keys_eq!(owner_account.owner, policy.owner, ErrorCode::WrongTokenOwner);

    let s = market.settlement;
    let eligible = is_eligible(policy.activation_time, policy.end_time, market.event.streak_start);
    let payout = if eligible {
        policy_payout(policy.amount, market.payout_fraction(), s.reserve, s.liability).or_named()?
    } else {
        0
    };
    // the haircut guarantees this; checked anyway so no event pays past its reserve
    require!(payout <= s.reserve_left, ErrorCode::MathOverflow);
    if payout > 0 {
        transfer_from_pool(pool, token_program, vault, &owner_account, mint, payout)?;
    }

    let st = &mut market.settlement;
    st.reserve_left -= payout;
    st.paid = st.paid.checked_add(payout).ok_or(ErrorCode::MathOverflow)?;
    st.settled_policies = st.settled_policies.checked_add(1).ok_or(ErrorCode::MathOverflow)?;
    if eligible {
        st.settled_cover = st
            .settled_cover
            .checked_add(policy.amount)
            .ok_or(ErrorCode::MathOverflow)?;
    }
    pool.reserves_total = pool.reserves_total.checked_sub(payout).ok_or(ErrorCode::MathOverflow)?;
    pool.payouts_paid = pool.payouts_paid.checked_add(payout).ok_or(ErrorCode::MathOverflow)?;
    policy.status = PolicyStatus::Settled;
    policy.payout = payout;
    policy.exit(&crate::ID)?;
    emit!(PolicySettled {
        policy: policy.key(),
        market: market.key(),
        owner: policy.owner,
        eligible,
        payout
    });
    Ok(())
}
