//! Token CPIs of the pool, all `*_checked` so they work for SPL Token and
//! Token-2022 alike. The pool PDA signs for the vault, share mints and escrows.

use anchor_lang::prelude::*;
use anchor_spl::token_interface::{self, Burn, Mint, MintTo, TokenAccount, TokenInterface, TransferChecked};

use crate::state::Pool;

/// Moves `amount` from a token account its owner signed for.
pub fn transfer_from_signer<'info>(
    token_program: &Interface<'info, TokenInterface>,
    from: &InterfaceAccount<'info, TokenAccount>,
    to: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    authority: &Signer<'info>,
    amount: u64,
) -> Result<()> {
    token_interface::transfer_checked(
        CpiContext::new(
            token_program.key(),
            TransferChecked {
                from: from.to_account_info(),
                mint: mint.to_account_info(),
                to: to.to_account_info(),
                authority: authority.to_account_info(),
            },
        ),
        amount,
        mint.decimals,
    )
}

/// Moves `amount` out of a pool-owned token account (vault or share escrow).
pub fn transfer_from_pool<'info>(
    pool: &Account<'info, Pool>,
    token_program: &Interface<'info, TokenInterface>,
    from: &InterfaceAccount<'info, TokenAccount>,
    to: &InterfaceAccount<'info, TokenAccount>,
    mint: &InterfaceAccount<'info, Mint>,
    amount: u64,
) -> Result<()> {
    pool.with_signer(|signer| {
        token_interface::transfer_checked(
            CpiContext::new_with_signer(
                token_program.key(),
                TransferChecked {
                    from: from.to_account_info(),
                    mint: mint.to_account_info(),
                    to: to.to_account_info(),
                    authority: pool.to_account_info(),
                },
                signer,
            ),
            amount,
            mint.decimals,
        )
    })
}

/// Mints `shares` of a tranche's share mint.
pub fn mint_shares<'info>(
    pool: &Account<'info, Pool>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: &InterfaceAccount<'info, Mint>,
    to: &InterfaceAccount<'info, TokenAccount>,
    shares: u64,
) -> Result<()> {
    pool.with_signer(|signer| {
        token_interface::mint_to(
            CpiContext::new_with_signer(
                token_program.key(),
                MintTo {
                    mint: share_mint.to_account_info(),
                    to: to.to_account_info(),
                    authority: pool.to_account_info(),
                },
                signer,
            ),
            shares,
        )
    })
}

/// Burns `shares` from a pool-owned share escrow.
pub fn burn_escrowed_shares<'info>(
    pool: &Account<'info, Pool>,
    token_program: &Interface<'info, TokenInterface>,
    share_mint: &InterfaceAccount<'info, Mint>,
    escrow: &InterfaceAccount<'info, TokenAccount>,
    shares: u64,
) -> Result<()> {
    pool.with_signer(|signer| {
        token_interface::burn(
            CpiContext::new_with_signer(
                token_program.key(),
                Burn {
                    mint: share_mint.to_account_info(),
                    from: escrow.to_account_info(),
                    authority: pool.to_account_info(),
                },
                signer,
            ),
            shares,
        )
    })
}
