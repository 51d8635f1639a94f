//! Errors of the pure core. The program maps each one to its own named error
//! code (one variant each in `coverage_pool::error::ErrorCode`).

/// Why a core rule refused an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreError {
    /// A checked arithmetic operation overflowed or divided by zero.
    MathOverflow,
    /// An amount of zero where a positive amount is required.
    ZeroAmount,
    /// The deposit is too small to mint a single share.
    ZeroShares,
    /// The deposit would mint fewer shares than the caller's `min_shares`.
    SlippageExceeded,
    /// The tranche has shares outstanding but no assets: new money would be diluted away.
    TrancheWipedOut,
    /// More shares than the tranche has (or the staker holds).
    InsufficientShares,
    /// The withdrawal request's cooldown has not elapsed yet.
    CooldownNotElapsed,
    /// The withdrawal request's window has passed; it must be renewed.
    WithdrawalRequestLapsed,
    /// The redemption would leave pool capital below its required capital.
    RequiredCapitalBreached,
    /// The oracle price is zero or negative.
    NonPositivePrice,
    /// The oracle exponent is outside what the pool's price unit can represent exactly.
    UnsupportedPriceExponent,
    /// The oracle price or confidence does not fit the pool's price unit.
    PriceNotRepresentable,
    /// The oracle price is older than the market's `max_price_age`.
    StalePrice,
    /// The oracle confidence interval is wider than the market's `max_conf_bps`.
    ConfidenceTooWide,
    /// The observation's publish time is not later than the last accepted one.
    PublishTimeNotIncreasing,
    /// The market has triggered for this epoch and accepts no further observations.
    MarketAlreadyTriggered,
    /// The purchase would take the market's active cover past its capacity.
    CapacityExceeded,
    /// Cover term out of bounds (1 to 365 whole days).
    InvalidCoverTerm,
    /// The premium ledger must be accrued to the current time first.
    LedgerNotAccrued,
    /// The oracle shows the strike breached: `price − conf` is below the strike.
    PriceBelowStrike,
}

impl core::fmt::Display for CoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // the variant's name is the program's error name
        core::fmt::Debug::fmt(self, f)
    }
}

impl core::error::Error for CoreError {}
