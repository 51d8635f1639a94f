//! Program-derived addresses, one function per seed layout in
//! `coverage_pool::constants`.

use anchor_lang::prelude::Pubkey;
use coverage_pool::constants::*;
use coverage_pool::ID;

/// Pool PDA `[POOL_SEED, creator, pool_id LE]`.
pub fn pool(creator: &Pubkey, pool_id: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[POOL_SEED, creator.as_ref(), &pool_id.to_le_bytes()], &ID)
}

/// Vault token account `[VAULT_SEED, pool]`.
pub fn vault(pool: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[VAULT_SEED, pool.as_ref()], &ID)
}

/// Share mint of a tranche `[SHARE_MINT_SEED, pool, tranche]`.
pub fn share_mint(pool: &Pubkey, tranche: u8) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[SHARE_MINT_SEED, pool.as_ref(), &[tranche]], &ID)
}

/// Share escrow of a tranche `[SHARE_ESCROW_SEED, pool, tranche]`.
pub fn share_escrow(pool: &Pubkey, tranche: u8) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[SHARE_ESCROW_SEED, pool.as_ref(), &[tranche]], &ID)
}

/// Withdrawal request `[WITHDRAWAL_SEED, pool, tranche, staker]`.
pub fn withdrawal_request(pool: &Pubkey, tranche: u8, staker: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[WITHDRAWAL_SEED, pool.as_ref(), &[tranche], staker.as_ref()], &ID)
}

/// Market `[MARKET_SEED, pool, index LE]`.
pub fn market(pool: &Pubkey, index: u32) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[MARKET_SEED, pool.as_ref(), &index.to_le_bytes()], &ID)
}

/// Premium ledger `[LEDGER_SEED, pool]`.
pub fn ledger(pool: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[LEDGER_SEED, pool.as_ref()], &ID)
}

/// Cover book `[BOOK_SEED, market]`.
pub fn book(market: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[BOOK_SEED, market.as_ref()], &ID)
}

/// Policy `[POLICY_SEED, market, id LE]`.
pub fn policy(market: &Pubkey, id: u64) -> (Pubkey, u8) {
    Pubkey::find_program_address(&[POLICY_SEED, market.as_ref(), &id.to_le_bytes()], &ID)
}
