//! The attack matrix of SECURITY.md: one test per class of attack, each
//! trying it on every instruction it applies to, asserting the exact error
//! and that no account changed.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_spl::token::spl_token;
use coverage_core::shares::DEAD_SHARES;
use coverage_pool::error::ErrorCode;
use coverage_pool::state::{MarketStatus, PricingCurve};
use coverage_pool::{MarketParamsChange, PoolParamsChange};
use coverage_pool_tests::oracle::{install, install_with_owner, test_price, PriceSpec, TEST_FEED};
use coverage_pool_tests::solana_program_test::BanksClientError;
use coverage_pool_tests::*;
use coverage_sdk::ix::{self, BuyCoverKeys, PoolKeys};
use coverage_sdk::pda;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_keypair::Keypair;
use solana_signer::Signer;

const USD: i64 = 100_000_000;

/// Anchor's own error codes the framework raises before a handler runs.
mod anchor_code {
    pub const CONSTRAINT_SEEDS: u32 = 2006;
    pub const DUPLICATE_MUTABLE: u32 = 2040;
    pub const DISCRIMINATOR_MISMATCH: u32 = 3002;
    pub const OWNED_BY_WRONG_PROGRAM: u32 = 3007;
    pub const INVALID_PROGRAM_ID: u32 = 3008;
    pub const NOT_SIGNER: u32 = 3010;
    pub const NOT_INITIALIZED: u32 = 3012;
}

/// A world with two pools (same mint), markets, stakers, a withdrawal
/// request, an active policy and a triggered market with an unsettled policy.
struct World {
    env: TestEnv,
    alice: Staker,
    buyer: Staker,
    market: Pubkey,
    triggered: Pubkey,
    policy: Pubkey,
    triggered_policy: Pubkey,
    other_pool: Pubkey,
    other_market: Pubkey,
    other_keys: PoolKeys,
    /// A fresh healthy price update of each market's feed (what `withdraw` reads).
    prices: Vec<Pubkey>,
}

async fn world() -> World {
    let mut env = TestEnv::new().await;
    let market = env.create_market(market_args()).await.unwrap();
    let triggered = env.create_market(market_args()).await.unwrap();
    let alice = env.new_staker(1_000_000 * ONE).await;
    env.deposit(&alice, 0, 500_000 * ONE, 0).await.unwrap();
    env.deposit(&alice, 1, 300_000 * ONE, 0).await.unwrap();
    env.request_withdrawal(&alice, 0, 10_000 * ONE).await.unwrap();
    let buyer = env.new_staker(100_000 * ONE).await;
    let policy = env
        .buy_cover(&buyer, &market, 10_000 * ONE, 30, u64::MAX)
        .await
        .unwrap();
    let triggered_policy = env
        .buy_cover(&buyer, &triggered, 10_000 * ONE, 30, u64::MAX)
        .await
        .unwrap();
    env.warp_by(600).await;
    // the second market triggers (its prices come from another feed account each time)
    let t = env.now().await;
    env.observe_at(&triggered, 90 * USD / 100, 0, t).await.unwrap();
    env.observe_at(&triggered, 90 * USD / 100, 0, t + 3_600).await.unwrap();
    assert_eq!(env.market(&triggered).await.status, MarketStatus::Triggered);
    // a second pool of the same mint, with a market
    let creator = env.ctx.payer.pubkey();
    let auth = env.authority.pubkey();
    let mut ixs = vec![ix::initialize_pool(
        &creator,
        &env.keys.collateral_mint,
        &env.treasury,
        &env.keys.token_program,
        PoolConfig::default().args(2, auth),
    )];
    let other_pool = pda::pool(&creator, 2).0;
    let other_keys = PoolKeys {
        pool: other_pool,
        ..env.keys
    };
    // the other pool's senior tranche is left uninitialized (a valid initialize_tranche to attack)
    ixs.push(ix::initialize_tranche(&creator, &other_keys, 0));
    env.send(&ixs, &[]).await.unwrap();
    let a = env.authority.insecure_clone();
    env.send(
        &[ix::create_market(&a.pubkey(), &creator, &other_pool, 0, market_args())],
        &[&a],
    )
    .await
    .unwrap();
    let other_market = pda::market(&other_pool, 0).0;
    let prices = env.healthy_prices().await;
    World {
        env,
        alice,
        buyer,
        market,
        triggered,
        policy,
        triggered_policy,
        other_pool,
        other_market,
        other_keys,
        prices,
    }
}

impl World {
    /// Every account an attack could move: pools, vaults, treasury, markets,
    /// books, ledgers, policies, the request, users' token accounts.
    fn watched(&self) -> Vec<Pubkey> {
        vec![
            self.env.keys.vault(),
            self.env.keys.ledger(),
            self.market,
            self.triggered,
            pda::book(&self.market).0,
            self.policy,
            self.triggered_policy,
            self.env.request_address(&self.alice, 0),
            self.alice.collateral,
            self.alice.shares[0],
            self.alice.shares[1],
            self.buyer.collateral,
            self.env.keys.share_escrow(0),
            self.other_pool,
            self.other_market,
            self.other_keys.vault(),
        ]
    }

    /// Sends `ix` signed by `signers`, asserts the exact custom error `code`
    /// and that nothing watched changed.
    async fn refused(&mut self, what: &str, ix: Instruction, signers: &[&Keypair], code: u32) {
        let watched = self.watched();
        let before = self.env.snapshot(&watched).await;
        let res: Result<(), BanksClientError> = self.env.send(&[ix], signers).await;
        let err = res.expect_err(&format!("{what}: the attack succeeded"));
        assert_eq!(
            custom_code(&err),
            Some(code),
            "{what}: expected error {code}, got {err:?}"
        );
        assert_eq!(self.env.snapshot(&watched).await, before, "{what}: state changed");
    }

    /// As [`World::refused`], for errors the runtime raises before the
    /// program's code runs (no custom code): asserts the exact instruction error.
    async fn refused_by_runtime(&mut self, what: &str, ix: Instruction, signers: &[&Keypair], expected: &str) {
        let watched = self.watched();
        let before = self.env.snapshot(&watched).await;
        let res: Result<(), BanksClientError> = self.env.send(&[ix], signers).await;
        let err = res.expect_err(&format!("{what}: the attack succeeded"));
        let got = format!("{err:?}");
        assert!(got.contains(expected), "{what}: expected {expected}, got {got}");
        assert_eq!(self.env.snapshot(&watched).await, before, "{what}: state changed");
    }

    fn buy_keys(&self, market: Pubkey, policy_id: u64, price: Pubkey) -> BuyCoverKeys {
        BuyCoverKeys {
            keys: self.env.keys,
            market,
            policy_id,
            payer_collateral: self.buyer.collateral,
            price_update: price,
        }
    }
}

fn replace(mut ix: Instruction, old: &Pubkey, new: &Pubkey) -> Instruction {
    for m in ix.accounts.iter_mut().filter(|m| m.pubkey == *old) {
        m.pubkey = *new;
    }
    ix
}

fn unsign(mut ix: Instruction, key: &Pubkey) -> Instruction {
    for m in ix.accounts.iter_mut().filter(|m| m.pubkey == *key) {
        m.is_signer = false;
    }
    ix
}

fn e(code: ErrorCode) -> u32 {
    coverage_pool_tests::code(code)
}

fn pool_change() -> PoolParamsChange {
    PoolParamsChange {
        protocol_fee_bps: 500,
        max_leverage_bps: 20_000,
        cooldown: 7 * DAY as u32,
        withdraw_window: 2 * DAY as u32,
        weights_bps: [7_000, 3_000, 0, 0],
    }
}

fn market_change() -> MarketParamsChange {
    MarketParamsChange {
        curve: PricingCurve {
            base_rate_bps: 300,
            slope_below_kink_bps: 800,
            slope_above_kink_bps: 4_000,
            kink_utilization_bps: 8_000,
        },
        allocation_bps: 5_000,
        activation_delay: 300,
    }
}

/// Column "missing signer": every signer role, its signature withheld.
#[tokio::test]
async fn attack_missing_signer() {
    let mut w = world().await;
    let k = w.env.keys;
    let a = w.env.authority.pubkey();
    let alice = w.alice.key();
    let buyer = w.buyer.key();
    let req = w.env.request_address(&w.alice, 0);
    let creator = Keypair::new();
    let price = w.env.fresh_price().await;
    let treasury = w.env.treasury;
    let alice_kp = w.alice.kp.insecure_clone();
    let cases: Vec<(&str, Instruction, Pubkey)> = vec![
        (
            "initialize_pool",
            ix::initialize_pool(
                &creator.pubkey(),
                &k.collateral_mint,
                &treasury,
                &k.token_program,
                PoolConfig::default().args(9, a),
            ),
            creator.pubkey(),
        ),
        (
            "create_market",
            ix::create_market(&a, &w.env.ctx.payer.pubkey(), &k.pool, 2, market_args()),
            a,
        ),
        ("collect_fees", ix::collect_fees(&a, &k, &treasury), a),
        ("set_pool_paused", ix::set_pool_paused(&a, &k.pool, true), a),
        (
            "set_market_paused",
            ix::set_market_paused(&a, &k.pool, &w.market, true),
            a,
        ),
        ("reopen_market", ix::reopen_market(&a, &k.pool, &w.triggered), a),
        ("close_market", ix::close_market(&a, &k.pool, &w.market), a),
        ("propose_authority", ix::propose_authority(&a, &k.pool, &alice), a),
        (
            "queue_pool_params",
            ix::queue_pool_params(&a, &k.pool, pool_change()),
            a,
        ),
        ("cancel_pool_params", ix::cancel_pool_params(&a, &k.pool), a),
        (
            "queue_market_params",
            ix::queue_market_params(&a, &k.pool, &w.market, market_change()),
            a,
        ),
        (
            "cancel_market_params",
            ix::cancel_market_params(&a, &k.pool, &w.market),
            a,
        ),
        (
            "deposit",
            ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
            alice,
        ),
        (
            "request_withdrawal",
            ix::request_withdrawal(&alice, &k, 1, &w.alice.shares[1], ONE),
            alice,
        ),
        (
            "cancel_withdrawal",
            ix::cancel_withdrawal(&alice, &k, 0, &req, &w.alice.shares[0]),
            alice,
        ),
        (
            "withdraw",
            ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &w.prices),
            alice,
        ),
        (
            "buy_cover (buyer)",
            ix::buy_cover(&buyer, &alice, &w.buy_keys(w.market, 1, price), ONE, 30, u64::MAX),
            buyer,
        ),
        ("transfer_policy", ix::transfer_policy(&buyer, &w.policy, &alice), buyer),
    ];
    for (what, ix, signer) in cases {
        let ix = unsign(ix, &signer);
        // every other signer of the instruction signs
        let others: Vec<&Keypair> = if ix.accounts.iter().any(|m| m.is_signer && m.pubkey == alice) {
            vec![&alice_kp]
        } else {
            vec![]
        };
        w.refused(what, ix, &others, anchor_code::NOT_SIGNER).await;
    }
    // accept_authority: the proposed key must sign
    let a_kp = w.env.authority.insecure_clone();
    w.env
        .send(&[ix::propose_authority(&a, &k.pool, &alice)], &[&a_kp])
        .await
        .unwrap();
    w.refused(
        "accept_authority",
        unsign(ix::accept_authority(&alice, &k.pool), &alice),
        &[],
        anchor_code::NOT_SIGNER,
    )
    .await;
    // buy_cover: the payer must sign too (the buyer signs, the payer does not)
    let buyer_kp = w.buyer.kp.insecure_clone();
    let ix = unsign(
        ix::buy_cover(&buyer, &alice, &w.buy_keys(w.market, 1, price), ONE, 30, u64::MAX),
        &alice,
    );
    w.refused("buy_cover (payer)", ix, &[&buyer_kp], anchor_code::NOT_SIGNER)
        .await;
}

/// Column "account data matching": another pool's / market's / tranche's /
/// mint's / vault's account in an otherwise valid instruction.
#[tokio::test]
async fn attack_wrong_pool_market_tranche_mint_vault() {
    let mut w = world().await;
    let k = w.env.keys;
    let a_kp = w.env.authority.insecure_clone();
    let a = a_kp.pubkey();
    let alice_kp = w.alice.kp.insecure_clone();
    let buyer_kp = w.buyer.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    let treasury = w.env.treasury;
    let price = w.env.fresh_price().await;
    let other_vault = w.other_keys.vault();
    let other_ledger = w.other_keys.ledger();
    let other_book = pda::book(&w.other_market).0;
    let other_mint = Keypair::new();
    create_mint(&mut w.env.ctx, &other_mint, &a, &spl_token::ID, DECIMALS).await;
    let cases: Vec<(&str, Instruction, Vec<&Keypair>, ErrorCode)> = vec![
        (
            "deposit: other pool's vault",
            replace(
                ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
                &k.vault(),
                &other_vault,
            ),
            vec![&alice_kp],
            ErrorCode::WrongPool,
        ),
        (
            "deposit: other pool's ledger",
            replace(
                ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
                &k.ledger(),
                &other_ledger,
            ),
            vec![&alice_kp],
            ErrorCode::WrongPool,
        ),
        (
            "deposit: other pool's share mint",
            replace(
                ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
                &k.share_mint(0),
                &w.other_keys.share_mint(0),
            ),
            vec![&alice_kp],
            ErrorCode::InvalidTranche,
        ),
        (
            "deposit: another collateral mint",
            replace(
                ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
                &k.collateral_mint,
                &other_mint.pubkey(),
            ),
            vec![&alice_kp],
            ErrorCode::WrongMint,
        ),
        (
            "request_withdrawal: other tranche's escrow",
            replace(
                ix::request_withdrawal(&alice, &k, 1, &w.alice.shares[1], ONE),
                &k.share_escrow(1),
                &k.share_escrow(0),
            ),
            vec![&alice_kp],
            ErrorCode::InvalidTranche,
        ),
        (
            "cancel_withdrawal: other pool",
            replace(
                ix::cancel_withdrawal(&alice, &k, 0, &req, &w.alice.shares[0]),
                &k.pool,
                &w.other_pool,
            ),
            vec![&alice_kp],
            ErrorCode::WrongPool,
        ),
        (
            "withdraw: other pool's vault",
            replace(
                ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &w.prices),
                &k.vault(),
                &other_vault,
            ),
            vec![&alice_kp],
            ErrorCode::WrongPool,
        ),
        (
            "withdraw: other pool's escrow",
            replace(
                ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &w.prices),
                &k.share_escrow(0),
                &w.other_keys.share_escrow(0),
            ),
            vec![&alice_kp],
            ErrorCode::InvalidTranche,
        ),
        (
            "buy_cover: other pool's market",
            ix::buy_cover(
                &w.buyer.key(),
                &w.buyer.key(),
                &BuyCoverKeys {
                    market: w.other_market,
                    ..w.buy_keys(w.other_market, 0, price)
                },
                ONE,
                30,
                u64::MAX,
            ),
            vec![&buyer_kp],
            ErrorCode::WrongPool,
        ),
        (
            "buy_cover: other market's book",
            replace(
                ix::buy_cover(
                    &w.buyer.key(),
                    &w.buyer.key(),
                    &w.buy_keys(w.market, 1, price),
                    ONE,
                    30,
                    u64::MAX,
                ),
                &pda::book(&w.market).0,
                &other_book,
            ),
            vec![&buyer_kp],
            ErrorCode::WrongMarket,
        ),
        (
            "buy_cover: other pool's vault",
            replace(
                ix::buy_cover(
                    &w.buyer.key(),
                    &w.buyer.key(),
                    &w.buy_keys(w.market, 1, price),
                    ONE,
                    30,
                    u64::MAX,
                ),
                &k.vault(),
                &other_vault,
            ),
            vec![&buyer_kp],
            ErrorCode::WrongPool,
        ),
        (
            "check_trigger: other pool",
            replace(ix::check_trigger(&w.market, &k.pool, &price), &k.pool, &w.other_pool),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "check_trigger: other market's book",
            replace(
                ix::check_trigger(&w.market, &k.pool, &price),
                &pda::book(&w.market).0,
                &other_book,
            ),
            vec![],
            ErrorCode::WrongMarket,
        ),
        (
            "check_trigger: other pool's ledger",
            replace(
                ix::check_trigger(&w.market, &k.pool, &price),
                &k.ledger(),
                &other_ledger,
            ),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "settle_policies: other pool",
            replace(
                ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.buyer.collateral)]),
                &k.pool,
                &w.other_pool,
            ),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "settle_policies: other pool's vault",
            replace(
                ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.buyer.collateral)]),
                &k.vault(),
                &other_vault,
            ),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "settle_policies: a policy of another market",
            ix::settle_policies(&k, &w.triggered, &[(w.policy, w.buyer.collateral)]),
            vec![],
            ErrorCode::WrongMarket,
        ),
        (
            "release_reserve: other pool",
            ix::release_reserve(&w.other_pool, &w.triggered),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "accrue_premium: other pool's ledger",
            replace(ix::accrue_premium(&k.pool), &k.ledger(), &other_ledger),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "apply_pool_params: other pool's ledger",
            replace(ix::apply_pool_params(&k.pool), &k.ledger(), &other_ledger),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "collect_fees: another treasury",
            ix::collect_fees(&a, &k, &w.buyer.collateral),
            vec![&a_kp],
            ErrorCode::InvalidTreasury,
        ),
        (
            "collect_fees: other pool's vault",
            replace(ix::collect_fees(&a, &k, &treasury), &k.vault(), &other_vault),
            vec![&a_kp],
            ErrorCode::WrongPool,
        ),
        (
            "set_market_paused: other pool's market",
            ix::set_market_paused(&a, &k.pool, &w.other_market, true),
            vec![&a_kp],
            ErrorCode::WrongPool,
        ),
        (
            "reopen_market: other pool's market",
            ix::reopen_market(&a, &w.other_pool, &w.triggered),
            vec![&a_kp],
            ErrorCode::WrongPool,
        ),
        (
            "close_market: other market's book",
            replace(
                ix::close_market(&a, &k.pool, &w.market),
                &pda::book(&w.market).0,
                &other_book,
            ),
            vec![&a_kp],
            ErrorCode::WrongMarket,
        ),
        (
            "queue_market_params: other pool's market",
            ix::queue_market_params(&a, &k.pool, &w.other_market, market_change()),
            vec![&a_kp],
            ErrorCode::WrongPool,
        ),
        (
            "apply_market_params: other pool",
            ix::apply_market_params(&w.other_pool, &w.market),
            vec![],
            ErrorCode::WrongPool,
        ),
        (
            "close_policy: another market",
            ix::close_policy(&w.buyer.key(), &w.policy, &w.triggered),
            vec![],
            ErrorCode::WrongMarket,
        ),
        (
            "initialize_tranche: another collateral mint",
            replace(
                ix::initialize_tranche(&w.env.ctx.payer.pubkey(), &k, 2),
                &k.collateral_mint,
                &other_mint.pubkey(),
            ),
            vec![],
            ErrorCode::WrongMint,
        ),
    ];
    for (what, ix, signers, err) in cases {
        w.refused(what, ix, &signers, e(err)).await;
    }
    // someone else's authority / request / policy
    let mallory = Keypair::new();
    let m = mallory.pubkey();
    for (what, ix, err) in [
        (
            "create_market by mallory",
            ix::create_market(&m, &m, &k.pool, 2, market_args()),
            ErrorCode::Unauthorized,
        ),
        (
            "collect_fees by mallory",
            ix::collect_fees(&m, &k, &treasury),
            ErrorCode::Unauthorized,
        ),
        (
            "queue_pool_params by mallory",
            ix::queue_pool_params(&m, &k.pool, pool_change()),
            ErrorCode::Unauthorized,
        ),
        (
            "cancel_pool_params by mallory",
            ix::cancel_pool_params(&m, &k.pool),
            ErrorCode::Unauthorized,
        ),
        (
            "queue_market_params by mallory",
            ix::queue_market_params(&m, &k.pool, &w.market, market_change()),
            ErrorCode::Unauthorized,
        ),
        (
            "cancel_market_params by mallory",
            ix::cancel_market_params(&m, &k.pool, &w.market),
            ErrorCode::Unauthorized,
        ),
        (
            "propose_authority by mallory",
            ix::propose_authority(&m, &k.pool, &m),
            ErrorCode::Unauthorized,
        ),
        (
            "accept_authority by mallory",
            ix::accept_authority(&m, &k.pool),
            ErrorCode::NoPendingAuthority,
        ),
        (
            "set_pool_paused by mallory",
            ix::set_pool_paused(&m, &k.pool, true),
            ErrorCode::Unauthorized,
        ),
        (
            "reopen_market by mallory",
            ix::reopen_market(&m, &k.pool, &w.triggered),
            ErrorCode::Unauthorized,
        ),
        (
            "close_market by mallory",
            ix::close_market(&m, &k.pool, &w.market),
            ErrorCode::Unauthorized,
        ),
        (
            "cancel alice's request",
            ix::cancel_withdrawal(&m, &k, 0, &req, &w.alice.shares[0]),
            ErrorCode::NotRequestOwner,
        ),
        (
            "withdraw alice's request",
            ix::withdraw(&m, &k, 0, &req, &w.alice.collateral, &w.prices),
            ErrorCode::NotRequestOwner,
        ),
        (
            "transfer buyer's policy",
            ix::transfer_policy(&m, &w.policy, &m),
            ErrorCode::NotPolicyOwner,
        ),
    ] {
        w.env.airdrop(&m, 1_000_000_000).await;
        w.refused(what, ix, &[&mallory], e(err)).await;
    }
}

/// Column "owner check": a byte-identical copy of a program account owned by
/// another program.
#[tokio::test]
async fn attack_foreign_owned_copies() {
    let mut w = world().await;
    let k = w.env.keys;
    let alice_kp = w.alice.kp.insecure_clone();
    let a_kp = w.env.authority.insecure_clone();
    let fake_pool = clone_with_owner(&mut w.env, &k.pool, &Pubkey::new_unique()).await;
    let fake_market = clone_with_owner(&mut w.env, &w.market, &Pubkey::new_unique()).await;
    let fake_policy = clone_with_owner(&mut w.env, &w.triggered_policy, &Pubkey::new_unique()).await;
    let req_address = w.env.request_address(&w.alice, 0);
    let fake_request = clone_with_owner(&mut w.env, &req_address, &Pubkey::new_unique()).await;
    let price = w.env.fresh_price().await;
    let alice = alice_kp.pubkey();
    let a = a_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    let cases: Vec<(&str, Instruction, Vec<&Keypair>, u32)> = vec![
        (
            "deposit: pool",
            replace(
                ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
                &k.pool,
                &fake_pool,
            ),
            vec![&alice_kp],
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        ),
        (
            "withdraw: request",
            replace(
                ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &w.prices),
                &req,
                &fake_request,
            ),
            vec![&alice_kp],
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        ),
        (
            "check_trigger: market",
            replace(ix::check_trigger(&w.market, &k.pool, &price), &w.market, &fake_market),
            vec![],
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        ),
        (
            "create_market: pool",
            replace(
                ix::create_market(&a, &w.env.ctx.payer.pubkey(), &k.pool, 2, market_args()),
                &k.pool,
                &fake_pool,
            ),
            vec![&a_kp],
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        ),
        (
            "settle_policies: policy",
            ix::settle_policies(&k, &w.triggered, &[(fake_policy, w.buyer.collateral)]),
            vec![],
            e(ErrorCode::InvalidPolicyAccount),
        ),
        (
            "close_policy: policy",
            ix::close_policy(&w.buyer.key(), &fake_policy, &w.triggered),
            vec![],
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        ),
        (
            "release_reserve: market",
            ix::release_reserve(&k.pool, &fake_market),
            vec![],
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        ),
        (
            "apply_pool_params: pool",
            ix::apply_pool_params(&fake_pool),
            vec![],
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        ),
    ];
    for (what, ix, signers, code) in cases {
        w.refused(what, ix, &signers, code).await;
    }
    // the oracle: a byte-identical PriceUpdateV2 under another owner
    let now = w.env.now().await;
    let fake_price = Pubkey::new_unique();
    install_with_owner(
        &mut w.env.ctx,
        &fake_price,
        &test_price(USD, 0, now),
        &Pubkey::new_unique(),
    );
    w.refused(
        "check_trigger: oracle owner",
        ix::check_trigger(&w.market, &k.pool, &fake_price),
        &[],
        e(ErrorCode::OracleWrongOwner),
    )
    .await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let ix = ix::buy_cover(
        &w.buyer.key(),
        &w.buyer.key(),
        &w.buy_keys(w.market, 1, fake_price),
        ONE,
        30,
        u64::MAX,
    );
    w.refused(
        "buy_cover: oracle owner",
        ix,
        &[&buyer_kp],
        e(ErrorCode::OracleWrongOwner),
    )
    .await;
}

async fn clone_with_owner(env: &mut TestEnv, address: &Pubkey, owner: &Pubkey) -> Pubkey {
    let mut acc = env.ctx.banks_client.get_account(*address).await.unwrap().unwrap();
    acc.owner = *owner;
    let fake = Pubkey::new_unique();
    env.ctx.set_account(&fake, &acc.into());
    fake
}

/// Column "type cosplay": one of this program's accounts where another type is expected.
#[tokio::test]
async fn attack_type_cosplay() {
    let mut w = world().await;
    let k = w.env.keys;
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let a_kp = w.env.authority.insecure_clone();
    let a = a_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    let price = w.env.fresh_price().await;
    let cases: Vec<(&str, Instruction, Vec<&Keypair>, u32)> = vec![
        (
            "deposit: market as pool",
            replace(
                ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
                &k.pool,
                &w.market,
            ),
            vec![&alice_kp],
            anchor_code::DISCRIMINATOR_MISMATCH,
        ),
        (
            "withdraw: policy as request",
            replace(
                ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &w.prices),
                &req,
                &w.policy,
            ),
            vec![&alice_kp],
            anchor_code::DISCRIMINATOR_MISMATCH,
        ),
        (
            "check_trigger: pool as market",
            replace(ix::check_trigger(&w.market, &k.pool, &price), &w.market, &w.other_pool),
            vec![],
            anchor_code::DISCRIMINATOR_MISMATCH,
        ),
        (
            "check_trigger: ledger as book",
            replace(
                ix::check_trigger(&w.market, &k.pool, &price),
                &pda::book(&w.market).0,
                &k.ledger(),
            ),
            vec![],
            anchor_code::DISCRIMINATOR_MISMATCH,
        ),
        (
            "transfer_policy: request as policy",
            ix::transfer_policy(&alice, &req, &alice),
            vec![&alice_kp],
            anchor_code::DISCRIMINATOR_MISMATCH,
        ),
        (
            "settle_policies: request as policy",
            ix::settle_policies(&k, &w.triggered, &[(req, w.buyer.collateral)]),
            vec![],
            e(ErrorCode::InvalidPolicyAccount),
        ),
        (
            "close_market: ledger as book",
            replace(
                ix::close_market(&a, &k.pool, &w.market),
                &pda::book(&w.market).0,
                &k.ledger(),
            ),
            vec![&a_kp],
            anchor_code::DISCRIMINATOR_MISMATCH,
        ),
        (
            "release_reserve: policy as market",
            ix::release_reserve(&k.pool, &w.policy),
            vec![],
            anchor_code::DISCRIMINATOR_MISMATCH,
        ),
    ];
    for (what, ix, signers, code) in cases {
        w.refused(what, ix, &signers, code).await;
    }
    // the oracle: the receiver's owner but not a PriceUpdateV2
    let cosplay = Pubkey::new_unique();
    let now = w.env.now().await;
    install(&mut w.env.ctx, &cosplay, &test_price(USD, 0, now));
    let mut acc = w.env.ctx.banks_client.get_account(cosplay).await.unwrap().unwrap();
    acc.data[..8].copy_from_slice(&[9; 8]);
    w.env.ctx.set_account(&cosplay, &acc.into());
    w.refused(
        "check_trigger: not a PriceUpdateV2",
        ix::check_trigger(&w.market, &k.pool, &cosplay),
        &[],
        e(ErrorCode::OracleInvalidAccount),
    )
    .await;
}

/// Column "reinitialization": every creating instruction, run again on an existing account.
#[tokio::test]
async fn attack_reinitialization() {
    let mut w = world().await;
    let k = w.env.keys;
    let creator = w.env.ctx.payer.pubkey();
    let a_kp = w.env.authority.insecure_clone();
    let a = a_kp.pubkey();
    // creating an account that exists fails inside the system program's
    // allocate/assign, before any of the program's code runs
    let treasury = w.env.treasury;
    w.refused_by_runtime(
        "initialize_pool again",
        ix::initialize_pool(
            &creator,
            &k.collateral_mint,
            &treasury,
            &k.token_program,
            PoolConfig::default().args(1, a),
        ),
        &[],
        "InvalidInstructionData",
    )
    .await;
    w.refused_by_runtime(
        "initialize_tranche again",
        ix::initialize_tranche(&creator, &k, 0),
        &[],
        "InvalidInstructionData",
    )
    .await;
    // create_market with an existing market's address (index 0): its seeds use the count, so the PDA does not match
    w.refused(
        "create_market over market 0",
        ix::create_market(&a, &creator, &k.pool, 0, market_args()),
        &[&a_kp],
        anchor_code::CONSTRAINT_SEEDS,
    )
    .await;
    // buy_cover over an existing policy id
    let price = w.env.fresh_price().await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let ix = ix::buy_cover(
        &w.buyer.key(),
        &w.buyer.key(),
        &w.buy_keys(w.market, 0, price),
        ONE,
        30,
        u64::MAX,
    );
    w.refused(
        "buy_cover over policy 0",
        ix,
        &[&buyer_kp],
        anchor_code::CONSTRAINT_SEEDS,
    )
    .await;
    // request_withdrawal on an open request: init_if_needed, guarded
    let alice_kp = w.alice.kp.insecure_clone();
    let ix = ix::request_withdrawal(&alice_kp.pubkey(), &k, 0, &w.alice.shares[0], ONE);
    w.refused(
        "request_withdrawal over an open request",
        ix,
        &[&alice_kp],
        e(ErrorCode::WithdrawalAlreadyRequested),
    )
    .await;
    // initialize_tranche past the pool's tranche count
    w.refused(
        "initialize_tranche 2 of 2",
        ix::initialize_tranche(&creator, &k, 2),
        &[],
        e(ErrorCode::InvalidTranche),
    )
    .await;
}

/// Column "arbitrary CPI": a fake token program or system program.
#[tokio::test]
async fn attack_fake_programs() {
    let mut w = world().await;
    let k = w.env.keys;
    let fake = Pubkey::new_unique();
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let a_kp = w.env.authority.insecure_clone();
    let a = a_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    let price = w.env.fresh_price().await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let treasury = w.env.treasury;
    let token = k.token_program;
    let system = anchor_lang::system_program::ID;
    let cases: Vec<(&str, Instruction, Vec<&Keypair>)> = vec![
        (
            "deposit",
            replace(
                ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
                &token,
                &fake,
            ),
            vec![&alice_kp],
        ),
        (
            "request_withdrawal",
            replace(
                ix::request_withdrawal(&alice, &k, 1, &w.alice.shares[1], ONE),
                &token,
                &fake,
            ),
            vec![&alice_kp],
        ),
        (
            "cancel_withdrawal",
            replace(
                ix::cancel_withdrawal(&alice, &k, 0, &req, &w.alice.shares[0]),
                &token,
                &fake,
            ),
            vec![&alice_kp],
        ),
        (
            "withdraw",
            replace(
                ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &w.prices),
                &token,
                &fake,
            ),
            vec![&alice_kp],
        ),
        (
            "buy_cover (token)",
            replace(
                ix::buy_cover(
                    &w.buyer.key(),
                    &w.buyer.key(),
                    &w.buy_keys(w.market, 1, price),
                    ONE,
                    30,
                    u64::MAX,
                ),
                &token,
                &fake,
            ),
            vec![&buyer_kp],
        ),
        (
            "buy_cover (system)",
            replace(
                ix::buy_cover(
                    &w.buyer.key(),
                    &w.buyer.key(),
                    &w.buy_keys(w.market, 1, price),
                    ONE,
                    30,
                    u64::MAX,
                ),
                &system,
                &fake,
            ),
            vec![&buyer_kp],
        ),
        (
            "settle_policies",
            replace(
                ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.buyer.collateral)]),
                &token,
                &fake,
            ),
            vec![],
        ),
        (
            "collect_fees",
            replace(ix::collect_fees(&a, &k, &treasury), &token, &fake),
            vec![&a_kp],
        ),
        (
            "create_market (system)",
            replace(
                ix::create_market(&a, &w.env.ctx.payer.pubkey(), &k.pool, 2, market_args()),
                &system,
                &fake,
            ),
            vec![&a_kp],
        ),
        (
            "initialize_tranche (token)",
            replace(
                ix::initialize_tranche(&w.env.ctx.payer.pubkey(), &w.other_keys, 0),
                &token,
                &fake,
            ),
            vec![],
        ),
    ];
    for (what, ix, signers) in cases {
        w.refused(what, ix, &signers, anchor_code::INVALID_PROGRAM_ID).await;
    }
    // the real Token-2022 program in a pool of classic SPL Token
    let t22 = anchor_spl::token_2022::ID;
    let ix = replace(
        ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
        &token,
        &t22,
    );
    w.refused(
        "deposit with the other token program",
        ix,
        &[&alice_kp],
        e(ErrorCode::WrongTokenProgram),
    )
    .await;
}

/// Column "duplicate mutable accounts": one account passed twice where both are written.
#[tokio::test]
async fn attack_duplicate_mutable_accounts() {
    let mut w = world().await;
    let k = w.env.keys;
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    let a_kp = w.env.authority.insecure_clone();
    let a = a_kp.pubkey();
    let cases: Vec<(&str, Instruction, Vec<&Keypair>)> = vec![
        (
            "withdraw: vault as the staker's account",
            ix::withdraw(&alice, &k, 0, &req, &k.vault(), &w.prices),
            vec![&alice_kp],
        ),
        (
            "cancel_withdrawal: escrow as the staker's shares",
            ix::cancel_withdrawal(&alice, &k, 0, &req, &k.share_escrow(0)),
            vec![&alice_kp],
        ),
        (
            "collect_fees: vault as treasury",
            replace(ix::collect_fees(&a, &k, &w.env.treasury), &w.env.treasury, &k.vault()),
            vec![&a_kp],
        ),
    ];
    for (what, ix, signers) in cases {
        w.refused(what, ix, &signers, anchor_code::DUPLICATE_MUTABLE).await;
    }
    let price = w.env.fresh_price().await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let keys = BuyCoverKeys {
        payer_collateral: k.vault(),
        ..w.buy_keys(w.market, 1, price)
    };
    let ix = ix::buy_cover(&w.buyer.key(), &w.buyer.key(), &keys, ONE, 30, u64::MAX);
    w.refused(
        "buy_cover: vault as the payer's account",
        ix,
        &[&buyer_kp],
        anchor_code::DUPLICATE_MUTABLE,
    )
    .await;
    let ix = ix::request_withdrawal(&alice, &k, 1, &k.share_escrow(1), ONE);
    w.refused(
        "request_withdrawal: escrow as the staker's shares",
        ix,
        &[&alice_kp],
        anchor_code::DUPLICATE_MUTABLE,
    )
    .await;
    // deposit: the vault as the staker's source
    let ix = ix::deposit(&alice, &k, 0, &k.vault(), &w.alice.shares[0], ONE, 0);
    w.refused(
        "deposit: vault as source",
        ix,
        &[&alice_kp],
        anchor_code::DUPLICATE_MUTABLE,
    )
    .await;
    // settlement: the same policy twice in a batch
    let ix = ix::settle_policies(
        &k,
        &w.triggered,
        &[
            (w.triggered_policy, w.buyer.collateral),
            (w.triggered_policy, w.buyer.collateral),
        ],
    );
    w.refused("settle_policies: a policy twice", ix, &[], e(ErrorCode::PolicySettled))
        .await;
}

/// Column "non-canonical bump / wrong seeds": accounts at addresses their seeds do not give.
#[tokio::test]
async fn attack_wrong_seeds() {
    let mut w = world().await;
    let k = w.env.keys;
    let creator = w.env.ctx.payer.pubkey();
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let a_kp = w.env.authority.insecure_clone();
    let a = a_kp.pubkey();
    let price = w.env.fresh_price().await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let treasury = w.env.treasury;
    // a share mint / escrow / vault / ledger / market / book / policy / request at another address
    let cases: Vec<(&str, Instruction, Vec<&Keypair>)> = vec![
        (
            "initialize_pool: vault elsewhere",
            replace(
                ix::initialize_pool(
                    &creator,
                    &k.collateral_mint,
                    &treasury,
                    &k.token_program,
                    PoolConfig::default().args(7, a),
                ),
                &pda::vault(&pda::pool(&creator, 7).0).0,
                &pda::vault(&pda::pool(&creator, 8).0).0,
            ),
            vec![],
        ),
        (
            "initialize_pool: ledger elsewhere",
            replace(
                ix::initialize_pool(
                    &creator,
                    &k.collateral_mint,
                    &treasury,
                    &k.token_program,
                    PoolConfig::default().args(7, a),
                ),
                &pda::ledger(&pda::pool(&creator, 7).0).0,
                &pda::ledger(&pda::pool(&creator, 8).0).0,
            ),
            vec![],
        ),
        (
            "initialize_tranche: share mint of another index",
            replace(
                ix::initialize_tranche(&creator, &w.other_keys, 0),
                &w.other_keys.share_mint(0),
                &w.other_keys.share_mint(3),
            ),
            vec![],
        ),
        (
            "create_market: market of the next index",
            ix::create_market(&a, &creator, &k.pool, 3, market_args()),
            vec![&a_kp],
        ),
        (
            "create_market: book of another market",
            replace(
                ix::create_market(&a, &creator, &k.pool, 2, market_args()),
                &pda::book(&pda::market(&k.pool, 2).0).0,
                &pda::book(&pda::market(&k.pool, 3).0).0,
            ),
            vec![&a_kp],
        ),
        (
            "buy_cover: policy of a later id",
            ix::buy_cover(
                &w.buyer.key(),
                &w.buyer.key(),
                &w.buy_keys(w.market, 5, price),
                ONE,
                30,
                u64::MAX,
            ),
            vec![&buyer_kp],
        ),
        (
            "request_withdrawal: someone else's request address",
            replace(
                ix::request_withdrawal(&alice, &k, 1, &w.alice.shares[1], ONE),
                &pda::withdrawal_request(&k.pool, 1, &alice).0,
                &pda::withdrawal_request(&k.pool, 1, &w.buyer.key()).0,
            ),
            vec![&alice_kp],
        ),
    ];
    for (what, ix, signers) in cases {
        w.refused(what, ix, &signers, anchor_code::CONSTRAINT_SEEDS).await;
    }
}

/// Column "closing and revival": a closed account used again, or revived in the same transaction.
#[tokio::test]
async fn attack_closed_accounts_stay_dead() {
    let mut w = world().await;
    let k = w.env.keys;
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    // a cancelled request cannot be withdrawn
    w.env.cancel_withdrawal(&w.alice, 0).await.unwrap();
    w.refused(
        "withdraw a closed request",
        ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &w.prices),
        &[&alice_kp],
        anchor_code::NOT_INITIALIZED,
    )
    .await;
    w.refused(
        "cancel a closed request",
        ix::cancel_withdrawal(&alice, &k, 0, &req, &w.alice.shares[0]),
        &[&alice_kp],
        anchor_code::NOT_INITIALIZED,
    )
    .await;
    // settle the triggered policy, close it, revive its address with lamports in the same transaction
    w.env
        .settle(&w.triggered, &[(w.triggered_policy, w.buyer.collateral)])
        .await
        .unwrap();
    let close = ix::close_policy(&w.buyer.key(), &w.triggered_policy, &w.triggered);
    let revive =
        solana_system_interface::instruction::transfer(&w.env.ctx.payer.pubkey(), &w.triggered_policy, 10_000_000);
    w.env.send(&[close, revive], &[]).await.unwrap();
    let acc = w
        .env
        .ctx
        .banks_client
        .get_account(w.triggered_policy)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        acc.owner,
        anchor_lang::system_program::ID,
        "revived as a plain system account"
    );
    assert!(acc.data.is_empty());
    let ix = ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.buyer.collateral)]);
    w.refused("settle a revived policy", ix, &[], e(ErrorCode::InvalidPolicyAccount))
        .await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let ix = ix::transfer_policy(&w.buyer.key(), &w.triggered_policy, &alice);
    w.refused(
        "transfer a revived policy",
        ix,
        &[&buyer_kp],
        anchor_code::OWNED_BY_WRONG_PROGRAM,
    )
    .await;
}

/// Column "remaining-accounts abuse": the required-capital books and the settlement pairs.
#[tokio::test]
async fn attack_remaining_accounts() {
    let mut w = world().await;
    let k = w.env.keys;
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    w.env.warp_by(7 * DAY).await;
    let prices = w.env.healthy_prices().await;
    let good = ix::withdraw(&alice, &k, 0, &req, &w.alice.collateral, &prices);
    let n = good.accounts.len();
    // remaining accounts: (market, book, price) for market 0 at n − 6.., market 1 at n − 3..
    let (m0, b0, m1, b1) = (n - 6, n - 5, n - 3, n - 2);
    // another pool's book, or market, in place of one of ours
    let mut other = good.clone();
    other.accounts[b0].pubkey = pda::book(&w.other_market).0;
    let mut other_market = good.clone();
    other_market.accounts[m0].pubkey = w.other_market;
    // foreign-owned copies of our own book and market
    let fake_book = clone_with_owner(&mut w.env, &pda::book(&w.market).0, &Pubkey::new_unique()).await;
    let mut fake = good.clone();
    fake.accounts[b0].pubkey = fake_book;
    let fake_market = clone_with_owner(&mut w.env, &w.market, &Pubkey::new_unique()).await;
    let mut fake_m = good.clone();
    fake_m.accounts[m0].pubkey = fake_market;
    // a book where a market goes (type cosplay), a market's own book under another market
    let mut cosplay = good.clone();
    cosplay.accounts[m0].pubkey = good.accounts[b0].pubkey;
    let mut crossed = good.clone();
    crossed.accounts.swap(b0, b1);
    // a missing triple (hide the market with the cover), an extra account, the markets swapped
    let mut missing = good.clone();
    missing.accounts.truncate(n - 3);
    let mut extra = good.clone();
    extra.accounts.push(extra.accounts[n - 1].clone());
    let mut swapped = good.clone();
    swapped.accounts.swap(m0, m1);
    swapped.accounts.swap(b0, b1);
    // market 0's triple twice, in place of market 1's (which has cover)
    let mut twice = good.clone();
    for (from, to) in [(m0, m1), (b0, b1), (n - 4, n - 1)] {
        twice.accounts[to] = twice.accounts[from].clone();
    }
    for (what, ix) in [
        ("other pool's book", other),
        ("other pool's market", other_market),
        ("foreign-owned book", fake),
        ("foreign-owned market", fake_m),
        ("a book as a market", cosplay),
        ("books crossed", crossed),
        ("missing market", missing),
        ("extra account", extra),
        ("swapped markets", swapped),
        ("one market twice", twice),
    ] {
        w.refused(what, ix, &[&alice_kp], e(ErrorCode::WrongMarketBooks)).await;
    }
    // settlement pairs: read-only policy, a non-token account, a token account of the right mint not owned by the owner
    let mut ro = ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.buyer.collateral)]);
    let l = ro.accounts.len();
    ro.accounts[l - 2].is_writable = false;
    w.refused("read-only policy", ro, &[], e(ErrorCode::MalformedBatch))
        .await;
    let ix = ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.alice.collateral)]);
    w.refused("someone else's token account", ix, &[], e(ErrorCode::WrongTokenOwner))
        .await;
    let ix = ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.market)]);
    w.refused(
        "a market as the token account",
        ix,
        &[],
        e(ErrorCode::WrongTokenProgram),
    )
    .await;
    let ix = ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.alice.shares[0])]);
    w.refused("a token account of another mint", ix, &[], e(ErrorCode::WrongMint))
        .await;
}

/// Column "arithmetic overflow / rounding": amounts at the edges of u64.
#[tokio::test]
async fn attack_overflowing_amounts() {
    let mut w = world().await;
    // the triggered market's claim is paid and its reserve released, so deposits reach their arithmetic
    let (tm, tp, bc) = (w.triggered, w.triggered_policy, w.buyer.collateral);
    w.env.settle(&tm, &[(tp, bc)]).await.unwrap();
    w.env.release(&tm).await.unwrap();
    let k = w.env.keys;
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let price = w.env.fresh_price().await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let cases: Vec<(&str, Instruction, Vec<&Keypair>, ErrorCode)> = vec![
        (
            "deposit u64::MAX",
            ix::deposit(&alice, &k, 0, &w.alice.collateral, &w.alice.shares[0], u64::MAX, 0),
            vec![&alice_kp],
            ErrorCode::MathOverflow,
        ),
        (
            "request u64::MAX shares",
            ix::request_withdrawal(&alice, &k, 1, &w.alice.shares[1], u64::MAX),
            vec![&alice_kp],
            ErrorCode::InsufficientShares,
        ),
        (
            "buy u64::MAX of cover",
            ix::buy_cover(
                &w.buyer.key(),
                &w.buyer.key(),
                &w.buy_keys(w.market, 1, price),
                u64::MAX,
                365,
                u64::MAX,
            ),
            vec![&buyer_kp],
            ErrorCode::MathOverflow,
        ),
        (
            "buy zero cover",
            ix::buy_cover(
                &w.buyer.key(),
                &w.buyer.key(),
                &w.buy_keys(w.market, 1, price),
                0,
                30,
                u64::MAX,
            ),
            vec![&buyer_kp],
            ErrorCode::InvalidCoverAmount,
        ),
        (
            "buy u16::MAX days",
            ix::buy_cover(
                &w.buyer.key(),
                &w.buyer.key(),
                &w.buy_keys(w.market, 1, price),
                ONE,
                u16::MAX,
                u64::MAX,
            ),
            vec![&buyer_kp],
            ErrorCode::InvalidCoverTerm,
        ),
    ];
    for (what, ix, signers, err) in cases {
        w.refused(what, ix, &signers, e(err)).await;
    }
    // an oracle value that overflows the price unit
    let now = w.env.now().await;
    let big = Pubkey::new_unique();
    install(
        &mut w.env.ctx,
        &big,
        &PriceSpec {
            exponent: 8,
            price: i64::MAX,
            ..test_price(USD, 0, now)
        },
    );
    w.refused(
        "oracle i64::MAX × 1e16",
        ix::check_trigger(&w.market, &k.pool, &big),
        &[],
        e(ErrorCode::PriceNotRepresentable),
    )
    .await;
}

/// Every abuse of the price update an instruction reads, with its error:
/// `good` changed one field at a time (a market whose last accepted price was
/// published at `last_accepted`; a breached strike is `below_strike`, the name
/// differing between a sale and a redemption).
fn oracle_abuse(good: PriceSpec, last_accepted: i64, below_strike: ErrorCode) -> Vec<(PriceSpec, ErrorCode)> {
    vec![
        (
            PriceSpec {
                feed_id: [3; 32],
                ..good
            },
            ErrorCode::OracleWrongFeed,
        ),
        (
            PriceSpec {
                level: VerificationLevel::Partial { num_signatures: 5 },
                ..good
            },
            ErrorCode::OracleNotFullyVerified,
        ),
        (
            PriceSpec {
                publish_time: good.publish_time - 61,
                ..good
            },
            ErrorCode::StalePrice,
        ),
        (
            PriceSpec {
                publish_time: last_accepted - 1,
                ..good
            },
            ErrorCode::StalePrice,
        ),
        (
            PriceSpec {
                conf: 6_000_000,
                ..good
            },
            ErrorCode::ConfidenceTooWide,
        ),
        (PriceSpec { price: 0, ..good }, ErrorCode::NonPositivePrice),
        (
            PriceSpec {
                price: 96 * USD / 100,
                conf: 2 * USD as u64 / 100,
                ..good
            },
            below_strike,
        ),
    ]
}

/// Column "oracle abuse" on `buy_cover` (check_trigger's are in markets.rs).
#[tokio::test]
async fn attack_oracle_on_buy_cover() {
    let mut w = world().await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let now = w.env.now().await;
    // the market's last accepted observation is at now − 10
    let t = now;
    w.env.observe_at(&w.market, USD, 0, t - 10).await.unwrap();
    let good = test_price(USD, 10_000, t);
    let cases = oracle_abuse(good, t - 10, ErrorCode::PriceBelowStrike);
    assert_eq!(good.feed_id, TEST_FEED);
    for (spec, err) in cases {
        let address = Pubkey::new_unique();
        install(&mut w.env.ctx, &address, &spec);
        let ix = ix::buy_cover(
            &w.buyer.key(),
            &w.buyer.key(),
            &w.buy_keys(w.market, 1, address),
            ONE,
            30,
            u64::MAX,
        );
        w.refused(&format!("buy_cover with {err:?}"), ix, &[&buyer_kp], e(err))
            .await;
    }
}

/// Every oracle attack on the price `withdraw` reads for an open market:
/// the checks of a sale, and a breached strike is `PriceBelowStrikeInPool`.
#[tokio::test]
async fn attack_oracle_on_withdraw() {
    let mut w = world().await;
    let k = w.env.keys;
    let alice_kp = w.alice.kp.insecure_clone();
    let alice = alice_kp.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    w.env.warp_by(7 * DAY).await;
    // the market's last accepted observation is at t − 10
    let last = w.env.now().await;
    w.env.observe_at(&w.market, USD, 0, last).await.unwrap();
    w.env.warp_by(10).await;
    let t = last + 10;
    let prices = w.env.healthy_prices().await;
    let good = test_price(USD, 10_000, t);
    let cases = oracle_abuse(good, last, ErrorCode::PriceBelowStrikeInPool);
    let collateral = w.alice.collateral;
    let with_price = |address: Pubkey| {
        let mut p = prices.clone();
        p[0] = address;
        ix::withdraw(&alice, &k, 0, &req, &collateral, &p)
    };
    for (spec, err) in cases {
        let address = Pubkey::new_unique();
        install(&mut w.env.ctx, &address, &spec);
        w.refused(
            &format!("withdraw with {err:?}"),
            with_price(address),
            &[&alice_kp],
            e(err),
        )
        .await;
    }
    // a receiver-shaped update owned by another program
    let forged = Pubkey::new_unique();
    install_with_owner(&mut w.env.ctx, &forged, &good, &Pubkey::new_unique());
    w.refused(
        "withdraw with a forged update",
        with_price(forged),
        &[&alice_kp],
        e(ErrorCode::OracleWrongOwner),
    )
    .await;
    // the good one goes through
    let address = Pubkey::new_unique();
    install(&mut w.env.ctx, &address, &good);
    w.env.send(&[with_price(address)], &[&alice_kp]).await.unwrap();
}

// ---- economic attacks ----

/// Inflation / donation on every tranche of a 4-tranche pool.
#[tokio::test]
async fn economic_inflation_attack_on_every_tranche_is_unprofitable() {
    let mut env = TestEnv::with_config(PoolConfig {
        weights: vec![4_000, 3_000, 2_000, 1_000],
        ..PoolConfig::default()
    })
    .await;
    for t in 0..4u8 {
        let attacker = env.new_staker(10_001 * ONE).await;
        let victim = env.new_staker(20_000 * ONE).await;
        env.deposit(&attacker, t, DEAD_SHARES + 1, 0).await.unwrap();
        env.donate_to_vault(&attacker, 10_000 * ONE).await;
        env.deposit(&victim, t, 20_000 * ONE, 20_000 * ONE).await.unwrap();
        assert_eq!(
            env.balance(&victim.shares[t as usize]).await,
            20_000 * ONE,
            "tranche {t}: fair shares"
        );
        let value = env.share_value(t, 1).await;
        assert!(value <= 1, "tranche {t}: the attacker's share is worth {value}");
    }
}

/// Buying in pieces never costs less than at once, on-chain.
#[tokio::test]
async fn economic_splitting_a_purchase_costs_at_least_as_much() {
    let mut whole_env = TestEnv::new().await;
    let mut split_env = TestEnv::new().await;
    let mut premiums = [0u64; 2];
    for (i, env) in [&mut whole_env, &mut split_env].into_iter().enumerate() {
        let m = env.create_market(market_args()).await.unwrap();
        let s = env.new_staker(1_000_000 * ONE).await;
        env.deposit(&s, 0, 1_000_000 * ONE, 0).await.unwrap();
        let buyer = env.new_staker(100_000 * ONE).await;
        let pieces: Vec<u64> = if i == 0 {
            vec![850_000]
        } else {
            vec![100_000, 250_000, 300_000, 123_457, 76_543]
        };
        for amount in pieces {
            let p = env.buy_cover(&buyer, &m, amount * ONE, 90, u64::MAX).await.unwrap();
            premiums[i] += env.policy(&p).await.unwrap().premium;
        }
    }
    assert!(
        premiums[1] >= premiums[0],
        "split {} < whole {}",
        premiums[1],
        premiums[0]
    );
    assert!(
        premiums[1] - premiums[0] <= 3 * 4,
        "rounding only: {} vs {}",
        premiums[1],
        premiums[0]
    );
}

/// Keeper griefing: dust policies are refused; a batch is bounded; settlement is open to all.
#[tokio::test]
async fn economic_keeper_griefing_is_bounded() {
    let mut w = world().await;
    let buyer_kp = w.buyer.kp.insecure_clone();
    let price = w.env.fresh_price().await;
    let ix = ix::buy_cover(
        &w.buyer.key(),
        &w.buyer.key(),
        &w.buy_keys(w.market, 1, price),
        ONE - 1,
        1,
        u64::MAX,
    );
    w.refused("dust cover", ix, &[&buyer_kp], e(ErrorCode::InvalidCoverAmount))
        .await;
    let too_many = coverage_pool::constants::MAX_SETTLE_BATCH + 1;
    let pairs: Vec<(Pubkey, Pubkey)> = (0..too_many)
        .map(|_| (w.triggered_policy, w.buyer.collateral))
        .collect();
    let ix = ix::settle_policies(&w.env.keys, &w.triggered, &pairs);
    w.refused("33 pairs", ix, &[], e(ErrorCode::MalformedBatch)).await;
    // anyone (here the bank payer, not the keeper or the owner) settles the policy
    w.env
        .settle(&w.triggered, &[(w.triggered_policy, w.buyer.collateral)])
        .await
        .unwrap();
    assert_eq!(w.env.policy(&w.triggered_policy).await.unwrap().payout, 10_000 * ONE);
}

// ---- the whole matrix, generically: every instruction of the program ----

/// One valid instruction of every kind (its accounts pass validation; some
/// would then fail a state check in the handler, which is never reached when
/// an account is attacked), with the keypairs that must sign it.
fn catalogue(w: &World, price: Pubkey) -> Vec<(&'static str, Instruction, Vec<Keypair>)> {
    let k = w.env.keys;
    let a = w.env.authority.insecure_clone();
    let ap = a.pubkey();
    let alice = w.alice.kp.insecure_clone();
    let al = alice.pubkey();
    let buyer = w.buyer.kp.insecure_clone();
    let bu = buyer.pubkey();
    let creator = w.env.ctx.payer.pubkey();
    let req = w.env.request_address(&w.alice, 0);
    let treasury = w.env.treasury;
    let c = |kp: &Keypair| kp.insecure_clone();
    vec![
        (
            "initialize_pool",
            ix::initialize_pool(
                &creator,
                &k.collateral_mint,
                &treasury,
                &k.token_program,
                PoolConfig::default().args(9, ap),
            ),
            vec![],
        ),
        (
            "initialize_tranche",
            ix::initialize_tranche(&creator, &w.other_keys, 1),
            vec![],
        ),
        (
            "create_market",
            ix::create_market(&ap, &creator, &k.pool, 2, market_args()),
            vec![c(&a)],
        ),
        ("collect_fees", ix::collect_fees(&ap, &k, &treasury), vec![c(&a)]),
        ("set_pool_paused", ix::set_pool_paused(&ap, &k.pool, true), vec![c(&a)]),
        (
            "set_market_paused",
            ix::set_market_paused(&ap, &k.pool, &w.market, true),
            vec![c(&a)],
        ),
        (
            "reopen_market",
            ix::reopen_market(&ap, &k.pool, &w.triggered),
            vec![c(&a)],
        ),
        ("close_market", ix::close_market(&ap, &k.pool, &w.market), vec![c(&a)]),
        (
            "propose_authority",
            ix::propose_authority(&ap, &k.pool, &al),
            vec![c(&a)],
        ),
        ("accept_authority", ix::accept_authority(&al, &k.pool), vec![c(&alice)]),
        (
            "queue_pool_params",
            ix::queue_pool_params(&ap, &k.pool, pool_change()),
            vec![c(&a)],
        ),
        ("cancel_pool_params", ix::cancel_pool_params(&ap, &k.pool), vec![c(&a)]),
        ("apply_pool_params", ix::apply_pool_params(&k.pool), vec![]),
        (
            "queue_market_params",
            ix::queue_market_params(&ap, &k.pool, &w.market, market_change()),
            vec![c(&a)],
        ),
        (
            "cancel_market_params",
            ix::cancel_market_params(&ap, &k.pool, &w.market),
            vec![c(&a)],
        ),
        (
            "apply_market_params",
            ix::apply_market_params(&k.pool, &w.market),
            vec![],
        ),
        (
            "deposit",
            ix::deposit(&al, &k, 0, &w.alice.collateral, &w.alice.shares[0], ONE, 0),
            vec![c(&alice)],
        ),
        (
            "request_withdrawal",
            ix::request_withdrawal(&al, &k, 1, &w.alice.shares[1], ONE),
            vec![c(&alice)],
        ),
        (
            "cancel_withdrawal",
            ix::cancel_withdrawal(&al, &k, 0, &req, &w.alice.shares[0]),
            vec![c(&alice)],
        ),
        (
            "withdraw",
            ix::withdraw(&al, &k, 0, &req, &w.alice.collateral, &w.prices),
            vec![c(&alice)],
        ),
        (
            "buy_cover",
            ix::buy_cover(
                &bu,
                &al,
                &BuyCoverKeys {
                    payer_collateral: w.alice.collateral,
                    ..w.buy_keys(w.market, 1, price)
                },
                ONE,
                30,
                u64::MAX,
            ),
            vec![c(&buyer), c(&alice)],
        ),
        (
            "transfer_policy",
            ix::transfer_policy(&bu, &w.policy, &al),
            vec![c(&buyer)],
        ),
        ("close_policy", ix::close_policy(&bu, &w.policy, &w.market), vec![]),
        ("check_trigger", ix::check_trigger(&w.market, &k.pool, &price), vec![]),
        (
            "settle_policies",
            ix::settle_policies(&k, &w.triggered, &[(w.triggered_policy, w.buyer.collateral)]),
            vec![],
        ),
        ("release_reserve", ix::release_reserve(&k.pool, &w.triggered), vec![]),
        ("accrue_premium", ix::accrue_premium(&k.pool), vec![]),
    ]
}

/// Every program instruction is in the catalogue (the IDL lists them).
#[test]
fn the_catalogue_covers_every_instruction() {
    let idl: serde_json::Value = serde_json::from_str(include_str!("../../../idl/coverage_pool.json")).unwrap();
    let names: Vec<&str> = idl["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    let listed = [
        "initialize_pool",
        "initialize_tranche",
        "create_market",
        "collect_fees",
        "set_pool_paused",
        "set_market_paused",
        "reopen_market",
        "close_market",
        "propose_authority",
        "accept_authority",
        "queue_pool_params",
        "cancel_pool_params",
        "apply_pool_params",
        "queue_market_params",
        "cancel_market_params",
        "apply_market_params",
        "deposit",
        "request_withdrawal",
        "cancel_withdrawal",
        "withdraw",
        "buy_cover",
        "transfer_policy",
        "close_policy",
        "check_trigger",
        "settle_policies",
        "release_reserve",
        "accrue_premium",
    ];
    for n in &names {
        assert!(
            listed.contains(n),
            "instruction {n} is missing from the attack catalogue"
        );
    }
    assert_eq!(names.len(), listed.len());
}

/// Missing signer, every instruction: each required signature withheld in turn.
#[tokio::test]
async fn matrix_missing_signer_every_instruction() {
    let mut w = world().await;
    let price = w.env.fresh_price().await;
    let payer = w.env.ctx.payer.pubkey();
    let mut tried = 0;
    for (name, ix, signers) in catalogue(&w, price) {
        for s in signers.iter() {
            if s.pubkey() == payer {
                continue;
            }
            let stripped = unsign(ix.clone(), &s.pubkey());
            let others: Vec<&Keypair> = signers.iter().filter(|o| o.pubkey() != s.pubkey()).collect();
            w.refused(
                &format!("{name} without {}", s.pubkey()),
                stripped,
                &others,
                anchor_code::NOT_SIGNER,
            )
            .await;
            tried += 1;
        }
    }
    assert_eq!(tried, 19, "every signer role of every instruction");
}

/// Owner check, every instruction: the pool (or the policy) replaced by a
/// byte-identical copy owned by another program.
#[tokio::test]
async fn matrix_owner_check_every_instruction() {
    let mut w = world().await;
    let price = w.env.fresh_price().await;
    let k = w.env.keys;
    let fake_pool = clone_with_owner(&mut w.env, &k.pool, &Pubkey::new_unique()).await;
    let fake_other = clone_with_owner(&mut w.env, &w.other_pool, &Pubkey::new_unique()).await;
    let fake_policy = clone_with_owner(&mut w.env, &w.policy, &Pubkey::new_unique()).await;
    for (name, ix, signers) in catalogue(&w, price) {
        let attacked = match name {
            // creates the pool: an address that is not the pool's PDA fails its seeds
            "initialize_pool" => continue,
            "initialize_tranche" => replace(ix, &w.other_pool, &fake_other),
            "transfer_policy" | "close_policy" => replace(ix, &w.policy, &fake_policy),
            _ => replace(ix, &k.pool, &fake_pool),
        };
        let refs: Vec<&Keypair> = signers.iter().collect();
        w.refused(
            &format!("{name}: foreign-owned copy"),
            attacked,
            &refs,
            anchor_code::OWNED_BY_WRONG_PROGRAM,
        )
        .await;
    }
}

/// Type cosplay, every instruction: a market where the pool is expected, a
/// withdrawal request where a policy is expected.
#[tokio::test]
async fn matrix_type_cosplay_every_instruction() {
    let mut w = world().await;
    let price = w.env.fresh_price().await;
    let k = w.env.keys;
    let req = w.env.request_address(&w.alice, 0);
    for (name, ix, signers) in catalogue(&w, price) {
        let attacked = match name {
            "initialize_pool" => continue,
            "initialize_tranche" => replace(ix, &w.other_pool, &w.other_market),
            "transfer_policy" | "close_policy" => replace(ix, &w.policy, &req),
            _ => replace(ix, &k.pool, &w.other_market),
        };
        let refs: Vec<&Keypair> = signers.iter().collect();
        w.refused(
            &format!("{name}: a market as the pool"),
            attacked,
            &refs,
            anchor_code::DISCRIMINATOR_MISMATCH,
        )
        .await;
    }
}

/// Arbitrary CPI, every instruction that calls a program: a fake token and system program.
#[tokio::test]
async fn matrix_fake_programs_every_instruction() {
    let mut w = world().await;
    let price = w.env.fresh_price().await;
    let fake = Pubkey::new_unique();
    let mut tried = 0;
    for (name, ix, signers) in catalogue(&w, price) {
        for program in [w.env.keys.token_program, anchor_lang::system_program::ID] {
            if !ix.accounts.iter().any(|m| m.pubkey == program) {
                continue;
            }
            let refs: Vec<&Keypair> = signers.iter().collect();
            w.refused(
                &format!("{name}: fake {program}"),
                replace(ix.clone(), &program, &fake),
                &refs,
                anchor_code::INVALID_PROGRAM_ID,
            )
            .await;
            tried += 1;
        }
    }
    assert!(tried >= 12, "{tried} program substitutions tried");
}
