//! Model-based random test of the whole protocol: random operation sequences
//! run against `coverage_core::model::Model`, with the invariants of
//! PROTOCOL.md section 4 checked after every single step.
//!
//! **How sequences are counted.** [`model_invariants_hold_over_random_sequences`]
//! runs one proptest `TestRunner` with `cases = 10_000`; each case is exactly
//! one random sequence: a fresh random pool (1–4 tranches with random premium
//! weights, 2–3 markets with random trigger terms, payout shapes, curves,
//! allocations and activation delays, random cooldown / window / claim
//! window / leverage / fee), 1–3 seed deposits, 0–8 build-up operations
//! (deposits, purchases, short waits), then 10–40 random operations of any
//! kind. One run therefore checks 10 000 sequences (more only while shrinking
//! a failure); `model_invariants_hold_over_random_sequences` counts the
//! sequences it completed and asserts the count is at least 10 000. Operations are drawn as raw selectors and turned into arguments
//! against the current state (amounts relative to balances and capacity,
//! publish times near `model.now`, users/requests/policies picked among the
//! existing ones), so a good fraction of them succeed; the per-kind success
//! and failure counts are printed at the end of the run (`cargo test --test
//! model_properties -- --nocapture`) and the run asserts that every kind
//! succeeds often enough to be meaningful.
//!
//! Operations: deposit, request_withdrawal, cancel_withdrawal, withdraw,
//! buy_cover (fresh / stale / wide-confidence / below-strike / older-than-last
//! prices; max premium unbounded, exactly the quote, or the quote − 1),
//! accrue_premium, check_trigger (healthy, depegged, recovering and straddling
//! prices, sometimes stale / wide-confidence / replayed, after a wait that is
//! sometimes longer than `max_gap`), a trigger drive (depegged observations
//! every ≤ `max_gap` seconds until `duration` has passed), a systemic depeg
//! (every untriggered market driven in turn, so later events can find the
//! capital short and pay a haircut), a late report (just after midnight: a
//! sale, then a depeg published before midnight, then a drive), settle_policies
//! (batches of the market's unsettled policies, sometimes empty, oversized,
//! with a duplicate or with a foreign / old-epoch / settled id),
//! release_reserve, reopen_market, close_policy and close_market (also in a
//! race: just after midnight, before a depeg published before it is reported),
//! create_market (a market that opens only after the governance delay),
//! and waits (seconds to days, to a request's redemption window, past it, past
//! the claim window, to just after midnight, over a year). Markets draw their
//! max price age and activation delay across the program's whole accepted
//! range (5 s – 1 h; above the age up to 2 h). Withdrawals pass a price per
//! market: healthy, or one below its strike (a depeg not reported yet), or
//! one stale.
//!
//! Checked after every step (a step is one model call, or one clock move;
//! failures name the step index and the operation):
//! * `model.check_invariants()` (invariants 1, 4, 6 and bookkeeping), plus:
//!   cash conservation (users' cash + vault = what was funded), the
//!   open-streak counter and the market status agree with the streak states;
//! * a failed operation leaves the model exactly as it was (`==`);
//! * invariant 2: a deposit mints `shares × assets ≤ amount × total_shares`;
//!   a request values its shares at most at their floor value; a withdrawal
//!   pays `payout × total_shares ≤ shares × assets` and `≤ value_at_request`
//!   (tranche state taken after the premium accrual the instruction itself
//!   performs first); each settled eligible policy gets
//!   `payout × liability ≤ floor(amount × f) × reserve`, `payout ≤ amount`,
//!   the same haircut as everyone (exactly `floor(owed × R / L)`), and an
//!   ineligible one gets 0; buy_cover never charges more than `max_premium`
//!   and charges exactly the quote;
//! * invariant 3: a tranche's share price (assets / total shares, compared by
//!   u128 cross-multiplication; tranches without shares have none) never
//!   falls, except in a step where `check_trigger` returned `Ok(true)`;
//! * invariant 4 at trigger: the event's eligible cover EQUALS the cover of
//!   the epoch's policies in force at the streak's start (brute force over
//!   the policies, closed ones included), the liability equals its ceiling
//!   share `ceil(cover × f)`, the reserve `min(liability, capital)` taken
//!   junior tranche first;
//! * closing never destroys a claim: `model.check_invariants()` refuses a
//!   triggered event with a closed, unsettled, eligible policy, and each
//!   successful close_policy / close_market is checked against the rule from
//!   the spec text (no streak that could still be reported began before the
//!   cover's end);
//! * a withdrawal passing a price below an open market's strike fails;
//! * invariant 5: after a purchase the market's active cover ≤ its capacity
//!   (`capital × allocation / 10 000`); after a withdrawal required capital ≤
//!   capital;
//! * invariant 6: besides `trigger_is_backed` (in `check_invariants`), each
//!   observation is accepted iff rule 1 of PROTOCOL.md 3.4 says so, and a
//!   shadow streak per market, kept from the spec text (rules 2–5), must
//!   agree with the model on every accepted observation: the market triggers
//!   exactly when the shadow streak reaches `duration`, with the same streak
//!   start, trigger time and lowest `price + conf`. Stated directly as well:
//!   once accepted observations with `price + conf < strike`, each within
//!   `max_gap` of the previous, span `duration`, the market has triggered;
//!   and every drive must end in a trigger.
//!
//! Regressions found by this test, now fixed (see
//! [`cover_ending_at_midnight_is_counted_for_a_streak_that_began_before_it`]):
//! a purchase just after midnight used to expire the cover that ended at that
//! midnight, though an observation published up to `max_price_age` before
//! midnight could still be reported afterwards and open the streak that
//! triggers, leaving that cover out of the event's liability. Purchases now
//! expire only cover that ended `max_price_age` before them. Likewise (issue
//! 12): closing such a policy (or its market) just after midnight, and cover
//! pending activation beyond the book's old one-hour ring.
//!
//! Runtime: about 20–25 s in a debug build (one test thread). The RNG is
//! XorShift: ChaCha, proptest's default, costs more than the model itself in a
//! debug build. Failure persistence is off so a failing run leaves no file in
//! the repository; proptest prints the minimal failing input instead.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};

use coverage_core::model::{MarketParams, Model, ModelError, ModelResult, PoolParams, Status};
use coverage_core::policy::{day_of, earliest_unreported_streak_start, is_eligible};
use coverage_core::price::{UnitPrice, PRICE_ONE};
use coverage_core::pricing::Curve;
use coverage_core::settlement::{payout_fraction, Shape, MAX_SETTLE_BATCH};
use coverage_core::shares::{shares_for_deposit, DEAD_SHARES};
use coverage_core::staking::required_capital_of;
use coverage_core::trigger::{Observation, TriggerTerms};
use coverage_core::{CoreError, BPS, SECONDS_PER_DAY};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestCaseError, TestRunner};

const D: i64 = SECONDS_PER_DAY;
/// Random sequences per run of the main property (one per proptest case).
const CASES: u32 = 10_000;
/// Users 0..USERS, each funded with [`FUNDING`].
const USERS: u32 = 5;
/// 10^8 USDC (6 decimals) per user.
const FUNDING: u64 = 100_000_000_000_000;
/// One whole collateral token.
const MIN_COVER: u64 = 1_000_000;
/// The program's longest activation delay (`constants::MAX_ACTIVATION_DELAY`).
const MAX_ACTIVATION_DELAY: i64 = 7_200;
/// Markets a sequence may end with (2–3 at the start, more created on the way).
const MAX_MARKETS: usize = 5;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        // ChaCha in a debug build costs more than the model itself; XorShift
        // is plenty for test generation
        rng_algorithm: RngAlgorithm::XorShift,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Random pools
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Setup {
    start: i64,
    pool: PoolParams,
    markets: Vec<MarketParams>,
}

fn curve() -> impl Strategy<Value = Curve> {
    (50u64..=500, 0u64..=2_000, 0u64..=20_000, 5_000u64..=9_000).prop_map(|(b, s1, s2, k)| Curve {
        base_rate_bps: b,
        slope_below_kink_bps: s1,
        slope_above_kink_bps: s2,
        kink_utilization_bps: k,
    })
}

fn market_params(max_alloc: u64) -> impl Strategy<Value = MarketParams> {
    (
        95_000_000u64..=99_500_000,
        0u64..=2_000_000,
        prop_oneof![Just(300i64), Just(900), Just(3_600), Just(7_200)],
        1i64..=8,
        // the whole accepted range of max price age (5 s ..= 1 h)…
        prop_oneof![3 => 5i64..=120, 1 => 121i64..=3_600, 1 => Just(3_600i64)],
        20u64..=500,
        prop_oneof![Just(None), (2_000_000u64..=15_000_000).prop_map(Some)],
        curve(),
        1_000u64..=max_alloc,
        // …and of activation delay (above the age, ≤ 2 h), as a fraction of the room
        prop_oneof![1 => Just(0u32), 3 => 0u32..=10_000, 1 => Just(10_000u32)],
    )
        .prop_map(
            |(strike, above, duration, k, age, conf, floor, curve, alloc, delay)| MarketParams {
                terms: TriggerTerms {
                    strike,
                    recovery: (strike + above).min(PRICE_ONE),
                    duration,
                    max_gap: (duration / k).clamp(60, 3_600),
                    max_price_age: age,
                    max_conf_bps: conf,
                },
                shape: match floor {
                    None => Shape::Binary,
                    Some(x) => Shape::Linear {
                        floor_price: strike - x,
                    },
                },
                curve,
                allocation_bps: alloc,
                // longer than the oracle's max age (PROTOCOL.md 3.2), at most 2 hours (the program's bounds)
                activation_delay: age + 1 + (MAX_ACTIVATION_DELAY - age - 1) * i64::from(delay) / 10_000,
            },
        )
}

fn pool_params() -> impl Strategy<Value = PoolParams> {
    (
        vec(prop_oneof![5 => 500u64..=6_000, 1 => Just(0u64)], 1..=4),
        1i64..=7,
        prop_oneof![Just(3_600i64), Just(D), Just(3 * D)],
        10_000u64..=30_000,
        0u64..=2_000,
        prop_oneof![Just(D), Just(7 * D), Just(30 * D)],
    )
        .prop_map(|(weights_bps, cooldown, window, lev, fee, claim)| PoolParams {
            weights_bps,
            cooldown: cooldown * D,
            withdraw_window: window,
            max_leverage_bps: lev,
            protocol_fee_bps: fee,
            min_cover: MIN_COVER,
            claim_window: claim,
        })
}

fn setup() -> impl Strategy<Value = Setup> {
    (pool_params(), 2usize..=3, 0i64..D)
        .prop_flat_map(|(pool, n, offset)| {
            // allocations sum to at most the max leverage; none above 100 %
            let max_alloc = (pool.max_leverage_bps / n as u64).min(BPS);
            (Just(pool), vec(market_params(max_alloc), n), Just(19_000 * D + offset))
        })
        .prop_map(|(pool, markets, start)| Setup { start, pool, markets })
}

// ---------------------------------------------------------------------------
// Random operations (raw selectors, interpreted against the current state)
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
enum DepositAmount {
    Fixed(u64),
    MoreThanCash,
}

#[derive(Clone, Copy, Debug)]
enum CoverSize {
    /// `MIN_COVER` plus this fraction (bps) of the room left under capacity.
    Frac(u16),
    OverCapacity,
    BelowMin,
}

#[derive(Clone, Copy, Debug)]
enum BuyPrice {
    Fresh,
    Stale,
    WideConf,
    BelowStrike,
    OlderThanLast,
}

#[derive(Clone, Copy, Debug)]
enum MaxPremium {
    Unbounded,
    Quote,
    QuoteMinusOne,
}

#[derive(Clone, Copy, Debug)]
enum PriceKind {
    Healthy,
    Depeg,
    Recovering,
    Straddle,
}

#[derive(Clone, Copy, Debug)]
enum Flaw {
    None,
    Stale,
    WideConf,
    Replay,
}

#[derive(Clone, Copy, Debug)]
enum Corrupt {
    None,
    Duplicate(u8),
    Foreign(u8, u16),
}

#[derive(Clone, Copy, Debug)]
enum Wait {
    Secs(i64),
    Hours(i64),
    Days(i64),
    ToRequestOpen(u8, u16),
    PastWindow(u8),
    PastClaimWindow,
    AfterMidnight(i64),
    Long(i64),
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Deposit {
        user: u8,
        tranche: u8,
        amount: DepositAmount,
        slippage: bool,
    },
    RequestWithdrawal {
        pick: u8,
        frac_bps: u16,
    },
    CancelWithdrawal {
        pick: u8,
    },
    Withdraw {
        pick: u8,
        /// Come back when the request is redeemable (at this bps of the window).
        wait_first: Option<u16>,
        /// The price updates passed for the pool's markets.
        prices: WithdrawPrices,
        r: u32,
    },
    BuyCover {
        user: u8,
        market: u8,
        size: CoverSize,
        days: u64,
        price: BuyPrice,
        max_premium: MaxPremium,
        r: u32,
    },
    AccruePremium,
    CheckTrigger {
        market: u8,
        wait_bps: u16,
        age_bps: u16,
        kind: PriceKind,
        flaw: Flaw,
        r: u32,
    },
    Trigger {
        market: u8,
        step_bps: u16,
        r: u32,
    },
    /// A correlated depeg: every untriggered market is driven to a trigger in
    /// turn (capital reuse: later events may find the capital short).
    SystemicDepeg {
        step_bps: u16,
        r: u32,
    },
    /// Just after midnight: a sale, then a keeper reports a depeg published
    /// before midnight (still fresh), then the depeg is driven to a trigger.
    LateReport {
        market: u8,
        off_bps: u16,
        step_bps: u16,
        r: u32,
    },
    Settle {
        market: u8,
        start: u16,
        len: u8,
        corrupt: Corrupt,
    },
    Release {
        market: u8,
    },
    Reopen {
        market: u8,
    },
    /// `close_policy` of a policy (usually an ended one).
    ClosePolicy {
        pick: u16,
    },
    /// `close_market` (the authority).
    CloseMarket {
        market: u8,
    },
    /// Just after midnight: try to close the policies (and the market) whose
    /// cover ended then, before a depeg published before midnight is reported
    /// and driven to a trigger — closing must never destroy a claim.
    LateClose {
        market: u8,
        off_bps: u16,
        step_bps: u16,
        r: u32,
    },
    /// The authority creates a market: it opens after the governance delay.
    CreateMarket(MarketParams),
    Advance(Wait),
}

/// What `withdraw` is given for the pool's markets.
#[derive(Clone, Copy, Debug)]
enum WithdrawPrices {
    /// A fresh healthy price for every market.
    Healthy,
    /// One market's price shows its strike breached (a depeg not reported yet).
    BelowStrike(u8),
    /// One market's price is stale.
    Stale(u8),
}

fn deposit_op() -> impl Strategy<Value = Op> {
    let amount = prop_oneof![
        1 => (0u64..=3_000).prop_map(DepositAmount::Fixed),
        12 => (6u32..=12, 1u64..=9).prop_map(|(e, m)| DepositAmount::Fixed(m * 10u64.pow(e))),
        1 => Just(DepositAmount::MoreThanCash),
    ];
    (any::<u8>(), any::<u8>(), amount, prop::bool::weighted(0.05)).prop_map(|(user, tranche, amount, slippage)| {
        Op::Deposit {
            user,
            tranche,
            amount,
            slippage,
        }
    })
}

fn buy_op() -> impl Strategy<Value = Op> {
    let size = prop_oneof![
        5 => (0u16..=2_000).prop_map(CoverSize::Frac),
        5 => (2_000u16..=10_000).prop_map(CoverSize::Frac),
        1 => Just(CoverSize::OverCapacity),
        1 => Just(CoverSize::BelowMin),
    ];
    let days = prop_oneof![
        4 => 1u64..=7,
        4 => 8u64..=60,
        3 => 61u64..=365,
        1 => prop_oneof![Just(0u64), Just(366)],
    ];
    let price = prop_oneof![
        16 => Just(BuyPrice::Fresh),
        1 => Just(BuyPrice::Stale),
        1 => Just(BuyPrice::WideConf),
        1 => Just(BuyPrice::BelowStrike),
        1 => Just(BuyPrice::OlderThanLast),
    ];
    let max_premium = prop_oneof![
        14 => Just(MaxPremium::Unbounded),
        2 => Just(MaxPremium::Quote),
        1 => Just(MaxPremium::QuoteMinusOne),
    ];
    (any::<u8>(), any::<u8>(), size, days, price, max_premium, any::<u32>()).prop_map(
        |(user, market, size, days, price, max_premium, r)| Op::BuyCover {
            user,
            market,
            size,
            days,
            price,
            max_premium,
            r,
        },
    )
}

fn check_op() -> impl Strategy<Value = Op> {
    let kind = prop_oneof![
        6 => Just(PriceKind::Healthy),
        2 => Just(PriceKind::Depeg),
        2 => Just(PriceKind::Recovering),
        1 => Just(PriceKind::Straddle),
    ];
    let flaw = prop_oneof![
        12 => Just(Flaw::None),
        1 => Just(Flaw::Stale),
        1 => Just(Flaw::WideConf),
        1 => Just(Flaw::Replay),
    ];
    let wait_bps = prop_oneof![8 => 0u16..=10_000, 1 => 10_001u16..=30_000];
    (any::<u8>(), wait_bps, 0u16..=10_000, kind, flaw, any::<u32>()).prop_map(
        |(market, wait_bps, age_bps, kind, flaw, r)| Op::CheckTrigger {
            market,
            wait_bps,
            age_bps,
            kind,
            flaw,
            r,
        },
    )
}

fn settle_op() -> impl Strategy<Value = Op> {
    let len = prop_oneof![6 => 1u8..=8, 6 => Just(MAX_SETTLE_BATCH as u8), 1 => Just(0u8), 1 => Just(MAX_SETTLE_BATCH as u8 + 1)];
    let corrupt = prop_oneof![
        6 => Just(Corrupt::None),
        1 => any::<u8>().prop_map(Corrupt::Duplicate),
        1 => (any::<u8>(), any::<u16>()).prop_map(|(p, id)| Corrupt::Foreign(p, id)),
    ];
    (any::<u8>(), any::<u16>(), len, corrupt).prop_map(|(market, start, len, corrupt)| Op::Settle {
        market,
        start,
        len,
        corrupt,
    })
}

fn wait() -> impl Strategy<Value = Wait> {
    prop_oneof![
        3 => (1i64..=600).prop_map(Wait::Secs),
        3 => (1i64..=48).prop_map(Wait::Hours),
        3 => (1i64..=30).prop_map(Wait::Days),
        3 => (any::<u8>(), 0u16..=10_000).prop_map(|(p, b)| Wait::ToRequestOpen(p, b)),
        1 => any::<u8>().prop_map(Wait::PastWindow),
        1 => Just(Wait::PastClaimWindow),
        2 => (0i64..=150).prop_map(Wait::AfterMidnight),
        1 => (100i64..=400).prop_map(Wait::Long),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        8 => deposit_op(),
        8 => (any::<u8>(), prop_oneof![1 => Just(0u16), 8 => 1u16..=10_000, 1 => 10_001u16..=12_000])
            .prop_map(|(pick, frac_bps)| Op::RequestWithdrawal { pick, frac_bps }),
        2 => any::<u8>().prop_map(|pick| Op::CancelWithdrawal { pick }),
        8 => (
            any::<u8>(),
            prop::option::weighted(0.6, 0u16..=10_000),
            prop_oneof![
                10 => Just(WithdrawPrices::Healthy),
                1 => any::<u8>().prop_map(WithdrawPrices::BelowStrike),
                1 => any::<u8>().prop_map(WithdrawPrices::Stale),
            ],
            any::<u32>()
        )
            .prop_map(|(pick, wait_first, prices, r)| Op::Withdraw { pick, wait_first, prices, r }),
        24 => buy_op(),
        2 => Just(Op::AccruePremium),
        10 => check_op(),
        2 => (any::<u8>(), 1_000u16..=10_000, any::<u32>()).prop_map(|(market, step_bps, r)| Op::Trigger {
            market,
            step_bps,
            r
        }),
        1 => (any::<u8>(), 0u16..=10_000, 1_000u16..=10_000, any::<u32>()).prop_map(
            |(market, off_bps, step_bps, r)| Op::LateReport {
                market,
                off_bps,
                step_bps,
                r
            }
        ),
        2 => (1_000u16..=10_000, any::<u32>()).prop_map(|(step_bps, r)| Op::SystemicDepeg { step_bps, r }),
        8 => settle_op(),
        4 => any::<u8>().prop_map(|market| Op::Release { market }),
        3 => any::<u8>().prop_map(|market| Op::Reopen { market }),
        4 => any::<u16>().prop_map(|pick| Op::ClosePolicy { pick }),
        1 => any::<u8>().prop_map(|market| Op::CloseMarket { market }),
        1 => (any::<u8>(), 0u16..=10_000, 1_000u16..=10_000, any::<u32>()).prop_map(
            |(market, off_bps, step_bps, r)| Op::LateClose {
                market,
                off_bps,
                step_bps,
                r
            }
        ),
        1 => market_params(10_000).prop_map(Op::CreateMarket),
        10 => wait().prop_map(Op::Advance),
    ]
}

/// The build-up of a pool before anything goes wrong: deposits, sales, time.
fn build_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => deposit_op(),
        4 => buy_op(),
        1 => prop_oneof![(1i64..=600).prop_map(Wait::Secs), (1i64..=24).prop_map(Wait::Hours)].prop_map(Op::Advance),
    ]
}

/// A pool and the operations run on it: one random sequence (1–3 seed
/// deposits, 0–8 build-up operations, 10–40 operations of any kind).
fn sequence() -> impl Strategy<Value = (Setup, Vec<Op>)> {
    (
        setup(),
        vec(deposit_op(), 1..=3),
        vec(build_op(), 0..=8),
        vec(op(), 10..=40),
    )
        .prop_map(|(s, mut seed, build, ops)| {
            seed.extend(build);
            seed.extend(ops);
            (s, seed)
        })
}

// ---------------------------------------------------------------------------
// Prices
// ---------------------------------------------------------------------------

/// Largest confidence accepted for `price`.
fn conf_limit(terms: &TriggerTerms, price: u64) -> u64 {
    (u128::from(price) * u128::from(terms.max_conf_bps) / u128::from(BPS)) as u64
}

/// `price ≥ recovery` and `price − conf ≥ strike`: sells cover, closes a streak.
fn healthy(terms: &TriggerTerms, r: u32) -> UnitPrice {
    let lo = terms.recovery.max(terms.strike);
    let price = lo + u64::from(r) % (101_000_000 - lo + 1);
    let room = conf_limit(terms, price).min(price - terms.strike);
    UnitPrice {
        price,
        conf: u64::from(r >> 7) % (room + 1),
    }
}

/// `price + conf < strike` with an accepted confidence: opens a streak.
fn depeg(terms: &TriggerTerms, r: u32) -> UnitPrice {
    let price = terms.strike - 1 - u64::from(r) % 20_000_000;
    let room = conf_limit(terms, price).min(terms.strike - 1 - price);
    UnitPrice {
        price,
        conf: u64::from(r >> 7) % (room + 1),
    }
}

/// `strike ≤ price < recovery` (or `price = strike` without hysteresis).
fn recovering(terms: &TriggerTerms, r: u32) -> UnitPrice {
    let price = if terms.recovery > terms.strike {
        terms.strike + u64::from(r) % (terms.recovery - terms.strike)
    } else {
        terms.strike
    };
    UnitPrice {
        price,
        conf: u64::from(r >> 7) % (conf_limit(terms, price) + 1),
    }
}

/// `price < strike ≤ price + conf`: the interval straddles the strike.
fn straddle(terms: &TriggerTerms, r: u32) -> UnitPrice {
    let k = 1 + u64::from(r) % (conf_limit(terms, terms.strike) / 2).max(1);
    let price = terms.strike - k;
    UnitPrice {
        price,
        conf: (k + u64::from(r >> 7) % k).min(conf_limit(terms, price)),
    }
}

// ---------------------------------------------------------------------------
// Statistics of a run
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Stats {
    ops: BTreeMap<&'static str, (u64, u64)>,
    errors: BTreeMap<(&'static str, String), u64>,
    sequences: u64,
    steps: u64,
    triggers: u64,
    haircut_events: u64,
    settled_policies: u64,
    paid_policies: u64,
}

impl Stats {
    fn record<T>(&mut self, kind: &'static str, res: &ModelResult<T>) {
        let e = self.ops.entry(kind).or_default();
        match res {
            Ok(_) => e.0 += 1,
            Err(err) => {
                e.1 += 1;
                *self.errors.entry((kind, format!("{err:?}"))).or_default() += 1;
            }
        }
    }

    fn report(&self) -> String {
        let mut s = format!(
            "{} sequences, {} steps; {} triggers ({} with a haircut), {} policies settled ({} paid)\n",
            self.sequences, self.steps, self.triggers, self.haircut_events, self.settled_policies, self.paid_policies
        );
        s += &format!("{:<22} {:>8} {:>8} {:>6}\n", "operation", "ok", "failed", "ok %");
        for (k, (ok, err)) in &self.ops {
            let pct = 100.0 * *ok as f64 / (*ok + *err).max(1) as f64;
            s += &format!("{k:<22} {ok:>8} {err:>8} {pct:>5.1}%\n");
            let mut errs: Vec<_> = self.errors.iter().filter(|((kk, _), _)| kk == k).collect();
            errs.sort_by(|a, b| b.1.cmp(a.1));
            for ((_, e), n) in errs {
                s += &format!("    {e}: {n}\n");
            }
        }
        s
    }
}

// ---------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------

/// The model after the premium accrual every money instruction does first.
fn accrued(m: &Model) -> Model {
    let mut c = m.clone();
    let _ = c.accrue_premium();
    c
}

fn wide(x: u64) -> u128 {
    u128::from(x)
}

struct Run<'a> {
    m: Model,
    funded: u128,
    step: usize,
    op_no: usize,
    cur: Option<Op>,
    /// Shadow of invariant 6: the current run of accepted observations below
    /// the strike with gaps ≤ max_gap, as (first, last) publish times.
    runs: Vec<Option<(i64, i64)>>,
    /// The streak per the spec text, per market.
    streaks: Vec<Option<Shadow>>,
    stats: &'a RefCell<Stats>,
}

/// An open streak per the spec: start, last accepted observation, lowest `price + conf`.
#[derive(Clone, Copy, Debug)]
struct Shadow {
    start: i64,
    last: i64,
    low: u64,
}

macro_rules! ensure {
    ($run:expr, $cond:expr, $($fmt:tt)+) => {
        if !$cond {
            return Err($run.fail(format!($($fmt)+)));
        }
    };
}

impl<'a> Run<'a> {
    fn new(s: &Setup, stats: &'a RefCell<Stats>) -> Self {
        let mut m = Model::new(s.start, s.pool.clone());
        for p in &s.markets {
            m.add_market(*p);
        }
        // the pool's first markets have opened (their governance delay passed)
        m.advance(m.governance_delay());
        for u in 0..USERS {
            m.fund(u, FUNDING);
        }
        let n = s.markets.len();
        Run {
            m,
            funded: wide(FUNDING) * u128::from(USERS),
            step: 0,
            op_no: 0,
            cur: None,
            runs: vec![None; n],
            streaks: vec![None; n],
            stats,
        }
    }

    fn fail(&self, msg: String) -> TestCaseError {
        TestCaseError::fail(format!(
            "step {} (operation #{} {:?}), now {}: {}",
            self.step, self.op_no, self.cur, self.m.now, msg
        ))
    }

    fn record<T>(&self, kind: &'static str, res: &ModelResult<T>) {
        self.stats.borrow_mut().record(kind, res);
    }

    /// Starts a step: its index and a copy of the state before it.
    fn begin(&mut self) -> Model {
        self.step += 1;
        self.m.clone()
    }

    /// Checks common to every step.
    fn after(&self, before: &Model, ok: bool, triggered: bool) -> Result<(), TestCaseError> {
        ensure!(self, ok || self.m == *before, "a failed operation changed the model");
        if let Err(e) = self.m.check_invariants() {
            return Err(self.fail(e.to_string()));
        }
        // invariant 3: share prices fall only in a triggering step
        if !triggered {
            for (t, (b, a)) in before.tranches.iter().zip(&self.m.tranches).enumerate() {
                if b.total_shares() > 0 && a.total_shares() > 0 {
                    ensure!(
                        self,
                        wide(a.assets) * wide(b.total_shares()) >= wide(b.assets) * wide(a.total_shares()),
                        "invariant 3: tranche {t} share price fell from {}/{} to {}/{} without a trigger",
                        b.assets,
                        b.total_shares(),
                        a.assets,
                        a.total_shares()
                    );
                }
            }
        }
        // no money appears or disappears
        let cash: u128 = self.m.cash.values().map(|c| wide(*c)).sum::<u128>() + wide(self.m.vault);
        ensure!(
            self,
            cash == self.funded,
            "cash + vault {cash} != funded {}",
            self.funded
        );
        // statuses agree with the streak states
        let mut open = 0;
        for (i, mk) in self.m.markets.iter().enumerate() {
            let expected = if mk.status == Status::Closed {
                Status::Closed
            } else if mk.streak.triggered {
                Status::Triggered
            } else if mk.streak.streak_open {
                open += 1;
                Status::StreakOpen
            } else {
                Status::Active
            };
            ensure!(
                self,
                mk.status == expected,
                "market {i} status {:?} != {expected:?}",
                mk.status
            );
        }
        ensure!(
            self,
            self.m.open_streaks == open,
            "open_streaks {} != {open}",
            self.m.open_streaks
        );
        Ok(())
    }

    /// A clock move: changes nothing but `now` (so no copy is needed for the
    /// price and conservation checks), but the invariants are checked again.
    fn advance_step(&mut self, secs: i64) -> Result<(), TestCaseError> {
        self.step += 1;
        let now = self.m.now;
        self.m.advance(secs);
        ensure!(self, self.m.now == now + secs.max(0), "advance");
        self.m.check_invariants().map_err(|e| self.fail(e.to_string()))
    }

    fn n_markets(&self) -> usize {
        self.m.markets.len()
    }

    /// A market: usually one satisfying `pred` if there is one, else any.
    fn pick_market(&self, raw: u8, pred: impl Fn(&coverage_core::model::Market) -> bool) -> usize {
        let c: Vec<usize> = (0..self.n_markets()).filter(|&i| pred(&self.m.markets[i])).collect();
        if !c.is_empty() && !raw.is_multiple_of(8) {
            c[(raw as usize / 8) % c.len()]
        } else {
            raw as usize % self.n_markets()
        }
    }

    /// A withdrawal request: usually a redeemable one if there is one.
    fn pick_request(&self, raw: u8, redeemable_first: bool) -> Option<(u32, usize)> {
        let now = self.m.now;
        let (cd, win) = (self.m.params.cooldown, self.m.params.withdraw_window);
        let all: Vec<(u32, usize)> = self.m.requests.keys().copied().collect();
        let ready: Vec<(u32, usize)> = self
            .m
            .requests
            .iter()
            .filter(|(_, r)| now >= r.requested_at + cd && now <= r.requested_at + cd + win)
            .map(|(k, _)| *k)
            .collect();
        if redeemable_first && !ready.is_empty() && !raw.is_multiple_of(4) {
            Some(ready[(raw as usize / 4) % ready.len()])
        } else if all.is_empty() {
            None
        } else {
            Some(all[raw as usize % all.len()])
        }
    }

    fn cash(&self, user: u32) -> u64 {
        self.m.cash.get(&user).copied().unwrap_or(0)
    }

    fn run(&mut self, ops: &[Op]) -> Result<(), TestCaseError> {
        for (i, op) in ops.iter().enumerate() {
            self.op_no = i;
            self.cur = Some(*op);
            self.apply(*op)?;
        }
        let mut st = self.stats.borrow_mut();
        st.sequences += 1;
        st.steps += self.step as u64;
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Deposit {
                user,
                tranche,
                amount,
                slippage,
            } => self.deposit(user, tranche, amount, slippage),
            Op::RequestWithdrawal { pick, frac_bps } => self.request(pick, frac_bps),
            Op::CancelWithdrawal { pick } => {
                let (u, t) = self.pick_request(pick, false).unwrap_or((0, 0));
                let before = self.begin();
                let res = self.m.cancel_withdrawal(u, t);
                self.after(&before, res.is_ok(), false)?;
                self.record("cancel_withdrawal", &res);
                if res.is_ok() {
                    let r = before.requests[&(u, t)];
                    let held = |m: &Model| m.shares.get(&(u, t)).copied().unwrap_or(0);
                    ensure!(
                        self,
                        held(&self.m) == held(&before) + r.shares,
                        "cancel did not return the locked shares"
                    );
                }
                Ok(())
            }
            Op::Withdraw {
                pick,
                wait_first,
                prices,
                r,
            } => self.withdraw(pick, wait_first, prices, r),
            Op::BuyCover {
                user,
                market,
                size,
                days,
                price,
                max_premium,
                r,
            } => self.buy(user, market, size, days, price, max_premium, r),
            Op::AccruePremium => {
                let before = self.begin();
                let res = self.m.accrue_premium();
                self.after(&before, res.is_ok(), false)?;
                self.record("accrue_premium", &res);
                Ok(())
            }
            Op::CheckTrigger {
                market,
                wait_bps,
                age_bps,
                kind,
                flaw,
                r,
            } => self.check(market, wait_bps, age_bps, kind, flaw, r),
            Op::Trigger { market, step_bps, r } => {
                let i = self.pick_market(market, |mk| mk.status != Status::Triggered);
                self.drive(i, step_bps, r)
            }
            Op::SystemicDepeg { step_bps, r } => {
                for i in 0..self.n_markets() {
                    if self.m.markets[i].status != Status::Triggered {
                        self.drive(i, step_bps, r.rotate_left(i as u32 * 7))?;
                    }
                }
                Ok(())
            }
            Op::LateReport {
                market,
                off_bps,
                step_bps,
                r,
            } => self.late_report(market, off_bps, step_bps, r),
            Op::Settle {
                market,
                start,
                len,
                corrupt,
            } => self.settle(market, start, len, corrupt),
            Op::Release { market } => self.release(market),
            Op::Reopen { market } => self.reopen(market),
            Op::ClosePolicy { pick } => {
                let n = self.m.policies.len();
                if n == 0 {
                    return Ok(());
                }
                let now = self.m.now;
                let ended: Vec<usize> = (0..n)
                    .filter(|&id| !self.m.policies[id].closed && self.m.policies[id].end_time <= now)
                    .collect();
                let id = if !ended.is_empty() && !pick.is_multiple_of(4) {
                    ended[pick as usize / 4 % ended.len()]
                } else {
                    pick as usize % n
                };
                self.close_policy(id, "close_policy")
            }
            Op::CloseMarket { market } => {
                let i = self.pick_market(market, |mk| mk.status != Status::Closed);
                self.close_market(i)
            }
            Op::LateClose {
                market,
                off_bps,
                step_bps,
                r,
            } => self.late_close(market, off_bps, step_bps, r),
            Op::CreateMarket(params) => {
                if self.n_markets() < MAX_MARKETS {
                    let before = self.begin();
                    let i = self.m.add_market(params);
                    self.after(&before, true, false)?;
                    self.record("create_market", &Ok::<(), ModelError>(()));
                    ensure!(
                        self,
                        self.m.markets[i].sales_open_at == self.m.now + self.m.governance_delay(),
                        "a new market opens after the governance delay"
                    );
                    self.runs.push(None);
                    self.streaks.push(None);
                }
                Ok(())
            }
            Op::Advance(w) => self.wait(w),
        }
    }

    /// One `close_policy`; a success must leave no claim behind (the
    /// invariant at the next trigger checks it again, from the event).
    fn close_policy(&mut self, id: usize, kind: &'static str) -> Result<(), TestCaseError> {
        let before = self.begin();
        let res = self.m.close_policy(id);
        self.after(&before, res.is_ok(), false)?;
        self.record(kind, &res);
        let p = before.policies[id];
        let mk = &before.markets[p.market];
        if res.is_ok() {
            // per the spec text: settled, or ended with no streak that could still
            // be reported starting before the end, in an epoch that can still pay
            let earliest = (mk.streak.last_publish_time + 1).max(before.now - mk.params.terms.max_price_age);
            let can_pay = p.epoch == mk.epoch
                && match mk.status {
                    Status::StreakOpen => true,
                    Status::Triggered => !mk.settlement.released,
                    Status::Closed => false,
                    Status::Active => earliest < p.end_time,
                };
            ensure!(
                self,
                p.settled || (before.now >= p.end_time && !can_pay),
                "closed policy {id} {p:?} that a claim could still reach (market {:?}, last report {})",
                mk.status,
                mk.streak.last_publish_time
            );
        } else if !p.closed {
            ensure!(
                self,
                res == Err(ModelError::PolicyNotClosable),
                "close_policy {id}: {res:?}"
            );
        }
        Ok(())
    }

    fn close_market(&mut self, i: usize) -> Result<(), TestCaseError> {
        let before = self.begin();
        let res = self.m.close_market(i);
        self.after(&before, res.is_ok(), false)?;
        self.record("close_market", &res);
        if res.is_ok() {
            // no policy of the market's epoch can still be paid
            let mk = &before.markets[i];
            let earliest = (mk.streak.last_publish_time + 1).max(before.now - mk.params.terms.max_price_age);
            for p in before
                .policies
                .iter()
                .filter(|p| p.market == i && p.epoch == mk.epoch && !p.settled)
            {
                ensure!(
                    self,
                    mk.status == Status::Triggered || p.end_time <= earliest,
                    "closed market {i} with policy {p:?} still claimable (earliest report {earliest})"
                );
            }
            self.runs[i] = None;
            self.streaks[i] = None;
        }
        Ok(())
    }

    /// The midnight race for closing: just after midnight anyone tries to
    /// close the policies whose cover ended then (and the authority the
    /// market); then a depeg published before midnight is reported and driven
    /// to a trigger. A close that succeeded here would fail the invariant
    /// "no eligible policy is closed unpaid" at the trigger.
    fn late_close(&mut self, market: u8, off_bps: u16, step_bps: u16, r: u32) -> Result<(), TestCaseError> {
        let i = self.pick_market(market, |mk| mk.status == Status::Active);
        let terms = self.m.markets[i].params.terms;
        let age = terms.max_price_age;
        let off = 1 + (age - 2).max(0) * i64::from(off_bps) / 10_000;
        let midnight = (day_of(self.m.now) + 1) * D;
        self.advance_step(midnight + off - self.m.now)?;
        let ending: Vec<usize> = (0..self.m.policies.len())
            .filter(|&id| {
                let p = &self.m.policies[id];
                p.market == i && !p.closed && p.end_time == midnight
            })
            .collect();
        for id in ending {
            self.close_policy(id, "close_policy (late)")?;
        }
        if r.is_multiple_of(4) {
            self.close_market(i)?;
        }
        if off >= age {
            return Ok(());
        }
        let k = 1 + i64::from(r >> 3) % (age - off);
        let obs = Observation {
            price: depeg(&terms, r),
            publish_time: midnight - k,
        };
        if self.observe(i, obs, "check_trigger (late close)")? == Ok(false) {
            self.drive(i, step_bps, r.rotate_left(5))?;
        }
        Ok(())
    }

    fn deposit(&mut self, user: u8, tranche: u8, amount: DepositAmount, slippage: bool) -> Result<(), TestCaseError> {
        let u = u32::from(user) % USERS;
        let t = tranche as usize % self.m.tranches.len();
        let amount = match amount {
            DepositAmount::Fixed(a) => a,
            DepositAmount::MoreThanCash => self.cash(u) + 1,
        };
        let acc = accrued(&self.m);
        let tr = acc.tranches[t];
        let min_shares = if slippage {
            shares_for_deposit(amount, tr.assets, tr.total_shares()).map_or(0, |s| s.shares + 1)
        } else {
            0
        };
        let before = self.begin();
        let res = self.m.deposit(u, t, amount, min_shares);
        self.after(&before, res.is_ok(), false)?;
        self.record("deposit", &res);
        if let Ok(shares) = res {
            ensure!(self, !slippage, "deposit minted {shares} < min_shares {min_shares}");
            // invariant 2: minted at most the amount's worth, rounded down
            if tr.total_shares() > 0 {
                ensure!(
                    self,
                    wide(shares) * wide(tr.assets) <= wide(amount) * wide(tr.total_shares()),
                    "invariant 2: deposit of {amount} minted {shares} shares at {}/{}",
                    tr.assets,
                    tr.total_shares()
                );
            } else {
                ensure!(
                    self,
                    shares + DEAD_SHARES == amount && self.m.tranches[t].dead_shares == DEAD_SHARES,
                    "first deposit of {amount} minted {shares}"
                );
            }
            ensure!(
                self,
                self.cash(u) + amount == before.cash.get(&u).copied().unwrap_or(0),
                "deposit took the wrong amount"
            );
        }
        Ok(())
    }

    fn request(&mut self, pick: u8, frac_bps: u16) -> Result<(), TestCaseError> {
        let mut cands: BTreeSet<(u32, usize)> =
            self.m.shares.iter().filter(|(_, s)| **s > 0).map(|(k, _)| *k).collect();
        cands.extend(self.m.requests.keys().copied());
        let cands: Vec<_> = cands.into_iter().collect();
        let (u, t) = if cands.is_empty() {
            (0, 0)
        } else {
            cands[pick as usize % cands.len()]
        };
        let held = self.m.shares.get(&(u, t)).copied().unwrap_or(0);
        let shares = (wide(held) * u128::from(frac_bps) / u128::from(BPS)) as u64;
        let acc = accrued(&self.m);
        let before = self.begin();
        let res = self.m.request_withdrawal(u, t, shares);
        self.after(&before, res.is_ok(), false)?;
        self.record("request_withdrawal", &res);
        if res.is_ok() {
            let r = self.m.requests[&(u, t)];
            let tr = acc.tranches[t];
            ensure!(
                self,
                wide(r.value_at_request) * wide(tr.total_shares()) <= wide(r.shares) * wide(tr.assets),
                "invariant 2: request values {} shares at {} (tranche {}/{})",
                r.shares,
                r.value_at_request,
                tr.assets,
                tr.total_shares()
            );
            ensure!(self, r.requested_at == self.m.now, "request time");
        }
        Ok(())
    }

    /// The price updates `withdraw` is given, one per market.
    fn withdraw_prices(&self, kind: WithdrawPrices, r: u32) -> Vec<Observation> {
        let now = self.m.now;
        self.m
            .markets
            .iter()
            .enumerate()
            .map(|(i, mk)| {
                let terms = mk.params.terms;
                let fresh = now.max(mk.streak.last_publish_time);
                let healthy = Observation {
                    price: healthy(&terms, r.rotate_left(i as u32)),
                    publish_time: fresh,
                };
                match kind {
                    WithdrawPrices::BelowStrike(m) if m as usize % self.n_markets() == i => Observation {
                        price: UnitPrice {
                            price: terms.strike - 1 - u64::from(r) % 1_000_000,
                            conf: 0,
                        },
                        publish_time: fresh,
                    },
                    WithdrawPrices::Stale(m) if m as usize % self.n_markets() == i => Observation {
                        publish_time: now - terms.max_price_age - 1,
                        ..healthy
                    },
                    _ => healthy,
                }
            })
            .collect()
    }

    fn withdraw(
        &mut self,
        pick: u8,
        wait_first: Option<u16>,
        kind: WithdrawPrices,
        r: u32,
    ) -> Result<(), TestCaseError> {
        let (u, t) = self.pick_request(pick, true).unwrap_or((0, 0));
        if let (Some(bps), Some(r)) = (wait_first, self.m.requests.get(&(u, t))) {
            let (cd, win) = (self.m.params.cooldown, self.m.params.withdraw_window);
            let at = r.requested_at + cd + win * i64::from(bps) / 10_000;
            if at > self.m.now {
                self.advance_step(at - self.m.now)?;
            }
        }
        let acc = accrued(&self.m);
        let prices = self.withdraw_prices(kind, r);
        let before = self.begin();
        let res = self.m.withdraw(u, t, &prices);
        self.after(&before, res.is_ok(), false)?;
        self.record("withdraw", &res);
        // a market open for sales whose price shows the strike breached holds redemptions back
        let breached = before.markets.iter().zip(&prices).any(|(mk, o)| {
            mk.status == Status::Active
                && before.now >= mk.sales_open_at
                && o.price.price.saturating_sub(o.price.conf) < mk.params.terms.strike
        });
        if breached && before.open_streaks == 0 {
            ensure!(self, res.is_err(), "withdrew with a market's price below its strike");
        }
        if let Ok(payout) = res {
            let r = before.requests[&(u, t)];
            let tr = acc.tranches[t];
            ensure!(
                self,
                wide(payout) * wide(tr.total_shares()) <= wide(r.shares) * wide(tr.assets),
                "invariant 2: {} shares redeemed for {payout} at {}/{}",
                r.shares,
                tr.assets,
                tr.total_shares()
            );
            ensure!(
                self,
                payout <= r.value_at_request,
                "invariant 2: payout {payout} > value at request {}",
                r.value_at_request
            );
            let (req, cap) = (self.m.required_capital(), self.m.capital());
            ensure!(
                self,
                matches!(req, Ok(x) if x <= cap),
                "invariant 5: required capital {req:?} > capital {cap} after a withdrawal"
            );
            // the book's figure is the policies' own: every policy of an open
            // market's epoch that a streak not yet reported could find in force
            let claimable: Vec<u64> = self
                .m
                .markets
                .iter()
                .enumerate()
                .map(|(i, mk)| {
                    if mk.status != Status::Active {
                        return 0;
                    }
                    let start = earliest_unreported_streak_start(
                        mk.streak.last_publish_time,
                        mk.params.terms.max_price_age,
                        self.m.now,
                    );
                    self.m
                        .policies
                        .iter()
                        .filter(|p| p.market == i && p.epoch == mk.epoch && p.end_time > start)
                        .map(|p| p.amount)
                        .sum()
                })
                .collect();
            let brute = required_capital_of(claimable.iter().copied(), self.m.params.max_leverage_bps);
            ensure!(
                self,
                req == brute.map_err(ModelError::from),
                "invariant 5: required capital {req:?} from the books, {brute:?} from the policies ({claimable:?})"
            );
            ensure!(
                self,
                self.cash(u) == before.cash.get(&u).copied().unwrap_or(0) + payout,
                "withdrawal paid the wrong amount"
            );
            ensure!(self, !self.m.requests.contains_key(&(u, t)), "request not removed");
        }
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn buy(
        &mut self,
        user: u8,
        market: u8,
        size: CoverSize,
        days: u64,
        kind: BuyPrice,
        max_premium: MaxPremium,
        r: u32,
    ) -> Result<(), TestCaseError> {
        let u = u32::from(user) % USERS;
        let i = self.pick_market(market, |mk| mk.status == Status::Active);
        let now = self.m.now;
        let mk = &self.m.markets[i];
        let terms = mk.params.terms;
        let alloc = mk.params.allocation_bps;
        let capacity = (wide(self.m.capital()) * wide(alloc) / wide(BPS)) as u64;
        let active = mk.active_cover_on(day_of(now)).unwrap_or(0);
        let room = capacity.saturating_sub(active);
        let amount = match size {
            CoverSize::Frac(bps) => {
                MIN_COVER + (wide(room.saturating_sub(MIN_COVER)) * u128::from(bps) / u128::from(BPS)) as u64
            }
            CoverSize::OverCapacity => room + 1 + u64::from(r % 1_000),
            CoverSize::BelowMin => MIN_COVER - 1 - u64::from(r) % (MIN_COVER - 1),
        };
        let last = mk.streak.last_publish_time;
        let fresh_time = (now - i64::from(r % 1_000) % (terms.max_price_age + 1)).max(last);
        let (price, publish_time) = match kind {
            BuyPrice::Fresh => (healthy(&terms, r), fresh_time),
            BuyPrice::Stale => (healthy(&terms, r), now - terms.max_price_age - 1 - i64::from(r % 300)),
            BuyPrice::WideConf => {
                let mut p = healthy(&terms, r);
                p.conf = conf_limit(&terms, p.price) + 1;
                (p, fresh_time)
            }
            BuyPrice::BelowStrike => {
                let price = terms.strike - 1 - u64::from(r) % 5_000_000;
                (
                    UnitPrice {
                        price,
                        conf: u64::from(r >> 9) % (conf_limit(&terms, price) + 1),
                    },
                    fresh_time,
                )
            }
            BuyPrice::OlderThanLast => (healthy(&terms, r), last - 1),
        };
        let quote = || -> Option<u64> {
            let c = accrued(&self.m);
            let cap = (wide(c.capital()) * wide(alloc) / wide(BPS)) as u64;
            let active = c.markets[i].active_cover_on(day_of(now)).ok()?;
            c.markets[i].params.curve.premium(amount, days, active, cap).ok()
        };
        let (max, q) = match max_premium {
            MaxPremium::Unbounded => (u64::MAX, None),
            MaxPremium::Quote => {
                let q = quote();
                (q.unwrap_or(u64::MAX), q)
            }
            MaxPremium::QuoteMinusOne => (quote().map_or(u64::MAX, |q| q.saturating_sub(1)), None),
        };
        let before = self.begin();
        let res = self.m.buy_cover(u, i, amount, days, max, price, publish_time);
        self.after(&before, res.is_ok(), false)?;
        self.record("buy_cover", &res);
        if let Ok(id) = res {
            let p = self.m.policies[id];
            ensure!(
                self,
                p.market == i && p.amount == amount && p.owner == u && p.epoch == self.m.markets[i].epoch,
                "policy {p:?}"
            );
            ensure!(self, p.premium <= max, "premium {} above max {max}", p.premium);
            if let Some(q) = q {
                ensure!(self, p.premium == q, "premium {} != quote {q}", p.premium);
            }
            ensure!(
                self,
                self.cash(u) + p.premium == before.cash.get(&u).copied().unwrap_or(0),
                "buy_cover took the wrong premium"
            );
            // invariant 5: never past capacity at sale
            let cap = (wide(self.m.capital()) * wide(alloc) / wide(BPS)) as u64;
            let act = self.m.markets[i].active_cover_on(day_of(self.m.now));
            ensure!(
                self,
                matches!(act, Ok(a) if a <= cap),
                "invariant 5: market {i} active cover {act:?} > capacity {cap}"
            );
        }
        Ok(())
    }

    /// One `check_trigger` step, with the invariant-6 shadow and the event checks.
    fn observe(&mut self, i: usize, obs: Observation, kind: &'static str) -> Result<ModelResult<bool>, TestCaseError> {
        let before = self.begin();
        let res = self.m.check_trigger(i, obs);
        let triggered = res == Ok(true);
        self.after(&before, res.is_ok(), triggered)?;
        self.record(kind, &res);
        // rule 1 of PROTOCOL.md 3.4: accepted iff fresh, narrow, newer, untriggered
        let mk = &before.markets[i];
        let terms = mk.params.terms;
        let last = mk.streak.last_publish_time;
        let t = obs.publish_time;
        let acceptable = mk.status != Status::Triggered
            && mk.status != Status::Closed
            && before.now >= mk.sales_open_at
            && before.now - t <= terms.max_price_age
            && wide(obs.price.conf) * wide(BPS) <= wide(obs.price.price) * wide(terms.max_conf_bps)
            && (last == 0 || t > last);
        ensure!(
            self,
            res.is_ok() == acceptable,
            "rule 1: observation {obs:?} (last accepted {last}) gave {res:?}"
        );
        if res.is_ok() {
            ensure!(
                self,
                self.m.markets[i].streak.last_publish_time == t,
                "accepted observation not recorded"
            );
            let top = obs.price.price + obs.price.conf;
            // the rule from the spec text (rules 2–5), independent of `observe`
            let mut streak = self.streaks[i].filter(|sh| t - sh.last <= terms.max_gap);
            streak = match streak {
                None if top < terms.strike => Some(Shadow {
                    start: t,
                    last: t,
                    low: top,
                }),
                None => None,
                Some(_) if obs.price.price >= terms.recovery => None,
                Some(sh) => Some(Shadow {
                    last: t,
                    low: sh.low.min(top),
                    ..sh
                }),
            };
            let expected = streak.is_some_and(|sh| t - sh.start >= terms.duration);
            ensure!(
                self,
                triggered == expected,
                "invariant 6 / rule 5: market {i} streak per the spec {streak:?} (duration {}, max_gap {}, strike {}, \
                 recovery {}), observation {obs:?}: triggered {triggered}, expected {expected}",
                terms.duration,
                terms.max_gap,
                terms.strike,
                terms.recovery
            );
            if let Some(sh) = streak.filter(|_| triggered) {
                ensure!(
                    self,
                    self.m.markets[i].event == (sh.start, t, sh.low),
                    "event {:?} != spec (start {}, trigger {t}, low {})",
                    self.m.markets[i].event,
                    sh.start,
                    sh.low
                );
            }
            self.streaks[i] = if triggered { None } else { streak };
            // the same, stated as invariant 6 for runs entirely below the strike
            let run = if top < terms.strike {
                match self.runs[i] {
                    Some((s, last)) if t - last <= terms.max_gap => Some((s, t)),
                    _ => Some((t, t)),
                }
            } else {
                None
            };
            if let Some((s, last)) = run {
                ensure!(
                    self,
                    last - s < terms.duration || triggered,
                    "invariant 6: market {i} watched below the strike from {s} to {last} (duration {}, max_gap {}) \
                     without triggering",
                    terms.duration,
                    terms.max_gap
                );
            }
            self.runs[i] = if triggered { None } else { run };
            if triggered {
                self.check_event(&before, i)?;
            }
        }
        Ok(res)
    }

    /// Invariant 4 at trigger: liability from aggregates covers what the
    /// policies are owed; the reserve is `min(liability, capital)`, junior first.
    fn check_event(&mut self, before: &Model, i: usize) -> Result<(), TestCaseError> {
        let acc = accrued(before);
        let mk = &self.m.markets[i];
        let s = mk.settlement;
        let (start, _, low) = mk.event;
        let f =
            payout_fraction(mk.params.shape, mk.params.terms.strike, low).map_err(|e| self.fail(format!("{e:?}")))?;
        ensure!(
            self,
            (f.num, f.den) == (s.fraction_num, s.fraction_den),
            "payout fraction {f:?} != settlement {}/{}",
            s.fraction_num,
            s.fraction_den
        );
        // the book's aggregates are exact, in both directions: the eligible
        // cover is the brute-force sum over the epoch's policies (closed ones
        // included: none may be eligible), the liability its ceiling share
        let mut brute = 0u128;
        for p in &self.m.policies {
            if p.market == i && p.epoch == mk.epoch && is_eligible(p.activation_time, p.end_time, start) {
                brute += wide(p.amount);
            }
        }
        ensure!(
            self,
            wide(s.eligible_cover) == brute,
            "invariant 4: market {i} event eligible cover {} != {brute} in force at the streak's start {start} \
             (activation delay {}, max price age {})",
            s.eligible_cover,
            mk.params.activation_delay,
            mk.params.terms.max_price_age
        );
        let exact = brute * wide(f.num);
        let ceil = exact.div_ceil(wide(f.den));
        ensure!(
            self,
            wide(s.liability) == ceil,
            "invariant 4: liability {} != ceil({brute} × {}/{})",
            s.liability,
            f.num,
            f.den
        );
        let cap = acc.capital();
        ensure!(
            self,
            s.reserve == s.liability.min(cap),
            "reserve {} != min(liability {}, capital {cap})",
            s.reserve,
            s.liability
        );
        let mut left = s.reserve;
        for (t, tr) in acc.tranches.iter().enumerate() {
            let take = tr.assets.min(left);
            ensure!(
                self,
                s.taken[t] == take && self.m.tranches[t].assets == tr.assets - take,
                "waterfall: tranche {t} gave {} of {}, expected {take}",
                s.taken[t],
                tr.assets
            );
            left -= take;
        }
        let mut st = self.stats.borrow_mut();
        st.triggers += 1;
        if s.reserve < s.liability {
            st.haircut_events += 1;
        }
        Ok(())
    }

    fn check(
        &mut self,
        market: u8,
        wait_bps: u16,
        age_bps: u16,
        kind: PriceKind,
        flaw: Flaw,
        r: u32,
    ) -> Result<(), TestCaseError> {
        let i = market as usize % self.n_markets();
        let terms = self.m.markets[i].params.terms;
        let wait = 1 + terms.max_gap * i64::from(wait_bps) / 10_000;
        self.advance_step(wait)?;
        let now = self.m.now;
        let last = self.m.markets[i].streak.last_publish_time;
        let mut price = match kind {
            PriceKind::Healthy => healthy(&terms, r),
            PriceKind::Depeg => depeg(&terms, r),
            PriceKind::Recovering => recovering(&terms, r),
            PriceKind::Straddle => straddle(&terms, r),
        };
        let mut t = now - terms.max_price_age * i64::from(age_bps) / 10_000;
        match flaw {
            Flaw::None => {
                if last < now {
                    t = t.max(last + 1);
                }
            }
            Flaw::Stale => t = now - terms.max_price_age - 1 - i64::from(r % 300),
            Flaw::WideConf => {
                price.conf = conf_limit(&terms, price.price) + 1;
                if last < now {
                    t = t.max(last + 1);
                }
            }
            Flaw::Replay => {
                if last > 0 {
                    t = last - i64::from(r % 2);
                }
            }
        }
        let _ = self.observe(i, Observation { price, publish_time: t }, "check_trigger")?;
        Ok(())
    }

    /// Depegged observations every `step ≤ max_gap` seconds until the market
    /// triggers: a depeg that keepers report always triggers (invariant 6).
    fn drive(&mut self, i: usize, step_bps: u16, r: u32) -> Result<(), TestCaseError> {
        let terms = self.m.markets[i].params.terms;
        let mk = &self.m.markets[i];
        if matches!(mk.status, Status::Triggered | Status::Closed) || self.m.now < mk.sales_open_at {
            self.advance_step(1)?;
            let obs = Observation {
                price: depeg(&terms, r),
                publish_time: self.m.now,
            };
            let res = self.observe(i, obs, "check_trigger (drive)")?;
            ensure!(
                self,
                res.is_err() || self.m.markets[i].status != Status::Triggered,
                "a triggered or closed market accepted an observation"
            );
            if res.is_ok() {
                // the market opened during the step: drive it like any other
                return self.drive(i, step_bps, r);
            }
            self.record("trigger (drive)", &res);
            return Ok(());
        }
        let step = (terms.max_gap * i64::from(step_bps) / 10_000)
            .max(terms.duration / 16)
            .clamp(1, terms.max_gap);
        for k in 0..64u32 {
            self.advance_step(step)?;
            let obs = Observation {
                price: depeg(&terms, r.rotate_left(k)),
                publish_time: self.m.now,
            };
            match self.observe(i, obs, "check_trigger (drive)")? {
                Ok(true) => {
                    self.record("trigger (drive)", &Ok::<(), ModelError>(()));
                    return Ok(());
                }
                Ok(false) => {}
                Err(e) => return Err(self.fail(format!("a fresh depegged observation was rejected: {e:?}"))),
            }
        }
        Err(self.fail(format!(
            "invariant 6: market {i} saw a depeg every {step} s for 64 observations without triggering"
        )))
    }

    /// The midnight race: a sale just after midnight expires the cover that
    /// ended at midnight from the book; then a depeg published before
    /// midnight is reported (still fresh) and driven to a trigger.
    fn late_report(&mut self, market: u8, off_bps: u16, step_bps: u16, r: u32) -> Result<(), TestCaseError> {
        let i = self.pick_market(market, |mk| mk.status == Status::Active);
        let terms = self.m.markets[i].params.terms;
        let age = terms.max_price_age;
        let off = 1 + (age - 2) * i64::from(off_bps) / 10_000;
        let midnight = (day_of(self.m.now) + 1) * D;
        self.advance_step(midnight + off - self.m.now)?;
        let last = self.m.markets[i].streak.last_publish_time;
        let u = r % USERS;
        let before = self.begin();
        let res = self.m.buy_cover(
            u,
            i,
            MIN_COVER,
            1,
            u64::MAX,
            healthy(&terms, r),
            (midnight - 1).max(last),
        );
        self.after(&before, res.is_ok(), false)?;
        self.record("buy_cover (late report)", &res);
        let k = 1 + i64::from(r >> 3) % (age - off);
        let obs = Observation {
            price: depeg(&terms, r),
            publish_time: midnight - k,
        };
        if self.observe(i, obs, "check_trigger (late report)")? == Ok(false) {
            self.drive(i, step_bps, r.rotate_left(5))?;
        }
        Ok(())
    }

    fn settle(&mut self, market: u8, start: u16, len: u8, corrupt: Corrupt) -> Result<(), TestCaseError> {
        let i = self.pick_market(market, |mk| mk.status == Status::Triggered && !mk.settlement.released);
        let epoch = self.m.markets[i].epoch;
        let n_pol = self.m.policies.len();
        let unsettled: Vec<usize> = (0..n_pol)
            .filter(|&id| {
                let p = &self.m.policies[id];
                p.market == i && p.epoch == epoch && !p.settled
            })
            .collect();
        let mut batch: Vec<usize> = if unsettled.is_empty() {
            if n_pol > 0 {
                vec![start as usize % n_pol]
            } else {
                vec![]
            }
        } else {
            let k = if len as usize > MAX_SETTLE_BATCH {
                len as usize
            } else {
                (len as usize).min(unsettled.len())
            };
            (0..k)
                .map(|j| unsettled[(start as usize + j) % unsettled.len()])
                .collect()
        };
        match corrupt {
            Corrupt::Duplicate(pos) if !batch.is_empty() => batch.push(batch[pos as usize % batch.len()]),
            Corrupt::Foreign(pos, id) if !batch.is_empty() => {
                let l = batch.len();
                batch[pos as usize % l] = id as usize % n_pol;
            }
            _ => {}
        }
        let before = self.begin();
        let res = self.m.settle_policies(i, &batch);
        self.after(&before, res.is_ok(), false)?;
        self.record("settle_policies", &res);
        // with the liability right, the reserve always covers the payouts
        ensure!(
            self,
            res != Err(ModelError::Core(CoreError::MathOverflow)),
            "invariant 4: settlement ran out of reserve"
        );
        if let Ok(total) = res {
            let mk = &self.m.markets[i];
            let s = mk.settlement;
            let (r, l) = (wide(s.reserve), wide(s.liability));
            let mut sum = 0u64;
            let mut seen = BTreeSet::new();
            let mut paid_to: BTreeMap<u32, u64> = BTreeMap::new();
            for &id in &batch {
                ensure!(self, seen.insert(id), "policy {id} settled twice in one batch");
                let (p0, p) = (before.policies[id], self.m.policies[id]);
                ensure!(
                    self,
                    !p0.settled && p.settled && p.market == i && p.epoch == epoch,
                    "settled a wrong policy {p0:?}"
                );
                if is_eligible(p.activation_time, p.end_time, mk.event.0) {
                    let owed = wide(p.amount) * wide(s.fraction_num) / wide(s.fraction_den);
                    let pay = wide(p.payout);
                    ensure!(
                        self,
                        p.payout <= p.amount && pay <= owed && pay * l <= owed * r,
                        "invariant 2/4: policy {id} of {} owed {owed} paid {} (reserve {r}, liability {l})",
                        p.amount,
                        p.payout
                    );
                    let same_haircut = if r >= l { pay == owed } else { (pay + 1) * l > owed * r };
                    ensure!(
                        self,
                        same_haircut,
                        "invariant 4: policy {id} owed {owed} paid {pay}, not the event's haircut {r}/{l}"
                    );
                } else {
                    ensure!(self, p.payout == 0, "ineligible policy {id} paid {}", p.payout);
                }
                sum += p.payout;
                *paid_to.entry(p.owner).or_default() += p.payout;
            }
            ensure!(self, sum == total, "batch total {total} != {sum}");
            for (owner, paid) in paid_to {
                ensure!(
                    self,
                    self.cash(owner) == before.cash.get(&owner).copied().unwrap_or(0) + paid,
                    "owner {owner} not paid {paid}"
                );
            }
            let mut st = self.stats.borrow_mut();
            st.settled_policies += batch.len() as u64;
            st.paid_policies += batch.iter().filter(|&&id| self.m.policies[id].payout > 0).count() as u64;
        }
        Ok(())
    }

    fn release(&mut self, market: u8) -> Result<(), TestCaseError> {
        let i = self.pick_market(market, |mk| mk.status == Status::Triggered && !mk.settlement.released);
        let before = self.begin();
        let res = self.m.release_reserve(i);
        self.after(&before, res.is_ok(), false)?;
        self.record("release_reserve", &res);
        if res.is_ok() {
            let s = before.markets[i].settlement;
            ensure!(
                self,
                self.m.capital() == before.capital() + s.reserve_left,
                "release returned {} of {}",
                self.m.capital() - before.capital(),
                s.reserve_left
            );
            for (t, (b, a)) in before.tranches.iter().zip(&self.m.tranches).enumerate() {
                ensure!(
                    self,
                    a.assets - b.assets <= s.taken[t],
                    "release gave tranche {t} more than it gave"
                );
            }
        }
        Ok(())
    }

    fn reopen(&mut self, market: u8) -> Result<(), TestCaseError> {
        let i = self.pick_market(market, |mk| mk.status == Status::Triggered && mk.settlement.released);
        let before = self.begin();
        let res = self.m.reopen_market(i);
        self.after(&before, res.is_ok(), false)?;
        self.record("reopen_market", &res);
        if res.is_ok() {
            ensure!(
                self,
                self.m.markets[i].epoch == before.markets[i].epoch + 1 && self.m.markets[i].status == Status::Active,
                "reopen"
            );
            self.runs[i] = None;
            self.streaks[i] = None;
        }
        Ok(())
    }

    fn wait(&mut self, w: Wait) -> Result<(), TestCaseError> {
        let now = self.m.now;
        let (cd, win) = (self.m.params.cooldown, self.m.params.withdraw_window);
        let request_time = |pick: u8| self.pick_request(pick, false).map(|k| self.m.requests[&k].requested_at);
        let secs = match w {
            Wait::Secs(s) => s,
            Wait::Hours(h) => h * 3_600,
            Wait::Days(d) => d * D,
            Wait::ToRequestOpen(pick, bps) => match request_time(pick) {
                Some(at) => at + cd + win * i64::from(bps) / 10_000 - now,
                None => cd,
            },
            Wait::PastWindow(pick) => match request_time(pick) {
                Some(at) => at + cd + win + 1 - now,
                None => cd + win + 1,
            },
            Wait::PastClaimWindow => self
                .m
                .markets
                .iter()
                .filter(|mk| mk.status == Status::Triggered && !mk.settlement.released)
                .map(|mk| mk.settlement.claim_deadline + 1 - now)
                .max()
                .unwrap_or(D),
            Wait::AfterMidnight(off) => (day_of(now) + 1) * D + off - now,
            Wait::Long(d) => d * D,
        };
        self.advance_step(secs.max(1))?;
        self.record("advance", &Ok::<(), ModelError>(()));
        Ok(())
    }
}

fn run_sequence(setup: &Setup, ops: &[Op], stats: &RefCell<Stats>) -> Result<(), TestCaseError> {
    let mut run = Run::new(setup, stats);
    run.run(ops)
}

/// The main property: 10 000 random sequences (one per case), every
/// invariant after every step; prints the operation mix.
#[test]
fn model_invariants_hold_over_random_sequences() {
    let stats = RefCell::new(Stats::default());
    let mut runner = TestRunner::new(config(CASES));
    let result = runner.run(&sequence(), |(setup, ops)| run_sequence(&setup, &ops, &stats));
    let st = stats.into_inner();
    println!("{}", st.report());
    if let Err(e) = result {
        panic!("{e}");
    }
    assert!(st.sequences >= u64::from(CASES), "only {} sequences ran", st.sequences);
    // the mix is meaningful: every kind succeeds (and fails) often enough
    for (kind, min_ok_pct) in [
        ("deposit", 50.0),
        ("request_withdrawal", 30.0),
        ("cancel_withdrawal", 20.0),
        ("withdraw", 10.0),
        ("buy_cover", 30.0),
        ("check_trigger", 40.0),
        ("check_trigger (drive)", 80.0),
        ("trigger (drive)", 50.0),
        ("settle_policies", 8.0),
        ("release_reserve", 10.0),
        ("reopen_market", 5.0),
        ("close_policy", 5.0),
        ("close_market", 1.0),
    ] {
        let (ok, err) = st.ops.get(kind).copied().unwrap_or_default();
        let pct = 100.0 * ok as f64 / (ok + err).max(1) as f64;
        assert!(
            pct >= min_ok_pct,
            "{kind}: only {pct:.1} % succeeded ({ok} of {})",
            ok + err
        );
        if kind != "check_trigger (drive)" {
            assert!(err > 0, "{kind} never failed");
        }
    }
    assert!(st.triggers > 0 && st.haircut_events > 0 && st.paid_policies > 0);
}

// ---------------------------------------------------------------------------
// The known bug, as a deterministic regression test
// ---------------------------------------------------------------------------

/// Minimal sequence for the midnight-expiry shortfall (reported, not fixed:
/// the rule lives in `book::CoverBook::expire`'s use by `buy_cover`, in the
/// program as in the model). Run with `--ignored` to see it fail.
///
/// 1. A 1-day policy of 10 000 USDC is bought; it ends at midnight M.
/// 2. At M + 10 s someone buys cover on the same market (price published at
///    M − 5 s, fresh): `buy_cover` expires the book to today, dropping the
///    10 000 USDC that ended at M.
/// 3. A keeper reports a depeg published at M − 3 s (fresh: 13 s old, later
///    than the last accepted observation): the streak opens at M − 3 s, when
///    the policy was in force.
/// 4. The depeg lasts `duration`: the market triggers, but the event's
///    eligible cover is 0 (the book no longer has the policy), the liability
///    and reserve are 0, and the policy is settled for 0.
#[test]
fn cover_ending_at_midnight_is_counted_for_a_streak_that_began_before_it() {
    let day0 = 19_000 * D;
    // the market is created 10 days (its governance delay) before it opens at day0 + 12 h
    let mut m = Model::new(
        day0 - 10 * D + 12 * 3_600,
        PoolParams {
            weights_bps: vec![10_000],
            cooldown: 7 * D,
            withdraw_window: 2 * D,
            max_leverage_bps: 20_000,
            protocol_fee_bps: 0,
            min_cover: MIN_COVER,
            claim_window: 30 * D,
        },
    );
    let terms = TriggerTerms {
        strike: 95_000_000,
        recovery: 97_000_000,
        duration: 3_600,
        max_gap: 3_600,
        max_price_age: 60,
        max_conf_bps: 500,
    };
    let mk = m.add_market(MarketParams {
        terms,
        shape: Shape::Binary,
        curve: Curve {
            base_rate_bps: 200,
            slope_below_kink_bps: 800,
            slope_above_kink_bps: 4_000,
            kink_utilization_bps: 8_000,
        },
        allocation_bps: 10_000,
        activation_delay: 120,
    });
    m.advance(m.governance_delay());
    assert_eq!(m.now, day0 + 12 * 3_600);
    m.fund(1, FUNDING);
    m.fund(2, FUNDING);
    m.deposit(1, 0, 100_000_000_000, 0).unwrap();
    let ok = UnitPrice {
        price: PRICE_ONE,
        conf: 10_000,
    };
    let p = m.buy_cover(2, mk, 10_000_000_000, 1, u64::MAX, ok, m.now).unwrap();
    let midnight = day0 + D;
    assert_eq!(m.policies[p].end_time, midnight);
    m.advance(midnight + 10 - m.now);
    m.buy_cover(2, mk, MIN_COVER, 1, u64::MAX, ok, midnight - 5).unwrap();
    let low = UnitPrice {
        price: 90_000_000,
        conf: 10_000,
    };
    let obs = |t| Observation {
        price: low,
        publish_time: t,
    };
    assert_eq!(m.check_trigger(mk, obs(midnight - 3)), Ok(false));
    m.advance(1_800);
    assert_eq!(m.check_trigger(mk, obs(m.now)), Ok(false));
    m.advance(1_800);
    assert_eq!(m.check_trigger(mk, obs(m.now)), Ok(true));
    assert!(is_eligible(
        m.policies[p].activation_time,
        m.policies[p].end_time,
        m.markets[mk].event.0
    ));
    let s = m.markets[mk].settlement;
    assert!(
        s.eligible_cover >= 10_000_000_000,
        "eligible cover {} misses the policy in force at the streak's start",
        s.eligible_cover
    );
    assert_eq!(m.settle_policies(mk, &[p]), Ok(10_000_000_000));
}
