//! # example_lender — an EXAMPLE integrator, not part of the protocol
//!
//! A lender that insures every loan at origination: `originate_loan` records
//! a loan and, in the same instruction, buys cover for its principal on a
//! coverage-pool market by CPI. The lender's `insurer` PDA — a system-owned
//! account holding SOL for rent and a collateral token account for premiums —
//! is both the buyer (policy owner) and the payer, signing through
//! `invoke_signed`. Disbursing and repaying the principal are out of the
//! example's scope.
//!
//! What a caller of `coverage_pool::buy_cover` must pass (see the README's
//! CPI section): `buyer` and `payer` (signers; PDAs sign with their seeds),
//! the pool, its premium ledger, the market, its cover book, the new policy
//! PDA `[b"policy", market, market.policy_count]`, the collateral mint, the
//! pool's vault, the payer's collateral token account, a `PriceUpdateV2` of
//! the market's feed, the token program and the system program.
#![allow(clippy::result_large_err)]
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};
use coverage_pool::program::CoveragePool;

declare_id!("F9oWBbzyGrjYbkSmRja9Y3SY19RgBsL4XYESsJPYwVQU");

/// Seed of the insurer PDA (buyer and payer of every loan's cover).
pub const INSURER_SEED: &[u8] = b"insurer";
/// Seed of a loan: `[LOAN_SEED, borrower, loan id LE]`.
pub const LOAN_SEED: &[u8] = b"loan";

#[program]
pub mod example_lender {
    use super::*;

    /// Records a loan of `principal` and insures it for `days` days, paying at
    /// most `max_premium`, by CPI into `coverage_pool::buy_cover`.
    pub fn originate_loan(
        ctx: Context<OriginateLoan>,
        loan_id: u64,
        principal: u64,
        days: u16,
        max_premium: u64,
    ) -> Result<()> {
        let bump = ctx.bumps.insurer;
        let seeds: &[&[u8]] = &[INSURER_SEED, &[bump]];
        let signer = &[seeds];
        let a = &ctx.accounts;
        coverage_pool::cpi::buy_cover(
            CpiContext::new_with_signer(
                a.coverage_program.key(),
                coverage_pool::cpi::accounts::BuyCover {
                    buyer: a.insurer.to_account_info(),
                    payer: a.insurer.to_account_info(),
                    pool: a.pool.to_account_info(),
                    ledger: a.ledger.to_account_info(),
                    market: a.market.to_account_info(),
                    book: a.book.to_account_info(),
                    policy: a.policy.to_account_info(),
                    collateral_mint: a.collateral_mint.to_account_info(),
                    vault: a.vault.to_account_info(),
                    payer_collateral: a.insurer_collateral.to_account_info(),
                    price_update: a.price_update.to_account_info(),
                    token_program: a.token_program.to_account_info(),
                    system_program: a.system_program.to_account_info(),
                },
                signer,
            ),
            principal,
            days,
            max_premium,
        )?;
        let loan = &mut ctx.accounts.loan;
        loan.borrower = ctx.accounts.borrower.key();
        loan.loan_id = loan_id;
        loan.principal = principal;
        loan.policy = ctx.accounts.policy.key();
        loan.bump = ctx.bumps.loan;
        Ok(())
    }
}

/// A loan and the policy insuring it.
#[account]
#[derive(InitSpace)]
pub struct Loan {
    pub borrower: Pubkey,
    pub loan_id: u64,
    pub principal: u64,
    pub policy: Pubkey,
    pub bump: u8,
}

#[derive(Accounts)]
#[instruction(loan_id: u64)]
pub struct OriginateLoan<'info> {
    #[account(mut)]
    pub borrower: Signer<'info>,
    #[account(
        init,
        payer = borrower,
        space = 8 + Loan::INIT_SPACE,
        seeds = [LOAN_SEED, borrower.key().as_ref(), &loan_id.to_le_bytes()],
        bump,
    )]
    pub loan: Account<'info, Loan>,
    /// The insurer PDA: system-owned, pays rent and premium, owns the policy.
    #[account(mut, seeds = [INSURER_SEED], bump)]
    pub insurer: SystemAccount<'info>,
    #[account(mut, token::authority = insurer)]
    pub insurer_collateral: InterfaceAccount<'info, TokenAccount>,
    /// CHECK: checked by coverage_pool.
    #[account(mut)]
    pub pool: UncheckedAccount<'info>,
    /// CHECK: checked by coverage_pool.
    #[account(mut)]
    pub ledger: UncheckedAccount<'info>,
    /// CHECK: checked by coverage_pool.
    #[account(mut)]
    pub market: UncheckedAccount<'info>,
    /// CHECK: checked by coverage_pool.
    #[account(mut)]
    pub book: UncheckedAccount<'info>,
    /// CHECK: created by coverage_pool (PDA of the market).
    #[account(mut)]
    pub policy: UncheckedAccount<'info>,
    pub collateral_mint: InterfaceAccount<'info, Mint>,
    /// CHECK: checked by coverage_pool.
    #[account(mut)]
    pub vault: UncheckedAccount<'info>,
    /// CHECK: checked by coverage_pool (owner, type, feed, freshness).
    pub price_update: UncheckedAccount<'info>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
    pub coverage_program: Program<'info, CoveragePool>,
}
