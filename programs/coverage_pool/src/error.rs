//! The program's one error enum. Codes are `6000 + position`: new variants are
//! only ever appended, so codes stay stable for clients.

use anchor_lang::prelude::*;
use coverage_core::CoreError;

#[error_code]
pub enum ErrorCode {
    // ---- arithmetic and amounts (core) ----
    #[msg("Arithmetic overflow")]
    MathOverflow,
    #[msg("Amount must be greater than zero")]
    ZeroAmount,
    #[msg("Deposit too small to mint a single share")]
    ZeroShares,
    #[msg("Deposit would mint fewer shares than min_shares")]
    SlippageExceeded,
    #[msg("Tranche assets were wiped out while shares remain: deposits are closed")]
    TrancheWipedOut,
    #[msg("More shares than available")]
    InsufficientShares,
    #[msg("Withdrawal request cooldown has not elapsed")]
    CooldownNotElapsed,
    #[msg("Withdrawal request window has passed: cancel and request again")]
    WithdrawalRequestLapsed,
    #[msg("Redemption would leave pool capital below its required capital")]
    RequiredCapitalBreached,
    // ---- oracle (core) ----
    #[msg("Oracle price is zero or negative")]
    NonPositivePrice,
    #[msg("Oracle exponent cannot be represented exactly in price units (1e-8)")]
    UnsupportedPriceExponent,
    #[msg("Oracle price or confidence does not fit in price units")]
    PriceNotRepresentable,
    #[msg("Oracle price is older than the market's max price age")]
    StalePrice,
    #[msg("Oracle confidence interval is wider than the market's max_conf_bps")]
    ConfidenceTooWide,
    #[msg("Oracle publish time is not later than the last accepted observation")]
    PublishTimeNotIncreasing,
    #[msg("Market has triggered for this epoch and accepts no further observations")]
    MarketAlreadyTriggered,
    // ---- oracle account (shell) ----
    #[msg("Price update account is not owned by the Pyth receiver program")]
    OracleWrongOwner,
    #[msg("Price update account is not a PriceUpdateV2")]
    OracleInvalidAccount,
    #[msg("Price update is not fully verified")]
    OracleNotFullyVerified,
    #[msg("Price update is for a different feed than the market's")]
    OracleWrongFeed,
    // ---- pool parameters ----
    #[msg("A pool has 1 to 4 tranches")]
    InvalidTrancheCount,
    #[msg("Tranche premium weights must be positive, non-increasing from junior to senior, and sum to 10 000 bps")]
    InvalidPremiumWeights,
    #[msg("Cooldown out of bounds")]
    InvalidCooldown,
    #[msg("Withdraw window out of bounds")]
    InvalidWithdrawWindow,
    #[msg("Max leverage out of bounds")]
    InvalidMaxLeverage,
    #[msg("Protocol fee out of bounds")]
    InvalidProtocolFee,
    #[msg("Collateral mint has a Token-2022 extension the pool cannot honour")]
    UnsupportedMintExtension,
    #[msg("Treasury must be a token account of the collateral mint")]
    InvalidTreasury,
    // ---- accounts ----
    #[msg("Tranche index out of range for this pool")]
    InvalidTranche,
    #[msg("Tranche is already initialized")]
    TrancheAlreadyInitialized,
    #[msg("Tranches must be initialized in order, junior first")]
    TrancheOutOfOrder,
    #[msg("Pool is not ready: not every tranche is initialized")]
    PoolNotReady,
    #[msg("Pool is paused: deposits and cover sales are stopped")]
    PoolPaused,
    #[msg("Signer is not the pool authority")]
    Unauthorized,
    #[msg("Account does not belong to this pool")]
    WrongPool,
    #[msg("Token account has the wrong mint")]
    WrongMint,
    #[msg("Token account is not owned by the expected owner")]
    WrongTokenOwner,
    #[msg("Token program does not match the pool's")]
    WrongTokenProgram,
    #[msg("An open withdrawal request exists for this tranche: cancel it, or wait until it lapses to renew it")]
    WithdrawalAlreadyRequested,
    #[msg("Withdrawal request belongs to another staker")]
    NotRequestOwner,
    #[msg("A market's streak is open: redemptions wait until it closes or triggers")]
    StreakOpenInPool,
    // ---- markets ----
    #[msg("Pool has reached its maximum number of markets")]
    TooManyMarkets,
    #[msg("Strike must be positive and the recovery price between the strike and twice the strike")]
    InvalidStrikeOrRecovery,
    #[msg("Trigger duration out of bounds")]
    InvalidDuration,
    #[msg("Max gap out of bounds")]
    InvalidMaxGap,
    #[msg("Max price age out of bounds")]
    InvalidMaxPriceAge,
    #[msg("Max confidence out of bounds")]
    InvalidMaxConf,
    #[msg("Payout shape invalid: a linear floor price must be positive and below the strike")]
    InvalidPayoutShape,
    #[msg("Pricing curve invalid: kink in (0, 10 000) bps, rates within bounds, steep slope at least the gentle one")]
    InvalidPricingCurve,
    #[msg("Capacity allocation out of bounds")]
    InvalidAllocation,
    #[msg("Activation delay must exceed the max price age and be at most 2 hours")]
    InvalidActivationDelay,
    #[msg("Market is closed")]
    MarketClosed,
    // ---- cover sales ----
    #[msg("Purchase would take the market's active cover past its capacity")]
    CapacityExceeded,
    #[msg("Cover term out of bounds: 1 to 365 whole days")]
    InvalidCoverTerm,
    #[msg("Premium ledger was not accrued to the current time")]
    LedgerNotAccrued,
    #[msg("Cover amount below the minimum (one whole collateral token)")]
    InvalidCoverAmount,
    #[msg("Premium is above the buyer's max_premium")]
    PremiumAboveMax,
    #[msg("Market is paused: cover sales are stopped")]
    MarketPaused,
    #[msg("A depeg streak is open on this market: cover sales are stopped")]
    SalesStoppedStreakOpen,
    #[msg("The oracle shows the strike breached (price - conf below strike): cover sales are stopped")]
    PriceBelowStrike,
    #[msg("Remaining accounts must be, for each market of the pool in order, the market, its cover book and a price update of its feed")]
    WrongMarketBooks,
    #[msg("Account does not belong to this market")]
    WrongMarket,
    #[msg("Signer is not the policy owner")]
    NotPolicyOwner,
    #[msg("Policy is already settled")]
    PolicySettled,
    #[msg("Policy cannot be closed yet: it has not ended, or it may still be paid")]
    PolicyNotClosable,
    #[msg("No protocol fees to collect")]
    NoFeesOwed,
    // ---- settlement ----
    #[msg("Not a policy account of this program")]
    InvalidPolicyAccount,
    #[msg("Policy belongs to another epoch of the market")]
    WrongEpoch,
    #[msg("Settlement batch must be 1 to 32 (policy, token account) pairs")]
    MalformedBatch,
    #[msg("Market has not triggered")]
    MarketNotTriggered,
    #[msg("The event's reserve was already released")]
    ReserveReleased,
    #[msg("Eligible policies are unsettled and the claim window is still open")]
    ClaimsOutstanding,
    #[msg("The event's reserve must be released first")]
    ReserveNotReleased,
    #[msg("Market still has active cover")]
    MarketHasActiveCover,
    #[msg("Market has an open depeg streak")]
    MarketHasOpenStreak,
    // ---- governance ----
    #[msg("No authority transfer is pending")]
    NoPendingAuthority,
    #[msg("Signer is not the proposed authority")]
    NotPendingAuthority,
    #[msg("A change is already queued: cancel it first")]
    ChangeAlreadyQueued,
    #[msg("No change is queued")]
    NoPendingChange,
    #[msg("The queued change's delay has not passed")]
    ChangeNotReady,
    // ---- audit fixes (appended: codes stay stable) ----
    #[msg("Market is not open yet: its first sale waits the governance delay after creation (sales_open_at)")]
    MarketNotOpen,
    #[msg("A market's oracle shows its strike breached (price - conf below strike): redemptions wait until a keeper reports it or it recovers")]
    PriceBelowStrikeInPool,
    #[msg("A triggered market's reserve is not released yet: deposits wait, so the surplus goes back to those who bore the reserve")]
    ReservePendingRelease,
}

impl From<CoreError> for ErrorCode {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::MathOverflow => ErrorCode::MathOverflow,
            CoreError::ZeroAmount => ErrorCode::ZeroAmount,
            CoreError::ZeroShares => ErrorCode::ZeroShares,
            CoreError::SlippageExceeded => ErrorCode::SlippageExceeded,
            CoreError::TrancheWipedOut => ErrorCode::TrancheWipedOut,
            CoreError::InsufficientShares => ErrorCode::InsufficientShares,
            CoreError::CooldownNotElapsed => ErrorCode::CooldownNotElapsed,
            CoreError::WithdrawalRequestLapsed => ErrorCode::WithdrawalRequestLapsed,
            CoreError::RequiredCapitalBreached => ErrorCode::RequiredCapitalBreached,
            CoreError::NonPositivePrice => ErrorCode::NonPositivePrice,
            CoreError::UnsupportedPriceExponent => ErrorCode::UnsupportedPriceExponent,
            CoreError::PriceNotRepresentable => ErrorCode::PriceNotRepresentable,
            CoreError::StalePrice => ErrorCode::StalePrice,
            CoreError::ConfidenceTooWide => ErrorCode::ConfidenceTooWide,
            CoreError::PublishTimeNotIncreasing => ErrorCode::PublishTimeNotIncreasing,
            CoreError::MarketAlreadyTriggered => ErrorCode::MarketAlreadyTriggered,
            CoreError::CapacityExceeded => ErrorCode::CapacityExceeded,
            CoreError::InvalidCoverTerm => ErrorCode::InvalidCoverTerm,
            CoreError::LedgerNotAccrued => ErrorCode::LedgerNotAccrued,
            CoreError::PriceBelowStrike => ErrorCode::PriceBelowStrike,
        }
    }
}

/// Lifts a core result into an Anchor result with the matching named error.
pub trait CoreResultExt<T> {
    /// Maps the core error to its `ErrorCode`.
    fn or_named(self) -> Result<T>;
}

impl<T> CoreResultExt<T> for core::result::Result<T, CoreError> {
    #[track_caller]
    fn or_named(self) -> Result<T> {
        self.map_err(|e| error!(ErrorCode::from(e)))
    }
}
