//! A reference model of the whole protocol, built only from this crate's
//! rules: the state the program keeps in its accounts (tranches, premium
//! ledger, markets with their cover books and settlements, policies,
//! withdrawal requests, fees, reserves) plus what lives in token accounts
//! (the vault, users' cash and shares). Each operation mirrors one program
//! instruction — same checks, same order, same rounding — and either applies
//! whole or fails with the name of the program's error and changes nothing.
//!
//! Used by the model-based property tests (invariants of PROTOCOL.md 4 after
//! every step), by the bank tests that compare the real program's accounts
//! with it step by step, by the fuzz target, and by the risk engine.

use alloc::collections::BTreeMap;
use alloc::vec;
use alloc::vec::Vec;

use crate::book::{CoverBook, BOOK_DAYS, PENDING_SLOTS};
use crate::math::{mul_div_floor, SafeMath};
use crate::policy::{
    claimable_cover_day, day_of, is_eligible, policy_closable, policy_term, MarketClaims, MarketPhase,
};
use crate::price::UnitPrice;
use crate::pricing::Curve;
use crate::settlement::{
    liability, payout_fraction, policy_payout, release_waterfall, reserve_waterfall, Fraction, Shape,
};
use crate::shares::{assets_for_shares, shares_for_deposit};
use crate::staking::{check_capital_after_withdrawal, redemption_value, required_capital_of, WithdrawalTiming};
use crate::streaming::{split_by_weight, PremiumLedger, LEDGER_DAYS};
use crate::trigger::{observe, Observation, StreakState, TriggerTerms};
use crate::{CoreError, BPS};

/// Why an operation was refused: the program's error name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelError {
    /// A core rule refused (same name in the program's `ErrorCode`).
    Core(CoreError),
    /// `SlippageExceeded`.
    SlippageExceeded,
    /// `WithdrawalAlreadyRequested`.
    WithdrawalAlreadyRequested,
    /// `StreakOpenInPool`.
    StreakOpenInPool,
    /// `MarketClosed`.
    MarketClosed,
    /// `SalesStoppedStreakOpen`.
    SalesStoppedStreakOpen,
    /// `MarketAlreadyTriggered` (raised by the shell before the oracle is read).
    MarketAlreadyTriggered,
    /// `PriceBelowStrike`.
    PriceBelowStrike,
    /// `InvalidCoverAmount`.
    InvalidCoverAmount,
    /// `PremiumAboveMax`.
    PremiumAboveMax,
    /// `MarketNotTriggered`.
    MarketNotTriggered,
    /// `ReserveReleased`.
    ReserveReleased,
    /// `ClaimsOutstanding`.
    ClaimsOutstanding,
    /// `ReserveNotReleased`.
    ReserveNotReleased,
    /// `PolicySettled`.
    PolicySettled,
    /// `WrongMarket`.
    WrongMarket,
    /// `WrongEpoch`.
    WrongEpoch,
    /// `MalformedBatch`.
    MalformedBatch,
    /// `StalePrice` raised by `buy_cover` (price older than the last observation).
    StalePrice,
    /// `ConfidenceTooWide` raised by `buy_cover`.
    ConfidenceTooWide,
    /// `InvalidTranche`.
    InvalidTranche,
    /// No withdrawal request exists (the program: the account is missing).
    NoRequest,
    /// The token program refuses: not enough tokens in the source account.
    InsufficientFunds,
    /// `MarketNotOpen`.
    MarketNotOpen,
    /// `PriceBelowStrikeInPool` (raised by `withdraw`).
    PriceBelowStrikeInPool,
    /// `ReservePendingRelease`.
    ReservePendingRelease,
    /// `PolicyNotClosable`.
    PolicyNotClosable,
    /// `MarketHasOpenStreak`.
    MarketHasOpenStreak,
    /// `MarketHasActiveCover`.
    MarketHasActiveCover,
    /// `WrongMarketBooks`: `withdraw` needs exactly one (market, book, price) per market.
    WrongMarketBooks,
    /// The policy account is gone (closed): the program fails on the missing account.
    NoPolicy,
    /// `InvalidPolicyAccount`: a closed policy in a settlement batch.
    InvalidPolicyAccount,
}

impl From<CoreError> for ModelError {
    fn from(e: CoreError) -> Self {
        ModelError::Core(e)
    }
}

/// Result of a model operation.
pub type ModelResult<T> = Result<T, ModelError>;

/// Pool parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolParams {
    /// Premium weights, bps, junior first.
    pub weights_bps: Vec<u64>,
    /// Cooldown, seconds.
    pub cooldown: i64,
    /// Withdraw window, seconds.
    pub withdraw_window: i64,
    /// Max leverage, bps.
    pub max_leverage_bps: u64,
    /// Protocol fee, bps.
    pub protocol_fee_bps: u64,
    /// Smallest cover amount (one whole collateral token).
    pub min_cover: u64,
    /// Claim window after a trigger, seconds.
    pub claim_window: i64,
}

/// Market parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MarketParams {
    /// Trigger terms.
    pub terms: TriggerTerms,
    /// Payout shape.
    pub shape: Shape,
    /// Pricing curve.
    pub curve: Curve,
    /// Capacity allocation, bps.
    pub allocation_bps: u64,
    /// Activation delay, seconds.
    pub activation_delay: i64,
}

/// A market's lifecycle, as the program's `MarketStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Observing, selling.
    Active,
    /// A depeg streak is open.
    StreakOpen,
    /// Triggered this epoch.
    Triggered,
    /// Closed.
    Closed,
}

/// A tranche.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tranche {
    /// Tracked assets.
    pub assets: u64,
    /// Dead shares.
    pub dead_shares: u64,
    /// Share mint supply (live shares, escrowed ones included).
    pub supply: u64,
}

impl Tranche {
    /// Supply plus dead shares.
    pub fn total_shares(&self) -> u64 {
        self.supply + self.dead_shares
    }
}

/// A market's settlement, as the program's `Settlement`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Settlement {
    /// Eligible cover at the streak's start.
    pub eligible_cover: u64,
    /// Liability.
    pub liability: u64,
    /// Reserve.
    pub reserve: u64,
    /// Reserve left.
    pub reserve_left: u64,
    /// Paid.
    pub paid: u64,
    /// Eligible cover settled.
    pub settled_cover: u64,
    /// Policies settled.
    pub settled_policies: u64,
    /// Payout fraction.
    pub fraction_num: u64,
    /// Payout fraction.
    pub fraction_den: u64,
    /// Taken per tranche.
    pub taken: [u64; 4],
    /// Claim deadline.
    pub claim_deadline: i64,
    /// Released.
    pub released: bool,
}

/// A market.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Market {
    /// Parameters.
    pub params: MarketParams,
    /// Status.
    pub status: Status,
    /// Epoch.
    pub epoch: u32,
    /// Streak state (core form).
    pub streak: StreakState,
    /// Accepted observations of this epoch (for the invariant-6 check).
    pub accepted: Vec<Observation>,
    /// Event: streak start, trigger time, lowest price.
    pub event: (i64, i64, u64),
    /// Settlement of the last event.
    pub settlement: Settlement,
    /// First second of sales and observations (creation + governance delay).
    pub sales_open_at: i64,
    /// Cover book fields.
    pub active_cover: u64,
    /// Cover book fields.
    pub processed_day: i64,
    /// Cover book fields.
    pub by_end_day: Vec<u64>,
    /// Cover book fields.
    pub pending_minute: Vec<i64>,
    /// Cover book fields.
    pub pending_amount: Vec<u64>,
}

impl Market {
    fn book(&mut self) -> CoverBook<'_> {
        CoverBook {
            active_cover: &mut self.active_cover,
            processed_day: &mut self.processed_day,
            by_end_day: &mut self.by_end_day,
            pending_minute: &mut self.pending_minute,
            pending_amount: &mut self.pending_amount,
        }
    }

    /// Active cover on `today`, read-only.
    pub fn active_cover_on(&self, today: i64) -> ModelResult<u64> {
        Ok(crate::book::active_cover_on(
            self.active_cover,
            self.processed_day,
            &self.by_end_day,
            today,
        )?)
    }

    /// The market's standing for claims (as the program's `Market::claims`).
    pub fn claims(&self) -> MarketClaims {
        MarketClaims {
            epoch: self.epoch,
            phase: match self.status {
                Status::Active => MarketPhase::Active,
                Status::StreakOpen => MarketPhase::StreakOpen,
                Status::Triggered => MarketPhase::Triggered {
                    released: self.settlement.released,
                },
                Status::Closed => MarketPhase::Closed,
            },
            last_publish_time: self.streak.last_publish_time,
            max_price_age: self.params.terms.max_price_age,
        }
    }
}

/// A policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Market index.
    pub market: usize,
    /// Epoch bought in.
    pub epoch: u32,
    /// Owner (user id).
    pub owner: u32,
    /// Amount covered.
    pub amount: u64,
    /// Premium paid.
    pub premium: u64,
    /// Activation time.
    pub activation_time: i64,
    /// End time.
    pub end_time: i64,
    /// Settled.
    pub settled: bool,
    /// Payout.
    pub payout: u64,
    /// Closed for its rent (the account is gone).
    pub closed: bool,
}

/// A withdrawal request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// Locked shares.
    pub shares: u64,
    /// Value at request.
    pub value_at_request: u64,
    /// Request time.
    pub requested_at: i64,
}

/// The premium ledger (owned).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ledger {
    /// Day being earned.
    pub current_day: i64,
    /// Last accrual.
    pub last_accrual: i64,
    /// Today's unearned.
    pub today_unearned: u64,
    /// Unearned total.
    pub unearned_total: u64,
    /// Ring.
    pub by_day: Vec<u64>,
}

impl Ledger {
    fn view(&mut self) -> PremiumLedger<'_> {
        PremiumLedger {
            current_day: &mut self.current_day,
            last_accrual: &mut self.last_accrual,
            today_unearned: &mut self.today_unearned,
            unearned_total: &mut self.unearned_total,
            by_day: &mut self.by_day,
        }
    }
}

/// The whole protocol.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    /// The clock.
    pub now: i64,
    /// Pool parameters.
    pub params: PoolParams,
    /// Tranches, junior first.
    pub tranches: Vec<Tranche>,
    /// Premium ledger.
    pub ledger: Ledger,
    /// Markets.
    pub markets: Vec<Market>,
    /// Policies, by id in order of purchase.
    pub policies: Vec<Policy>,
    /// Withdrawal requests by (user, tranche).
    pub requests: BTreeMap<(u32, usize), Request>,
    /// Shares held by users (outside the escrow), by (user, tranche).
    pub shares: BTreeMap<(u32, usize), u64>,
    /// Collateral held by users.
    pub cash: BTreeMap<u32, u64>,
    /// Vault balance.
    pub vault: u64,
    /// Fees owed.
    pub fees_owed: u64,
    /// Unpaid reserves.
    pub reserves_total: u64,
    /// Payouts paid, all time.
    pub payouts_paid: u64,
    /// Premiums paid, all time.
    pub premiums_paid: u64,
    /// Markets with an open streak.
    pub open_streaks: u32,
}

impl Model {
    /// A pool at `now` with its tranches and no markets.
    pub fn new(now: i64, params: PoolParams) -> Self {
        let n = params.weights_bps.len();
        Self {
            now,
            params,
            tranches: vec![Tranche::default(); n],
            ledger: Ledger {
                current_day: day_of(now),
                last_accrual: now,
                today_unearned: 0,
                unearned_total: 0,
                by_day: vec![0; LEDGER_DAYS],
            },
            markets: Vec::new(),
            policies: Vec::new(),
            requests: BTreeMap::new(),
            shares: BTreeMap::new(),
            cash: BTreeMap::new(),
            vault: 0,
            fees_owed: 0,
            reserves_total: 0,
            payouts_paid: 0,
            premiums_paid: 0,
            open_streaks: 0,
        }
    }

    /// The delay of a new market's first sale (and of queued changes):
    /// cooldown + withdraw window + a day.
    pub fn governance_delay(&self) -> i64 {
        self.timing().governance_delay().expect("bounded parameters")
    }

    /// Adds a market (as `create_market`): it opens after the governance delay.
    pub fn add_market(&mut self, params: MarketParams) -> usize {
        let sales_open_at = self.now + self.governance_delay();
        self.markets.push(Market {
            sales_open_at,
            params,
            status: Status::Active,
            epoch: 0,
            streak: StreakState::default(),
            accepted: Vec::new(),
            event: (0, 0, 0),
            settlement: Settlement::default(),
            active_cover: 0,
            processed_day: day_of(self.now),
            by_end_day: vec![0; BOOK_DAYS],
            pending_minute: vec![0; PENDING_SLOTS],
            pending_amount: vec![0; PENDING_SLOTS],
        });
        self.markets.len() - 1
    }

    /// Gives `user` collateral (a mint to their token account).
    pub fn fund(&mut self, user: u32, amount: u64) {
        *self.cash.entry(user).or_default() += amount;
    }

    /// Moves the clock forward.
    pub fn advance(&mut self, secs: i64) {
        self.now += secs.max(0);
    }

    /// Pool capital.
    pub fn capital(&self) -> u64 {
        self.tranches.iter().map(|t| t.assets).sum()
    }

    /// What the books say the vault holds.
    pub fn books_total(&self) -> u64 {
        self.capital() + self.ledger.unearned_total + self.reserves_total + self.fees_owed
    }

    /// Runs `f` on a copy and keeps it only on success.
    fn atomically<T>(&mut self, f: impl FnOnce(&mut Model) -> ModelResult<T>) -> ModelResult<T> {
        let mut next = self.clone();
        let out = f(&mut next)?;
        *self = next;
        Ok(out)
    }

    fn accrue(&mut self) -> ModelResult<()> {
        let now = self.now;
        let earned = self.ledger.view().accrue(now)?;
        if earned == 0 {
            return Ok(());
        }
        let eligible: Vec<bool> = self.tranches.iter().map(|t| t.dead_shares > 0).collect();
        let (parts, unallocated) = split_by_weight(earned, &self.params.weights_bps, &eligible)?;
        for (t, p) in self.tranches.iter_mut().zip(parts) {
            t.assets = t.assets.safe_add(p)?;
        }
        self.fees_owed = self.fees_owed.safe_add(unallocated)?;
        Ok(())
    }

    fn tranche(&self, t: usize) -> ModelResult<Tranche> {
        self.tranches.get(t).copied().ok_or(ModelError::InvalidTranche)
    }

    fn take_cash(&mut self, user: u32, amount: u64) -> ModelResult<()> {
        let c = self.cash.entry(user).or_default();
        if *c < amount {
            return Err(ModelError::InsufficientFunds);
        }
        *c -= amount;
        Ok(())
    }

    /// `accrue_premium`.
    pub fn accrue_premium(&mut self) -> ModelResult<()> {
        self.atomically(|m| m.accrue())
    }

    /// `deposit`; returns the shares minted.
    pub fn deposit(&mut self, user: u32, t: usize, amount: u64, min_shares: u64) -> ModelResult<u64> {
        self.atomically(|m| {
            m.accrue()?;
            if m.reserves_total > 0 {
                return Err(ModelError::ReservePendingRelease);
            }
            let tr = m.tranche(t)?;
            let minted = shares_for_deposit(amount, tr.assets, tr.total_shares())?;
            if minted.shares < min_shares {
                return Err(ModelError::SlippageExceeded);
            }
            m.take_cash(user, amount)?;
            m.vault = m.vault.safe_add(amount)?;
            let tr = &mut m.tranches[t];
            tr.supply = tr.supply.safe_add(minted.shares)?;
            tr.assets = tr.assets.safe_add(amount)?;
            tr.dead_shares = tr.dead_shares.safe_add(minted.dead_shares)?;
            *m.shares.entry((user, t)).or_default() += minted.shares;
            Ok(minted.shares)
        })
    }

    fn timing(&self) -> WithdrawalTiming {
        WithdrawalTiming {
            cooldown: self.params.cooldown,
            withdraw_window: self.params.withdraw_window,
        }
    }

    /// `request_withdrawal`.
    pub fn request_withdrawal(&mut self, user: u32, t: usize, shares: u64) -> ModelResult<()> {
        self.atomically(|m| {
            m.accrue()?;
            let tr = m.tranche(t)?;
            let existing = m.requests.get(&(user, t)).copied();
            let locked_before = match existing {
                Some(r) => {
                    if m.now <= m.timing().lapses_at(r.requested_at)? {
                        return Err(ModelError::WithdrawalAlreadyRequested);
                    }
                    r.shares
                }
                None => {
                    if shares == 0 {
                        return Err(CoreError::ZeroAmount.into());
                    }
                    0
                }
            };
            let locked = locked_before.safe_add(shares)?;
            let value = assets_for_shares(locked, tr.assets, tr.total_shares())?;
            if shares > 0 {
                let held = m.shares.entry((user, t)).or_default();
                if *held < shares {
                    return Err(ModelError::InsufficientFunds);
                }
                *held -= shares;
            }
            m.requests.insert(
                (user, t),
                Request {
                    shares: locked,
                    value_at_request: value,
                    requested_at: m.now,
                },
            );
            Ok(())
        })
    }

    /// `cancel_withdrawal`.
    pub fn cancel_withdrawal(&mut self, user: u32, t: usize) -> ModelResult<()> {
        self.atomically(|m| {
            let r = m.requests.remove(&(user, t)).ok_or(ModelError::NoRequest)?;
            *m.shares.entry((user, t)).or_default() += r.shares;
            Ok(())
        })
    }

    /// Required capital (as `withdraw`): from every market's book, the
    /// cover a streak not yet reported could still find in force.
    pub fn required_capital(&self) -> ModelResult<u64> {
        let mut active = Vec::with_capacity(self.markets.len());
        for mk in &self.markets {
            let day = claimable_cover_day(mk.streak.last_publish_time, mk.params.terms.max_price_age, self.now);
            active.push(mk.active_cover_on(day)?);
        }
        Ok(required_capital_of(active, self.params.max_leverage_bps)?)
    }

    /// `withdraw`, with `prices[i]` the price update passed for market `i`;
    /// returns the payout.
    pub fn withdraw(&mut self, user: u32, t: usize, prices: &[Observation]) -> ModelResult<u64> {
        self.atomically(|m| {
            m.accrue()?;
            let r = m.requests.get(&(user, t)).copied().ok_or(ModelError::NoRequest)?;
            m.timing().check_redeemable(r.requested_at, m.now)?;
            if m.open_streaks > 0 {
                return Err(ModelError::StreakOpenInPool);
            }
            if prices.len() != m.markets.len() {
                return Err(ModelError::WrongMarketBooks);
            }
            for (mk, obs) in m.markets.iter().zip(prices) {
                if mk.status == Status::Active && m.now >= mk.sales_open_at {
                    mk.params
                        .terms
                        .check_healthy_price(mk.streak.last_publish_time, obs, m.now)
                        .map_err(|e| match e {
                            CoreError::PriceBelowStrike => ModelError::PriceBelowStrikeInPool,
                            CoreError::StalePrice => ModelError::StalePrice,
                            CoreError::ConfidenceTooWide => ModelError::ConfidenceTooWide,
                            other => other.into(),
                        })?;
                }
            }
            let tr = m.tranche(t)?;
            let payout = redemption_value(r.shares, r.value_at_request, tr.assets, tr.total_shares())?;
            check_capital_after_withdrawal(m.capital(), payout, m.required_capital()?)?;
            m.requests.remove(&(user, t));
            let tr = &mut m.tranches[t];
            tr.supply -= r.shares;
            tr.assets -= payout;
            m.vault -= payout;
            *m.cash.entry(user).or_default() += payout;
            Ok(payout)
        })
    }

    /// `buy_cover` with an oracle price `price` published at `publish_time`;
    /// returns the policy id.
    #[allow(clippy::too_many_arguments)]
    pub fn buy_cover(
        &mut self,
        user: u32,
        market: usize,
        amount: u64,
        days: u64,
        max_premium: u64,
        price: UnitPrice,
        publish_time: i64,
    ) -> ModelResult<usize> {
        self.atomically(|m| {
            let mk = &m.markets[market];
            match mk.status {
                Status::Active => {}
                Status::StreakOpen => return Err(ModelError::SalesStoppedStreakOpen),
                Status::Triggered => return Err(ModelError::MarketAlreadyTriggered),
                Status::Closed => return Err(ModelError::MarketClosed),
            }
            if m.now < mk.sales_open_at {
                return Err(ModelError::MarketNotOpen);
            }
            let obs = Observation { price, publish_time };
            mk.params
                .terms
                .check_healthy_price(mk.streak.last_publish_time, &obs, m.now)
                .map_err(|e| match e {
                    CoreError::PriceBelowStrike => ModelError::PriceBelowStrike,
                    CoreError::StalePrice => ModelError::StalePrice,
                    CoreError::ConfidenceTooWide => ModelError::ConfidenceTooWide,
                    other => other.into(),
                })?;
            let term = policy_term(m.now, mk.params.activation_delay, days)?;
            if amount < m.params.min_cover {
                return Err(ModelError::InvalidCoverAmount);
            }
            m.accrue()?;
            let capacity = mul_div_floor(m.capital(), m.markets[market].params.allocation_bps, BPS)?;
            let now = m.now;
            let mk = &mut m.markets[market];
            let curve = mk.params.curve;
            let max_price_age = mk.params.terms.max_price_age;
            let mut book = mk.book();
            book.expire_for_sale(now, max_price_age)?;
            let premium = curve.premium(amount, days, *book.active_cover, capacity)?;
            if premium > max_premium {
                return Err(ModelError::PremiumAboveMax);
            }
            book.add(amount, term.activation_time, term.end_time)?;
            let fee = mul_div_floor(premium, m.params.protocol_fee_bps, BPS)?;
            m.ledger.view().add(premium - fee, now, term.end_time)?;
            m.take_cash(user, premium)?;
            m.vault = m.vault.safe_add(premium)?;
            m.fees_owed = m.fees_owed.safe_add(fee)?;
            m.premiums_paid = m.premiums_paid.safe_add(premium)?;
            let epoch = m.markets[market].epoch;
            m.policies.push(Policy {
                market,
                epoch,
                owner: user,
                amount,
                premium,
                activation_time: term.activation_time,
                end_time: term.end_time,
                settled: false,
                payout: 0,
                closed: false,
            });
            Ok(m.policies.len() - 1)
        })
    }

    /// `check_trigger` with an observation published at or before now;
    /// returns whether the market triggered.
    pub fn check_trigger(&mut self, market: usize, obs: Observation) -> ModelResult<bool> {
        self.atomically(|m| {
            let now = m.now;
            let mk = &mut m.markets[market];
            match mk.status {
                Status::Closed => return Err(ModelError::MarketClosed),
                Status::Triggered => return Err(ModelError::MarketAlreadyTriggered),
                _ => {}
            }
            if now < mk.sales_open_at {
                return Err(ModelError::MarketNotOpen);
            }
            let was_open = mk.status == Status::StreakOpen;
            let out = observe(&mk.params.terms, &mut mk.streak, &obs, now)?;
            mk.accepted.push(obs);
            mk.status = if mk.streak.triggered {
                Status::Triggered
            } else if mk.streak.streak_open {
                Status::StreakOpen
            } else {
                Status::Active
            };
            let now_open = mk.status == Status::StreakOpen;
            if out.triggered {
                mk.event = (mk.streak.streak_start, mk.streak.trigger_time, mk.streak.streak_low);
                m.reserve_for_event(market)?;
            }
            if now_open && !was_open {
                m.open_streaks += 1;
            } else if was_open && !now_open {
                m.open_streaks -= 1;
            }
            Ok(out.triggered)
        })
    }

    fn reserve_for_event(&mut self, market: usize) -> ModelResult<()> {
        self.accrue()?;
        let now = self.now;
        let mk = &mut self.markets[market];
        let start = mk.event.0;
        let eligible = mk.book().cover_in_force_at(start)?;
        mk.book().clear(day_of(now));
        let f = payout_fraction(mk.params.shape, mk.params.terms.strike, mk.event.2)?;
        let owed = liability(eligible, f)?;
        let mut assets: Vec<u64> = self.tranches.iter().map(|t| t.assets).collect();
        let (taken, reserve) = reserve_waterfall(&mut assets, owed)?;
        for (t, a) in self.tranches.iter_mut().zip(assets) {
            t.assets = a;
        }
        self.reserves_total = self.reserves_total.safe_add(reserve)?;
        self.markets[market].settlement = Settlement {
            eligible_cover: eligible,
            liability: owed,
            reserve,
            reserve_left: reserve,
            fraction_num: f.num,
            fraction_den: f.den,
            taken,
            claim_deadline: now.safe_add(self.params.claim_window)?,
            ..Settlement::default()
        };
        Ok(())
    }

    /// `settle_policies` for a batch of policy ids (each paid to its owner).
    pub fn settle_policies(&mut self, market: usize, batch: &[usize]) -> ModelResult<u64> {
        self.atomically(|m| {
            let mk = &m.markets[market];
            if mk.status != Status::Triggered {
                return Err(ModelError::MarketNotTriggered);
            }
            if mk.settlement.released {
                return Err(ModelError::ReserveReleased);
            }
            if batch.is_empty() || batch.len() > crate::settlement::MAX_SETTLE_BATCH {
                return Err(ModelError::MalformedBatch);
            }
            let mut total = 0;
            for &id in batch {
                let mk = &m.markets[market];
                let p = m.policies[id];
                if p.closed {
                    return Err(ModelError::InvalidPolicyAccount);
                }
                if p.market != market {
                    return Err(ModelError::WrongMarket);
                }
                if p.epoch != mk.epoch {
                    return Err(ModelError::WrongEpoch);
                }
                if p.settled {
                    return Err(ModelError::PolicySettled);
                }
                let s = mk.settlement;
                let eligible = is_eligible(p.activation_time, p.end_time, mk.event.0);
                let f = Fraction {
                    num: s.fraction_num,
                    den: s.fraction_den,
                };
                let payout = if eligible {
                    policy_payout(p.amount, f, s.reserve, s.liability)?
                } else {
                    0
                };
                if payout > s.reserve_left {
                    return Err(CoreError::MathOverflow.into());
                }
                m.vault -= payout;
                *m.cash.entry(p.owner).or_default() += payout;
                let st = &mut m.markets[market].settlement;
                st.reserve_left -= payout;
                st.paid += payout;
                st.settled_policies += 1;
                if eligible {
                    st.settled_cover += p.amount;
                }
                m.reserves_total -= payout;
                m.payouts_paid += payout;
                m.policies[id].settled = true;
                m.policies[id].payout = payout;
                total += payout;
            }
            Ok(total)
        })
    }

    /// `release_reserve`.
    pub fn release_reserve(&mut self, market: usize) -> ModelResult<()> {
        self.atomically(|m| {
            let now = m.now;
            let mk = &m.markets[market];
            if mk.status != Status::Triggered {
                return Err(ModelError::MarketNotTriggered);
            }
            let s = mk.settlement;
            if s.released {
                return Err(ModelError::ReserveReleased);
            }
            if !(s.settled_cover >= s.eligible_cover || now > s.claim_deadline) {
                return Err(ModelError::ClaimsOutstanding);
            }
            let mut assets: Vec<u64> = m.tranches.iter().map(|t| t.assets).collect();
            release_waterfall(&mut assets, &s.taken, s.reserve_left)?;
            for (t, a) in m.tranches.iter_mut().zip(assets) {
                t.assets = a;
            }
            m.reserves_total -= s.reserve_left;
            let st = &mut m.markets[market].settlement;
            st.reserve_left = 0;
            st.released = true;
            Ok(())
        })
    }

    /// `reopen_market` (the authority).
    pub fn reopen_market(&mut self, market: usize) -> ModelResult<()> {
        self.atomically(|m| {
            let mk = &mut m.markets[market];
            if mk.status != Status::Triggered {
                return Err(ModelError::MarketNotTriggered);
            }
            if !mk.settlement.released {
                return Err(ModelError::ReserveNotReleased);
            }
            mk.epoch += 1;
            mk.status = Status::Active;
            mk.streak = StreakState {
                last_publish_time: mk.streak.last_publish_time,
                ..StreakState::default()
            };
            mk.accepted.clear();
            mk.settlement = Settlement::default();
            Ok(())
        })
    }

    /// `close_policy` (anyone; the rent goes to the owner, not modelled).
    pub fn close_policy(&mut self, id: usize) -> ModelResult<()> {
        self.atomically(|m| {
            let p = m.policies.get(id).copied().ok_or(ModelError::NoPolicy)?;
            if p.closed {
                return Err(ModelError::NoPolicy);
            }
            let claims = m.markets[p.market].claims();
            if !policy_closable(p.settled, p.epoch, p.end_time, &claims, m.now) {
                return Err(ModelError::PolicyNotClosable);
            }
            m.policies[id].closed = true;
            Ok(())
        })
    }

    /// `close_market` (the authority).
    pub fn close_market(&mut self, market: usize) -> ModelResult<()> {
        self.atomically(|m| {
            let now = m.now;
            let mk = &m.markets[market];
            match mk.status {
                Status::Closed => return Err(ModelError::MarketClosed),
                Status::StreakOpen => return Err(ModelError::MarketHasOpenStreak),
                Status::Triggered => {
                    if !mk.settlement.released {
                        return Err(ModelError::ReserveNotReleased);
                    }
                }
                Status::Active => {
                    let day = claimable_cover_day(mk.streak.last_publish_time, mk.params.terms.max_price_age, now);
                    if mk.active_cover_on(day)? != 0 {
                        return Err(ModelError::MarketHasActiveCover);
                    }
                }
            }
            m.markets[market].status = Status::Closed;
            Ok(())
        })
    }

    /// Checks invariants 1, 4, 5 (capacity side) and 6 of PROTOCOL.md on the
    /// current state; returns a description of the first violation.
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        // 1: vault ≥ tranche assets + unearned premium + reserves + fees (equal: no donations here)
        if self.vault != self.books_total() {
            return Err("invariant 1: vault != books");
        }
        for (idx, mk) in self.markets.iter().enumerate() {
            let s = mk.settlement;
            // 4: an event never pays past its reserve
            if s.paid > s.reserve || s.reserve_left + s.paid != s.reserve && !s.released {
                return Err("invariant 4: payouts exceed the reserve");
            }
            if s.reserve > s.liability {
                return Err("invariant 4: reserved more than the liability");
            }
            // closing never destroys a claim: no closed, unsettled policy is eligible for the event
            if mk.status == Status::Triggered && !s.released {
                let lost = self.policies.iter().any(|p| {
                    p.market == idx
                        && p.epoch == mk.epoch
                        && p.closed
                        && !p.settled
                        && is_eligible(p.activation_time, p.end_time, mk.event.0)
                });
                if lost {
                    return Err("an eligible policy was closed unpaid");
                }
            }
            // 6: a trigger is backed by an observed streak of `duration`
            if mk.status == Status::Triggered && !trigger_is_backed(&mk.params.terms, &mk.accepted, mk.event) {
                return Err("invariant 6: trigger without an observed streak");
            }
        }
        // reserves on the books are the markets' unpaid reserves
        let left: u64 = self.markets.iter().map(|m| m.settlement.reserve_left).sum();
        if left != self.reserves_total {
            return Err("reserves_total != sum of reserves left");
        }
        // ledger: unearned = today + ring
        let ring: u64 = self.ledger.by_day.iter().sum();
        if self.ledger.unearned_total != self.ledger.today_unearned + ring {
            return Err("ledger unearned total out of step");
        }
        // shares: supply = users' shares + escrowed shares
        for (t, tr) in self.tranches.iter().enumerate() {
            let held: u64 = self
                .shares
                .iter()
                .filter(|((_, tt), _)| *tt == t)
                .map(|(_, s)| *s)
                .sum();
            let escrow: u64 = self
                .requests
                .iter()
                .filter(|((_, tt), _)| *tt == t)
                .map(|(_, r)| r.shares)
                .sum();
            if held + escrow != tr.supply {
                return Err("share supply != held + escrowed");
            }
        }
        Ok(())
    }
}

/// Invariant 6, independently of `trigger::observe`: the accepted
/// observations of the epoch contain a run starting at the event's streak
/// start with `price + conf < strike`, every later one below recovery and
/// within `max_gap` of the previous, reaching `duration` exactly at the
/// trigger time.
pub fn trigger_is_backed(terms: &TriggerTerms, accepted: &[Observation], event: (i64, i64, u64)) -> bool {
    let (start, trigger, _) = event;
    let Some(i) = accepted.iter().position(|o| o.publish_time == start) else {
        return false;
    };
    let first = accepted[i];
    if first.price.price.saturating_add(first.price.conf) >= terms.strike {
        return false;
    }
    let mut prev = first.publish_time;
    for o in &accepted[i + 1..] {
        if o.publish_time - prev > terms.max_gap || o.price.price >= terms.recovery {
            return false;
        }
        prev = o.publish_time;
        if o.publish_time == trigger {
            return trigger - start >= terms.duration;
        }
    }
    trigger == start && terms.duration == 0
}
