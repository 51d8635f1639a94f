//! Client-side quotes with the program's own code: the pool's premium is
//! accrued on a copy of its ledger exactly as `buy_cover` will, then the
//! core's pricing curve prices the cover.

use anchor_lang::prelude::*;
use coverage_core::math::mul_div_floor;
use coverage_core::BPS;
use coverage_pool::error::ErrorCode;
use coverage_pool::state::{CoverBook, Market, Pool, PremiumLedger};

/// The premium `buy_cover(amount, days, _)` charges at time `now`, given the
/// accounts as they are before the purchase.
pub fn premium(
    pool: &Pool,
    ledger: &PremiumLedger,
    market: &Market,
    book: &CoverBook,
    amount: u64,
    days: u16,
    now: i64,
) -> Result<u64> {
    let mut pool = pool.clone();
    let mut ledger = *ledger;
    pool.accrue_premium(&mut ledger, now)?;
    let capacity = mul_div_floor(pool.capital()?, u64::from(market.allocation_bps), BPS)
        .map_err(|e| error!(ErrorCode::from(e)))?;
    let mut book = *book;
    let mut view = book.view();
    view.expire_for_sale(now, i64::from(market.max_price_age))
        .map_err(|e| error!(ErrorCode::from(e)))?;
    market
        .pricing_curve()
        .premium(amount, u64::from(days), *view.active_cover, capacity)
        .map_err(|e| error!(ErrorCode::from(e)))
}

/// Market capacity (pool capital × allocation) at `now`.
pub fn capacity(pool: &Pool, ledger: &PremiumLedger, market: &Market, now: i64) -> Result<u64> {
    let mut pool = pool.clone();
    let mut ledger = *ledger;
    pool.accrue_premium(&mut ledger, now)?;
    mul_div_floor(pool.capital()?, u64::from(market.allocation_bps), BPS).map_err(|e| error!(ErrorCode::from(e)))
}

/// The books: what the pool owes out of its vault — tranche assets +
/// unearned premium + reserves + fees owed. Invariant 1 of PROTOCOL.md: the
/// vault holds at least this (every check of it, in the demo and the tests,
/// sums it here).
pub fn books(pool: &Pool, ledger: &PremiumLedger) -> Result<u64> {
    [ledger.unearned_total, pool.reserves_total, pool.fees_owed]
        .into_iter()
        .try_fold(pool.capital()?, |sum, x| sum.checked_add(x))
        .ok_or_else(|| error!(ErrorCode::MathOverflow))
}

/// Decodes a zero-copy account (`PremiumLedger`, `CoverBook`) from its data
/// (discriminator checked).
pub fn decode_zero_copy<T: bytemuck::Pod + anchor_lang::Discriminator>(data: &[u8]) -> Result<T> {
    let disc = T::DISCRIMINATOR;
    if data.len() < disc.len() + core::mem::size_of::<T>() || &data[..disc.len()] != disc {
        return err!(anchor_lang::error::ErrorCode::AccountDiscriminatorMismatch);
    }
    Ok(bytemuck::pod_read_unaligned(
        &data[disc.len()..disc.len() + core::mem::size_of::<T>()],
    ))
}
