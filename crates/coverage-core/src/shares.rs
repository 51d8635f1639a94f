//! Tranche share math.
//!
//! Share price = tranche assets / total shares, where
//! * tranche assets are the pool's own books (`Tranche::assets`), never the
//!   vault balance: a donation to the vault moves no share price;
//! * total shares = the share mint's supply + the tranche's [`DEAD_SHARES`],
//!   locked at the tranche's first deposit (paid for by that deposit, never
//!   redeemable by anyone).
//!
//! With the price taken from tracked assets, the only way to raise a share
//! price is to pay premium into the tranche; the dead shares then take their
//! part of it, and the rounding a later depositor suffers is worth at most one
//! share, so the first-depositor inflation attack always costs the attacker
//! far more than it takes (see `donation_attack_is_unprofitable` and the bank
//! test `inflation_attack_leaves_attacker_at_a_loss`). Dead shares (rather
//! than virtual assets) keep the books exact: every share, dead or alive,
//! carries its part of gains and losses, and holders of all live shares can
//! never be told they own more than the tranche holds.

use crate::math::{mul_div_floor, CoreResult, SafeMath};
use crate::CoreError;

/// Shares locked forever at a tranche's first deposit (10^3 base units:
/// 0.001 USDC for a 6-decimal collateral). The first deposit must exceed it.
pub const DEAD_SHARES: u64 = 1_000;

/// What a deposit mints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DepositShares {
    /// Shares minted to the depositor.
    pub shares: u64,
    /// Shares locked as dead shares (non-zero only for a tranche's first deposit).
    pub dead_shares: u64,
}

/// Shares minted for a deposit of `amount` into a tranche holding `assets`
/// with `total_shares` outstanding (mint supply + dead shares). Rounded down
/// (in the pool's favour).
///
/// The first deposit into an empty tranche is priced at one share unit per
/// asset unit and locks [`DEAD_SHARES`] of it. Refuses a zero amount, a
/// deposit worth zero shares, and deposits into a tranche whose assets were
/// wiped out while shares remain.
pub fn shares_for_deposit(amount: u64, assets: u64, total_shares: u64) -> CoreResult<DepositShares> {
    if amount == 0 {
        return Err(CoreError::ZeroAmount);
    }
    if total_shares == 0 {
        // empty tranche; `assets` is zero too (dead shares never leave)
        if amount <= DEAD_SHARES {
            return Err(CoreError::ZeroShares);
        }
        return Ok(DepositShares {
            shares: amount - DEAD_SHARES,
            dead_shares: DEAD_SHARES,
        });
    }
    if assets == 0 {
        return Err(CoreError::TrancheWipedOut);
    }
    let shares = mul_div_floor(amount, total_shares, assets)?;
    if shares == 0 {
        return Err(CoreError::ZeroShares);
    }
    // the new supply must still fit a token amount
    total_shares.safe_add(shares)?;
    Ok(DepositShares { shares, dead_shares: 0 })
}

/// Assets that `shares` are worth in a tranche holding `assets` with
/// `total_shares` outstanding. Rounded down (in the pool's favour).
pub fn assets_for_shares(shares: u64, assets: u64, total_shares: u64) -> CoreResult<u64> {
    if shares > total_shares {
        return Err(CoreError::InsufficientShares);
    }
    if shares == 0 {
        return Ok(0);
    }
    mul_div_floor(shares, assets, total_shares)
}

/// The tranche's share price scaled by `scale` (e.g. 10^9 for display),
/// rounded down; `scale` (price 1) for an empty tranche.
pub fn share_price_scaled(assets: u64, total_shares: u64, scale: u64) -> CoreResult<u64> {
    if total_shares == 0 {
        return Ok(scale);
    }
    mul_div_floor(scale, assets, total_shares)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_deposit_is_one_to_one_and_locks_dead_shares() {
        assert_eq!(
            shares_for_deposit(5_000, 0, 0),
            Ok(DepositShares {
                shares: 4_000,
                dead_shares: DEAD_SHARES
            })
        );
        assert_eq!(shares_for_deposit(DEAD_SHARES, 0, 0), Err(CoreError::ZeroShares));
        assert_eq!(assets_for_shares(4_000, 5_000, 5_000), Ok(4_000));
    }

    #[test]
    fn rounding_favours_the_pool() {
        // price 3/2: 1 unit buys 0 shares, 3 units buy 2
        assert_eq!(shares_for_deposit(1, 3_000, 2_000), Err(CoreError::ZeroShares));
        assert_eq!(shares_for_deposit(3, 3_000, 2_000).unwrap().shares, 2);
        assert_eq!(assets_for_shares(1, 3_000, 2_000), Ok(1));
    }

    #[test]
    fn refusals() {
        assert_eq!(shares_for_deposit(0, 0, 0), Err(CoreError::ZeroAmount));
        assert_eq!(shares_for_deposit(10, 0, 5), Err(CoreError::TrancheWipedOut));
        assert_eq!(assets_for_shares(6, 10, 5), Err(CoreError::InsufficientShares));
        assert_eq!(shares_for_deposit(u64::MAX, 1, u64::MAX), Err(CoreError::MathOverflow));
    }

    #[test]
    fn donation_attack_is_unprofitable() {
        // attacker: the first deposit, 1 share beyond the dead shares
        let mut assets = DEAD_SHARES + 1;
        let mut total = DEAD_SHARES + shares_for_deposit(assets, 0, 0).unwrap().shares;
        // then pays 10 000 USDC of premium into the tranche (a vault donation moves nothing)
        let pushed = 10_000_000_000u64;
        assets += pushed;
        // victim deposits 20 000 USDC
        let victim_in = 20_000_000_000u64;
        let victim_shares = shares_for_deposit(victim_in, assets, total).unwrap().shares;
        assets += victim_in;
        total += victim_shares;
        let victim_out = assets_for_shares(victim_shares, assets, total).unwrap();
        let attacker_out = assets_for_shares(1, assets, total).unwrap();
        assert!(
            attacker_out < pushed / 100,
            "attacker recovers < 1 % of what he pushed in"
        );
        // the victim loses at most one share's worth (0.05 % here)
        assert!(victim_in - victim_out <= assets / total + 1);
    }
}
