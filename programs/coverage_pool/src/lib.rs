//! # coverage_pool
//!
//! A parametric coverage pool on Solana: stakers pool collateral in tranches
//! and earn premiums; buyers pay premiums for cover against defined events
//! (chiefly stablecoin depegs); keepers feed Pyth prices to trigger checks;
//! when a market triggers, payouts settle against the pooled capital.
//!
//! The rules live in the pure crate `coverage-core`; this program is the thin
//! shell around it: handlers load and check accounts, call the core once,
//! write results back, move tokens and emit events. `PROTOCOL.md` (shipped
//! in `docs/`) is the specification.
#![allow(clippy::result_large_err)]
#![allow(unexpected_cfgs)]
// Built for SBF with platform-tools v1.52 (Rust 1.89): anchor-lang 1.2.2 and
// its dependencies need rustc ≥ 1.89 (Anchor.toml and the SBF workflow pin it).

use anchor_lang::prelude::*;

pub mod constants;
pub mod error;
pub mod events;
pub mod instructions;
pub mod oracle;
pub mod state;
pub mod token_ops;

pub use instructions::*;
pub use state::{MarketParamsChange, PoolParamsChange};

declare_id!("7qEy1xerYkAwNYNxq3KoQBVsEWk86iqDbPHj5SrJBSEz");

#[program]
pub mod coverage_pool {
    use super::*;

    // ---- admin ----

    /// Creates a pool and its vault; see [`InitializePool`].
    pub fn initialize_pool(ctx: Context<InitializePool>, args: InitializePoolArgs) -> Result<()> {
        instructions::admin::initialize_pool::initialize_pool_handler(ctx, args)
    }

    /// Creates a configured tranche's share mint and escrow; see [`InitializeTranche`].
    pub fn initialize_tranche(ctx: Context<InitializeTranche>, tranche: u8) -> Result<()> {
        instructions::admin::initialize_tranche::initialize_tranche_handler(ctx, tranche)
    }

    /// Opens a market with immutable trigger terms; see [`CreateMarket`].
    pub fn create_market(ctx: Context<CreateMarket>, args: CreateMarketArgs) -> Result<()> {
        instructions::admin::create_market::create_market_handler(ctx, args)
    }

    /// Sends the protocol fees owed to the treasury; see [`CollectFees`].
    pub fn collect_fees(ctx: Context<CollectFees>) -> Result<()> {
        instructions::admin::collect_fees::collect_fees_handler(ctx)
    }

    /// Pauses or resumes deposits and cover sales on the pool; see [`SetPoolPaused`].
    pub fn set_pool_paused(ctx: Context<SetPoolPaused>, paused: bool) -> Result<()> {
        instructions::admin::set_paused::set_pool_paused_handler(ctx, paused)
    }

    /// Pauses or resumes cover sales on a market; see [`SetMarketPaused`].
    pub fn set_market_paused(ctx: Context<SetMarketPaused>, paused: bool) -> Result<()> {
        instructions::admin::set_paused::set_market_paused_handler(ctx, paused)
    }

    /// Starts a new epoch of a triggered market after its release; see [`ReopenMarket`].
    pub fn reopen_market(ctx: Context<ReopenMarket>) -> Result<()> {
        instructions::admin::market_lifecycle::reopen_market_handler(ctx)
    }

    /// Retires a market; see [`CloseMarket`].
    pub fn close_market(ctx: Context<CloseMarket>) -> Result<()> {
        instructions::admin::market_lifecycle::close_market_handler(ctx)
    }

    /// Proposes a new authority (step 1 of 2); see [`PoolAuthority`].
    pub fn propose_authority(ctx: Context<PoolAuthority>, new_authority: Pubkey) -> Result<()> {
        instructions::admin::governance::propose_authority_handler(ctx, new_authority)
    }

    /// The proposed authority takes over (step 2 of 2); see [`AcceptAuthority`].
    pub fn accept_authority(ctx: Context<AcceptAuthority>) -> Result<()> {
        instructions::admin::governance::accept_authority_handler(ctx)
    }

    /// Queues new pool parameters behind the governance delay.
    pub fn queue_pool_params(ctx: Context<PoolAuthority>, change: PoolParamsChange) -> Result<()> {
        instructions::admin::governance::queue_pool_params_handler(ctx, change)
    }

    /// Drops the queued pool parameters.
    pub fn cancel_pool_params(ctx: Context<PoolAuthority>) -> Result<()> {
        instructions::admin::governance::cancel_pool_params_handler(ctx)
    }

    /// Applies due pool parameters (anyone); see [`ApplyPoolParams`].
    pub fn apply_pool_params(ctx: Context<ApplyPoolParams>) -> Result<()> {
        instructions::admin::governance::apply_pool_params_handler(ctx)
    }

    /// Queues a market's new sale parameters behind the governance delay.
    pub fn queue_market_params(ctx: Context<MarketAuthority>, change: MarketParamsChange) -> Result<()> {
        instructions::admin::governance::queue_market_params_handler(ctx, change)
    }

    /// Drops a market's queued parameters.
    pub fn cancel_market_params(ctx: Context<MarketAuthority>) -> Result<()> {
        instructions::admin::governance::cancel_market_params_handler(ctx)
    }

    /// Applies a market's due parameters (anyone); see [`ApplyMarketParams`].
    pub fn apply_market_params(ctx: Context<ApplyMarketParams>) -> Result<()> {
        instructions::admin::governance::apply_market_params_handler(ctx)
    }

    // ---- buyer ----

    /// Buys cover on a market; see [`BuyCover`].
    pub fn buy_cover(ctx: Context<BuyCover>, amount: u64, days: u16, max_premium: u64) -> Result<()> {
        instructions::buyer::buy_cover::buy_cover_handler(ctx, amount, days, max_premium)
    }

    /// Hands a policy to a new owner; see [`TransferPolicy`].
    pub fn transfer_policy(ctx: Context<TransferPolicy>, new_owner: Pubkey) -> Result<()> {
        instructions::buyer::transfer_policy::transfer_policy_handler(ctx, new_owner)
    }

    /// Closes a finished policy, rent to its owner; see [`ClosePolicy`].
    pub fn close_policy(ctx: Context<ClosePolicy>) -> Result<()> {
        instructions::buyer::close_policy::close_policy_handler(ctx)
    }

    // ---- staker ----

    /// Deposits collateral into a tranche for shares; see [`Deposit`].
    pub fn deposit(ctx: Context<Deposit>, tranche: u8, amount: u64, min_shares: u64) -> Result<()> {
        instructions::staker::deposit::deposit_handler(ctx, tranche, amount, min_shares)
    }

    /// Locks shares for redemption after the cooldown; see [`RequestWithdrawal`].
    pub fn request_withdrawal(ctx: Context<RequestWithdrawal>, tranche: u8, shares: u64) -> Result<()> {
        instructions::staker::request_withdrawal::request_withdrawal_handler(ctx, tranche, shares)
    }

    /// Returns a request's locked shares; see [`CancelWithdrawal`].
    pub fn cancel_withdrawal(ctx: Context<CancelWithdrawal>, tranche: u8) -> Result<()> {
        instructions::staker::cancel_withdrawal::cancel_withdrawal_handler(ctx, tranche)
    }

    /// Redeems a request inside its window; see [`Withdraw`].
    pub fn withdraw<'info>(ctx: Context<'info, Withdraw<'info>>, tranche: u8) -> Result<()> {
        instructions::staker::withdraw::withdraw_handler(ctx, tranche)
    }

    // ---- keeper ----

    /// Submits one Pyth observation to a market's trigger; see [`CheckTrigger`].
    pub fn check_trigger(ctx: Context<CheckTrigger>) -> Result<()> {
        instructions::keeper::check_trigger::check_trigger_handler(ctx)
    }

    /// Earns the premium due into the tranches; see [`AccruePremium`].
    pub fn accrue_premium(ctx: Context<AccruePremium>) -> Result<()> {
        instructions::keeper::accrue_premium::accrue_premium_handler(ctx)
    }

    /// Settles a batch of a triggered market's policies; see [`SettlePolicies`].
    pub fn settle_policies<'info>(ctx: Context<'info, SettlePolicies<'info>>) -> Result<()> {
        instructions::keeper::settle_policies::settle_policies_handler(ctx)
    }

    /// Returns what is left of a reserve to the tranches; see [`ReleaseReserve`].
    pub fn release_reserve(ctx: Context<ReleaseReserve>) -> Result<()> {
        instructions::keeper::release_reserve::release_reserve_handler(ctx)
    }
}
