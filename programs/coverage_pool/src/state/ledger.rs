use anchor_lang::prelude::*;
use coverage_core::streaming::{PremiumLedger as LedgerView, LEDGER_DAYS};

/// The pool's premium ledger (zero-copy): premium still to be earned, by day.
/// PDA `[LEDGER_SEED, pool]`. See `coverage_core::streaming`.
#[account(zero_copy)]
#[repr(C)]
pub struct PremiumLedger {
    /// Day being earned.
    pub current_day: i64,
    /// Last accrual time.
    pub last_accrual: i64,
    /// Part of the current day's premium not yet earned.
    pub today_unearned: u64,
    /// Total premium not yet earned (owed to stakers over time).
    pub unearned_total: u64,
    /// Premium to be earned per future day (ring).
    pub by_day: [u64; LEDGER_DAYS],
    /// The pool.
    pub pool: Pubkey,
    /// Layout version.
    pub version: u8,
    /// Canonical bump.
    pub bump: u8,
    /// Padding / room to grow.
    pub reserved: [u8; 126],
}

impl PremiumLedger {
    /// The core's view of this ledger.
    pub fn view(&mut self) -> LedgerView<'_> {
        LedgerView {
            current_day: &mut self.current_day,
            last_accrual: &mut self.last_accrual,
            today_unearned: &mut self.today_unearned,
            unearned_total: &mut self.unearned_total,
            by_day: &mut self.by_day,
        }
    }
}
