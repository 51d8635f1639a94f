use anchor_lang::prelude::*;
use coverage_core::book::{CoverBook as BookView, BOOK_DAYS, PENDING_SLOTS};

/// A market's cover book (zero-copy): active cover by expiry day and recent
/// sales by activation minute. PDA `[BOOK_SEED, market]`. See `coverage_core::book`.
#[account(zero_copy)]
#[repr(C)]
pub struct CoverBook {
    /// Cover not yet expired as of the end of `processed_day`.
    pub active_cover: u64,
    /// Last day whose expiries were removed.
    pub processed_day: i64,
    /// Cover by end day (ring).
    pub by_end_day: [u64; BOOK_DAYS],
    /// Activation minute of each pending slot.
    pub pending_minute: [i64; PENDING_SLOTS],
    /// Cover activating at that minute.
    pub pending_amount: [u64; PENDING_SLOTS],
    /// The market.
    pub market: Pubkey,
    /// The market's pool.
    pub pool: Pubkey,
    /// The market's index in the pool.
    pub index: u32,
    /// Layout version.
    pub version: u8,
    /// Canonical bump.
    pub bump: u8,
    /// Padding / room to grow.
    pub reserved: [u8; 122],
}

impl CoverBook {
    /// The core's view of this book.
    pub fn view(&mut self) -> BookView<'_> {
        BookView {
            active_cover: &mut self.active_cover,
            processed_day: &mut self.processed_day,
            by_end_day: &mut self.by_end_day,
            pending_minute: &mut self.pending_minute,
            pending_amount: &mut self.pending_amount,
        }
    }

    /// Active cover on `today`, read-only.
    pub fn active_cover_on(&self, today: i64) -> Result<u64> {
        coverage_core::book::active_cover_on(self.active_cover, self.processed_day, &self.by_end_day, today)
            .map_err(|e| error!(crate::error::ErrorCode::from(e)))
    }
}
