//! Model-based random sequences (PROTOCOL.md 4, every invariant at once): the
//! real program in the bank and the reference model
//! (`coverage_core::model::Model`) run the same instructions side by side.
//! After every step both must have accepted or both refused (with the same
//! named error), and every account the program keeps must equal the model's
//! state: pool, share supplies, premium ledger, markets with their books and
//! settlements, policies, withdrawal requests, the vault and every user's
//! token balances. The model's own invariants are checked after every step.
//!
//! Sequences are seeded and reproducible (splitmix64 seeded with the
//! sequence index). A divergence prints the seed, the step and the whole
//! trace; replay one sequence verbosely with
//! `SEQ_SEED=<seed> cargo test -p coverage-pool-tests --test bank sequences -- --nocapture`.

use std::collections::BTreeMap;
use std::fmt::Debug;

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::spl_token;
use coverage_core::model::{
    MarketParams, Model, ModelError, ModelResult, PoolParams, Settlement as ModelSettlement, Status,
};
use coverage_core::price::UnitPrice;
use coverage_core::pricing::Curve;
use coverage_core::settlement::Shape;
use coverage_core::trigger::{Observation, TriggerTerms};
use coverage_core::BPS;
use coverage_pool::constants::CLAIM_WINDOW;
use coverage_pool::error::ErrorCode;
use coverage_pool::instructions::CreateMarketArgs;
use coverage_pool::state::{MarketStatus, PayoutShape, PolicyStatus};
use coverage_pool_tests::oracle::PriceSpec;
use coverage_pool_tests::*;
use coverage_sdk::{ix, pda};
use solana_program_test::BanksClientError;
use solana_signer::Signer;

/// Sequences in all (split over [`CHUNKS`] tests so the harness runs them in parallel).
const SEQUENCES: u64 = 300;
/// Tests the sequences are split over.
const CHUNKS: u64 = 6;
/// Tranches of the default pool.
const TRANCHES: usize = 2;
/// $1.00 in price units.
const USD: u64 = 100_000_000;

// ---------------------------------------------------------------------------
// A small deterministic PRNG
// ---------------------------------------------------------------------------

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5EED_C0FF_EE00_0000)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n == 0`).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// Uniform in `lo..=hi` (`lo` when `hi < lo`).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.below(hi - lo + 1)
        }
    }

    /// True with probability `pct` %.
    fn chance(&mut self, pct: u64) -> bool {
        self.below(100) < pct
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }

    fn shuffle<T>(&mut self, xs: &mut [T]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            xs.swap(i, j);
        }
    }
}

// ---------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------

/// One instruction (or clock move) applied to both sides.
#[derive(Clone, Debug)]
enum Op {
    Deposit {
        user: usize,
        tranche: u8,
        amount: u64,
        min_shares: u64,
    },
    Request {
        user: usize,
        tranche: u8,
        shares: u64,
    },
    Cancel {
        user: usize,
        tranche: u8,
    },
    Withdraw {
        user: usize,
        tranche: u8,
    },
    /// `buy_cover` with a price published `age` seconds before the clock.
    Buy {
        user: usize,
        market: usize,
        amount: u64,
        days: u16,
        max_premium: u64,
        price: u64,
        conf: u64,
        age: i64,
    },
    Accrue,
    /// `check_trigger` with a price published `age` seconds before the clock.
    Observe {
        market: usize,
        price: u64,
        conf: u64,
        age: i64,
    },
    /// `settle_policies` with model policy ids (global), each paid to its owner.
    Settle {
        market: usize,
        batch: Vec<usize>,
    },
    Release {
        market: usize,
    },
    Reopen {
        market: usize,
    },
    Advance {
        secs: i64,
    },
}

impl Op {
    fn kind(&self) -> &'static str {
        match self {
            Op::Deposit { .. } => "deposit",
            Op::Request { .. } => "request_withdrawal",
            Op::Cancel { .. } => "cancel_withdrawal",
            Op::Withdraw { .. } => "withdraw",
            Op::Buy { .. } => "buy_cover",
            Op::Accrue => "accrue_premium",
            Op::Observe { .. } => "check_trigger",
            Op::Settle { .. } => "settle_policies",
            Op::Release { .. } => "release_reserve",
            Op::Reopen { .. } => "reopen_market",
            Op::Advance { .. } => "advance_time",
        }
    }
}

/// The program's custom error code for a model refusal.
fn expected_code(e: ModelError) -> u32 {
    use ModelError as M;
    let named = match e {
        M::Core(c) => ErrorCode::from(c),
        M::SlippageExceeded => ErrorCode::SlippageExceeded,
        M::WithdrawalAlreadyRequested => ErrorCode::WithdrawalAlreadyRequested,
        M::StreakOpenInPool => ErrorCode::StreakOpenInPool,
        M::MarketClosed => ErrorCode::MarketClosed,
        M::SalesStoppedStreakOpen => ErrorCode::SalesStoppedStreakOpen,
        M::MarketAlreadyTriggered => ErrorCode::MarketAlreadyTriggered,
        M::PriceBelowStrike => ErrorCode::PriceBelowStrike,
        M::InvalidCoverAmount => ErrorCode::InvalidCoverAmount,
        M::PremiumAboveMax => ErrorCode::PremiumAboveMax,
        M::MarketNotTriggered => ErrorCode::MarketNotTriggered,
        M::ReserveReleased => ErrorCode::ReserveReleased,
        M::ClaimsOutstanding => ErrorCode::ClaimsOutstanding,
        M::ReserveNotReleased => ErrorCode::ReserveNotReleased,
        M::PolicySettled => ErrorCode::PolicySettled,
        M::WrongMarket => ErrorCode::WrongMarket,
        M::WrongEpoch => ErrorCode::WrongEpoch,
        M::MalformedBatch => ErrorCode::MalformedBatch,
        M::StalePrice => ErrorCode::StalePrice,
        M::ConfidenceTooWide => ErrorCode::ConfidenceTooWide,
        M::InvalidTranche => ErrorCode::InvalidTranche,
        // the request account does not exist: Anchor refuses it before the handler
        M::NoRequest => return anchor_lang::error::ErrorCode::AccountNotInitialized as u32,
        // the token program's own custom error
        M::InsufficientFunds => return spl_token::error::TokenError::InsufficientFunds as u32,
    };
    code(named)
}

/// A market's terms in the model's (core) form.
fn market_params(a: &CreateMarketArgs) -> MarketParams {
    MarketParams {
        terms: TriggerTerms {
            strike: a.strike,
            recovery: a.recovery,
            duration: i64::from(a.duration),
            max_gap: i64::from(a.max_gap),
            max_price_age: i64::from(a.max_price_age),
            max_conf_bps: u64::from(a.max_conf_bps),
        },
        shape: match a.payout {
            PayoutShape::Binary => Shape::Binary,
            PayoutShape::Linear { floor_price } => Shape::Linear { floor_price },
        },
        curve: Curve {
            base_rate_bps: u64::from(a.curve.base_rate_bps),
            slope_below_kink_bps: u64::from(a.curve.slope_below_kink_bps),
            slope_above_kink_bps: u64::from(a.curve.slope_above_kink_bps),
            kink_utilization_bps: u64::from(a.curve.kink_utilization_bps),
        },
        allocation_bps: u64::from(a.allocation_bps),
        activation_delay: i64::from(a.activation_delay),
    }
}

fn model_status(s: MarketStatus) -> Status {
    match s {
        MarketStatus::Active => Status::Active,
        MarketStatus::StreakOpen => Status::StreakOpen,
        MarketStatus::Triggered => Status::Triggered,
        MarketStatus::Closed => Status::Closed,
    }
}

/// Records `what` when the bank's value differs from the model's.
fn same<T: PartialEq + Debug>(errs: &mut Vec<String>, bank: T, model: T, what: impl FnOnce() -> String) {
    if bank != model {
        errs.push(format!("{}: bank {:?} != model {:?}", what(), bank, model));
    }
}

/// Records the first differing slot of two rings.
fn same_ring<T: PartialEq + Debug>(errs: &mut Vec<String>, bank: &[T], model: &[T], what: &str) {
    if bank.len() != model.len() {
        errs.push(format!("{what}: length {} != {}", bank.len(), model.len()));
        return;
    }
    if let Some(i) = (0..bank.len()).find(|&i| bank[i] != model[i]) {
        errs.push(format!("{what}[{i}]: bank {:?} != model {:?}", bank[i], model[i]));
    }
}

// ---------------------------------------------------------------------------
// Tallies
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    ok: u64,
    refused: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Stats {
    sequences: u64,
    steps: u64,
    ops: BTreeMap<&'static str, Tally>,
    triggers: u64,
    paid_policies: u64,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        self.sequences += other.sequences;
        self.steps += other.steps;
        self.triggers += other.triggers;
        self.paid_policies += other.paid_policies;
        for (k, t) in other.ops {
            let e = self.ops.entry(k).or_default();
            e.ok += t.ok;
            for (name, n) in t.refused {
                *e.refused.entry(name).or_default() += n;
            }
        }
    }

    fn report(&self, title: &str) -> String {
        let mut s = format!(
            "{title}: {} sequences, {} steps, {} triggers, {} policies paid\n",
            self.sequences, self.steps, self.triggers, self.paid_policies
        );
        for (k, t) in &self.ops {
            let refused: u64 = t.refused.values().sum();
            s += &format!("  {k:<20} ok {:>5}  refused {:>5}", t.ok, refused);
            if !t.refused.is_empty() {
                let names: Vec<String> = t.refused.iter().map(|(n, c)| format!("{n} {c}")).collect();
                s += &format!("  ({})", names.join(", "));
            }
            s += "\n";
        }
        s
    }
}

// ---------------------------------------------------------------------------
// One sequence
// ---------------------------------------------------------------------------

struct Seq {
    seed: u64,
    rng: Rng,
    env: TestEnv,
    model: Model,
    users: Vec<Staker>,
    markets: Vec<Pubkey>,
    /// Bank address of each model policy (model ids are global, the program's per market).
    policies: Vec<Pubkey>,
    trace: Vec<String>,
    step: usize,
    verbose: bool,
    stats: Stats,
}

impl Seq {
    async fn start(seed: u64, verbose: bool) -> Seq {
        let mut rng = Rng::new(seed);
        let cfg = PoolConfig::default();
        let mut env = TestEnv::with_config(cfg.clone()).await;
        let mut args = Vec::new();
        for _ in 0..2 {
            let mut a = market_args();
            a.allocation_bps = rng.pick(&[2_500, 5_000, 7_500, 10_000]);
            if rng.chance(35) {
                a.payout = PayoutShape::Linear {
                    floor_price: 80 * USD / 100,
                };
            }
            if rng.chance(30) {
                a.duration = 900;
            }
            args.push(a);
        }
        let mut markets = Vec::new();
        for a in &args {
            markets.push(env.create_market(a.clone()).await.unwrap());
        }
        let now = env.now().await;
        let mut model = Model::new(
            now,
            PoolParams {
                weights_bps: cfg.weights.iter().map(|&w| u64::from(w)).collect(),
                cooldown: i64::from(cfg.cooldown),
                withdraw_window: i64::from(cfg.withdraw_window),
                max_leverage_bps: u64::from(cfg.max_leverage_bps),
                protocol_fee_bps: u64::from(cfg.protocol_fee_bps),
                min_cover: ONE,
                claim_window: CLAIM_WINDOW,
            },
        );
        for a in &args {
            model.add_market(market_params(a));
        }
        let n_users = rng.range(3, 4) as usize;
        let mut users = Vec::new();
        for u in 0..n_users {
            let amount = rng.pick(&[20_000, 50_000, 100_000, 250_000]) * ONE;
            users.push(env.new_staker(amount).await);
            model.fund(u as u32, amount);
        }
        let mut seq = Seq {
            seed,
            rng,
            env,
            model,
            users,
            markets,
            policies: Vec::new(),
            trace: Vec::new(),
            step: 0,
            verbose,
            stats: Stats::default(),
        };
        seq.trace.push(format!(
            "setup: users funded {:?}; markets {:?}",
            (0..n_users).map(|u| seq.model.cash[&(u as u32)]).collect::<Vec<_>>(),
            args.iter()
                .map(|a| (a.allocation_bps, a.payout, a.duration))
                .collect::<Vec<_>>()
        ));
        seq.compare().await;
        seq
    }

    fn fail(&self, msg: &str) -> ! {
        panic!(
            "bank and model diverge: seed {} step {}\n{}\ntrace:\n  {}\nreplay: SEQ_SEED={} cargo test -p coverage-pool-tests --test bank sequences -- --nocapture",
            self.seed,
            self.step,
            msg,
            self.trace.join("\n  "),
            self.seed
        );
    }

    // ---- generation -------------------------------------------------------

    fn user(&mut self) -> usize {
        self.rng.below(self.users.len() as u64) as usize
    }

    fn cash(&self, user: usize) -> u64 {
        self.model.cash.get(&(user as u32)).copied().unwrap_or(0)
    }

    fn held(&self, user: usize, tranche: usize) -> u64 {
        self.model.shares.get(&(user as u32, tranche)).copied().unwrap_or(0)
    }

    /// A (user, tranche) pair, preferring those where `want` holds.
    fn pair(&mut self, want: impl Fn(&Seq, usize, usize) -> bool) -> (usize, u8) {
        let mut good = Vec::new();
        for u in 0..self.users.len() {
            for t in 0..TRANCHES {
                if want(self, u, t) {
                    good.push((u, t as u8));
                }
            }
        }
        if !good.is_empty() && self.rng.chance(80) {
            self.rng.pick(&good)
        } else {
            let u = self.user();
            (u, self.rng.below(TRANCHES as u64) as u8)
        }
    }

    /// A market, preferring those whose status is in `prefer`.
    fn market(&mut self, prefer: &[Status]) -> usize {
        let good: Vec<usize> = (0..self.markets.len())
            .filter(|&m| prefer.contains(&self.model.markets[m].status))
            .collect();
        if !good.is_empty() && self.rng.chance(85) {
            self.rng.pick(&good)
        } else {
            self.rng.below(self.markets.len() as u64) as usize
        }
    }

    fn gen_deposit(&mut self) -> Op {
        let user = self.user();
        let tranche = self.rng.below(TRANCHES as u64) as u8;
        let cash = self.cash(user);
        let amount = match self.rng.below(20) {
            0 => 0,
            1 => self.rng.range(1, 2_000),
            2 => cash + self.rng.range(1, 1_000 * ONE),
            3 => cash,
            _ => self.rng.range(ONE, (cash / 2).max(ONE)),
        };
        let min_shares = match self.rng.below(10) {
            0 => u64::MAX,
            1 | 2 => {
                let mut m = self.model.clone();
                let exact = m.deposit(user as u32, tranche as usize, amount, 0).unwrap_or(0);
                exact + self.rng.below(2)
            }
            _ => 0,
        };
        Op::Deposit {
            user,
            tranche,
            amount,
            min_shares,
        }
    }

    fn gen_request(&mut self) -> Op {
        let (user, tranche) = self.pair(|s, u, t| s.held(u, t) > 0);
        let held = self.held(user, tranche as usize);
        let shares = match self.rng.below(10) {
            0 => 0,
            1 => held + 1,
            2 | 3 => held,
            4 => 1,
            _ => self.rng.range(1, held.max(1)),
        };
        Op::Request { user, tranche, shares }
    }

    fn gen_buy(&mut self) -> Op {
        let user = self.user();
        let market = self.market(&[Status::Active]);
        let capacity = self.model.capital() as u128 * u128::from(self.model.markets[market].params.allocation_bps)
            / u128::from(BPS);
        let capacity = capacity as u64;
        let amount = match self.rng.below(20) {
            0 => ONE - 1,
            1 => ONE,
            2 => capacity + self.rng.range(1, 10 * ONE),
            3 => capacity,
            _ => self.rng.range(ONE, (capacity / 3).max(ONE)),
        };
        let days = match self.rng.below(25) {
            0 => 0,
            1 => 366,
            2 => 365,
            _ => self.rng.range(1, 60),
        } as u16;
        let (price, conf, age) = match self.rng.below(25) {
            0 => (94 * USD / 100, 0, 0),
            1 => (96 * USD / 100, 2 * USD / 100, 0),
            2 => (USD, 10_000, 61),
            3 => (USD, 6 * USD / 100, 0),
            4 => (USD, 10_000, 30),
            _ => (USD, 10_000, 0),
        };
        let max_premium = if self.rng.chance(20) {
            let mut m = self.model.clone();
            let now = m.now;
            match m.buy_cover(
                user as u32,
                market,
                amount,
                u64::from(days),
                u64::MAX,
                UnitPrice { price, conf },
                now - age,
            ) {
                Ok(id) => {
                    let p = m.policies[id].premium;
                    if self.rng.chance(50) {
                        p
                    } else {
                        p.saturating_sub(1)
                    }
                }
                Err(_) => u64::MAX,
            }
        } else {
            u64::MAX
        };
        Op::Buy {
            user,
            market,
            amount,
            days,
            max_premium,
            price,
            conf,
            age,
        }
    }

    fn gen_observe(&mut self) -> Vec<Op> {
        let market = self.market(&[Status::Active, Status::StreakOpen]);
        let (price, conf) = match self.rng.below(10) {
            0..=3 => (USD, 10_000),
            4 => (96 * USD / 100, 0),
            5..=7 => (90 * USD / 100, self.rng.below(1_000_000)),
            8 => (94 * USD / 100, 2 * USD / 100),
            _ => (USD, 6 * USD / 100),
        };
        let age = match self.rng.below(10) {
            0 => 61,
            1 => 5,
            _ => 0,
        };
        let mut ops = Vec::new();
        if self.rng.chance(60) {
            ops.push(Op::Advance {
                secs: self.rng.range(1, 600) as i64,
            });
        }
        ops.push(Op::Observe {
            market,
            price,
            conf,
            age,
        });
        ops
    }

    /// A depeg observed through several observations until it has lasted the
    /// market's duration (now and then recovering or going unseen too long).
    fn gen_trigger(&mut self) -> Vec<Op> {
        let market = self.market(&[Status::Active, Status::StreakOpen]);
        let terms = self.model.markets[market].params.terms;
        let mut ops = vec![
            Op::Advance {
                secs: self.rng.range(1, 900) as i64,
            },
            Op::Observe {
                market,
                price: self.rng.range(80 * USD / 100, 94 * USD / 100),
                conf: self.rng.below(3) * 100_000,
                age: 0,
            },
        ];
        let mut elapsed = 0;
        while elapsed < terms.duration {
            let mut secs = (self.rng.range(terms.duration as u64 / 3, terms.duration as u64) as i64)
                .min(terms.max_gap)
                .max(1);
            if self.rng.chance(5) {
                secs = terms.max_gap + self.rng.range(1, 600) as i64;
            }
            let price = if self.rng.chance(5) {
                98 * USD / 100
            } else {
                self.rng.range(80 * USD / 100, 96 * USD / 100)
            };
            ops.push(Op::Advance { secs });
            ops.push(Op::Observe {
                market,
                price,
                conf: 0,
                age: 0,
            });
            elapsed += secs;
        }
        ops
    }

    fn gen_settle(&mut self) -> Op {
        let market = self.market(&[Status::Triggered]);
        let epoch = self.model.markets[market].epoch;
        let mut open: Vec<usize> = (0..self.model.policies.len())
            .filter(|&i| {
                let p = &self.model.policies[i];
                p.market == market && p.epoch == epoch && !p.settled
            })
            .collect();
        self.rng.shuffle(&mut open);
        let all = self.model.policies.len() as u64;
        let batch = match self.rng.below(20) {
            0 => Vec::new(),
            1 if all > 0 => vec![self.rng.below(all) as usize; 17],
            _ => {
                let k = (self.rng.range(1, 8) as usize).min(open.len());
                let mut b = open[..k].to_vec();
                if all > 0 && self.rng.chance(15) {
                    let at = self.rng.below(b.len() as u64 + 1) as usize;
                    b.insert(at, self.rng.below(all) as usize);
                }
                if !b.is_empty() && self.rng.chance(10) {
                    b.push(b[0]);
                }
                b
            }
        };
        Op::Settle { market, batch }
    }

    fn gen_advance(&mut self) -> Op {
        let secs = match self.rng.below(20) {
            0..=5 => self.rng.range(1, 120),
            6..=9 => self.rng.range(120, 3_600),
            10..=12 => self.rng.range(3_600, DAY as u64),
            13 | 14 => self.rng.range(DAY as u64, 3 * DAY as u64),
            15..=17 => 7 * DAY as u64 + self.rng.range(0, 2 * DAY as u64),
            18 => 9 * DAY as u64 + self.rng.range(1, DAY as u64),
            _ => 31 * DAY as u64,
        };
        Op::Advance { secs: secs as i64 }
    }

    /// The next operation(s): the first two are deposits (a pool with capital
    /// makes for longer stories), then a weighted draw.
    fn draw(&mut self, index: usize) -> Vec<Op> {
        let r = if index < 2 { 0 } else { self.rng.below(100) };
        match r {
            0..=15 => vec![self.gen_deposit()],
            16..=24 => vec![self.gen_request()],
            25..=28 => {
                let (user, tranche) = self.pair(|s, u, t| s.model.requests.contains_key(&(u as u32, t)));
                vec![Op::Cancel { user, tranche }]
            }
            29..=36 => {
                let (user, tranche) = self.pair(|s, u, t| s.model.requests.contains_key(&(u as u32, t)));
                vec![Op::Withdraw { user, tranche }]
            }
            37..=53 => vec![self.gen_buy()],
            54..=56 => vec![Op::Accrue],
            57..=62 => self.gen_observe(),
            63..=70 => self.gen_trigger(),
            71..=79 => vec![self.gen_settle()],
            80..=84 => vec![Op::Release {
                market: self.market(&[Status::Triggered]),
            }],
            85..=87 => vec![Op::Reopen {
                market: self.market(&[Status::Triggered]),
            }],
            _ => vec![self.gen_advance()],
        }
    }

    // ---- application ------------------------------------------------------

    async fn apply(&mut self, op: &Op) -> (Result<(), BanksClientError>, ModelResult<()>) {
        match op {
            &Op::Deposit {
                user,
                tranche,
                amount,
                min_shares,
            } => {
                let m = self
                    .model
                    .deposit(user as u32, tranche as usize, amount, min_shares)
                    .map(|_| ());
                let b = self.env.deposit(&self.users[user], tranche, amount, min_shares).await;
                (b, m)
            }
            &Op::Request { user, tranche, shares } => {
                let m = self.model.request_withdrawal(user as u32, tranche as usize, shares);
                let b = self.env.request_withdrawal(&self.users[user], tranche, shares).await;
                (b, m)
            }
            &Op::Cancel { user, tranche } => {
                let m = self.model.cancel_withdrawal(user as u32, tranche as usize);
                let b = self.env.cancel_withdrawal(&self.users[user], tranche).await;
                (b, m)
            }
            &Op::Withdraw { user, tranche } => {
                let m = self.model.withdraw(user as u32, tranche as usize).map(|_| ());
                let b = self.env.withdraw(&self.users[user], tranche).await;
                (b, m)
            }
            &Op::Buy {
                user,
                market,
                amount,
                days,
                max_premium,
                price,
                conf,
                age,
            } => {
                let publish = self.model.now - age;
                let m = self.model.buy_cover(
                    user as u32,
                    market,
                    amount,
                    u64::from(days),
                    max_premium,
                    UnitPrice { price, conf },
                    publish,
                );
                let update = self.env.price_at(price as i64, conf, publish).await;
                let b = self
                    .env
                    .buy_cover_with_price(
                        &self.users[user],
                        &self.markets[market],
                        amount,
                        days,
                        max_premium,
                        &update,
                    )
                    .await;
                if let (Ok(address), Ok(id)) = (&b, &m) {
                    let local = self.model.policies[..*id].iter().filter(|p| p.market == market).count() as u64;
                    let expected = pda::policy(&self.markets[market], local).0;
                    if *id != self.policies.len() || *address != expected {
                        self.fail(&format!(
                            "policy numbering: model id {id} (local {local}), bank address {address}, expected {expected}"
                        ));
                    }
                    self.policies.push(*address);
                }
                (b.map(|_| ()), m.map(|_| ()))
            }
            Op::Accrue => {
                let m = self.model.accrue_premium();
                let b = self.env.send(&[ix::accrue_premium(&self.env.keys.pool)], &[]).await;
                (b, m)
            }
            &Op::Observe {
                market,
                price,
                conf,
                age,
            } => {
                let publish = self.model.now - age;
                let obs = Observation {
                    price: UnitPrice { price, conf },
                    publish_time: publish,
                };
                let triggered_before = self.model.markets[market].status == Status::Triggered;
                let m = self.model.check_trigger(market, obs);
                if m == Ok(true) && !triggered_before {
                    self.stats.triggers += 1;
                }
                let b = self
                    .env
                    .observe(&self.markets[market], &PriceSpec::new(price as i64, conf, publish))
                    .await;
                (b, m.map(|_| ()))
            }
            Op::Settle { market, batch } => {
                let m = self.model.settle_policies(*market, batch).map(|_| ());
                if m.is_ok() {
                    self.stats.paid_policies +=
                        batch.iter().filter(|&&i| self.model.policies[i].payout > 0).count() as u64;
                }
                let pairs: Vec<(Pubkey, Pubkey)> = batch
                    .iter()
                    .map(|&i| {
                        let owner = self.model.policies[i].owner as usize;
                        (self.policies[i], self.users[owner].collateral)
                    })
                    .collect();
                let b = self.env.settle(&self.markets[*market], &pairs).await;
                (b, m)
            }
            &Op::Release { market } => {
                let m = self.model.release_reserve(market);
                let b = self.env.release(&self.markets[market]).await;
                (b, m)
            }
            &Op::Reopen { market } => {
                let m = self.model.reopen_market(market);
                let auth = self.env.authority.insecure_clone();
                let reopen = ix::reopen_market(&auth.pubkey(), &self.env.keys.pool, &self.markets[market]);
                let b = self.env.send(&[reopen], &[&auth]).await;
                (b, m)
            }
            &Op::Advance { secs } => {
                self.model.advance(secs);
                let now = self.model.now;
                self.env.warp_to(now).await;
                (Ok(()), Ok(()))
            }
        }
    }

    async fn run_op(&mut self, op: Op) {
        self.step += 1;
        let (b, m) = self.apply(&op).await;
        let outcome = match (&b, &m) {
            (Ok(()), Ok(())) => {
                self.stats.ops.entry(op.kind()).or_default().ok += 1;
                "ok".to_string()
            }
            (Err(e), Err(me)) => {
                let want = expected_code(*me);
                let got = custom_code(e);
                if got != Some(want) {
                    self.trace
                        .push(format!("{:>3} {op:?} -> bank {e:?}, model {me:?}", self.step));
                    self.fail(&format!(
                        "both refused {op:?} but with different errors: bank {e:?} (code {got:?}), model {me:?} (code {want})"
                    ));
                }
                let name = format!("{me:?}");
                *self
                    .stats
                    .ops
                    .entry(op.kind())
                    .or_default()
                    .refused
                    .entry(name.clone())
                    .or_default() += 1;
                format!("refused {name}")
            }
            (Ok(()), Err(me)) => {
                self.trace
                    .push(format!("{:>3} {op:?} -> bank ok, model {me:?}", self.step));
                self.fail(&format!("bank accepted {op:?}, model refused it with {me:?}"));
            }
            (Err(e), Ok(())) => {
                self.trace
                    .push(format!("{:>3} {op:?} -> bank {e:?}, model ok", self.step));
                self.fail(&format!("bank refused {op:?} with {e:?}, model accepted it"));
            }
        };
        let line = format!("{:>3} t={} {op:?} -> {outcome}", self.step, self.model.now);
        if self.verbose {
            println!("seed {} {line}", self.seed);
        }
        self.trace.push(line);
        self.stats.steps += 1;
        self.compare().await;
    }

    // ---- comparison -------------------------------------------------------

    /// Every account of the program against the model; fails on the first step
    /// with any difference, listing all of them.
    async fn compare(&mut self) {
        let mut errs = Vec::new();
        let Seq {
            env,
            model,
            users,
            markets,
            policies,
            ..
        } = self;
        let keys = env.keys;

        same(&mut errs, env.now().await, model.now, || "clock".into());

        // pool
        let pool = env.pool().await;
        for t in 0..TRANCHES {
            let (bt, mt) = (pool.tranches[t], model.tranches[t]);
            same(&mut errs, bt.assets, mt.assets, || format!("tranche {t} assets"));
            same(&mut errs, bt.dead_shares, mt.dead_shares, || {
                format!("tranche {t} dead_shares")
            });
            let supply = env.supply(&keys.share_mint(t as u8)).await;
            same(&mut errs, supply, mt.supply, || format!("tranche {t} share supply"));
            let escrowed: u64 = model
                .requests
                .iter()
                .filter(|((_, tt), _)| *tt == t)
                .map(|(_, r)| r.shares)
                .sum();
            let escrow = env.balance(&keys.share_escrow(t as u8)).await;
            same(&mut errs, escrow, escrowed, || format!("tranche {t} share escrow"));
        }
        same(&mut errs, pool.fees_owed, model.fees_owed, || "fees_owed".into());
        same(&mut errs, pool.reserves_total, model.reserves_total, || {
            "reserves_total".into()
        });
        same(&mut errs, pool.payouts_paid, model.payouts_paid, || {
            "payouts_paid".into()
        });
        same(&mut errs, pool.premiums_paid, model.premiums_paid, || {
            "premiums_paid".into()
        });
        same(&mut errs, u32::from(pool.open_streaks), model.open_streaks, || {
            "open_streaks".into()
        });

        // premium ledger
        let ledger = env.ledger().await;
        let ml = &model.ledger;
        same(&mut errs, ledger.current_day, ml.current_day, || {
            "ledger current_day".into()
        });
        same(&mut errs, ledger.last_accrual, ml.last_accrual, || {
            "ledger last_accrual".into()
        });
        same(&mut errs, ledger.today_unearned, ml.today_unearned, || {
            "ledger today_unearned".into()
        });
        same(&mut errs, ledger.unearned_total, ml.unearned_total, || {
            "ledger unearned_total".into()
        });
        same_ring(&mut errs, &ledger.by_day, &ml.by_day, "ledger by_day");

        // markets and their books
        for (i, address) in markets.iter().enumerate() {
            let mk = env.market(address).await;
            let mm = &model.markets[i];
            same(&mut errs, model_status(mk.status), mm.status, || {
                format!("market {i} status")
            });
            same(&mut errs, mk.epoch, mm.epoch, || format!("market {i} epoch"));
            same(&mut errs, mk.last_publish_time, mm.streak.last_publish_time, || {
                format!("market {i} last_publish_time")
            });
            same(&mut errs, mk.streak_start, mm.streak.streak_start, || {
                format!("market {i} streak_start")
            });
            same(&mut errs, mk.streak_low, mm.streak.streak_low, || {
                format!("market {i} streak_low")
            });
            if let Some(last) = mm.accepted.last() {
                same(
                    &mut errs,
                    (mk.last_price, mk.last_conf),
                    (last.price.price, last.price.conf),
                    || format!("market {i} last observation"),
                );
            }
            same(
                &mut errs,
                (mk.event.streak_start, mk.event.trigger_time, mk.event.lowest_price),
                mm.event,
                || format!("market {i} event"),
            );
            if mm.status == Status::Triggered {
                same(&mut errs, mk.event.epoch, mm.epoch, || {
                    format!("market {i} event epoch")
                });
            }
            let s = mk.settlement;
            let bank_settlement = ModelSettlement {
                eligible_cover: s.eligible_cover,
                liability: s.liability,
                reserve: s.reserve,
                reserve_left: s.reserve_left,
                paid: s.paid,
                settled_cover: s.settled_cover,
                settled_policies: s.settled_policies,
                fraction_num: s.fraction_num,
                fraction_den: s.fraction_den,
                taken: s.taken,
                claim_deadline: s.claim_deadline,
                released: s.released,
            };
            same(&mut errs, bank_settlement, mm.settlement, || {
                format!("market {i} settlement")
            });
            let count = model.policies.iter().filter(|p| p.market == i).count() as u64;
            same(&mut errs, mk.policy_count, count, || format!("market {i} policy_count"));

            let book = env.book(address).await;
            same(&mut errs, book.active_cover, mm.active_cover, || {
                format!("book {i} active_cover")
            });
            same(&mut errs, book.processed_day, mm.processed_day, || {
                format!("book {i} processed_day")
            });
            same_ring(
                &mut errs,
                &book.by_end_day,
                &mm.by_end_day,
                &format!("book {i} by_end_day"),
            );
            same_ring(
                &mut errs,
                &book.pending_minute,
                &mm.pending_minute,
                &format!("book {i} pending_minute"),
            );
            same_ring(
                &mut errs,
                &book.pending_amount,
                &mm.pending_amount,
                &format!("book {i} pending_amount"),
            );
        }

        // policies
        for (id, mp) in model.policies.iter().enumerate() {
            let Some(bp) = env.policy(&policies[id]).await else {
                errs.push(format!("policy {id}: missing in the bank"));
                continue;
            };
            let bank = (
                bp.market,
                bp.owner,
                bp.epoch,
                bp.status == PolicyStatus::Settled,
                bp.payout,
                bp.amount,
                bp.premium,
                bp.activation_time,
                bp.end_time,
            );
            let want = (
                markets[mp.market],
                users[mp.owner as usize].key(),
                mp.epoch,
                mp.settled,
                mp.payout,
                mp.amount,
                mp.premium,
                mp.activation_time,
                mp.end_time,
            );
            same(&mut errs, bank, want, || {
                format!("policy {id} (market, owner, epoch, settled, payout, amount, premium, activation, end)")
            });
        }

        // users: collateral, shares, withdrawal requests
        for (u, staker) in users.iter().enumerate() {
            let cash = env.balance(&staker.collateral).await;
            same(
                &mut errs,
                cash,
                model.cash.get(&(u as u32)).copied().unwrap_or(0),
                || format!("user {u} collateral"),
            );
            for t in 0..TRANCHES {
                let shares = env.balance(&staker.shares[t]).await;
                let held = model.shares.get(&(u as u32, t)).copied().unwrap_or(0);
                same(&mut errs, shares, held, || format!("user {u} tranche {t} shares"));
                let request = env
                    .request(staker, t as u8)
                    .await
                    .map(|r| (r.shares, r.value_at_request, r.requested_at));
                let want = model
                    .requests
                    .get(&(u as u32, t))
                    .map(|r| (r.shares, r.value_at_request, r.requested_at));
                same(&mut errs, request, want, || {
                    format!("user {u} tranche {t} request (shares, value_at_request, requested_at)")
                });
            }
        }

        // vault, treasury, books
        let vault = env.vault_balance().await;
        same(&mut errs, vault, model.vault, || "vault balance".into());
        let treasury = env.treasury;
        same(&mut errs, env.balance(&treasury).await, 0, || "treasury balance".into());
        let books = pool.capital().unwrap() + ledger.unearned_total + pool.fees_owed + pool.reserves_total;
        same(&mut errs, vault, books, || "bank vault vs bank books".into());
        same(&mut errs, model.books_total(), model.vault, || {
            "model books vs model vault".into()
        });
        if let Err(e) = model.check_invariants() {
            errs.push(format!("model invariant: {e}"));
        }

        if !errs.is_empty() {
            self.fail(&format!("state differs after the step:\n  {}", errs.join("\n  ")));
        }
    }
}

async fn run_sequence(seed: u64, verbose: bool) -> Stats {
    let mut seq = Seq::start(seed, verbose).await;
    let draws = seq.rng.range(8, 20) as usize;
    for i in 0..draws {
        for op in seq.draw(i) {
            seq.run_op(op).await;
        }
    }
    seq.stats.sequences = 1;
    seq.stats
}

/// Runs chunk `chunk` of the seeds (or only `SEQ_SEED`, verbosely, in chunk 0).
async fn run_chunk(chunk: u64) {
    let started = std::time::Instant::now();
    let mut stats = Stats::default();
    if let Ok(seed) = std::env::var("SEQ_SEED") {
        if chunk == 0 {
            let seed: u64 = seed.parse().expect("SEQ_SEED is a number");
            stats.merge(run_sequence(seed, true).await);
            println!("{}", stats.report(&format!("seed {seed}")));
        }
        return;
    }
    let per = SEQUENCES.div_ceil(CHUNKS);
    for seed in chunk * per..((chunk + 1) * per).min(SEQUENCES) {
        stats.merge(run_sequence(seed, false).await);
    }
    println!(
        "{}  in {:.1?}",
        stats.report(&format!("chunk {chunk}")),
        started.elapsed()
    );
}

#[tokio::test]
async fn sequences_agree_with_the_model_0() {
    run_chunk(0).await;
}

#[tokio::test]
async fn sequences_agree_with_the_model_1() {
    run_chunk(1).await;
}

#[tokio::test]
async fn sequences_agree_with_the_model_2() {
    run_chunk(2).await;
}

#[tokio::test]
async fn sequences_agree_with_the_model_3() {
    run_chunk(3).await;
}

#[tokio::test]
async fn sequences_agree_with_the_model_4() {
    run_chunk(4).await;
}

#[tokio::test]
async fn sequences_agree_with_the_model_5() {
    run_chunk(5).await;
}
