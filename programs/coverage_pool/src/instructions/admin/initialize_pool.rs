use anchor_lang::prelude::*;
use anchor_spl::token_2022::spl_token_2022::extension::{BaseStateWithExtensions, ExtensionType, StateWithExtensions};
use anchor_spl::token_2022::spl_token_2022::state::Mint as MintState;
use anchor_spl::token_interface::{Mint, TokenAccount, TokenInterface};

use crate::constants::*;
use crate::error::ErrorCode;
use crate::events::PoolInitialized;
use crate::state::{Pool, PremiumLedger, Tranche};

/// Parameters of a new pool.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct InitializePoolArgs {
    /// Creator-chosen id, part of the pool's seeds (one creator, many pools).
    pub pool_id: u64,
    /// The pool authority (a multisig vault PDA is expected; need not sign).
    pub authority: Pubkey,
    /// Premium weight of each tranche, junior first, bps: 1–4 entries, each
    /// positive, non-increasing, summing to 10 000.
    pub tranche_weights_bps: Vec<u16>,
    /// Seconds from a withdrawal request to its earliest redemption.
    pub cooldown: u32,
    /// Seconds after the cooldown during which the request may be redeemed.
    pub withdraw_window: u32,
    /// Max leverage L, bps (10 000 = 1x).
    pub max_leverage_bps: u32,
    /// Protocol fee, bps of each premium.
    pub protocol_fee_bps: u16,
}

impl InitializePoolArgs {
    /// Checks every parameter against its documented bound (constants.rs).
    pub fn validate(&self) -> Result<()> {
        validate_pool_params(
            &self.tranche_weights_bps,
            self.cooldown,
            self.withdraw_window,
            self.max_leverage_bps,
            self.protocol_fee_bps,
        )
    }
}

/// The bounds of a pool's parameters, shared by `initialize_pool` and
/// `queue_pool_params`.
pub fn validate_pool_params(
    weights: &[u16],
    cooldown: u32,
    withdraw_window: u32,
    max_leverage_bps: u32,
    protocol_fee_bps: u16,
) -> Result<()> {
    require!(
        !weights.is_empty() && weights.len() <= MAX_TRANCHES,
        ErrorCode::InvalidTrancheCount
    );
    let sum: u32 = weights.iter().map(|x| u32::from(*x)).sum();
    require!(
        sum == 10_000 && weights.iter().all(|x| *x > 0) && weights.windows(2).all(|p| p[0] >= p[1]),
        ErrorCode::InvalidPremiumWeights
    );
    require!(
        (MIN_COOLDOWN..=MAX_COOLDOWN).contains(&cooldown),
        ErrorCode::InvalidCooldown
    );
    require!(
        (MIN_WITHDRAW_WINDOW..=MAX_WITHDRAW_WINDOW).contains(&withdraw_window),
        ErrorCode::InvalidWithdrawWindow
    );
    require!(
        (MIN_MAX_LEVERAGE_BPS..=MAX_MAX_LEVERAGE_BPS).contains(&max_leverage_bps),
        ErrorCode::InvalidMaxLeverage
    );
    require!(protocol_fee_bps <= MAX_PROTOCOL_FEE_BPS, ErrorCode::InvalidProtocolFee);
    Ok(())
}

/// Token-2022 mint extensions the pool can honour: they change neither the
/// amount a transfer moves nor who may move or freeze the vault's tokens.
/// `MintCloseAuthority` is not among them: extensions are checked only here,
/// and a mint closed and re-created at the same address (possible once its
/// supply is zero) could come back with fees, hooks or a permanent delegate.
const ALLOWED_MINT_EXTENSIONS: [ExtensionType; 6] = [
    ExtensionType::MetadataPointer,
    ExtensionType::TokenMetadata,
    ExtensionType::GroupPointer,
    ExtensionType::TokenGroup,
    ExtensionType::GroupMemberPointer,
    ExtensionType::TokenGroupMember,
];

/// Refuses a collateral mint with any extension outside the allow-list
/// (transfer fees, transfer hooks, permanent delegate, non-transferable,
/// default-frozen accounts, interest/scaled amounts, confidential transfers,
/// pausable, …). Classic SPL Token mints have no extensions.
pub fn check_mint_extensions(mint: &AccountInfo) -> Result<()> {
    if *mint.owner != anchor_spl::token_2022::ID {
        return Ok(());
    }
    let data = mint.try_borrow_data()?;
    let state =
        StateWithExtensions::<MintState>::unpack(&data).map_err(|_| error!(ErrorCode::UnsupportedMintExtension))?;
    let types = state
        .get_extension_types()
        .map_err(|_| error!(ErrorCode::UnsupportedMintExtension))?;
    for t in types {
        require!(
            ALLOWED_MINT_EXTENSIONS.contains(&t),
            ErrorCode::UnsupportedMintExtension
        );
    }
    Ok(())
}

/// `initialize_pool` — creates a pool, its vault, and records its tranches.
///
/// * Caller: anyone (`creator` pays and is part of the pool's seeds); the
///   pool's `authority` is an argument and need not sign (it may be a multisig PDA).
/// * Checks: every parameter within bounds ([`InitializePoolArgs::validate`]);
///   the collateral mint belongs to `token_program` and has no extension the
///   pool cannot honour (`UnsupportedMintExtension`); the treasury is a token
///   account of the collateral mint (`InvalidTreasury`).
/// * Creates: the pool PDA `[POOL_SEED, creator, pool_id]`, the vault PDA
///   `[VAULT_SEED, pool]` (authority: the pool) and the premium ledger
///   `[LEDGER_SEED, pool]`. Each tranche's share mint and
///   escrow are then created by `initialize_tranche` (same transaction is fine);
///   deposits wait until every tranche exists.
/// * Emits `PoolInitialized`.
#[derive(Accounts)]
#[instruction(args: InitializePoolArgs)]
pub struct InitializePool<'info> {
    #[account(mut)]
    pub creator: Signer<'info>,
    #[account(
        init,
        payer = creator,
        space = 8 + Pool::INIT_SPACE,
        seeds = [POOL_SEED, creator.key().as_ref(), &args.pool_id.to_le_bytes()],
        bump,
    )]
    pub pool: Box<Account<'info, Pool>>,
    #[account(mint::token_program = token_program)]
    pub collateral_mint: Box<InterfaceAccount<'info, Mint>>,
    #[account(
        init,
        payer = creator,
        seeds = [VAULT_SEED, pool.key().as_ref()],
        bump,
        token::mint = collateral_mint,
        token::authority = pool,
        token::token_program = token_program,
    )]
    pub vault: Box<InterfaceAccount<'info, TokenAccount>>,
    #[account(
        init,
        payer = creator,
        space = 8 + core::mem::size_of::<PremiumLedger>(),
        seeds = [LEDGER_SEED, pool.key().as_ref()],
        bump,
    )]
    pub ledger: AccountLoader<'info, PremiumLedger>,
    #[account(constraint = treasury.mint == collateral_mint.key() @ ErrorCode::InvalidTreasury)]
    pub treasury: Box<InterfaceAccount<'info, TokenAccount>>,
    pub token_program: Interface<'info, TokenInterface>,
    pub system_program: Program<'info, System>,
}

impl InitializePool<'_> {
    fn validate(&self, args: &InitializePoolArgs) -> Result<()> {
        args.validate()?;
        check_mint_extensions(&self.collateral_mint.to_account_info())
    }
}

pub fn initialize_pool_handler(ctx: Context<InitializePool>, args: InitializePoolArgs) -> Result<()> {
    ctx.accounts.validate(&args)?;
    let now = Clock::get()?.unix_timestamp;
    let pool_key = ctx.accounts.pool.key();
    {
        let mut ledger = ctx.accounts.ledger.load_init()?;
        ledger.pool = pool_key;
        ledger.version = ACCOUNT_VERSION;
        ledger.bump = ctx.bumps.ledger;
        ledger.current_day = coverage_core::policy::day_of(now);
        ledger.last_accrual = now;
    }
    let pool = &mut ctx.accounts.pool;
    pool.version = ACCOUNT_VERSION;
    pool.bump = ctx.bumps.pool;
    pool.vault_bump = ctx.bumps.vault;
    pool.paused = false;
    pool.creator = ctx.accounts.creator.key();
    pool.pool_id = args.pool_id;
    pool.authority = args.authority;
    pool.pending_authority = Pubkey::default();
    pool.collateral_mint = ctx.accounts.collateral_mint.key();
    pool.token_program = ctx.accounts.token_program.key();
    pool.collateral_decimals = ctx.accounts.collateral_mint.decimals;
    pool.vault = ctx.accounts.vault.key();
    pool.treasury = ctx.accounts.treasury.key();
    pool.ledger = ctx.accounts.ledger.key();
    pool.cooldown = args.cooldown;
    pool.withdraw_window = args.withdraw_window;
    pool.max_leverage_bps = args.max_leverage_bps;
    pool.protocol_fee_bps = args.protocol_fee_bps;
    pool.tranche_count = args.tranche_weights_bps.len() as u8;
    pool.tranches_initialized = 0;
    pool.market_count = 0;
    pool.open_streaks = 0;
    pool.fees_owed = 0;
    pool.premiums_paid = 0;
    for (i, w) in args.tranche_weights_bps.iter().enumerate() {
        pool.tranches[i] = Tranche {
            premium_weight_bps: *w,
            ..Tranche::default()
        };
    }
    emit!(PoolInitialized {
        pool: pool.key(),
        authority: pool.authority,
        collateral_mint: pool.collateral_mint,
        tranche_count: pool.tranche_count,
    });
    Ok(())
}
