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

/// Premium is earned as it streams (PROTOCOL.md 3.2): what streamed before a
/// weight change is split with the weights of that time, what streams after
/// with the new ones. `apply_pool_params` earns the premium due first.
#[tokio::test]
async fn a_weight_change_applies_to_premium_earned_after_it() {
    let mut env = TestEnv::new().await;
    let auth = env.authority.insecure_clone();
    let pool = env.keys.pool;
    let m = env.create_market(market_args()).await.unwrap();
    let (junior, senior) = (env.new_staker(100_000 * ONE).await, env.new_staker(100_000 * ONE).await);
    env.deposit(&junior, 0, 100_000 * ONE, 0).await.unwrap();
    env.deposit(&senior, 1, 100_000 * ONE, 0).await.unwrap();
    let buyer = env.new_staker(10_000 * ONE).await;
    env.buy_cover(&buyer, &m, 100_000 * ONE, 60, u64::MAX).await.unwrap();
    let start = env.pool().await.tranches;

    let mut flip = fee_change(1_000);
    flip.weights_bps = [6_000, 4_000, 0, 0];
    env.send(&[ix::queue_pool_params(&auth.pubkey(), &pool, flip)], &[&auth])
        .await
        .unwrap();
    env.warp_by(10 * DAY).await;
    env.send(&[ix::apply_pool_params(&pool)], &[]).await.unwrap();
    // an accrual at the same instant earns nothing more
    env.send(&[ix::accrue_premium(&pool)], &[]).await.unwrap();
    let after = env.pool().await.tranches;
    let (g0, g1) = (after[0].assets - start[0].assets, after[1].assets - start[1].assets);
    assert!(g0 > 0 && g1 > 0);
    // the 10 days before the change went 70 / 30 (up to a unit of rounding)
    assert!(g0.abs_diff(7 * g1 / 3) <= 3, "junior {g0}, senior {g1}");
    assert_eq!(
        (after[0].premium_weight_bps, after[1].premium_weight_bps),
        (6_000, 4_000)
    );

    // the next 10 days go 60 / 40
    env.warp_by(10 * DAY).await;
    env.send(&[ix::accrue_premium(&pool)], &[]).await.unwrap();
    let later = env.pool().await.tranches;
    let (h0, h1) = (later[0].assets - after[0].assets, later[1].assets - after[1].assets);
    assert!(h0.abs_diff(3 * h1 / 2) <= 3, "junior {h0}, senior {h1}");
}

/// Every refusal of the market-change instructions, with its exact error,
/// and a closed market takes no change.
#[tokio::test]
async fn market_changes_refuse_what_they_cannot_do() {
    let mut env = TestEnv::new().await;
    let auth = env.authority.insecure_clone();
    let pool = env.keys.pool;
    let half = || coverage_pool::instructions::CreateMarketArgs {
        allocation_bps: 5_000,
        ..market_args()
    };
    let m = env.create_market(half()).await.unwrap();
    env.create_market(market_args()).await.unwrap();
    env.create_market(half()).await.unwrap();
    let change = MarketParamsChange {
        curve: market_args().curve,
        allocation_bps: 10_000,
        activation_delay: 300,
    };
    assert_err(
        env.send(&[ix::apply_market_params(&pool, &m)], &[]).await,
        ErrorCode::NoPendingChange,
    );
    assert_err(
        env.send(&[ix::cancel_pool_params(&auth.pubkey(), &pool)], &[&auth])
            .await,
        ErrorCode::NoPendingChange,
    );
    env.send(&[ix::queue_market_params(&auth.pubkey(), &pool, &m, change)], &[&auth])
        .await
        .unwrap();
    assert_err(
        env.send(&[ix::queue_market_params(&auth.pubkey(), &pool, &m, change)], &[&auth])
            .await,
        ErrorCode::ChangeAlreadyQueued,
    );
    // the others' 15 000 bps + 10 000 > the pool's leverage of 20 000
    env.warp_by(10 * DAY).await;
    let before = env.market(&m).await;
    assert_err(
        env.send(&[ix::apply_market_params(&pool, &m)], &[]).await,
        ErrorCode::InvalidAllocation,
    );
    assert_eq!(env.market(&m).await.allocation_bps, before.allocation_bps);

    // a market closed while its change waits keeps its last terms
    env.send(&[ix::close_market(&auth.pubkey(), &pool, &m)], &[&auth])
        .await
        .unwrap();
    let total = env.pool().await.total_allocation_bps;
    assert_err(
        env.send(&[ix::apply_market_params(&pool, &m)], &[]).await,
        ErrorCode::MarketClosed,
    );
    assert_eq!(env.pool().await.total_allocation_bps, total);
    env.send(&[ix::cancel_market_params(&auth.pubkey(), &pool, &m)], &[&auth])
        .await
        .unwrap();
    assert_err(
        env.send(&[ix::queue_market_params(&auth.pubkey(), &pool, &m, change)], &[&auth])
            .await,
        ErrorCode::MarketClosed,
    );
}

/// `queue_pool_params` applies `initialize_pool`'s bounds, each with its error.
#[tokio::test]
async fn pool_changes_are_validated_when_queued() {
    let mut env = TestEnv::new().await;
    let auth = env.authority.insecure_clone();
    let pool = env.keys.pool;
    let cases = [
        (
            PoolParamsChange {
                weights_bps: [7_000, 2_000, 0, 0],
                ..fee_change(1_000)
            },
            ErrorCode::InvalidPremiumWeights,
        ),
        (
            PoolParamsChange {
                cooldown: 0,
                ..fee_change(1_000)
            },
            ErrorCode::InvalidCooldown,
        ),
        (
            PoolParamsChange {
                withdraw_window: 0,
                ..fee_change(1_000)
            },
            ErrorCode::InvalidWithdrawWindow,
        ),
        (
            PoolParamsChange {
                max_leverage_bps: 0,
                ..fee_change(1_000)
            },
            ErrorCode::InvalidMaxLeverage,
        ),
    ];
    for (change, code) in cases {
        assert_err(
            env.send(&[ix::queue_pool_params(&auth.pubkey(), &pool, change)], &[&auth])
                .await,
            code,
        );
        assert_eq!(env.pool().await.pending_change_eta, 0);
    }
}

/// A request keeps the cooldown and window it was made under: a change
/// applied while it waits neither delays it nor makes it lapse early; new
/// requests follow the new timing.
#[tokio::test]
async fn a_timing_change_does_not_re_time_a_waiting_request() {
    let mut env = TestEnv::new().await;
    let auth = env.authority.insecure_clone();
    let pool = env.keys.pool;
    let (alice, bob) = (env.new_staker(10_000 * ONE).await, env.new_staker(10_000 * ONE).await);
    env.deposit(&alice, 0, 10_000 * ONE, 0).await.unwrap();
    env.deposit(&bob, 0, 10_000 * ONE, 0).await.unwrap();
    let mut slower = fee_change(1_000);
    slower.cooldown = 14 * DAY as u32;
    slower.withdraw_window = 3_600;
    env.send(&[ix::queue_pool_params(&auth.pubkey(), &pool, slower)], &[&auth])
        .await
        .unwrap();
    let queued_at = env.now().await;
    // alice requests two days in: under the old timing she may redeem from day 9 to day 11
    env.warp_to(queued_at + 2 * DAY).await;
    env.request_withdrawal(&alice, 0, 5_000 * ONE).await.unwrap();
    env.warp_to(queued_at + 10 * DAY).await;
    env.send(&[ix::apply_pool_params(&pool)], &[]).await.unwrap();
    env.request_withdrawal(&bob, 0, 5_000 * ONE).await.unwrap();
    // day 10 + 2 h: past the new one-hour window, inside alice's own
    env.warp_to(queued_at + 10 * DAY + 7_200).await;
    env.withdraw(&alice, 0).await.unwrap();
    assert_eq!(env.balance(&alice.collateral).await, 5_000 * ONE);
    // bob's request was made under the new 14-day cooldown
    env.warp_to(queued_at + 17 * DAY).await;
    assert_err(env.withdraw(&bob, 0).await, ErrorCode::CooldownNotElapsed);
    env.warp_to(queued_at + 24 * DAY).await;
    env.withdraw(&bob, 0).await.unwrap();
}
