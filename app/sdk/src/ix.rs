//! Instruction builders, one per instruction. Account lists come from the
//! program's own `accounts::*` structs and data from `instruction::*`.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::{system_program, InstructionData, ToAccountMetas};
use coverage_pool::instructions::{CreateMarketArgs, InitializePoolArgs};
use coverage_pool::{accounts, instruction, ID};

use crate::pda;

fn build(accounts: impl ToAccountMetas, data: impl InstructionData) -> Instruction {
    Instruction {
        program_id: ID,
        accounts: accounts.to_account_metas(None),
        data: data.data(),
    }
}

/// The pool's fixed addresses, enough to build every staker instruction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolKeys {
    /// Pool PDA.
    pub pool: Pubkey,
    /// Collateral mint.
    pub collateral_mint: Pubkey,
    /// Token program of the collateral (and share) mints.
    pub token_program: Pubkey,
}

impl PoolKeys {
    /// Vault PDA.
    pub fn vault(&self) -> Pubkey {
        pda::vault(&self.pool).0
    }
    /// Share mint of `tranche`.
    pub fn share_mint(&self, tranche: u8) -> Pubkey {
        pda::share_mint(&self.pool, tranche).0
    }
    /// Share escrow of `tranche`.
    pub fn share_escrow(&self, tranche: u8) -> Pubkey {
        pda::share_escrow(&self.pool, tranche).0
    }
}

/// `initialize_pool`.
pub fn initialize_pool(
    creator: &Pubkey,
    collateral_mint: &Pubkey,
    treasury: &Pubkey,
    token_program: &Pubkey,
    args: InitializePoolArgs,
) -> Instruction {
    let pool = pda::pool(creator, args.pool_id).0;
    build(
        accounts::InitializePool {
            creator: *creator,
            pool,
            collateral_mint: *collateral_mint,
            vault: pda::vault(&pool).0,
            treasury: *treasury,
            token_program: *token_program,
            system_program: system_program::ID,
        },
        instruction::InitializePool { args },
    )
}

/// `initialize_tranche`.
pub fn initialize_tranche(payer: &Pubkey, keys: &PoolKeys, tranche: u8) -> Instruction {
    build(
        accounts::InitializeTranche {
            payer: *payer,
            pool: keys.pool,
            collateral_mint: keys.collateral_mint,
            share_mint: keys.share_mint(tranche),
            share_escrow: keys.share_escrow(tranche),
            token_program: keys.token_program,
            system_program: system_program::ID,
        },
        instruction::InitializeTranche { tranche },
    )
}

/// `deposit`: `amount` of `staker_collateral` into `tranche`, shares to `staker_shares`.
pub fn deposit(
    staker: &Pubkey,
    keys: &PoolKeys,
    tranche: u8,
    staker_collateral: &Pubkey,
    staker_shares: &Pubkey,
    amount: u64,
    min_shares: u64,
) -> Instruction {
    build(
        accounts::Deposit {
            staker: *staker,
            pool: keys.pool,
            collateral_mint: keys.collateral_mint,
            vault: keys.vault(),
            staker_collateral: *staker_collateral,
            share_mint: keys.share_mint(tranche),
            staker_shares: *staker_shares,
            token_program: keys.token_program,
        },
        instruction::Deposit {
            tranche,
            amount,
            min_shares,
        },
    )
}

/// `request_withdrawal`.
pub fn request_withdrawal(
    staker: &Pubkey,
    keys: &PoolKeys,
    tranche: u8,
    staker_shares: &Pubkey,
    shares: u64,
) -> Instruction {
    build(
        accounts::RequestWithdrawal {
            staker: *staker,
            pool: keys.pool,
            share_mint: keys.share_mint(tranche),
            staker_shares: *staker_shares,
            share_escrow: keys.share_escrow(tranche),
            request: pda::withdrawal_request(&keys.pool, tranche, staker).0,
            token_program: keys.token_program,
            system_program: system_program::ID,
        },
        instruction::RequestWithdrawal { tranche, shares },
    )
}

/// `cancel_withdrawal` of `staker`'s request (the request address may be
/// overridden to try someone else's).
pub fn cancel_withdrawal(
    staker: &Pubkey,
    keys: &PoolKeys,
    tranche: u8,
    request: &Pubkey,
    staker_shares: &Pubkey,
) -> Instruction {
    build(
        accounts::CancelWithdrawal {
            staker: *staker,
            pool: keys.pool,
            request: *request,
            share_mint: keys.share_mint(tranche),
            share_escrow: keys.share_escrow(tranche),
            staker_shares: *staker_shares,
            token_program: keys.token_program,
        },
        instruction::CancelWithdrawal { tranche },
    )
}

/// `withdraw` of the request at `request`, paying into `staker_collateral`.
pub fn withdraw(
    staker: &Pubkey,
    keys: &PoolKeys,
    tranche: u8,
    request: &Pubkey,
    staker_collateral: &Pubkey,
) -> Instruction {
    build(
        accounts::Withdraw {
            staker: *staker,
            pool: keys.pool,
            request: *request,
            share_mint: keys.share_mint(tranche),
            share_escrow: keys.share_escrow(tranche),
            collateral_mint: keys.collateral_mint,
            vault: keys.vault(),
            staker_collateral: *staker_collateral,
            token_program: keys.token_program,
        },
        instruction::Withdraw { tranche },
    )
}

/// `create_market` as market number `index` of the pool.
pub fn create_market(
    authority: &Pubkey,
    payer: &Pubkey,
    pool: &Pubkey,
    index: u32,
    args: CreateMarketArgs,
) -> Instruction {
    build(
        accounts::CreateMarket {
            authority: *authority,
            payer: *payer,
            pool: *pool,
            market: pda::market(pool, index).0,
            system_program: system_program::ID,
        },
        instruction::CreateMarket { args },
    )
}

/// `check_trigger` with the price update account `price_update`.
pub fn check_trigger(market: &Pubkey, pool: &Pubkey, price_update: &Pubkey) -> Instruction {
    build(
        accounts::CheckTrigger {
            market: *market,
            pool: *pool,
            price_update: *price_update,
        },
        instruction::CheckTrigger {},
    )
}
