//! Cover sales: pricing, capacity, premium streaming, policies (PROTOCOL.md 3.2, 3.3).

use anchor_lang::prelude::Pubkey;
use coverage_core::shares::DEAD_SHARES;
use coverage_pool::error::ErrorCode;
use coverage_pool::state::PolicyStatus;
use coverage_pool_tests::*;
use coverage_sdk::ix;
use solana_signer::Signer;

const USD: i64 = 100_000_000;

/// A pool with 600k junior (alice) and 400k senior (bob), a USDC market with
/// 100 % allocation (capacity 1M), a buyer with 100k.
async fn cover_env() -> (TestEnv, Pubkey, Staker, Staker, Staker) {
    let mut env = TestEnv::new().await;
    let market = env.create_market(market_args()).await.unwrap();
    let alice = env.new_staker(600_000 * ONE).await;
    let bob = env.new_staker(400_000 * ONE).await;
    env.deposit(&alice, 0, 600_000 * ONE, 0).await.unwrap();
    env.deposit(&bob, 1, 400_000 * ONE, 0).await.unwrap();
    let buyer = env.new_staker(100_000 * ONE).await;
    (env, market, alice, bob, buyer)
}

#[tokio::test]
async fn buy_cover_charges_the_quote_and_books_the_policy() {
    let (mut env, m, _, _, buyer) = cover_env().await;
    let quote = env.quote(&m, 100_000 * ONE, 30).await.unwrap();
    // 10 % utilization: average rate 2 % + 8 % × 0.0625 = 2.5 % a year, for 30 days
    assert_eq!(quote, 205_479_453);
    let now = env.now().await;
    let vault_before = env.vault_balance().await;
    let policy = env.buy_cover(&buyer, &m, 100_000 * ONE, 30, quote).await.unwrap();
    let p = env.policy(&policy).await.unwrap();
    assert_eq!(
        (p.owner, p.market, p.amount, p.premium, p.status),
        (buyer.key(), m, 100_000 * ONE, quote, PolicyStatus::Active)
    );
    let days = coverage_core::policy::day_of(p.end_time) - coverage_core::policy::day_of(p.activation_time);
    assert_eq!(days, 30, "the term in days is the end's day minus the activation's");
    assert_eq!(p.activation_time, (now + 120 + 59) / 60 * 60);
    assert_eq!(p.end_time, (p.activation_time / DAY + 30) * DAY);
    assert_eq!(env.vault_balance().await, vault_before + quote);
    let pool = env.pool().await;
    let fee = quote / 10;
    assert_eq!(pool.fees_owed, fee);
    assert_eq!(env.ledger().await.unearned_total, quote - fee);
    // no jump at purchase: share prices unchanged
    assert_eq!(pool.capital().unwrap(), 1_000_000 * ONE);
    assert_eq!(env.book(&m).await.active_cover, 100_000 * ONE);
    let (vault, books) = env.books().await;
    assert_eq!(vault, books);
}

#[tokio::test]
async fn premium_streams_linearly_and_a_late_staker_earns_only_from_then_on() {
    let (mut env, m, alice, bob, buyer) = cover_env().await;
    let carol = env.new_staker(600_000 * ONE).await;
    let policy = env.buy_cover(&buyer, &m, 200_000 * ONE, 20, u64::MAX).await.unwrap();
    let p = env.policy(&policy).await.unwrap();
    let net = p.premium - p.premium / 10;

    // halfway through, carol joins the junior tranche with as much as alice
    env.warp_to((p.purchased_at + p.end_time) / 2).await;
    env.deposit(&carol, 0, 600_000 * ONE, 0).await.unwrap();
    let alice_shares = env.balance(&alice.shares[0]).await;
    let carol_shares = env.balance(&carol.shares[0]).await;
    let alice_mid = env.share_value(0, alice_shares).await;
    assert!(alice_mid > 600_000 * ONE - DEAD_SHARES, "alice has earned already");
    assert!(alice_mid < 600_000 * ONE + net, "but not all of it yet");
    assert!(carol_shares < alice_shares, "carol paid the higher share price");

    // after the end, every unit of the net premium is earned, exactly
    env.warp_to(p.end_time + DAY).await;
    env.request_withdrawal(&carol, 0, 1).await.unwrap(); // any accruing instruction
    let pool = env.pool().await;
    assert_eq!(pool.capital().unwrap(), 1_600_000 * ONE + net);
    assert_eq!(env.ledger().await.unearned_total, 0);
    let alice_gain = env.share_value(0, alice_shares).await - (600_000 * ONE - DEAD_SHARES);
    let carol_gain = env.share_value(0, carol_shares).await + 1 - 600_000 * ONE;
    let bob_shares = env.balance(&bob.shares[1]).await;
    let bob_gain = env.share_value(1, bob_shares).await - (400_000 * ONE - DEAD_SHARES);
    assert!(
        carol_gain < alice_gain / 2,
        "carol earned only the second half, shared: {carol_gain} vs {alice_gain}"
    );
    // junior earns 70 %, senior 30 % (dead shares and rounding aside)
    let junior = pool.tranches[0].assets - 1_200_000 * ONE;
    let senior = pool.tranches[1].assets - 400_000 * ONE;
    assert_eq!(junior + senior, net);
    // each accrual rounds the senior part down, the junior takes the dust
    assert!(senior <= net * 3_000 / 10_000 && senior + 5 >= net * 3_000 / 10_000);
    assert!(bob_gain <= senior);
    let (vault, books) = env.books().await;
    assert_eq!(vault, books);

    // the authority collects the fees; vault still equals the books
    let auth = env.authority.insecure_clone();
    let treasury = env.treasury;
    let ix = ix::collect_fees(&auth.pubkey(), &env.keys, &treasury);
    env.send(std::slice::from_ref(&ix), &[&auth]).await.unwrap();
    assert_eq!(env.balance(&treasury).await, p.premium / 10);
    assert_err(env.send(&[ix], &[&auth]).await, ErrorCode::NoFeesOwed);
    let (vault, books) = env.books().await;
    assert_eq!(vault, books);
}

#[tokio::test]
async fn sales_stop_exactly_at_capacity() {
    let (mut env, m, _, _, buyer) = cover_env().await;
    env.buy_cover(&buyer, &m, 700_000 * ONE, 7, u64::MAX).await.unwrap();
    let before = env.snapshot(&[buyer.collateral]).await;
    assert_err(
        env.buy_cover(&buyer, &m, 300_000 * ONE + 1, 7, u64::MAX).await,
        ErrorCode::CapacityExceeded,
    );
    assert_eq!(env.snapshot(&[buyer.collateral]).await, before);
    env.buy_cover(&buyer, &m, 300_000 * ONE, 7, u64::MAX).await.unwrap();
    assert_eq!(env.book(&m).await.active_cover, 1_000_000 * ONE);
    assert_err(
        env.buy_cover(&buyer, &m, ONE, 7, u64::MAX).await,
        ErrorCode::CapacityExceeded,
    );
    // expired cover stops counting, without anyone walking the policies
    env.warp_by(9 * DAY).await;
    env.buy_cover(&buyer, &m, 1_000_000 * ONE - 60_000 * ONE, 7, u64::MAX)
        .await
        .unwrap();
}

#[tokio::test]
async fn two_markets_reuse_capital_up_to_max_leverage_and_withdrawals_keep_required_capital() {
    let (mut env, usdc, alice, _, buyer) = cover_env().await;
    let usdt = env.create_market(market_args()).await.unwrap();
    // 2x leverage: each market sells the whole capital
    env.buy_cover(&buyer, &usdc, 600_000 * ONE, 30, u64::MAX).await.unwrap();
    env.buy_cover(&buyer, &usdt, 1_000_000 * ONE, 30, u64::MAX)
        .await
        .unwrap();
    assert_err(
        env.buy_cover(&buyer, &usdt, ONE, 30, u64::MAX).await,
        ErrorCode::CapacityExceeded,
    );
    // required capital = max(1M, 1.6M / 2) = 1M: capital is 1M (+ earned premium)
    env.request_withdrawal(&alice, 0, 100_000 * ONE).await.unwrap();
    env.warp_by(7 * DAY).await;
    let before = env.snapshot(&[alice.collateral]).await;
    assert_err(env.withdraw(&alice, 0).await, ErrorCode::RequiredCapitalBreached);
    assert_eq!(env.snapshot(&[alice.collateral]).await, before);
    // a smaller withdrawal, within the premium earned so far, passes
    env.cancel_withdrawal(&alice, 0).await.unwrap();
    env.request_withdrawal(&alice, 0, 1).await.unwrap(); // accrues
    env.cancel_withdrawal(&alice, 0).await.unwrap();
    let earned = env.pool().await.capital().unwrap() - 1_000_000 * ONE;
    assert!(earned > 2, "premium earned over 7 days");
    env.request_withdrawal(&alice, 0, earned / 2).await.unwrap();
    env.warp_by(7 * DAY).await;
    env.withdraw(&alice, 0).await.unwrap();
    // the remaining accounts must be the pool's books, in order
    env.request_withdrawal(&alice, 0, ONE).await.unwrap();
    env.warp_by(7 * DAY).await;
    let req = env.request_address(&alice, 0);
    let prices = env.healthy_prices().await;
    // the two markets' books swapped
    let mut bad = ix::withdraw(&alice.key(), &env.keys, 0, &req, &alice.collateral, &prices);
    let n = bad.accounts.len();
    bad.accounts.swap(n - 2, n - 5);
    assert_err(env.send(&[bad], &[&alice.kp]).await, ErrorCode::WrongMarketBooks);
    // the two markets swapped
    let mut bad = ix::withdraw(&alice.key(), &env.keys, 0, &req, &alice.collateral, &prices);
    bad.accounts.swap(n - 3, n - 6);
    assert_err(env.send(&[bad], &[&alice.kp]).await, ErrorCode::WrongMarketBooks);
    // one market missing
    let short = ix::withdraw(&alice.key(), &env.keys, 0, &req, &alice.collateral, &prices[..1]);
    assert_err(env.send(&[short], &[&alice.kp]).await, ErrorCode::WrongMarketBooks);
    env.withdraw(&alice, 0).await.unwrap();
}

#[tokio::test]
async fn sales_are_refused_during_a_streak_with_a_depegged_price_when_paused_or_out_of_bounds() {
    let (mut env, m, _, _, buyer) = cover_env().await;
    let watched = [buyer.collateral];
    let before = env.snapshot(&watched).await;
    let now = env.now().await;

    // a fresh price whose price − conf is below the strike
    let depegged = env.price_at(96_000_000, 2_000_000, now).await;
    assert_err(
        env.buy_cover_with_price(&buyer, &m, 1_000 * ONE, 30, u64::MAX, &depegged)
            .await,
        ErrorCode::PriceBelowStrike,
    );
    // a stale price, and one older than what the keepers reported
    let stale = env.price_at(USD, 0, now - 61).await;
    assert_err(
        env.buy_cover_with_price(&buyer, &m, 1_000 * ONE, 30, u64::MAX, &stale)
            .await,
        ErrorCode::StalePrice,
    );
    // bounds
    assert_err(
        env.buy_cover(&buyer, &m, 1_000 * ONE, 0, u64::MAX).await,
        ErrorCode::InvalidCoverTerm,
    );
    assert_err(
        env.buy_cover(&buyer, &m, 1_000 * ONE, 366, u64::MAX).await,
        ErrorCode::InvalidCoverTerm,
    );
    assert_err(
        env.buy_cover(&buyer, &m, ONE - 1, 30, u64::MAX).await,
        ErrorCode::InvalidCoverAmount,
    );
    let quote = env.quote(&m, 1_000 * ONE, 30).await.unwrap();
    assert_err(
        env.buy_cover(&buyer, &m, 1_000 * ONE, 30, quote - 1).await,
        ErrorCode::PremiumAboveMax,
    );
    // paused pool, paused market
    env.set_pool_paused(true).await.unwrap();
    assert_err(
        env.buy_cover(&buyer, &m, 1_000 * ONE, 30, u64::MAX).await,
        ErrorCode::PoolPaused,
    );
    env.set_pool_paused(false).await.unwrap();
    env.set_market_paused(&m, true).await.unwrap();
    assert_err(
        env.buy_cover(&buyer, &m, 1_000 * ONE, 30, u64::MAX).await,
        ErrorCode::MarketPaused,
    );
    env.set_market_paused(&m, false).await.unwrap();
    // an open streak
    env.observe_at(&m, 94_000_000, 0, now + 10).await.unwrap();
    assert_err(
        env.buy_cover(&buyer, &m, 1_000 * ONE, 30, u64::MAX).await,
        ErrorCode::SalesStoppedStreakOpen,
    );
    assert_eq!(env.snapshot(&watched).await[3..], before[3..]);
    // it closes on recovery, and sales resume
    env.observe_at(&m, USD, 0, now + 20).await.unwrap();
    env.buy_cover(&buyer, &m, 1_000 * ONE, 30, quote).await.unwrap();
}

#[tokio::test]
async fn policies_transfer_and_close_with_rent_to_their_owner() {
    let (mut env, m, _, _, buyer) = cover_env().await;
    let heir = env.new_staker(0).await;
    let mallory = env.new_staker(0).await;
    let policy = env.buy_cover(&buyer, &m, 1_000 * ONE, 2, u64::MAX).await.unwrap();

    // nobody else can redirect it
    let ix = ix::transfer_policy(&mallory.key(), &policy, &mallory.key());
    assert_err(env.send(&[ix], &[&mallory.kp]).await, ErrorCode::NotPolicyOwner);
    let ix = ix::transfer_policy(&buyer.key(), &policy, &heir.key());
    env.send(&[ix], &[&buyer.kp]).await.unwrap();
    assert_eq!(env.policy(&policy).await.unwrap().owner, heir.key());

    // not closable before its end
    let ix = ix::close_policy(&heir.key(), &policy, &m);
    assert_err(env.send(&[ix], &[]).await, ErrorCode::PolicyNotClosable);
    let end = env.policy(&policy).await.unwrap().end_time;
    // ended, but a depeg published just before the end may still be reported for max_price_age
    env.warp_to(end).await;
    let ix = ix::close_policy(&heir.key(), &policy, &m);
    assert_err(env.send(&[ix], &[]).await, ErrorCode::PolicyNotClosable);
    env.warp_to(end + 59).await;
    let ix = ix::close_policy(&heir.key(), &policy, &m);
    assert_err(env.send(&[ix], &[]).await, ErrorCode::PolicyNotClosable);
    env.warp_to(end + 60).await;
    // anyone may close it, but the rent goes to the owner only
    let ix = ix::close_policy(&mallory.key(), &policy, &m);
    assert_err(env.send(&[ix], &[]).await, ErrorCode::NotPolicyOwner);
    let rent = env
        .ctx
        .banks_client
        .get_account(policy)
        .await
        .unwrap()
        .unwrap()
        .lamports;
    let heir_before = env.ctx.banks_client.get_balance(heir.key()).await.unwrap();
    let ix = ix::close_policy(&heir.key(), &policy, &m);
    env.send(&[ix], &[]).await.unwrap();
    assert!(env.policy(&policy).await.is_none());
    assert_eq!(
        env.ctx.banks_client.get_balance(heir.key()).await.unwrap(),
        heir_before + rent
    );
}

/// The sizes the README quotes, measured on real accounts in the bank:
/// `cargo test -p coverage-pool-tests --test bank account_sizes -- --nocapture`
#[tokio::test]
async fn account_sizes_are_as_documented() {
    let (mut env, m, alice, _, buyer) = cover_env().await;
    let policy = env.buy_cover(&buyer, &m, 1_000 * ONE, 30, u64::MAX).await.unwrap();
    env.request_withdrawal(&alice, 0, ONE).await.unwrap();
    let request = env.request_address(&alice, 0);
    let mut sizes = Vec::new();
    for (name, address) in [
        ("Pool", env.keys.pool),
        ("Market", m),
        ("CoverBook", coverage_sdk::pda::book(&m).0),
        ("PremiumLedger", env.keys.ledger()),
        ("Policy", policy),
        ("WithdrawalRequest", request),
    ] {
        let acc = env.ctx.banks_client.get_account(address).await.unwrap().unwrap();
        println!("{name}: {} bytes, rent {} lamports", acc.data.len(), acc.lamports);
        sizes.push(acc.data.len());
    }
    assert_eq!(sizes, vec![SIZES[0], SIZES[1], SIZES[2], SIZES[3], SIZES[4], SIZES[5]]);
}

/// Pool, Market, CoverBook, PremiumLedger, Policy, WithdrawalRequest (bytes, discriminator included).
const SIZES: [usize; 6] = [1_085, 929, 6_360, 3_272, 135, 163];
