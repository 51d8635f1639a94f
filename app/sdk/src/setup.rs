//! Set-up on any [`Transport`]: a fresh collateral mint, associated token
//! accounts, minting, and a whole deployment on a fresh mint. The embedded
//! bank (`cover demo`, `cover backtest`) and `cover localnet` build their
//! pools with these; on a real cluster the collateral mint already exists
//! and `cover migrate apply` plans against it.

use anchor_lang::prelude::{Pubkey, Rent};
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::associated_token::{get_associated_token_address_with_program_id, spl_associated_token_account};
use anchor_spl::token_2022::spl_token_2022;
use anyhow::Result;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::config::{self, Deployment};
use crate::ix::PoolKeys;
use crate::transport::{SendMode, Transport};

/// Creates a mint of the classic SPL Token program with `decimals` (rent at
/// the default rate, as on every Solana cluster); returns it and its mint
/// authority.
pub async fn create_mint<T: Transport>(t: &mut T, decimals: u8) -> Result<(Pubkey, Keypair)> {
    let mint = Keypair::new();
    let authority = Keypair::new();
    let len = spl_token_2022::state::Mint::LEN;
    let ixs = [
        solana_system_interface::instruction::create_account(
            &t.payer(),
            &mint.pubkey(),
            Rent::default().minimum_balance(len),
            len as u64,
            &anchor_spl::token::ID,
        ),
        spl_token_2022::instruction::initialize_mint2(
            &anchor_spl::token::ID,
            &mint.pubkey(),
            &authority.pubkey(),
            None,
            decimals,
        )?,
    ];
    t.send(&ixs, &[&mint], SendMode::Send).await?;
    Ok((mint.pubkey(), authority))
}

/// The associated token account of `owner` for `mint` (classic SPL Token),
/// created (paid by the transport's payer) if missing.
pub async fn token_account<T: Transport>(t: &mut T, mint: &Pubkey, owner: &Pubkey) -> Result<Pubkey> {
    let ata = get_associated_token_address_with_program_id(owner, mint, &anchor_spl::token::ID);
    if t.account(&ata).await?.is_none() {
        let ix = spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            &t.payer(),
            owner,
            mint,
            &anchor_spl::token::ID,
        );
        t.send(&[ix], &[], SendMode::Send).await?;
    }
    Ok(ata)
}

/// Mints `amount` of `mint` to the token account `to`; returns the signature.
pub async fn mint_to<T: Transport>(
    t: &mut T,
    mint: &Pubkey,
    authority: &Keypair,
    to: &Pubkey,
    amount: u64,
) -> Result<String> {
    let ix = spl_token_2022::instruction::mint_to(&anchor_spl::token::ID, mint, to, &authority.pubkey(), &[], amount)?;
    t.send(&[ix], &[authority], SendMode::Send).await
}

/// Deploys `d` with a fresh 6-decimal collateral mint; the payer is creator
/// and authority. Returns the pool keys, the mint authority and the treasury
/// (the payer's associated token account).
pub async fn deploy<T: Transport>(t: &mut T, d: &Deployment) -> Result<(PoolKeys, Keypair, Pubkey)> {
    let (mint, mint_authority) = create_mint(t, 6).await?;
    let payer = t.payer();
    let treasury = token_account(t, &mint, &payer).await?;
    let (keys, steps) = config::plan(t, d, mint, treasury, anchor_spl::token::ID, payer).await?;
    config::apply(t, &steps, None, SendMode::Send).await?;
    Ok((keys, mint_authority, treasury))
}
