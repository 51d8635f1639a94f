//! Instruction builders, one per instruction. Account lists come from the
//! program's own `accounts::*` structs and data from `instruction::*`.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::{AccountMeta, Instruction};
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
    /// Premium ledger PDA.
    pub fn ledger(&self) -> Pubkey {
        pda::ledger(&self.pool).0
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
            ledger: pda::ledger(&pool).0,
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
            ledger: keys.ledger(),
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
            ledger: keys.ledger(),
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
/// `price_updates` holds one price update account per market of the pool, in
/// market order (its feed's push account: [`crate::transport::market_price_updates`]);
/// each market, its book and that price go in the remaining accounts
/// ([`market_accounts`]).
pub fn withdraw(
    staker: &Pubkey,
    keys: &PoolKeys,
    tranche: u8,
    request: &Pubkey,
    staker_collateral: &Pubkey,
    price_updates: &[Pubkey],
) -> Instruction {
    let mut ix = build(
        accounts::Withdraw {
            staker: *staker,
            pool: keys.pool,
            ledger: keys.ledger(),
            request: *request,
            share_mint: keys.share_mint(tranche),
            share_escrow: keys.share_escrow(tranche),
            collateral_mint: keys.collateral_mint,
            vault: keys.vault(),
            staker_collateral: *staker_collateral,
            token_program: keys.token_program,
        },
        instruction::Withdraw { tranche },
    );
    ix.accounts.extend(market_accounts(&keys.pool, price_updates));
    ix
}

/// `withdraw`'s remaining accounts: for each market of the pool in order
/// (`price_updates[i]` is market `i`'s), the market, its cover book and the
/// price update, all read-only. A transaction lists an account once, so
/// markets sharing a feed share its account.
pub fn market_accounts(pool: &Pubkey, price_updates: &[Pubkey]) -> Vec<AccountMeta> {
    price_updates
        .iter()
        .enumerate()
        .flat_map(|(i, price)| {
            let market = pda::market(pool, i as u32).0;
            [
                AccountMeta::new_readonly(market, false),
                AccountMeta::new_readonly(pda::book(&market).0, false),
                AccountMeta::new_readonly(*price, false),
            ]
        })
        .collect()
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
            book: pda::book(&pda::market(pool, index).0).0,
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
            ledger: pda::ledger(pool).0,
            book: pda::book(market).0,
            price_update: *price_update,
        },
        instruction::CheckTrigger {},
    )
}

/// `settle_policies` for `(policy, owner's collateral token account)` pairs.
pub fn settle_policies(keys: &PoolKeys, market: &Pubkey, pairs: &[(Pubkey, Pubkey)]) -> Instruction {
    let mut ix = build(
        accounts::SettlePolicies {
            pool: keys.pool,
            market: *market,
            collateral_mint: keys.collateral_mint,
            vault: keys.vault(),
            token_program: keys.token_program,
        },
        instruction::SettlePolicies {},
    );
    for (policy, token_account) in pairs {
        ix.accounts.push(AccountMeta::new(*policy, false));
        ix.accounts.push(AccountMeta::new(*token_account, false));
    }
    ix
}

/// `release_reserve`.
pub fn release_reserve(pool: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        accounts::ReleaseReserve {
            pool: *pool,
            market: *market,
        },
        instruction::ReleaseReserve {},
    )
}

/// `reopen_market`.
pub fn reopen_market(authority: &Pubkey, pool: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        accounts::ReopenMarket {
            authority: *authority,
            pool: *pool,
            market: *market,
        },
        instruction::ReopenMarket {},
    )
}

/// `close_market`.
pub fn close_market(authority: &Pubkey, pool: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        accounts::CloseMarket {
            authority: *authority,
            pool: *pool,
            market: *market,
            book: pda::book(market).0,
        },
        instruction::CloseMarket {},
    )
}

/// Everything `buy_cover` needs besides the two signers.
#[derive(Clone, Copy, Debug)]
pub struct BuyCoverKeys {
    /// The pool.
    pub keys: PoolKeys,
    /// The market.
    pub market: Pubkey,
    /// The market's next policy id (`Market::policy_count`).
    pub policy_id: u64,
    /// The payer's collateral token account.
    pub payer_collateral: Pubkey,
    /// A `PriceUpdateV2` of the market's feed.
    pub price_update: Pubkey,
}

/// `buy_cover`: `buyer` owns the policy, `payer` pays premium and rent.
pub fn buy_cover(
    buyer: &Pubkey,
    payer: &Pubkey,
    k: &BuyCoverKeys,
    amount: u64,
    days: u16,
    max_premium: u64,
) -> Instruction {
    build(
        accounts::BuyCover {
            buyer: *buyer,
            payer: *payer,
            pool: k.keys.pool,
            ledger: k.keys.ledger(),
            market: k.market,
            book: pda::book(&k.market).0,
            policy: pda::policy(&k.market, k.policy_id).0,
            collateral_mint: k.keys.collateral_mint,
            vault: k.keys.vault(),
            payer_collateral: k.payer_collateral,
            price_update: k.price_update,
            token_program: k.keys.token_program,
            system_program: system_program::ID,
        },
        instruction::BuyCover {
            amount,
            days,
            max_premium,
        },
    )
}

/// `transfer_policy`.
pub fn transfer_policy(owner: &Pubkey, policy: &Pubkey, new_owner: &Pubkey) -> Instruction {
    build(
        accounts::TransferPolicy {
            owner: *owner,
            policy: *policy,
        },
        instruction::TransferPolicy { new_owner: *new_owner },
    )
}

/// `close_policy` (rent to `owner`, who must be the policy's owner).
pub fn close_policy(owner: &Pubkey, policy: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        accounts::ClosePolicy {
            owner: *owner,
            policy: *policy,
            market: *market,
        },
        instruction::ClosePolicy {},
    )
}

/// `collect_fees` to the pool's treasury.
pub fn collect_fees(authority: &Pubkey, keys: &PoolKeys, treasury: &Pubkey) -> Instruction {
    build(
        accounts::CollectFees {
            authority: *authority,
            pool: keys.pool,
            collateral_mint: keys.collateral_mint,
            vault: keys.vault(),
            treasury: *treasury,
            token_program: keys.token_program,
        },
        instruction::CollectFees {},
    )
}

/// `set_pool_paused`.
pub fn set_pool_paused(authority: &Pubkey, pool: &Pubkey, paused: bool) -> Instruction {
    build(
        accounts::SetPoolPaused {
            authority: *authority,
            pool: *pool,
        },
        instruction::SetPoolPaused { paused },
    )
}

/// `set_market_paused`.
pub fn set_market_paused(authority: &Pubkey, pool: &Pubkey, market: &Pubkey, paused: bool) -> Instruction {
    build(
        accounts::SetMarketPaused {
            authority: *authority,
            pool: *pool,
            market: *market,
        },
        instruction::SetMarketPaused { paused },
    )
}

/// `accrue_premium`.
pub fn accrue_premium(pool: &Pubkey) -> Instruction {
    build(
        accounts::AccruePremium {
            pool: *pool,
            ledger: pda::ledger(pool).0,
        },
        instruction::AccruePremium {},
    )
}

/// `propose_authority` (`Pubkey::default()` withdraws a proposal).
pub fn propose_authority(authority: &Pubkey, pool: &Pubkey, new_authority: &Pubkey) -> Instruction {
    build(
        accounts::PoolAuthority {
            authority: *authority,
            pool: *pool,
        },
        instruction::ProposeAuthority {
            new_authority: *new_authority,
        },
    )
}

/// `accept_authority`, signed by the proposed authority.
pub fn accept_authority(new_authority: &Pubkey, pool: &Pubkey) -> Instruction {
    build(
        accounts::AcceptAuthority {
            new_authority: *new_authority,
            pool: *pool,
        },
        instruction::AcceptAuthority {},
    )
}

/// `queue_pool_params`.
pub fn queue_pool_params(authority: &Pubkey, pool: &Pubkey, change: coverage_pool::PoolParamsChange) -> Instruction {
    build(
        accounts::PoolAuthority {
            authority: *authority,
            pool: *pool,
        },
        instruction::QueuePoolParams { change },
    )
}

/// `cancel_pool_params`.
pub fn cancel_pool_params(authority: &Pubkey, pool: &Pubkey) -> Instruction {
    build(
        accounts::PoolAuthority {
            authority: *authority,
            pool: *pool,
        },
        instruction::CancelPoolParams {},
    )
}

/// `apply_pool_params` (anyone).
pub fn apply_pool_params(pool: &Pubkey) -> Instruction {
    build(
        accounts::ApplyPoolParams {
            pool: *pool,
            ledger: pda::ledger(pool).0,
        },
        instruction::ApplyPoolParams {},
    )
}

/// `queue_market_params`.
pub fn queue_market_params(
    authority: &Pubkey,
    pool: &Pubkey,
    market: &Pubkey,
    change: coverage_pool::MarketParamsChange,
) -> Instruction {
    build(
        accounts::MarketAuthority {
            authority: *authority,
            pool: *pool,
            market: *market,
        },
        instruction::QueueMarketParams { change },
    )
}

/// `cancel_market_params`.
pub fn cancel_market_params(authority: &Pubkey, pool: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        accounts::MarketAuthority {
            authority: *authority,
            pool: *pool,
            market: *market,
        },
        instruction::CancelMarketParams {},
    )
}

/// `apply_market_params` (anyone).
pub fn apply_market_params(pool: &Pubkey, market: &Pubkey) -> Instruction {
    build(
        accounts::ApplyMarketParams {
            pool: *pool,
            market: *market,
        },
        instruction::ApplyMarketParams {},
    )
}
