use anchor_lang::prelude::*;
use coverage_core::staking::WithdrawalTiming;
use coverage_core::streaming::split_by_weight;

use crate::constants::{MAX_TRANCHES, POOL_SEED};
use crate::error::{CoreResultExt, ErrorCode};
use crate::state::PremiumLedger;

/// One layer of pooled capital (PROTOCOL.md 2). Tranche 0 is the most junior.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Default, Debug, PartialEq, Eq, InitSpace)]
pub struct Tranche {
    /// The tranche's share mint (PDA, mint authority: the pool).
    pub share_mint: Pubkey,
    /// Token account holding shares locked by withdrawal requests (PDA, authority: the pool).
    pub share_escrow: Pubkey,
    /// Canonical bump of `share_mint`.
    pub share_mint_bump: u8,
    /// Canonical bump of `share_escrow`.
    pub share_escrow_bump: u8,
    /// Premium weight, bps of the premium that goes to stakers.
    pub premium_weight_bps: u16,
    /// Tracked assets: the tranche's capital on the pool's books (not the vault balance).
    pub assets: u64,
    /// Shares locked at the first deposit; counted in the share price, never redeemable.
    pub dead_shares: u64,
    /// Room to grow.
    pub reserved: [u8; 32],
}

/// A queued change of the pool's parameters (PROTOCOL.md 3.6): the complete
/// new set, applied by anyone after `eta`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Default, Debug, PartialEq, Eq, InitSpace)]
pub struct PoolParamsChange {
    /// New protocol fee, bps.
    pub protocol_fee_bps: u16,
    /// New max leverage, bps.
    pub max_leverage_bps: u32,
    /// New cooldown, seconds.
    pub cooldown: u32,
    /// New withdraw window, seconds.
    pub withdraw_window: u32,
    /// New premium weights, bps, junior first (entries past the tranche count are 0).
    pub weights_bps: [u16; MAX_TRANCHES],
}

/// A coverage pool: one collateral mint, one vault, 1–4 tranches, markets.
#[account]
#[derive(InitSpace, Debug)]
pub struct Pool {
    /// Layout version.
    pub version: u8,
    /// Canonical bump of the pool PDA.
    pub bump: u8,
    /// Canonical bump of the vault PDA.
    pub vault_bump: u8,
    /// Deposits and cover sales stopped (redemptions, triggers and payouts never are).
    pub paused: bool,
    /// Who created the pool (part of the pool's seeds).
    pub creator: Pubkey,
    /// Creator-chosen id (part of the pool's seeds).
    pub pool_id: u64,
    /// The pool authority (expected to be a multisig vault PDA).
    pub authority: Pubkey,
    /// Authority proposed by a pending two-step transfer (default: none).
    pub pending_authority: Pubkey,
    /// Collateral mint (SPL Token, or Token-2022 without hooks/fees).
    pub collateral_mint: Pubkey,
    /// Token program of the collateral mint (and of the share mints).
    pub token_program: Pubkey,
    /// Decimals of the collateral (and of every share mint).
    pub collateral_decimals: u8,
    /// Vault token account (PDA, authority: the pool).
    pub vault: Pubkey,
    /// Token account of the collateral mint that receives protocol fees.
    pub treasury: Pubkey,
    /// The pool's premium ledger (PDA `[LEDGER_SEED, pool]`).
    pub ledger: Pubkey,
    /// Seconds between a withdrawal request and its earliest redemption.
    pub cooldown: u32,
    /// Seconds after the cooldown during which a request may be redeemed.
    pub withdraw_window: u32,
    /// Max leverage L in bps (10 000 = 1x): total cover up to L x capital.
    pub max_leverage_bps: u32,
    /// Protocol fee, bps of each premium.
    pub protocol_fee_bps: u16,
    /// Number of tranches (1–4).
    pub tranche_count: u8,
    /// Number of tranches whose share mint and escrow exist.
    pub tranches_initialized: u8,
    /// Number of markets created (next market index).
    pub market_count: u32,
    /// Sum of the markets' capacity allocations, bps (at most `max_leverage_bps`).
    pub total_allocation_bps: u32,
    /// Markets of this pool with an open depeg streak (redemptions wait while > 0).
    pub open_streaks: u16,
    /// Protocol fees owed to the treasury (collected with `collect_fees`).
    pub fees_owed: u64,
    /// Premiums paid into the vault, all time (fees included).
    pub premiums_paid: u64,
    /// Sum of the markets' unpaid reserves (claims set aside at trigger).
    pub reserves_total: u64,
    /// Paid to policy owners, all time.
    pub payouts_paid: u64,
    /// Tranches, junior first; entries past `tranche_count` are unused.
    pub tranches: [Tranche; MAX_TRANCHES],
    /// Queued parameter change (meaningful while `pending_change_eta > 0`).
    pub pending_change: PoolParamsChange,
    /// When the queued change may be applied (0: none queued).
    pub pending_change_eta: i64,
    /// Room to grow.
    pub reserved: [u8; 256],
}

impl Pool {
    /// Runs `f` with the pool PDA's signer seeds (it signs for the vault,
    /// the share mints and the share escrows).
    pub fn with_signer<R>(&self, f: impl FnOnce(&[&[&[u8]]]) -> R) -> R {
        let id = self.pool_id.to_le_bytes();
        let bump = [self.bump];
        let seeds: [&[u8]; 4] = [POOL_SEED, self.creator.as_ref(), &id, &bump];
        f(&[&seeds])
    }

    /// Share mint of `tranche`, if the pool has that tranche.
    pub fn share_mint_of(&self, tranche: u8) -> Option<Pubkey> {
        self.tranche(tranche).ok().map(|t| t.share_mint)
    }

    /// Share escrow of `tranche`, if the pool has that tranche.
    pub fn share_escrow_of(&self, tranche: u8) -> Option<Pubkey> {
        self.tranche(tranche).ok().map(|t| t.share_escrow)
    }

    /// The tranche at `index`, or `InvalidTranche`.
    pub fn tranche(&self, index: u8) -> Result<&Tranche> {
        require!(index < self.tranche_count, ErrorCode::InvalidTranche);
        Ok(&self.tranches[index as usize])
    }

    /// The tranche at `index`, mutably, or `InvalidTranche`.
    pub fn tranche_mut(&mut self, index: u8) -> Result<&mut Tranche> {
        require!(index < self.tranche_count, ErrorCode::InvalidTranche);
        Ok(&mut self.tranches[index as usize])
    }

    /// Whether every tranche's share mint and escrow exist.
    pub fn is_ready(&self) -> bool {
        self.tranches_initialized == self.tranche_count
    }

    /// The pool's cooldown and window in the core's form.
    pub fn withdrawal_timing(&self) -> WithdrawalTiming {
        WithdrawalTiming {
            cooldown: i64::from(self.cooldown),
            withdraw_window: i64::from(self.withdraw_window),
        }
    }

    /// Earns the premium due up to `now` from the ledger into the tranches,
    /// split by premium weight among tranches that have shares (the most
    /// junior of them takes the rounding remainder). Premium with no tranche
    /// to take it goes to the protocol fees.
    pub fn accrue_premium(&mut self, ledger: &mut PremiumLedger, now: i64) -> Result<()> {
        let earned = ledger.view().accrue(now).or_named()?;
        if earned == 0 {
            return Ok(());
        }
        let n = self.tranche_count as usize;
        let mut weights = [0u64; MAX_TRANCHES];
        let mut eligible = [false; MAX_TRANCHES];
        for (i, t) in self.tranches.iter().enumerate().take(n) {
            weights[i] = u64::from(t.premium_weight_bps);
            eligible[i] = t.dead_shares > 0;
        }
        let (parts, unallocated) = split_by_weight(earned, &weights[..n], &eligible[..n]).or_named()?;
        for (t, part) in self.tranches.iter_mut().zip(parts).take(n) {
            t.assets = t.assets.checked_add(part).ok_or(ErrorCode::MathOverflow)?;
        }
        self.fees_owed = self.fees_owed.checked_add(unallocated).ok_or(ErrorCode::MathOverflow)?;
        Ok(())
    }

    /// Required capital (PROTOCOL.md 3.3) from every market's active cover
    /// (in market order): `max(largest, total / L)`.
    pub fn required_capital(&self, active_cover: impl Iterator<Item = u64>) -> Result<u64> {
        coverage_core::staking::required_capital_of(active_cover, u64::from(self.max_leverage_bps)).or_named()
    }

    /// Tranche assets, junior first (only the pool's tranches).
    pub fn tranche_assets(&self) -> [u64; MAX_TRANCHES] {
        let mut a = [0u64; MAX_TRANCHES];
        for (i, t) in self.tranches.iter().enumerate().take(self.tranche_count as usize) {
            a[i] = t.assets;
        }
        a
    }

    /// Writes back tranche assets produced by a core waterfall.
    pub fn set_tranche_assets(&mut self, assets: &[u64; MAX_TRANCHES]) {
        let n = self.tranche_count as usize;
        for (t, a) in self.tranches.iter_mut().zip(assets).take(n) {
            t.assets = *a;
        }
    }

    /// Moves one market's allocation from `old` to `new` bps (0 for a market
    /// being created or closed), keeping every allocation within the pool's
    /// leverage (`InvalidAllocation`). Changes nothing when refused.
    pub fn reallocate(&mut self, old: u32, new: u32) -> Result<()> {
        let total = self
            .total_allocation_bps
            .checked_sub(old)
            .and_then(|t| t.checked_add(new))
            .ok_or(ErrorCode::MathOverflow)?;
        require!(total <= self.max_leverage_bps, ErrorCode::InvalidAllocation);
        self.total_allocation_bps = total;
        Ok(())
    }

    /// The delay of a queued change or a new market's first sale: longer
    /// than a staker needs to leave (cooldown + withdraw window) plus a day's
    /// grace — under the current timing or the queued one, whichever is
    /// longer: a due change can be applied right after (even in the same
    /// transaction), and requests made from then on wait its cooldown.
    pub fn governance_delay(&self) -> Result<i64> {
        let queued = (self.pending_change_eta != 0).then(|| WithdrawalTiming {
            cooldown: i64::from(self.pending_change.cooldown),
            withdraw_window: i64::from(self.pending_change.withdraw_window),
        });
        self.withdrawal_timing().governance_delay_with(queued).or_named()
    }

    /// Pool capital C (PROTOCOL.md 3.3): the sum of tranche assets (reserves excluded).
    pub fn capital(&self) -> Result<u64> {
        let mut c: u64 = 0;
        for t in self.tranches.iter().take(self.tranche_count as usize) {
            c = c.checked_add(t.assets).ok_or(ErrorCode::MathOverflow)?;
        }
        Ok(c)
    }
}
