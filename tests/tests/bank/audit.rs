//! The independent review's findings (issue 12), one story each. Every test
//! here failed on the code before its fix (the closing note of the issue
//! quotes the failures); the model-based suites search each class.

use anchor_lang::prelude::Pubkey;
use coverage_pool::error::ErrorCode;
use coverage_pool::instructions::CreateMarketArgs;
use coverage_pool::state::{MarketStatus, PolicyStatus, PricingCurve};
use coverage_pool_tests::*;
use coverage_sdk::ix;
use solana_signer::Signer;

const USD: i64 = 100_000_000;

/// 1. A hostile authority's market (strike a hair under the healthy price,
/// one-minute trigger, the whole capacity, a 1 bps flat curve) sells nothing
/// and takes no observation before the governance delay, so a staker who
/// disagrees requests, waits the cooldown and leaves first.
#[tokio::test]
async fn audit_1_a_new_market_sells_nothing_before_the_governance_delay() {
    let (mut env, alice, _) = small_pool().await;
    let hostile = CreateMarketArgs {
        strike: 99_990_000,
        recovery: 99_990_000,
        duration: 60,
        max_gap: 60,
        curve: PricingCurve {
            base_rate_bps: 1,
            slope_below_kink_bps: 0,
            slope_above_kink_bps: 0,
            kink_utilization_bps: 5_000,
        },
        allocation_bps: 10_000,
        ..market_args()
    };
    // a recovery no price can reach is refused outright
    assert_err(
        env.create_market_unopened(CreateMarketArgs {
            recovery: 2 * 99_990_000 + 1,
            ..hostile.clone()
        })
        .await,
        ErrorCode::InvalidStrikeOrRecovery,
    );
    let created = env.now().await;
    let m = env.create_market_unopened(hostile).await.unwrap();
    let market = env.market(&m).await;
    let pool = env.pool().await;
    // visible on-chain, and counted against the pool's leverage at once
    assert_eq!(
        market.sales_open_at,
        created + i64::from(pool.cooldown) + i64::from(pool.withdraw_window) + DAY
    );
    assert_eq!(pool.total_allocation_bps, 10_000);
    let attacker = env.new_staker(1_000 * ONE).await;
    assert_err(
        env.buy_cover(&attacker, &m, 100_000 * ONE, 1, u64::MAX).await,
        ErrorCode::MarketNotOpen,
    );
    // nor can a streak open on it and hold redemptions up
    let now = env.now().await;
    assert_err(
        env.observe(&m, &oracle::test_price(90 * USD / 100, 0, now)).await,
        ErrorCode::MarketNotOpen,
    );
    // alice disagrees: she requests, waits the cooldown and leaves, all before the first sale
    let shares = env.balance(&alice.shares[0]).await;
    env.request_withdrawal(&alice, 0, shares).await.unwrap();
    env.warp_by(i64::from(pool.cooldown)).await;
    env.withdraw(&alice, 0).await.unwrap();
    assert_eq!(
        env.balance(&alice.collateral).await,
        60_000 * ONE - coverage_core::shares::DEAD_SHARES
    );
    assert!(env.now().await < market.sales_open_at);
    assert_err(
        env.buy_cover(&attacker, &m, 1_000 * ONE, 1, u64::MAX).await,
        ErrorCode::MarketNotOpen,
    );
    // from sales_open_at on, the market works like any other
    env.warp_to(market.sales_open_at - 1).await;
    assert_err(
        env.buy_cover(&attacker, &m, 1_000 * ONE, 1, u64::MAX).await,
        ErrorCode::MarketNotOpen,
    );
    env.warp_to(market.sales_open_at).await;
    env.buy_cover(&attacker, &m, 1_000 * ONE, 1, u64::MAX).await.unwrap();
}

/// 1, the bound's edge: a recovery of exactly twice the strike is accepted.
#[tokio::test]
async fn audit_1_a_recovery_of_twice_the_strike_is_the_largest_accepted() {
    let (mut env, _, _) = small_pool().await;
    let args = |recovery| CreateMarketArgs {
        recovery,
        ..market_args()
    };
    let strike = market_args().strike;
    assert_err(
        env.create_market_unopened(args(2 * strike + 1)).await,
        ErrorCode::InvalidStrikeOrRecovery,
    );
    let m = env.create_market_unopened(args(2 * strike)).await.unwrap();
    assert_eq!(env.market(&m).await.recovery, 2 * strike);
}

/// 2. A policy (or its market) cannot be closed just after its cover ends
/// while a depeg published before the end may still be reported: the late
/// report still pays it.
#[tokio::test]
async fn audit_2_closing_just_after_the_end_cannot_destroy_a_claim() {
    let (mut env, _, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    let p = env.buy_cover(&buyer, &m, 10_000 * ONE, 1, u64::MAX).await.unwrap();
    let end = env.policy(&p).await.unwrap().end_time;
    env.warp_to(end + 10).await;
    let before = env.snapshot(&[p, m]).await;
    assert_err(
        env.send(&[ix::close_policy(&buyer.key(), &p, &m)], &[]).await,
        ErrorCode::PolicyNotClosable,
    );
    let auth = env.authority.insecure_clone();
    assert_err(
        env.send(&[ix::close_market(&auth.pubkey(), &env.keys.pool, &m)], &[&auth])
            .await,
        ErrorCode::MarketHasActiveCover,
    );
    assert_eq!(env.snapshot(&[p, m]).await, before, "refusals change nothing");
    // a keeper reports the depeg published 3 s before the end; it lasts an hour
    env.warp_to(end + 20).await;
    env.observe(&m, &oracle::test_price(90 * USD / 100, 0, end - 3))
        .await
        .unwrap();
    env.observe_at(&m, 90 * USD / 100, 0, end - 3 + 3_600).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!(mk.status, MarketStatus::Triggered);
    assert_eq!(mk.settlement.eligible_cover, 10_000 * ONE);
    env.settle(&m, &[(p, buyer.collateral)]).await.unwrap();
    let policy = env.policy(&p).await.unwrap();
    assert_eq!((policy.status, policy.payout), (PolicyStatus::Settled, 10_000 * ONE));
    // settled: closable at once
    env.send(&[ix::close_policy(&buyer.key(), &p, &m)], &[]).await.unwrap();
}

/// 2, the other way to know: once a keeper reported a price published at or
/// after the end (no streak open), nothing can make the policy eligible.
#[tokio::test]
async fn audit_2_a_report_after_the_end_lets_the_policy_close_at_once() {
    let (mut env, _, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    let p = env.buy_cover(&buyer, &m, 10_000 * ONE, 1, u64::MAX).await.unwrap();
    let end = env.policy(&p).await.unwrap().end_time;
    env.observe_at(&m, USD, 10_000, end).await.unwrap();
    env.warp_to(end + 1).await;
    let auth = env.authority.insecure_clone();
    env.send(&[ix::close_policy(&buyer.key(), &p, &m)], &[]).await.unwrap();
    env.send(&[ix::close_market(&auth.pubkey(), &env.keys.pool, &m)], &[&auth])
        .await
        .unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Closed);
}

/// 3. Cover waiting to activate is left out of the liability exactly, for
/// every activation delay the program accepts (now at most 2 hours; the
/// book's pending ring holds max price age + delay).
#[tokio::test]
async fn audit_3_cover_waiting_on_a_long_activation_delay_is_not_counted() {
    let (mut env, _, _) = small_pool().await;
    let m = env
        .create_market(CreateMarketArgs {
            activation_delay: 5_000,
            ..market_args()
        })
        .await
        .unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    env.buy_cover(&buyer, &m, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    // a depeg from a minute later, for an hour: the cover activates only after 5 000 s
    let t0 = env.now().await + 60;
    env.observe_at(&m, 90 * USD / 100, 0, t0).await.unwrap();
    env.observe_at(&m, 90 * USD / 100, 0, t0 + 3_600).await.unwrap();
    let market = env.market(&m).await;
    assert_eq!(market.status, MarketStatus::Triggered);
    assert_eq!(
        market.settlement.eligible_cover, 0,
        "no cover was in force at the streak's start"
    );
    assert_eq!(market.settlement.reserve, 0);
    // nothing to settle: the reserve goes back at once
    env.release(&m).await.unwrap();

    // the longest delay the book can hold is the bound, at creation and in a queued change
    let too_long = CreateMarketArgs {
        activation_delay: 7_201,
        ..market_args()
    };
    assert_err(
        env.create_market_unopened(too_long).await,
        ErrorCode::InvalidActivationDelay,
    );
    let m2 = env
        .create_market(CreateMarketArgs {
            allocation_bps: 5_000,
            ..market_args()
        })
        .await
        .unwrap();
    assert_err(
        env.queue_market_change(&m2, |c| c.activation_delay = 7_201).await,
        ErrorCode::InvalidActivationDelay,
    );
    env.create_market(CreateMarketArgs {
        activation_delay: 7_200,
        max_price_age: 3_599,
        allocation_bps: 5_000,
        ..market_args()
    })
    .await
    .unwrap();
}

/// 3, with governance: cover sold under a long activation delay and cover
/// sold after the delay was shortened wait in the same pending ring at once;
/// the liability still counts exactly what was in force at the streak's start.
#[tokio::test]
async fn audit_3_a_shortened_activation_delay_keeps_the_liability_exact() {
    let (mut env, _, _) = small_pool().await;
    let m = env
        .create_market(CreateMarketArgs {
            activation_delay: 7_200,
            max_price_age: 3_599,
            ..market_args()
        })
        .await
        .unwrap();
    env.queue_market_change(&m, |c| c.activation_delay = 3_600)
        .await
        .unwrap();
    let eta = env.market(&m).await.pending_change_eta;
    let buyer = env.new_staker(10_000 * ONE).await;
    // bought under the old delay just before the change applies: active at eta + 2 h
    env.warp_to(eta - 10).await;
    let slow = env.buy_cover(&buyer, &m, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_to(eta).await;
    env.send(&[ix::apply_market_params(&env.keys.pool, &m)], &[])
        .await
        .unwrap();
    // bought under the new one: active at eta + 1 h
    let fast = env.buy_cover(&buyer, &m, 20_000 * ONE, 30, u64::MAX).await.unwrap();
    let (slow, fast) = (env.policy(&slow).await.unwrap(), env.policy(&fast).await.unwrap());
    // a depeg starts between the two activations
    let start = fast.activation_time + 60;
    assert!(start < slow.activation_time);
    env.observe_at(&m, 90 * USD / 100, 0, start).await.unwrap();
    env.observe_at(&m, 90 * USD / 100, 0, start + 3_600).await.unwrap();
    let market = env.market(&m).await;
    assert_eq!(market.status, MarketStatus::Triggered);
    assert_eq!(market.settlement.eligible_cover, 20_000 * ONE);
}

/// 4. Nobody can deposit just before a release (same transaction) to take a
/// share of a surplus that belonged to the stakers who bore the reserve.
#[tokio::test]
async fn audit_4_a_deposit_just_before_a_release_takes_no_share_of_the_surplus() {
    let (mut env, alice, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    env.buy_cover(&buyer, &m, 20_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_by(600).await;
    let t0 = env.now().await;
    env.observe_at(&m, 90 * USD / 100, 0, t0).await.unwrap();
    env.observe_at(&m, 90 * USD / 100, 0, t0 + 3_600).await.unwrap();
    // nobody settles; after the claim window the whole reserve is surplus
    env.warp_by(31 * DAY).await;
    let attacker = env.new_staker(100_000 * ONE).await;
    let deposit = ix::deposit(
        &attacker.key(),
        &env.keys,
        0,
        &attacker.collateral,
        &attacker.shares[0],
        100_000 * ONE,
        0,
    );
    let release = ix::release_reserve(&env.keys.pool, &m);
    let before = env.snapshot(&[m, attacker.collateral, attacker.shares[0]]).await;
    assert_err(
        env.send(&[deposit.clone(), release.clone()], &[&attacker.kp]).await,
        ErrorCode::ReservePendingRelease,
    );
    assert_eq!(
        env.snapshot(&[m, attacker.collateral, attacker.shares[0]]).await,
        before
    );
    // the surplus goes back to those who bore the reserve (the junior tranche gave it all)
    let alice_shares = env.balance(&alice.shares[0]).await;
    let alice_before = env.share_value(0, alice_shares).await;
    let junior_before = env.pool().await.tranches[0].assets;
    env.send(&[release], &[]).await.unwrap();
    assert_eq!(env.pool().await.tranches[0].assets, junior_before + 20_000 * ONE);
    let alice_after = env.share_value(0, alice_shares).await;
    assert!(
        alice_after > alice_before + 19_999 * ONE,
        "{alice_before} -> {alice_after}"
    );
    // afterwards a deposit is priced at the restored share price: no gain
    env.send(&[deposit], &[&attacker.kp]).await.unwrap();
    let shares = env.balance(&attacker.shares[0]).await;
    assert!(env.share_value(0, shares).await <= 100_000 * ONE);
}

/// 5. A staker cannot redeem in the seconds between a depeg's print and its
/// first report: `withdraw` reads a fresh price of every open market.
#[tokio::test]
async fn audit_5_a_staker_cannot_withdraw_ahead_of_a_published_unreported_depeg() {
    let (mut env, alice, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    env.buy_cover(&buyer, &m, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    env.request_withdrawal(&alice, 0, 10_000 * ONE).await.unwrap();
    env.warp_by(7 * DAY + 60).await;
    let now = env.now().await;
    // the keepers last reported a healthy price 30 s ago
    env.observe(&m, &oracle::test_price(USD, 10_000, now - 30))
        .await
        .unwrap();
    // a depeg is published 2 s ago, not reported yet
    let depeg = env.price_at(90 * USD / 100, 0, now - 2).await;
    let before = env.snapshot(&[alice.collateral, m]).await;
    assert_err(
        env.withdraw_with_prices(&alice, 0, &[depeg]).await,
        ErrorCode::PriceBelowStrikeInPool,
    );
    // a healthy price older than the last report is refused too
    let older = env.price_at(USD, 10_000, now - 40).await;
    assert_err(
        env.withdraw_with_prices(&alice, 0, &[older]).await,
        ErrorCode::StalePrice,
    );
    // straddling the strike (price − conf below it) holds redemptions as well
    let straddle = env.price_at(96 * USD / 100, 2 * USD as u64 / 100, now).await;
    assert_err(
        env.withdraw_with_prices(&alice, 0, &[straddle]).await,
        ErrorCode::PriceBelowStrikeInPool,
    );
    assert_eq!(env.snapshot(&[alice.collateral, m]).await, before);
    // once reported, the streak holds redemptions; with a healthy fresh price they go on
    let healthy = env.price_at(USD, 10_000, now).await;
    env.withdraw_with_prices(&alice, 0, &[healthy]).await.unwrap();
}

/// 6. A collateral mint that can be closed (and re-created with other
/// extensions at the same address) is refused.
#[tokio::test]
async fn audit_6_a_collateral_mint_with_a_close_authority_is_refused() {
    use anchor_spl::token_2022::spl_token_2022;
    use spl_token_2022::extension::ExtensionType;
    let mut env = TestEnv::without_pool(spl_token_2022::ID).await;
    let auth = env.authority.pubkey();
    env.use_collateral_mint_with_extensions(&[ExtensionType::MintCloseAuthority], |mint| {
        vec![
            spl_token_2022::instruction::initialize_mint_close_authority(&spl_token_2022::ID, mint, Some(&auth))
                .unwrap(),
        ]
    })
    .await;
    assert_err(
        env.initialize_pool(PoolConfig::default().args(1, auth)).await,
        ErrorCode::UnsupportedMintExtension,
    );
    let pool: Pubkey = env.keys.pool;
    assert!(env.ctx.banks_client.get_account(pool).await.unwrap().is_none());
}

/// 1, found in review: a queued cooldown increase applied in the same
/// transaction as a market's creation cannot shorten the new market's wait
/// below the cooldown every later request must sit out. The delay is the
/// longer of the current and the queued timing (core
/// `WithdrawalTiming::governance_delay_with`), for a market change too.
#[tokio::test]
async fn audit_1_a_queued_cooldown_increase_lengthens_a_new_markets_wait() {
    use coverage_pool::state::PoolParamsChange;
    let (mut env, alice, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let auth = env.authority.insecure_clone();
    let pool = env.pool().await;
    // an innocent-looking change: the cooldown grows from 7 to 90 days
    let longer = PoolParamsChange {
        protocol_fee_bps: pool.protocol_fee_bps,
        max_leverage_bps: pool.max_leverage_bps,
        cooldown: 90 * DAY as u32,
        withdraw_window: pool.withdraw_window,
        weights_bps: [7_000, 3_000, 0, 0],
    };
    env.send(
        &[ix::queue_pool_params(&auth.pubkey(), &env.keys.pool, longer)],
        &[&auth],
    )
    .await
    .unwrap();
    let eta = env.pool().await.pending_change_eta;
    env.warp_to(eta).await;
    let now = env.now().await;
    let new_delay = 90 * DAY + i64::from(pool.withdraw_window) + DAY;
    // a market change queued while the longer cooldown is due waits for it
    env.queue_market_change(&m, |c| c.allocation_bps = 5_000).await.unwrap();
    assert_eq!(env.market(&m).await.pending_change_eta, now + new_delay);
    // the hostile market and the apply in one transaction
    let index = env.pool().await.market_count;
    let payer = env.ctx.payer.pubkey();
    let create = ix::create_market(
        &auth.pubkey(),
        &payer,
        &env.keys.pool,
        index,
        CreateMarketArgs {
            allocation_bps: 5_000,
            ..market_args()
        },
    );
    env.send(&[create, ix::apply_pool_params(&env.keys.pool)], &[&auth])
        .await
        .unwrap();
    let hostile = env.market(&coverage_sdk::pda::market(&env.keys.pool, index).0).await;
    assert_eq!(hostile.sales_open_at, now + new_delay);
    // alice, who disagrees, requests now (under the 90-day cooldown) and is out first
    let shares = env.balance(&alice.shares[0]).await;
    env.request_withdrawal(&alice, 0, shares).await.unwrap();
    env.warp_by(90 * DAY).await;
    env.withdraw(&alice, 0).await.unwrap();
    assert!(env.now().await < hostile.sales_open_at);
}

/// 2, found in review, the same class for `withdraw`: cover that ended at
/// midnight still counts toward the required capital while a depeg published
/// before midnight may yet be reported, so a staker cannot leave the pool
/// short of a late report's liability.
#[tokio::test]
async fn audit_2_a_withdrawal_just_after_midnight_keeps_capital_for_a_late_report() {
    let (mut env, _, bob) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    // bob (the senior 40 000) asks to leave; a buyer covers 70 000 until the
    // midnight after bob's cooldown ends
    let shares = env.balance(&bob.shares[1]).await;
    env.request_withdrawal(&bob, 1, shares).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    let p = env.buy_cover(&buyer, &m, 70_000 * ONE, 8, u64::MAX).await.unwrap();
    let end = env.policy(&p).await.unwrap().end_time;
    let request = env.request(&bob, 1).await.unwrap();
    assert!(request.requested_at + 7 * DAY < end && end + 60 < request.requested_at + 9 * DAY);
    // the keepers' last report was a healthy price before midnight
    env.observe_at(&m, USD, 10_000, end - 100).await.unwrap();
    env.warp_to(end + 10).await;
    let before = env.snapshot(&[bob.collateral, m]).await;
    // leaving 60 000 behind 70 000 of cover a late report could still find in force
    assert_err(env.withdraw(&bob, 1).await, ErrorCode::RequiredCapitalBreached);
    assert_eq!(env.snapshot(&[bob.collateral, m]).await, before);
    // once a price published after midnight is reported, that cover is gone for good
    env.observe_at(&m, USD, 10_000, end + 20).await.unwrap();
    env.withdraw(&bob, 1).await.unwrap();
    assert_eq!(
        env.balance(&bob.collateral).await,
        40_000 * ONE - coverage_core::shares::DEAD_SHARES
    );
}
