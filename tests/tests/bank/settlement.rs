//! Settlement: reserves, loss waterfall, equal haircut, batch payouts (PROTOCOL.md 3.5).

use anchor_lang::prelude::Pubkey;
use coverage_pool::constants::MAX_SETTLE_BATCH;
use coverage_pool::error::ErrorCode;
use coverage_pool::instructions::CreateMarketArgs;
use coverage_pool::state::{MarketStatus, PayoutShape, PolicyStatus};
use coverage_pool_tests::*;
use coverage_sdk::{ix, pda};
use solana_signer::Signer;

const USD: i64 = 100_000_000;

async fn assert_books(env: &mut TestEnv) {
    let (vault, books) = env.books().await;
    assert_eq!(vault, books, "vault balance equals the books to the unit");
}

#[tokio::test]
async fn junior_absorbs_a_loss_before_senior_loses_a_unit() {
    let (mut env, _, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    let policy = env.buy_cover(&buyer, &m, 50_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_by(600).await;
    let before = env.pool().await;
    env.trigger(&m, 90 * USD / 100).await;
    let after = env.pool().await;
    let mk = env.market(&m).await;
    assert_eq!(
        (
            mk.settlement.eligible_cover,
            mk.settlement.liability,
            mk.settlement.reserve
        ),
        (50_000 * ONE, 50_000 * ONE, 50_000 * ONE)
    );
    // the junior tranche paid it all (it had 60k plus earned premium); the senior nothing
    assert_eq!(mk.settlement.taken[1], 0);
    assert!(
        after.tranches[1].assets >= before.tranches[1].assets,
        "senior untouched"
    );
    assert!(after.tranches[0].assets < before.tranches[0].assets - 49_000 * ONE);
    assert_eq!(after.reserves_total, 50_000 * ONE);
    assert_books(&mut env).await;

    env.settle(&m, &[(policy, buyer.collateral)]).await.unwrap();
    let p = env.policy(&policy).await.unwrap();
    assert_eq!((p.status, p.payout), (PolicyStatus::Settled, 50_000 * ONE));
    assert_books(&mut env).await;
}

#[tokio::test]
async fn a_bigger_loss_wipes_junior_then_reaches_senior() {
    let (mut env, alice, bob) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    env.buy_cover(&buyer, &m, 90_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_by(600).await;
    env.trigger(&m, 90 * USD / 100).await;
    let pool = env.pool().await;
    assert_eq!(pool.tranches[0].assets, 0, "junior wiped");
    let mk = env.market(&m).await;
    assert_eq!(mk.settlement.taken[0] + mk.settlement.taken[1], 90_000 * ONE);
    assert!(pool.tranches[1].assets < 40_000 * ONE);
    // the junior's shares are worth nothing; the senior's lost the rest
    let alice_shares = env.balance(&alice.shares[0]).await;
    assert_eq!(env.share_value(0, alice_shares).await, 0);
    let bob_shares = env.balance(&bob.shares[1]).await;
    assert!(env.share_value(1, bob_shares).await < 10_500 * ONE);
    // no deposit while the reserve waits to be released; then a wiped-out tranche takes no new money
    let carol = env.new_staker(1_000 * ONE).await;
    assert_err(
        env.deposit(&carol, 0, 1_000 * ONE, 0).await,
        ErrorCode::ReservePendingRelease,
    );
    let policy = pda::policy(&m, 0).0;
    env.settle(&m, &[(policy, buyer.collateral)]).await.unwrap();
    env.release(&m).await.unwrap();
    assert_err(env.deposit(&carol, 0, 1_000 * ONE, 0).await, ErrorCode::TrancheWipedOut);
    env.deposit(&carol, 1, 1_000 * ONE, 0).await.unwrap();
    assert_books(&mut env).await;
}

/// Two markets trigger together (USDC and USDT in one crisis); the second
/// reserves only what the first left: its buyers share a haircut.
async fn shortfall(order: &[usize]) -> Vec<u64> {
    let (mut env, _, _) = small_pool().await;
    let a = env.create_market(market_args()).await.unwrap();
    let b = env.create_market(market_args()).await.unwrap();
    let whale = env.new_staker(10_000 * ONE).await;
    env.buy_cover(&whale, &a, 80_000 * ONE, 30, u64::MAX).await.unwrap();
    let mut buyers = Vec::new();
    let mut policies = Vec::new();
    for amount in [30_000, 30_000, 20_000] {
        let buyer = env.new_staker(10_000 * ONE).await;
        policies.push(env.buy_cover(&buyer, &b, amount * ONE, 30, u64::MAX).await.unwrap());
        buyers.push(buyer);
    }
    env.warp_by(600).await;
    env.trigger(&a, 90 * USD / 100).await;
    env.trigger(&b, 90 * USD / 100).await;
    let sb = env.market(&b).await.settlement;
    assert_eq!(sb.liability, 80_000 * ONE);
    assert!(
        sb.reserve < sb.liability / 3,
        "capital is short: reserve {} for {}",
        sb.reserve,
        sb.liability
    );
    assert_eq!(env.pool().await.capital().unwrap(), 0);
    for &i in order {
        env.settle(&b, &[(policies[i], buyers[i].collateral)]).await.unwrap();
    }
    let mut paid = Vec::new();
    for p in &policies {
        paid.push(env.policy(p).await.unwrap().payout);
    }
    // every policy got the same fraction, rounded down
    for (i, amount) in [30_000u64, 30_000, 20_000].iter().enumerate() {
        let expected = coverage_core::settlement::policy_payout(
            amount * ONE,
            coverage_core::settlement::Fraction::ONE,
            sb.reserve,
            sb.liability,
        )
        .unwrap();
        assert_eq!(paid[i], expected);
    }
    let sb = env.market(&b).await.settlement;
    assert!(sb.paid <= sb.reserve);
    assert_books(&mut env).await;
    paid
}

#[tokio::test]
async fn a_shortfall_pays_everyone_the_same_fraction_in_any_order() {
    let forward = shortfall(&[0, 1, 2]).await;
    let backward = shortfall(&[2, 1, 0]).await;
    assert_eq!(forward, backward);
}

#[tokio::test]
async fn a_staker_who_requested_withdrawal_when_the_streak_opened_still_takes_the_loss() {
    let (mut env, alice, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    env.buy_cover(&buyer, &m, 30_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_by(600).await;
    let t0 = env.now().await;
    env.observe_at(&m, 90 * USD / 100, 0, t0).await.unwrap();
    // alice asks to leave the moment the depeg starts
    let shares = env.balance(&alice.shares[0]).await;
    env.request_withdrawal(&alice, 0, shares).await.unwrap();
    let value_at_request = env.request(&alice, 0).await.unwrap().value_at_request;
    // nobody redeems while the streak is open, even after the cooldown
    env.warp_to(t0 + 7 * DAY).await;
    env.observe_at(&m, 90 * USD / 100, 0, t0 + 7 * DAY).await.ok();
    // (the gap dropped and reopened the streak; keep it alive and trigger)
    let now = env.now().await;
    env.observe_at(&m, 90 * USD / 100, 0, now + 3_600).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Triggered);
    env.withdraw(&alice, 0).await.unwrap();
    let got = env.balance(&alice.collateral).await;
    assert!(
        got < value_at_request - 29_000 * ONE,
        "alice bore the claim: got {got}, value at request {value_at_request}"
    );
    assert_books(&mut env).await;
}

#[tokio::test]
async fn nobody_redeems_while_a_streak_is_open() {
    let (mut env, alice, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    env.request_withdrawal(&alice, 0, ONE).await.unwrap();
    env.warp_by(7 * DAY).await;
    let now = env.now().await;
    env.observe_at(&m, 90 * USD / 100, 0, now).await.unwrap();
    assert_err(env.withdraw(&alice, 0).await, ErrorCode::StreakOpenInPool);
    env.observe_at(&m, USD, 0, now + 60).await.unwrap();
    env.withdraw(&alice, 0).await.unwrap();
}

#[tokio::test]
async fn a_policy_bought_during_the_activation_delay_before_the_streak_is_not_paid() {
    let (mut env, _, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let early = env.new_staker(10_000 * ONE).await;
    let late = env.new_staker(10_000 * ONE).await;
    let p_early = env.buy_cover(&early, &m, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_by(600).await;
    // bought 30 s before the depeg is first seen: activation is 2+ minutes away
    let p_late = env.buy_cover(&late, &m, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    let t = env.now().await;
    env.observe_at(&m, 90 * USD / 100, 0, t + 30).await.unwrap();
    env.observe_at(&m, 90 * USD / 100, 0, t + 30 + 3_600).await.unwrap();
    let s = env.market(&m).await.settlement;
    assert_eq!(
        s.eligible_cover,
        10_000 * ONE,
        "the late policy is left out of the liability"
    );
    env.settle(&m, &[(p_early, early.collateral), (p_late, late.collateral)])
        .await
        .unwrap();
    let (pe, pl) = (env.policy(&p_early).await.unwrap(), env.policy(&p_late).await.unwrap());
    assert_eq!(
        (pe.payout, pl.payout, pl.status),
        (10_000 * ONE, 0, PolicyStatus::Settled)
    );
    // all eligible cover settled: the reserve can go back
    env.release(&m).await.unwrap();
    assert_books(&mut env).await;
}

#[tokio::test]
async fn settlement_batches_are_validated_whole_and_never_pay_twice() {
    let (mut env, _, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let other = env.create_market(market_args()).await.unwrap();
    let a = env.new_staker(10_000 * ONE).await;
    let b = env.new_staker(10_000 * ONE).await;
    let pa = env.buy_cover(&a, &m, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    let pb = env.buy_cover(&b, &m, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    let po = env.buy_cover(&b, &other, 10_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_by(600).await;
    // not triggered yet
    assert_err(
        env.settle(&m, &[(pa, a.collateral)]).await,
        ErrorCode::MarketNotTriggered,
    );
    env.trigger(&m, 90 * USD / 100).await;
    let watched = [a.collateral, b.collateral, pa, pb];
    let before = env.snapshot(&watched).await;

    // one bad entry fails the whole batch
    assert_err(
        env.settle(&m, &[(pa, a.collateral), (pb, a.collateral)]).await,
        ErrorCode::WrongTokenOwner,
    );
    assert_err(
        env.settle(&m, &[(pa, a.collateral), (pa, a.collateral)]).await,
        ErrorCode::PolicySettled,
    );
    assert_err(
        env.settle(&m, &[(pa, a.collateral), (po, b.collateral)]).await,
        ErrorCode::WrongMarket,
    );
    let foreign = env.new_collateral_account(&a.key()).await;
    let wrong_mint = a.shares[0]; // a token account a owns, of another mint
    assert_err(env.settle(&m, &[(pa, wrong_mint)]).await, ErrorCode::WrongMint);
    assert_err(
        env.settle(&m, &[(m, a.collateral)]).await,
        ErrorCode::InvalidPolicyAccount,
    );
    assert_err(env.settle(&m, &[]).await, ErrorCode::MalformedBatch);
    let too_many: Vec<(Pubkey, Pubkey)> = (0..=MAX_SETTLE_BATCH).map(|_| (pa, a.collateral)).collect();
    assert_err(env.settle(&m, &too_many).await, ErrorCode::MalformedBatch);
    let mut odd = ix::settle_policies(&env.keys, &m, &[(pa, a.collateral)]);
    odd.accounts.pop();
    assert_err(env.send(&[odd], &[]).await, ErrorCode::MalformedBatch);
    assert_eq!(env.snapshot(&watched).await, before, "nothing moved");
    // claims outstanding: no release yet
    assert_err(env.release(&m).await, ErrorCode::ClaimsOutstanding);

    // any token account the owner owns works (not only the one that paid)
    env.settle(&m, &[(pa, foreign), (pb, b.collateral)]).await.unwrap();
    assert_eq!(env.balance(&foreign).await, 10_000 * ONE);
    assert_err(env.settle(&m, &[(pa, foreign)]).await, ErrorCode::PolicySettled);

    // release, then the market can start a new epoch; old policies close for rent
    env.release(&m).await.unwrap();
    assert_err(env.release(&m).await, ErrorCode::ReserveReleased);
    assert_err(env.settle(&m, &[(pa, foreign)]).await, ErrorCode::ReserveReleased);
    let auth = env.authority.insecure_clone();
    let reopen = ix::reopen_market(&auth.pubkey(), &env.keys.pool, &m);
    env.send(&[reopen], &[&auth]).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!((mk.status, mk.epoch), (MarketStatus::Active, 1));
    let close = ix::close_policy(&a.key(), &pa, &m);
    env.send(&[close], &[]).await.unwrap();
    env.buy_cover(&a, &m, 1_000 * ONE, 30, u64::MAX).await.unwrap();
    assert_books(&mut env).await;
}

#[tokio::test]
async fn linear_payout_pays_the_fraction_at_the_lowest_price() {
    let (mut env, _, _) = small_pool().await;
    let args = CreateMarketArgs {
        payout: PayoutShape::Linear {
            floor_price: 80 * USD as u64 / 100,
        },
        ..market_args()
    };
    let m = env.create_market(args).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    let p = env.buy_cover(&buyer, &m, 30_000 * ONE, 30, u64::MAX).await.unwrap();
    env.warp_by(600).await;
    // lowest price + conf 0.90: fraction (0.95 − 0.90) / (0.95 − 0.80) = 1/3
    env.trigger(&m, 90 * USD / 100).await;
    env.settle(&m, &[(p, buyer.collateral)]).await.unwrap();
    assert_eq!(env.policy(&p).await.unwrap().payout, 10_000 * ONE);
    env.release(&m).await.unwrap();
    assert_books(&mut env).await;
}

/// The real USDC series of March 2023 through the bank: a 1-hour 0.95 market
/// triggers, every eligible policy is paid in full, ineligible ones get
/// nothing, and the vault matches the books to the unit.
#[tokio::test]
async fn the_usdc_march_2023_replay_triggers_and_pays_every_eligible_policy() {
    let mut env = TestEnv::new().await;
    let rows = svb_rows();
    // the bank starts on 2023-03-01, eight days before the series
    assert!(env.now().await < rows[0].0);
    let m = env.create_market(market_args()).await.unwrap();
    let alice = env.new_staker(700_000 * ONE).await;
    let bob = env.new_staker(300_000 * ONE).await;
    env.deposit(&alice, 0, 700_000 * ONE, 0).await.unwrap();
    env.deposit(&bob, 1, 300_000 * ONE, 0).await.unwrap();
    // three buyers well before the crisis; one whose cover ended before it
    let mut held = Vec::new();
    for (amount, days) in [(200_000u64, 60u16), (150_000, 30), (50_000, 90), (100_000, 5)] {
        let buyer = env.new_staker(50_000 * ONE).await;
        let p = env.buy_cover(&buyer, &m, amount * ONE, days, u64::MAX).await.unwrap();
        held.push((p, buyer.collateral, amount * ONE, days));
    }
    for (t, p, c) in rows {
        let _ = env.observe_at(&m, p, c, t).await;
        if env.market(&m).await.status == MarketStatus::Triggered {
            break;
        }
    }
    let mk = env.market(&m).await;
    assert_eq!(mk.status, MarketStatus::Triggered);
    assert_eq!(
        (mk.event.streak_start, mk.event.trigger_time),
        (1_678_523_400, 1_678_527_000)
    );
    assert_eq!(mk.settlement.eligible_cover, 400_000 * ONE);
    assert_books(&mut env).await;
    let pairs: Vec<(Pubkey, Pubkey)> = held.iter().map(|(p, t, _, _)| (*p, *t)).collect();
    env.settle(&m, &pairs).await.unwrap();
    for (p, token, amount, days) in &held {
        let policy = env.policy(p).await.unwrap();
        let expected = if *days == 5 { 0 } else { *amount };
        assert_eq!(policy.payout, expected);
        assert_eq!(env.balance(token).await, 50_000 * ONE - policy.premium + expected);
    }
    env.release(&m).await.unwrap();
    assert_books(&mut env).await;
    let pool = env.pool().await;
    assert_eq!(pool.payouts_paid, 400_000 * ONE);
    assert_eq!(pool.reserves_total, 0);
}

/// Regression (found by the model-based test): a purchase just after
/// midnight must not drop cover that ended at that midnight while a price
/// published before midnight can still open the streak that triggers.
#[tokio::test]
async fn cover_ending_at_midnight_still_counts_for_a_streak_reported_after_it() {
    let (mut env, _, _) = small_pool().await;
    let m = env.create_market(market_args()).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    let p = env.buy_cover(&buyer, &m, 10_000 * ONE, 1, u64::MAX).await.unwrap();
    let end = env.policy(&p).await.unwrap().end_time;
    // 10 s after midnight someone buys with a price published 5 s before it
    env.warp_to(end + 10).await;
    let price = env.price_at(USD, 10_000, end - 5).await;
    env.buy_cover_with_price(&buyer, &m, ONE, 1, u64::MAX, &price)
        .await
        .unwrap();
    // a keeper then reports a depeg published 3 s before midnight, and it lasts
    env.warp_to(end + 20).await;
    env.observe(&m, &coverage_pool_tests::oracle::test_price(90 * USD / 100, 0, end - 3))
        .await
        .unwrap();
    env.observe_at(&m, 90 * USD / 100, 0, end - 3 + 3_600).await.unwrap();
    let s = env.market(&m).await.settlement;
    assert_eq!(
        s.eligible_cover,
        10_000 * ONE,
        "the policy was in force when the streak began"
    );
    env.settle(&m, &[(p, buyer.collateral)]).await.unwrap();
    assert_eq!(env.policy(&p).await.unwrap().payout, 10_000 * ONE);
    assert_books(&mut env).await;
}
