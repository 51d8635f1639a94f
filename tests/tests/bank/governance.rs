//! Governance (PROTOCOL.md 3.6): two-step authority, queued changes, pause.

use anchor_lang::prelude::Pubkey;
use coverage_pool::error::ErrorCode;
use coverage_pool::state::{MarketStatus, PricingCurve};
use coverage_pool::{MarketParamsChange, PoolParamsChange};
use coverage_pool_tests::*;
use coverage_sdk::ix;
use solana_keypair::Keypair;
use solana_signer::Signer;

const USD: i64 = 100_000_000;

fn fee_change(fee: u16) -> PoolParamsChange {
    PoolParamsChange {
        protocol_fee_bps: fee,
        max_leverage_bps: 20_000,
        cooldown: 7 * DAY as u32,
        withdraw_window: 2 * DAY as u32,
        weights_bps: [7_000, 3_000, 0, 0],
    }
}

#[tokio::test]
async fn authority_moves_in_two_steps_and_the_old_one_loses_its_powers() {
    let mut env = TestEnv::new().await;
    let old = env.authority.insecure_clone();
    let new = Keypair::new();
    let mallory = Keypair::new();
    let pool = env.keys.pool;

    let ix = ix::propose_authority(&mallory.pubkey(), &pool, &mallory.pubkey());
    assert_err(env.send(&[ix], &[&mallory]).await, ErrorCode::Unauthorized);
    assert_err(
        env.send(&[ix::accept_authority(&new.pubkey(), &pool)], &[&new]).await,
        ErrorCode::NoPendingAuthority,
    );
    env.send(&[ix::propose_authority(&old.pubkey(), &pool, &new.pubkey())], &[&old])
        .await
        .unwrap();
    assert_eq!(env.pool().await.pending_authority, new.pubkey());
    assert_err(
        env.send(&[ix::accept_authority(&mallory.pubkey(), &pool)], &[&mallory])
            .await,
        ErrorCode::NotPendingAuthority,
    );
    env.send(&[ix::accept_authority(&new.pubkey(), &pool)], &[&new])
        .await
        .unwrap();
    let p = env.pool().await;
    assert_eq!((p.authority, p.pending_authority), (new.pubkey(), Pubkey::default()));
    // the old authority can no longer act
    assert_err(env.create_market(market_args()).await, ErrorCode::Unauthorized);
    env.authority = new;
    env.create_market(market_args()).await.unwrap();
}

#[tokio::test]
async fn a_multisig_pda_can_be_the_authority_from_the_start() {
    let mut env = TestEnv::without_pool(anchor_spl::token::ID).await;
    // e.g. a Squads vault: an off-curve program address, no private key
    let (vault, _) = Pubkey::find_program_address(&[b"multisig", b"vault"], &Pubkey::new_unique());
    assert!(!vault.is_on_curve());
    env.initialize_pool(PoolConfig::default().args(1, vault)).await.unwrap();
    assert_eq!(env.pool().await.authority, vault);
}

#[tokio::test]
async fn a_queued_fee_change_waits_long_enough_for_a_staker_to_leave_first() {
    let mut env = TestEnv::new().await;
    let auth = env.authority.insecure_clone();
    let pool = env.keys.pool;
    let alice = env.new_staker(1_000 * ONE).await;
    env.deposit(&alice, 0, 1_000 * ONE, 0).await.unwrap();

    // bounds are checked when queued; only the authority queues
    assert_err(
        env.send(
            &[ix::queue_pool_params(&auth.pubkey(), &pool, fee_change(2_001))],
            &[&auth],
        )
        .await,
        ErrorCode::InvalidProtocolFee,
    );
    let mallory = Keypair::new();
    assert_err(
        env.send(
            &[ix::queue_pool_params(&mallory.pubkey(), &pool, fee_change(1_500))],
            &[&mallory],
        )
        .await,
        ErrorCode::Unauthorized,
    );
    let mut bad = fee_change(1_500);
    bad.weights_bps = [5_000, 3_000, 2_000, 0];
    assert_err(
        env.send(&[ix::queue_pool_params(&auth.pubkey(), &pool, bad)], &[&auth])
            .await,
        ErrorCode::InvalidTrancheCount,
    );

    env.send(
        &[ix::queue_pool_params(&auth.pubkey(), &pool, fee_change(1_500))],
        &[&auth],
    )
    .await
    .unwrap();
    let queued_at = env.now().await;
    let p = env.pool().await;
    assert_eq!(p.pending_change.protocol_fee_bps, 1_500, "visible on-chain");
    assert_eq!(p.pending_change_eta, queued_at + 7 * DAY + 2 * DAY + DAY);
    assert_err(
        env.send(
            &[ix::queue_pool_params(&auth.pubkey(), &pool, fee_change(1_200))],
            &[&auth],
        )
        .await,
        ErrorCode::ChangeAlreadyQueued,
    );

    // alice disagrees and leaves before it applies
    env.request_withdrawal(&alice, 0, 1_000 * ONE - 1_000).await.unwrap();
    env.warp_by(7 * DAY).await;
    assert_err(
        env.send(&[ix::apply_pool_params(&pool)], &[]).await,
        ErrorCode::ChangeNotReady,
    );
    env.withdraw(&alice, 0).await.unwrap();
    assert_eq!(env.balance(&alice.collateral).await, 1_000 * ONE - 1_000);

    // due: anyone applies it
    env.warp_to(queued_at + 10 * DAY).await;
    env.send(&[ix::apply_pool_params(&pool)], &[]).await.unwrap();
    let p = env.pool().await;
    assert_eq!((p.protocol_fee_bps, p.pending_change_eta), (1_500, 0));
    assert_err(
        env.send(&[ix::apply_pool_params(&pool)], &[]).await,
        ErrorCode::NoPendingChange,
    );

    // cancelled changes never apply
    env.send(
        &[ix::queue_pool_params(&auth.pubkey(), &pool, fee_change(500))],
        &[&auth],
    )
    .await
    .unwrap();
    env.send(&[ix::cancel_pool_params(&auth.pubkey(), &pool)], &[&auth])
        .await
        .unwrap();
    env.warp_by(11 * DAY).await;
    assert_err(
        env.send(&[ix::apply_pool_params(&pool)], &[]).await,
        ErrorCode::NoPendingChange,
    );
    assert_eq!(env.pool().await.protocol_fee_bps, 1_500);
}

#[tokio::test]
async fn lowering_leverage_below_the_allocations_is_refused_at_apply() {
    let mut env = TestEnv::new().await;
    let auth = env.authority.insecure_clone();
    let pool = env.keys.pool;
    env.create_market(market_args()).await.unwrap();
    env.create_market(market_args()).await.unwrap();
    let mut change = fee_change(1_000);
    change.max_leverage_bps = 10_000;
    env.send(&[ix::queue_pool_params(&auth.pubkey(), &pool, change)], &[&auth])
        .await
        .unwrap();
    env.warp_by(10 * DAY).await;
    assert_err(
        env.send(&[ix::apply_pool_params(&pool)], &[]).await,
        ErrorCode::InvalidAllocation,
    );
}

#[tokio::test]
async fn a_market_price_curve_change_is_queued_and_trigger_terms_cannot_change() {
    let mut env = TestEnv::new().await;
    let auth = env.authority.insecure_clone();
    let pool = env.keys.pool;
    let m = env.create_market(market_args()).await.unwrap();
    let staker = env.new_staker(100_000 * ONE).await;
    env.deposit(&staker, 0, 100_000 * ONE, 0).await.unwrap();
    let before = env.quote(&m, 1_000 * ONE, 30).await.unwrap();
    let change = MarketParamsChange {
        curve: PricingCurve {
            base_rate_bps: 400,
            slope_below_kink_bps: 800,
            slope_above_kink_bps: 4_000,
            kink_utilization_bps: 8_000,
        },
        allocation_bps: 5_000,
        activation_delay: 300,
    };
    let bad = MarketParamsChange {
        activation_delay: 30,
        ..change
    };
    assert_err(
        env.send(&[ix::queue_market_params(&auth.pubkey(), &pool, &m, bad)], &[&auth])
            .await,
        ErrorCode::InvalidActivationDelay,
    );
    env.send(&[ix::queue_market_params(&auth.pubkey(), &pool, &m, change)], &[&auth])
        .await
        .unwrap();
    assert_eq!(env.market(&m).await.pending_change, Some(change));
    assert_err(
        env.send(&[ix::apply_market_params(&pool, &m)], &[]).await,
        ErrorCode::ChangeNotReady,
    );
    env.warp_by(10 * DAY).await;
    env.send(&[ix::apply_market_params(&pool, &m)], &[]).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!(
        (mk.curve, mk.allocation_bps, mk.activation_delay, mk.pending_change),
        (change.curve, 5_000, 300, None)
    );
    assert_eq!(env.pool().await.total_allocation_bps, 5_000);
    assert!(env.quote(&m, 1_000 * ONE, 30).await.unwrap() > before);
    // the trigger terms are the same as at creation: no instruction changes them
    let args = market_args();
    assert_eq!(
        (mk.strike, mk.recovery, mk.duration, mk.max_gap, mk.feed_id),
        (args.strike, args.recovery, args.duration, args.max_gap, args.feed_id)
    );
    // cancel
    env.send(&[ix::queue_market_params(&auth.pubkey(), &pool, &m, change)], &[&auth])
        .await
        .unwrap();
    env.send(&[ix::cancel_market_params(&auth.pubkey(), &pool, &m)], &[&auth])
        .await
        .unwrap();
    assert_err(
        env.send(&[ix::cancel_market_params(&auth.pubkey(), &pool, &m)], &[&auth])
            .await,
        ErrorCode::NoPendingChange,
    );
}

#[tokio::test]
async fn pause_stops_deposits_and_sales_only() {
    let mut env = TestEnv::new().await;
    let m = env.create_market(market_args()).await.unwrap();
    let alice = env.new_staker(200_000 * ONE).await;
    let buyer = env.new_staker(10_000 * ONE).await;
    env.deposit(&alice, 0, 100_000 * ONE, 0).await.unwrap();
    let policy = env.buy_cover(&buyer, &m, 10_000 * ONE, 1, u64::MAX).await.unwrap();
    let short = env.buy_cover(&buyer, &m, 1_000 * ONE, 1, u64::MAX).await.unwrap();
    env.request_withdrawal(&alice, 0, 1_000 * ONE).await.unwrap();

    let mallory = Keypair::new();
    assert_err(
        env.send(
            &[ix::set_pool_paused(&mallory.pubkey(), &env.keys.pool, true)],
            &[&mallory],
        )
        .await,
        ErrorCode::Unauthorized,
    );
    env.set_pool_paused(true).await.unwrap();
    env.set_market_paused(&m, true).await.unwrap();
    assert_err(env.deposit(&alice, 0, ONE, 0).await, ErrorCode::PoolPaused);
    assert_err(
        env.buy_cover(&buyer, &m, 1_000 * ONE, 30, u64::MAX).await,
        ErrorCode::PoolPaused,
    );

    // never blocked: redemption, trigger checks, settlement, reserve release, policy close
    env.warp_by(7 * DAY).await;
    env.withdraw(&alice, 0).await.unwrap();
    let t = env.now().await;
    env.observe_at(&m, 90 * USD / 100, 0, t).await.unwrap();
    env.observe_at(&m, 90 * USD / 100, 0, t + 3_600).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Triggered);
    // both policies ended days ago (1-day cover): settled with zero, then closed
    env.settle(&m, &[(policy, buyer.collateral), (short, buyer.collateral)])
        .await
        .unwrap();
    env.release(&m).await.unwrap();
    env.send(&[ix::close_policy(&buyer.key(), &policy, &m)], &[])
        .await
        .unwrap();
    assert!(env.policy(&policy).await.is_none());
}
