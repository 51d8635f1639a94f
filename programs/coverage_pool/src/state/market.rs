use anchor_lang::prelude::*;
use coverage_core::trigger::{StreakState, TriggerTerms};

/// How a triggered market pays (PROTOCOL.md 3.5). Prices in price units (1e-8 USD).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum PayoutShape {
    /// Pays the whole amount covered.
    Binary,
    /// Pays a fraction growing linearly from 0 at the strike to 1 at `floor_price`,
    /// taken at the lowest `price + conf` of the streak.
    Linear {
        /// Price at or below which the whole amount is paid (`0 < floor_price < strike`).
        floor_price: u64,
    },
}

/// Kinked utilization curve of the annual premium rate (PROTOCOL.md 3.2), in bps.
/// rate(u) = base + slope_below_kink × min(u, kink)/kink
///         + slope_above_kink × max(u − kink, 0)/(10 000 − kink).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct PricingCurve {
    /// Annual rate at zero utilization, bps.
    pub base_rate_bps: u32,
    /// Rate added from zero utilization up to the kink, bps.
    pub slope_below_kink_bps: u32,
    /// Rate added from the kink to full utilization, bps (the steep part).
    pub slope_above_kink_bps: u32,
    /// Utilization of the kink, bps of capacity (strictly between 0 and 10 000).
    pub kink_utilization_bps: u32,
}

/// A market's lifecycle state. Pause is a separate flag (`Market::paused`).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub enum MarketStatus {
    /// Observing; no depeg streak open; cover may be sold.
    Active,
    /// A depeg streak is open: cover sales stop until it closes or triggers.
    StreakOpen,
    /// The market triggered in its current epoch: observations stop, settlement runs.
    Triggered,
    /// Closed by the authority: no sales, no observations.
    Closed,
}

/// The event recorded when a market triggers (PROTOCOL.md 3.4 rule 5).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Default, Debug, PartialEq, Eq, InitSpace)]
pub struct TriggerEvent {
    /// Epoch in which the market triggered.
    pub epoch: u32,
    /// Publish time of the observation that opened the streak.
    pub streak_start: i64,
    /// Publish time of the triggering observation.
    pub trigger_time: i64,
    /// Lowest `price + conf` seen in the streak, price units.
    pub lowest_price: u64,
}

/// What a trigger reserved and what settlement has paid (PROTOCOL.md 3.5).
/// Fixed at trigger: `eligible_cover`, `liability`, `reserve`, the payout
/// fraction and `taken`; the haircut is `min(1, reserve / liability)`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Default, Debug, PartialEq, Eq, InitSpace)]
pub struct Settlement {
    /// Cover in force when the streak began (from the cover book).
    pub eligible_cover: u64,
    /// `ceil(eligible_cover × fraction)`.
    pub liability: u64,
    /// Reserved from the tranches at trigger: `min(liability, capital)`.
    pub reserve: u64,
    /// Reserve not yet paid out.
    pub reserve_left: u64,
    /// Paid to policy owners so far.
    pub paid: u64,
    /// Eligible cover settled so far.
    pub settled_cover: u64,
    /// Policies settled so far (eligible or not).
    pub settled_policies: u64,
    /// Payout fraction numerator.
    pub fraction_num: u64,
    /// Payout fraction denominator.
    pub fraction_den: u64,
    /// Reserved from each tranche (junior first).
    pub taken: [u64; 4],
    /// After this time the reserve may be released even with claims unsettled.
    pub claim_deadline: i64,
    /// The reserve's remainder went back to the tranches.
    pub released: bool,
}

/// A queued change of a market's sale parameters (never its trigger terms).
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Copy, Debug, PartialEq, Eq, InitSpace)]
pub struct MarketParamsChange {
    /// New pricing curve.
    pub curve: PricingCurve,
    /// New capacity allocation, bps.
    pub allocation_bps: u32,
    /// New activation delay, seconds.
    pub activation_delay: u32,
}

/// One covered risk with a parametric trigger. PDA `[MARKET_SEED, pool, index]`.
/// The trigger terms (feed, strike, recovery, duration, max gap, max price age,
/// max confidence, payout shape) are fixed at creation.
#[account]
#[derive(InitSpace, Debug)]
pub struct Market {
    /// Layout version.
    pub version: u8,
    /// Canonical bump.
    pub bump: u8,
    /// Cover sales stopped by the authority (observations and settlement go on).
    pub paused: bool,
    /// Lifecycle state.
    pub status: MarketStatus,
    /// The pool whose capital backs this market.
    pub pool: Pubkey,
    /// The market's cover book (PDA `[BOOK_SEED, market]`).
    pub book: Pubkey,
    /// Policies sold, all epochs (next policy id).
    pub policy_count: u64,
    /// Cover sold, all epochs, collateral base units.
    pub cover_sold: u64,
    /// Index within the pool (part of the seeds).
    pub index: u32,
    /// Current epoch (starts at 0; a reopened market starts a new one).
    pub epoch: u32,
    /// Pyth feed id of the observed price (`PriceUpdateV2::price_message.feed_id`).
    pub feed_id: [u8; 32],
    /// Strike, price units: a streak opens when `price + conf < strike`.
    pub strike: u64,
    /// Recovery price, price units (≥ strike): an open streak closes when `price ≥ recovery`.
    pub recovery: u64,
    /// Seconds a streak must last to trigger.
    pub duration: u32,
    /// Longest accepted silence between observations inside a streak, seconds.
    pub max_gap: u32,
    /// Oldest accepted price against the clock, seconds.
    pub max_price_age: u32,
    /// Widest accepted confidence interval, bps of price.
    pub max_conf_bps: u16,
    /// Payout shape.
    pub payout: PayoutShape,
    /// Premium pricing curve.
    pub curve: PricingCurve,
    /// Capacity allocation, bps of pool capital.
    pub allocation_bps: u32,
    /// Seconds between a purchase and the start of its cover (> max price age).
    pub activation_delay: u32,
    /// Publish time of the last accepted observation (0: none yet).
    pub last_publish_time: i64,
    /// Price of the last accepted observation, price units.
    pub last_price: u64,
    /// Confidence of the last accepted observation, price units.
    pub last_conf: u64,
    /// Accepted observations, all epochs.
    pub observations: u64,
    /// Publish time that opened the current streak (meaningful while `StreakOpen`).
    pub streak_start: i64,
    /// Lowest `price + conf` of the current streak.
    pub streak_low: u64,
    /// The last trigger event (meaningful from the first trigger on).
    pub event: TriggerEvent,
    /// Reserve and settlement of the last trigger event.
    pub settlement: Settlement,
    /// Queued change of the sale parameters (meaningful while `pending_change_eta > 0`).
    pub pending_change: Option<MarketParamsChange>,
    /// When the queued change may be applied (0: none queued).
    pub pending_change_eta: i64,
    /// First second at which cover may be sold and observations are accepted:
    /// creation + the governance delay (cooldown + withdraw window + 1 day,
    /// the longer of the pool's current and queued timing), so a staker who
    /// disagrees with a new market can leave first.
    pub sales_open_at: i64,
    /// Room to grow.
    pub reserved: [u8; 504],
}

impl Market {
    /// The trigger terms in the core's form.
    pub fn trigger_terms(&self) -> TriggerTerms {
        TriggerTerms {
            strike: self.strike,
            recovery: self.recovery,
            duration: i64::from(self.duration),
            max_gap: i64::from(self.max_gap),
            max_price_age: i64::from(self.max_price_age),
            max_conf_bps: u64::from(self.max_conf_bps),
        }
    }

    /// The streak state in the core's form.
    pub fn streak_state(&self) -> StreakState {
        StreakState {
            last_publish_time: self.last_publish_time,
            streak_open: self.status == MarketStatus::StreakOpen,
            streak_start: self.streak_start,
            streak_low: self.streak_low,
            triggered: self.status == MarketStatus::Triggered,
            trigger_time: self.event.trigger_time,
        }
    }

    /// The pricing curve in the core's form.
    pub fn pricing_curve(&self) -> coverage_core::pricing::Curve {
        coverage_core::pricing::Curve {
            base_rate_bps: u64::from(self.curve.base_rate_bps),
            slope_below_kink_bps: u64::from(self.curve.slope_below_kink_bps),
            slope_above_kink_bps: u64::from(self.curve.slope_above_kink_bps),
            kink_utilization_bps: u64::from(self.curve.kink_utilization_bps),
        }
    }

    /// The payout shape in the core's form.
    pub fn payout_shape(&self) -> coverage_core::settlement::Shape {
        match self.payout {
            PayoutShape::Binary => coverage_core::settlement::Shape::Binary,
            PayoutShape::Linear { floor_price } => coverage_core::settlement::Shape::Linear { floor_price },
        }
    }

    /// The payout fraction fixed at trigger.
    pub fn payout_fraction(&self) -> coverage_core::settlement::Fraction {
        coverage_core::settlement::Fraction {
            num: self.settlement.fraction_num,
            den: self.settlement.fraction_den,
        }
    }

    /// Whether a depeg streak is open.
    pub fn streak_open(&self) -> bool {
        self.status == MarketStatus::StreakOpen
    }

    /// Whether the market has opened (`sales_open_at` passed): before, it
    /// sells nothing and takes no observation.
    pub fn is_open(&self, now: i64) -> bool {
        now >= self.sales_open_at
    }

    /// The market's standing for claims, in the core's form.
    pub fn claims(&self) -> coverage_core::policy::MarketClaims {
        use coverage_core::policy::MarketPhase;
        coverage_core::policy::MarketClaims {
            epoch: self.epoch,
            phase: match self.status {
                MarketStatus::Active => MarketPhase::Active,
                MarketStatus::StreakOpen => MarketPhase::StreakOpen,
                MarketStatus::Triggered => MarketPhase::Triggered {
                    released: self.settlement.released,
                },
                MarketStatus::Closed => MarketPhase::Closed,
            },
            last_publish_time: self.last_publish_time,
            max_price_age: i64::from(self.max_price_age),
        }
    }
}
