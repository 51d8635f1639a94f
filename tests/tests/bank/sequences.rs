//! Model-based random sequences (PROTOCOL.md 4, every invariant at once): the
//! real program in the bank and the reference model
//! (`coverage_core::model::Model`) run the same instructions side by side.
//!
//! Each sequence is a fresh bank with the default pool (2 tranches 70/30,
//! 7-day cooldown, 2-day window, 2x max leverage, 10 % fee), two markets from
//! `market_args()` with a drawn allocation, payout shape and duration, and
//! 3–4 users who stake and buy cover; the model is built from the same
//! parameters at the bank's clock. Then 8–20 draws, weighted by what the
//! state makes interesting, each one or more steps: deposit,
//! request/cancel/withdraw, buy cover (healthy, stale, wide, below-strike
//! prices; slippage bounds at and one below the premium; amounts at and past
//! the capacity left), accrue premium, an observation, a depeg observed for
//! the market's duration (now and then recovering or unseen for longer than
//! the max gap), settlement batches (eligible and ineligible policies,
//! another market's, settled ones, duplicates, empty and oversized
//! batches), release, reopen, and clock moves (into a withdraw window, past
//! it, past the claim window).
//!
//! After every step both sides must have accepted, or refused with the same
//! named error, and every account the program keeps must equal the model:
//! pool, share supplies and escrows, premium ledger, markets with their books
//! and settlements, policies, withdrawal requests, the vault and every
//! user's token balances; and the model's own invariants hold.
//!
//! Sequences are seeded and reproducible (splitmix64 seeded with the
//! sequence index). A divergence prints the seed, the step and the whole
//! trace; replay one sequence verbosely with
//! `SEQ_SEED=<seed> cargo test -p coverage-pool-tests --test bank sequences -- --nocapture`;
//! hunt longer with `SEQ_COUNT=<n>` (seeds `0..n` instead of `0..300`).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
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
use coverage_pool_tests::oracle;
use coverage_pool_tests::*;
use coverage_sdk::{ix, pda};
use solana_keypair::Keypair;
use solana_program_test::BanksClientError;
use solana_signer::Signer;
use solana_transaction::Transaction;

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
    /// `withdraw` with a price update per market: (price, conf, age).
    Withdraw {
        user: usize,
        tranche: u8,
        prices: Vec<(u64, u64, i64)>,
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
    /// `close_policy` of a model policy id (global).
    ClosePolicy {
        policy: usize,
    },
    /// `close_market` (the authority).
    CloseMarket {
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
            Op::ClosePolicy { .. } => "close_policy",
            Op::CloseMarket { .. } => "close_market",
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
        M::MarketNotOpen => ErrorCode::MarketNotOpen,
        M::PriceBelowStrikeInPool => ErrorCode::PriceBelowStrikeInPool,
        M::ReservePendingRelease => ErrorCode::ReservePendingRelease,
        M::PolicyNotClosable => ErrorCode::PolicyNotClosable,
        M::MarketHasOpenStreak => ErrorCode::MarketHasOpenStreak,
        M::MarketHasActiveCover => ErrorCode::MarketHasActiveCover,
        M::WrongMarketBooks => ErrorCode::WrongMarketBooks,
        M::InvalidPolicyAccount => ErrorCode::InvalidPolicyAccount,
        // the policy account was closed: Anchor refuses it before the handler
        M::NoPolicy => return anchor_lang::error::ErrorCode::AccountNotInitialized as u32,
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
// Transactions
// ---------------------------------------------------------------------------
//
// Thousands of transactions go through the bank here, and in this
// unoptimized build checking one ed25519 signature takes several
// milliseconds: profiled, signature checks were 40 % of the run's CPU. So
// unlike `TestEnv::send`, (1) the one who acts pays the fee and is the only
// signer (keepers' instructions are paid by the bank payer; the set-up
// batches its accounts), and (2) transactions are signed as usual but handed
// to the bank with `send_transaction`, which skips the banks server's
// signature check (a validator's sigverify stage, not the runtime's: signer
// flags and everything the program checks are unchanged), then the result
// is read from the bank's status cache. The instructions are the SDK's, as
// in the harness.

/// The compute budget program (a builtin).
const COMPUTE_BUDGET: Pubkey = anchor_lang::pubkey!("ComputeBudget111111111111111111111111111111");

/// Processes `ixs` paid by `payer` and signed by it and `signers`. A compute
/// unit limit with a counter in it (1.3M–1.4M units, above the default, so
/// nothing runs short) keeps every transaction unique, so the same
/// instruction may be sent twice on one blockhash (the harness uses a memo,
/// a BPF program each fresh bank compiles first).
async fn send_from(
    env: &mut TestEnv,
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
) -> Result<(), BanksClientError> {
    static NONCE: AtomicU64 = AtomicU64::new(0);
    let client = &mut env.ctx.banks_client;
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let mut all = vec![payer];
    all.extend_from_slice(signers);
    let units = 1_400_000 - (NONCE.fetch_add(1, Ordering::Relaxed) % 100_000) as u32;
    let mut data = vec![2u8]; // SetComputeUnitLimit
    data.extend_from_slice(&units.to_le_bytes());
    let mut with_nonce = vec![Instruction {
        program_id: COMPUTE_BUDGET,
        accounts: vec![],
        data,
    }];
    with_nonce.extend_from_slice(ixs);
    let tx = Transaction::new_signed_with_payer(&with_nonce, Some(&payer.pubkey()), &all, blockhash);
    assert_fits(&tx);
    let signature = tx.signatures[0];
    client.send_transaction(tx).await.unwrap();
    let sent = Instant::now();
    loop {
        if let Some(status) = client.get_transaction_status(signature).await.unwrap() {
            return match status.err {
                None => Ok(()),
                Some(e) => Err(BanksClientError::TransactionError(e)),
            };
        }
        assert!(
            sent.elapsed() < Duration::from_secs(60),
            "transaction {signature} was never processed"
        );
        tokio::time::sleep(Duration::from_micros(300)).await;
    }
}

/// Sends a keeper's (permissionless) instruction, paid and signed by the bank payer alone.
async fn send_keeper(env: &mut TestEnv, ix: Instruction) -> Result<(), BanksClientError> {
    let payer = env.ctx.payer.insecure_clone();
    send_from(env, &payer, &[ix], &[]).await
}

/// A fresh bank with what `TestEnv::new`, `TestEnv::create_market` and
/// `TestEnv::new_staker` build (the default pool on a classic SPL Token mint,
/// the markets `args`, one user per entry of `cash` with that much collateral
/// and an empty share account per tranche), in one signature per
/// transaction: the bank payer is the mint authority and the pool authority,
/// and token accounts are created with seeds of its key.
async fn fresh_env(cfg: &PoolConfig, args: &[CreateMarketArgs], cash: &[u64]) -> (TestEnv, Vec<Pubkey>, Vec<Staker>) {
    use solana_system_interface::instruction::{create_account_with_seed, transfer};
    let ctx = start_bank().await;
    let payer = ctx.payer.insecure_clone();
    let tp = spl_token::ID;
    let rent = ctx.banks_client.get_rent().await.unwrap();
    let with_seed = |seed: &str| Pubkey::create_with_seed(&payer.pubkey(), seed, &tp).unwrap();
    let create = |address: &Pubkey, seed: &str, len: usize| {
        create_account_with_seed(
            &payer.pubkey(),
            address,
            &payer.pubkey(),
            seed,
            rent.minimum_balance(len),
            len as u64,
            &tp,
        )
    };
    let mint = with_seed("collateral");
    let treasury = with_seed("treasury");
    let token_len = spl_token::state::Account::LEN;
    let mut env = TestEnv {
        ctx,
        authority: payer.insecure_clone(),
        mint_authority: payer.insecure_clone(),
        keys: ix::PoolKeys {
            pool: pda::pool(&payer.pubkey(), 1).0,
            collateral_mint: mint,
            token_program: tp,
        },
        treasury,
        tranche_count: 0,
    };
    let setup = [
        create(&mint, "collateral", spl_token::state::Mint::LEN),
        spl_token_2022::instruction::initialize_mint2(&tp, &mint, &payer.pubkey(), None, DECIMALS).unwrap(),
        create(&treasury, "treasury", token_len),
        spl_token_2022::instruction::initialize_account3(&tp, &treasury, &mint, &payer.pubkey()).unwrap(),
    ];
    send_from(&mut env, &payer, &setup, &[]).await.unwrap();
    // as `TestEnv::initialize_pool`: the pool and its tranches in one transaction
    let mut init = vec![ix::initialize_pool(
        &payer.pubkey(),
        &mint,
        &treasury,
        &tp,
        cfg.args(1, payer.pubkey()),
    )];
    init.extend((0..TRANCHES as u8).map(|t| ix::initialize_tranche(&payer.pubkey(), &env.keys, t)));
    send_from(&mut env, &payer, &init, &[]).await.unwrap();
    env.tranche_count = TRANCHES as u8;
    let pool = env.keys.pool;
    let markets: Vec<Instruction> = args
        .iter()
        .enumerate()
        .map(|(i, a)| ix::create_market(&payer.pubkey(), &payer.pubkey(), &pool, i as u32, a.clone()))
        .collect();
    send_from(&mut env, &payer, &markets, &[]).await.unwrap();

    let mut mints = vec![mint];
    mints.extend((0..TRANCHES as u8).map(|t| env.keys.share_mint(t)));
    let mut users = Vec::new();
    for (u, &amount) in cash.iter().enumerate() {
        let kp = Keypair::new();
        let mut ixs = vec![transfer(&payer.pubkey(), &kp.pubkey(), 1_000_000_000)];
        let mut accounts = Vec::new();
        for (j, m) in mints.iter().enumerate() {
            let seed = format!("user{u}-{j}");
            let address = with_seed(&seed);
            ixs.push(create(&address, &seed, token_len));
            ixs.push(spl_token_2022::instruction::initialize_account3(&tp, &address, m, &kp.pubkey()).unwrap());
            accounts.push(address);
        }
        ixs.push(spl_token_2022::instruction::mint_to(&tp, &mint, &accounts[0], &payer.pubkey(), &[], amount).unwrap());
        send_from(&mut env, &payer, &ixs, &[]).await.unwrap();
        users.push(Staker {
            kp,
            collateral: accounts[0],
            shares: accounts[1..].to_vec(),
        });
    }
    let markets = (0..args.len() as u32).map(|i| pda::market(&pool, i).0).collect();
    (env, markets, users)
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
        let n_users = rng.range(3, 4) as usize;
        let cash: Vec<u64> = (0..n_users)
            .map(|_| rng.pick(&[20_000, 50_000, 100_000, 250_000]) * ONE)
            .collect();
        let (mut env, markets, users) = fresh_env(&cfg, &args, &cash).await;
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
        for (u, &amount) in cash.iter().enumerate() {
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
        // the markets open for sales after the governance delay (both sides)
        let delay = seq.model.governance_delay();
        seq.run_op(Op::Advance { secs: delay }).await;
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
        self.market_where(|m| prefer.contains(&m.status))
    }

    /// A market, preferring those where `want` holds.
    fn market_where(&mut self, want: impl Fn(&coverage_core::model::Market) -> bool) -> usize {
        let good: Vec<usize> = (0..self.markets.len())
            .filter(|&m| want(&self.model.markets[m]))
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
        let min_shares = match self.rng.below(20) {
            0 => u64::MAX,
            1..=3 => {
                let mut m = self.model.clone();
                let exact = m.deposit(user as u32, tranche as usize, amount, 0).unwrap_or(0);
                // exactly what the deposit mints passes; one more is refused
                exact + u64::from(self.rng.chance(35))
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
        let today = coverage_core::policy::day_of(self.model.now);
        let active = self.model.markets[market].active_cover_on(today).unwrap_or(0);
        let room = (capacity as u64).saturating_sub(active);
        let amount = match self.rng.below(20) {
            0 => ONE - 1,
            1 => ONE,
            2 => room + self.rng.range(1, 10 * ONE),
            3 | 4 => room,
            _ => self.rng.range(ONE, (room / 2).max(ONE)),
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
        let insured = self.insured();
        let market = if !insured.is_empty() && self.rng.chance(80) {
            self.rng.pick(&insured)
        } else {
            self.market(&[Status::Active, Status::StreakOpen])
        };
        let terms = self.model.markets[market].params.terms;
        // mostly late enough for cover bought just before to be in force
        let wait = if self.rng.chance(25) {
            self.rng.range(1, 180)
        } else {
            self.rng.range(180, 3_600)
        };
        let mut ops = vec![
            Op::Advance { secs: wait as i64 },
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
        let claimable = self.claimable();
        let market = if !claimable.is_empty() && self.rng.chance(90) {
            self.rng.pick(&claimable)
        } else {
            self.market(&[Status::Triggered])
        };
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
            1 if all > 0 => vec![self.rng.below(all) as usize; coverage_core::settlement::MAX_SETTLE_BATCH + 1],
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

    /// A price update per market for `withdraw`: healthy and fresh, or now
    /// and then one market's below its strike (a depeg not reported yet) or stale.
    fn gen_withdraw_prices(&mut self) -> Vec<(u64, u64, i64)> {
        let n = self.markets.len();
        let odd = self.rng.below(n as u64) as usize;
        let kind = self.rng.below(10);
        (0..n)
            .map(|i| match kind {
                0 if i == odd => (94 * USD / 100, 0, 0),
                1 if i == odd => (USD, 10_000, 61),
                _ => (USD, 10_000, 0),
            })
            .collect()
    }

    /// `close_policy` of an ended policy (usually), or any.
    fn gen_close_policy(&mut self) -> Option<Op> {
        let n = self.model.policies.len();
        if n == 0 {
            return None;
        }
        let now = self.model.now;
        let ended: Vec<usize> = (0..n)
            .filter(|&i| !self.model.policies[i].closed && self.model.policies[i].end_time <= now)
            .collect();
        let policy = if !ended.is_empty() && self.rng.chance(85) {
            self.rng.pick(&ended)
        } else {
            self.rng.below(n as u64) as usize
        };
        Some(Op::ClosePolicy { policy })
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

    /// Whether `user`'s request in `tranche` can be redeemed now (cooldown over, window open).
    fn redeemable(&self, user: usize, tranche: usize) -> bool {
        let p = &self.model.params;
        self.model.requests.get(&(user as u32, tranche)).is_some_and(|r| {
            let now = self.model.now;
            now >= r.requested_at + p.cooldown && now <= r.requested_at + p.cooldown + p.withdraw_window
        })
    }

    /// Markets with a reserve and unsettled policies of the event's epoch.
    fn claimable(&self) -> Vec<usize> {
        (0..self.markets.len())
            .filter(|&m| {
                let mk = &self.model.markets[m];
                mk.status == Status::Triggered
                    && !mk.settlement.released
                    && self
                        .model
                        .policies
                        .iter()
                        .any(|p| p.market == m && p.epoch == mk.epoch && !p.settled)
            })
            .collect()
    }

    /// Untriggered markets with cover not yet ended.
    fn insured(&self) -> Vec<usize> {
        let now = self.model.now;
        (0..self.markets.len())
            .filter(|&m| {
                let mk = &self.model.markets[m];
                matches!(mk.status, Status::Active | Status::StreakOpen)
                    && self
                        .model
                        .policies
                        .iter()
                        .any(|p| p.market == m && p.epoch == mk.epoch && p.end_time > now)
            })
            .collect()
    }

    /// Moves the clock into (now and then past) the withdraw window of a request still cooling down.
    fn gen_to_window(&mut self) -> Op {
        let now = self.model.now;
        let p = self.model.params.clone();
        let waiting: Vec<i64> = self
            .model
            .requests
            .values()
            .map(|r| r.requested_at)
            .filter(|&at| now < at + p.cooldown)
            .collect();
        if waiting.is_empty() {
            return self.gen_advance();
        }
        let at = self.rng.pick(&waiting);
        let target = if self.rng.chance(10) {
            at + p.cooldown + p.withdraw_window + self.rng.range(1, DAY as u64) as i64
        } else {
            at + p.cooldown + self.rng.range(0, p.withdraw_window as u64) as i64
        };
        Op::Advance {
            secs: (target - now).max(1),
        }
    }

    /// The next operation(s): the first two are deposits (a pool with capital
    /// makes for longer stories), then a draw weighted by what the state
    /// makes interesting (settlement once a market triggered, redemption once
    /// a cooldown is over, and so on).
    fn draw(&mut self, index: usize) -> Vec<Op> {
        if index < 2 {
            return vec![self.gen_deposit()];
        }
        let now = self.model.now;
        let p = &self.model.params;
        let redeemable = (0..self.users.len()).any(|u| (0..TRANCHES).any(|t| self.redeemable(u, t)));
        let waiting = self.model.requests.values().any(|r| now < r.requested_at + p.cooldown);
        let status = |s: Status| self.model.markets.iter().any(|m| m.status == s);
        let active = status(Status::Active);
        let unreleased = self
            .model
            .markets
            .iter()
            .any(|m| m.status == Status::Triggered && !m.settlement.released);
        let released = self
            .model
            .markets
            .iter()
            .any(|m| m.status == Status::Triggered && m.settlement.released);
        let claimable = !self.claimable().is_empty();
        let insured = !self.insured().is_empty();
        let w = |on: bool, n: u64| if on { n } else { 0 };
        let ended = self.model.policies.iter().any(|p| !p.closed && p.end_time <= now);
        let table: [(&str, u64); 15] = [
            ("deposit", 10),
            ("request", 9),
            ("cancel", 2),
            ("withdraw", 2 + w(redeemable, 20)),
            ("buy", 4 + w(active, 12)),
            ("accrue", 2),
            ("observe", 4),
            ("trigger", 2 + w(insured, 8)),
            ("settle", 1 + w(claimable, 25)),
            ("release", 1 + w(unreleased, 8)),
            ("reopen", 1 + w(released, 8)),
            ("advance", 8),
            ("to_window", w(waiting, 14)),
            ("close_policy", 1 + w(ended, 6)),
            ("close_market", 1),
        ];
        let mut r = self.rng.below(table.iter().map(|(_, n)| n).sum());
        let kind = table
            .iter()
            .find(|(_, n)| {
                if r < *n {
                    true
                } else {
                    r -= n;
                    false
                }
            })
            .map(|(k, _)| *k)
            .unwrap_or("advance");
        match kind {
            "deposit" => vec![self.gen_deposit()],
            "request" => vec![self.gen_request()],
            "cancel" => {
                let (user, tranche) = self.pair(|s, u, t| s.model.requests.contains_key(&(u as u32, t)));
                vec![Op::Cancel { user, tranche }]
            }
            "withdraw" => {
                let (user, tranche) = if redeemable {
                    self.pair(|s, u, t| s.redeemable(u, t))
                } else {
                    self.pair(|s, u, t| s.model.requests.contains_key(&(u as u32, t)))
                };
                let prices = self.gen_withdraw_prices();
                vec![Op::Withdraw { user, tranche, prices }]
            }
            "buy" => vec![self.gen_buy()],
            "accrue" => vec![Op::Accrue],
            "observe" => self.gen_observe(),
            "trigger" => self.gen_trigger(),
            "settle" => vec![self.gen_settle()],
            "release" => vec![Op::Release {
                market: self.market_where(|m| m.status == Status::Triggered && !m.settlement.released),
            }],
            "reopen" => vec![Op::Reopen {
                market: self.market_where(|m| m.status == Status::Triggered && m.settlement.released),
            }],
            "to_window" => vec![self.gen_to_window()],
            "close_policy" => self.gen_close_policy().into_iter().collect(),
            "close_market" => vec![Op::CloseMarket {
                market: self.market(&[Status::Active, Status::Triggered]),
            }],
            _ => vec![self.gen_advance()],
        }
    }

    // ---- application ------------------------------------------------------

    async fn apply(&mut self, op: &Op) -> (Result<(), BanksClientError>, ModelResult<()>) {
        let keys = self.env.keys;
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
                let s = &self.users[user];
                let ix = ix::deposit(
                    &s.key(),
                    &keys,
                    tranche,
                    &s.collateral,
                    &s.shares[tranche as usize],
                    amount,
                    min_shares,
                );
                (send_from(&mut self.env, &s.kp, &[ix], &[]).await, m)
            }
            &Op::Request { user, tranche, shares } => {
                let m = self.model.request_withdrawal(user as u32, tranche as usize, shares);
                let s = &self.users[user];
                let ix = ix::request_withdrawal(&s.key(), &keys, tranche, &s.shares[tranche as usize], shares);
                (send_from(&mut self.env, &s.kp, &[ix], &[]).await, m)
            }
            &Op::Cancel { user, tranche } => {
                let m = self.model.cancel_withdrawal(user as u32, tranche as usize);
                let s = &self.users[user];
                let request = pda::withdrawal_request(&keys.pool, tranche, &s.key()).0;
                let ix = ix::cancel_withdrawal(&s.key(), &keys, tranche, &request, &s.shares[tranche as usize]);
                (send_from(&mut self.env, &s.kp, &[ix], &[]).await, m)
            }
            Op::Withdraw { user, tranche, prices } => {
                let (user, tranche) = (*user, *tranche);
                let now = self.model.now;
                let obs: Vec<Observation> = prices
                    .iter()
                    .map(|&(price, conf, age)| Observation {
                        price: UnitPrice { price, conf },
                        publish_time: now - age,
                    })
                    .collect();
                let m = self.model.withdraw(user as u32, tranche as usize, &obs).map(|_| ());
                let mut updates = Vec::new();
                for o in &obs {
                    updates.push(
                        self.env
                            .price_at(o.price.price as i64, o.price.conf, o.publish_time)
                            .await,
                    );
                }
                let s = &self.users[user];
                let request = pda::withdrawal_request(&keys.pool, tranche, &s.key()).0;
                let ix = ix::withdraw(&s.key(), &keys, tranche, &request, &s.collateral, &updates);
                (send_from(&mut self.env, &s.kp, &[ix], &[]).await, m)
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
                let market_key = self.markets[market];
                let policy_id = self.env.market(&market_key).await.policy_count;
                let s = &self.users[user];
                let k = ix::BuyCoverKeys {
                    keys,
                    market: market_key,
                    policy_id,
                    payer_collateral: s.collateral,
                    price_update: update,
                };
                let ix = ix::buy_cover(&s.key(), &s.key(), &k, amount, days, max_premium);
                let b = send_from(&mut self.env, &s.kp, &[ix], &[]).await;
                if let (Ok(()), Ok(id)) = (&b, &m) {
                    let local = self.model.policies[..*id].iter().filter(|p| p.market == market).count() as u64;
                    if *id != self.policies.len() || policy_id != local {
                        self.fail(&format!(
                            "policy numbering: model id {id} is the market's number {local}, the bank's is {policy_id}"
                        ));
                    }
                    self.policies.push(pda::policy(&market_key, policy_id).0);
                }
                (b, m.map(|_| ()))
            }
            Op::Accrue => {
                let m = self.model.accrue_premium();
                (send_keeper(&mut self.env, ix::accrue_premium(&keys.pool)).await, m)
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
                let m = self.model.check_trigger(market, obs);
                if m == Ok(true) {
                    self.stats.triggers += 1;
                }
                let address = Pubkey::new_unique();
                oracle::install(
                    &mut self.env.ctx,
                    &address,
                    &oracle::test_price(price as i64, conf, publish),
                );
                let ix = ix::check_trigger(&self.markets[market], &keys.pool, &address);
                (send_keeper(&mut self.env, ix).await, m.map(|_| ()))
            }
            Op::Settle { market, batch } => {
                let m = self.model.settle_policies(*market, batch).map(|_| ());
                if m.is_ok() {
                    let paid = batch.iter().filter(|&&i| self.model.policies[i].payout > 0).count();
                    self.stats.paid_policies += paid as u64;
                }
                let pairs: Vec<(Pubkey, Pubkey)> = batch
                    .iter()
                    .map(|&i| {
                        let owner = self.model.policies[i].owner as usize;
                        (self.policies[i], self.users[owner].collateral)
                    })
                    .collect();
                let ix = ix::settle_policies(&keys, &self.markets[*market], &pairs);
                (send_keeper(&mut self.env, ix).await, m)
            }
            &Op::Release { market } => {
                let m = self.model.release_reserve(market);
                (
                    send_keeper(&mut self.env, ix::release_reserve(&keys.pool, &self.markets[market])).await,
                    m,
                )
            }
            &Op::Reopen { market } => {
                let m = self.model.reopen_market(market);
                let auth = self.env.authority.insecure_clone();
                let ix = ix::reopen_market(&auth.pubkey(), &keys.pool, &self.markets[market]);
                (send_from(&mut self.env, &auth, &[ix], &[]).await, m)
            }
            &Op::ClosePolicy { policy } => {
                let m = self.model.close_policy(policy);
                let p = self.model.policies[policy];
                let owner = self.users[p.owner as usize].key();
                let ix = ix::close_policy(&owner, &self.policies[policy], &self.markets[p.market]);
                (send_keeper(&mut self.env, ix).await, m)
            }
            &Op::CloseMarket { market } => {
                let m = self.model.close_market(market);
                let auth = self.env.authority.insecure_clone();
                let ix = ix::close_market(&auth.pubkey(), &keys.pool, &self.markets[market]);
                (send_from(&mut self.env, &auth, &[ix], &[]).await, m)
            }
            &Op::Advance { secs } => {
                self.model.advance(secs);
                let now = self.model.now;
                self.env.warp_to(now).await;
                (Ok(()), Ok(()))
            }
        }
    }

    /// Applies `op` to both sides, checks they agree on the outcome, then compares every account.
    async fn run_op(&mut self, op: Op) {
        self.step += 1;
        let head = format!("{:>3} t={} {op:?} ->", self.step, self.model.now);
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
                    self.trace.push(format!("{head} bank {e:?}, model {me:?}"));
                    self.fail(&format!(
                        "both refused {op:?} but with different errors: bank {e:?} (code {got:?}), model {me:?} (code {want})"
                    ));
                }
                let name = format!("{me:?}");
                let tally = self.stats.ops.entry(op.kind()).or_default();
                *tally.refused.entry(name.clone()).or_default() += 1;
                format!("refused {name}")
            }
            (Ok(()), Err(me)) => {
                self.trace.push(format!("{head} bank ok, model {me:?}"));
                self.fail(&format!("bank accepted {op:?}, model refused it with {me:?}"));
            }
            (Err(e), Ok(())) => {
                self.trace.push(format!("{head} bank {e:?}, model ok"));
                self.fail(&format!("bank refused {op:?} with {e:?}, model accepted it"));
            }
        };
        let line = format!("{head} {outcome}");
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
            same(&mut errs, mk.sales_open_at, mm.sales_open_at, || {
                format!("market {i} sales_open_at")
            });
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
            let sold: u64 = model.policies.iter().filter(|p| p.market == i).map(|p| p.amount).sum();
            same(&mut errs, mk.cover_sold, sold, || format!("market {i} cover_sold"));

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
            let found = env.policy(&policies[id]).await;
            if mp.closed {
                if found.is_some() {
                    errs.push(format!("policy {id}: closed in the model, open in the bank"));
                }
                continue;
            }
            let Some(bp) = found else {
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
    // SEQ_COUNT=<n> runs n sequences instead (a longer hunt)
    let total = std::env::var("SEQ_COUNT").map_or(SEQUENCES, |n| n.parse().expect("SEQ_COUNT is a number"));
    let per = total.div_ceil(CHUNKS);
    for seed in chunk * per..((chunk + 1) * per).min(total) {
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
