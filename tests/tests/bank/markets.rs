//! Markets and Pyth-fed depeg triggers (PROTOCOL.md 3.4).

use anchor_lang::prelude::Pubkey;
use coverage_pool::error::ErrorCode;
use coverage_pool::state::{MarketStatus, PayoutShape};
use coverage_pool_tests::oracle::{install, install_with_owner, test_price, PriceSpec};
use coverage_pool_tests::*;
use pyth_solana_receiver_sdk::price_update::VerificationLevel;
use solana_signer::Signer;

const T0: i64 = 1_678_500_000;
const USD: i64 = 100_000_000;

fn cents(c: i64) -> i64 {
    c * USD / 100
}

async fn env_with_market() -> (TestEnv, Pubkey) {
    let mut env = TestEnv::new().await;
    let market = env.create_market(market_args()).await.unwrap();
    (env, market)
}

#[tokio::test]
async fn a_depeg_lasting_past_duration_triggers_at_the_right_observation() {
    let (mut env, m) = env_with_market().await;
    env.observe_at(&m, USD, 0, T0).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Active);
    env.observe_at(&m, cents(94), 100_000, T0 + 900).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!(
        (mk.status, mk.streak_start, mk.streak_low),
        (MarketStatus::StreakOpen, T0 + 900, 94_100_000)
    );
    assert_eq!(env.pool().await.open_streaks, 1);
    env.observe_at(&m, cents(91), 0, T0 + 1_800).await.unwrap();
    env.observe_at(&m, cents(93), 0, T0 + 4_499).await.unwrap();
    assert_eq!(
        env.market(&m).await.status,
        MarketStatus::StreakOpen,
        "3599 s is not yet the duration"
    );
    env.observe_at(&m, cents(92), 0, T0 + 4_500).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!(mk.status, MarketStatus::Triggered);
    assert_eq!(mk.event.epoch, 0);
    assert_eq!(mk.event.streak_start, T0 + 900);
    assert_eq!(mk.event.trigger_time, T0 + 4_500);
    assert_eq!(mk.event.lowest_price, cents(91) as u64);
    assert_eq!(mk.observations, 5);
    assert_eq!(env.pool().await.open_streaks, 0);
    // a triggered market accepts no further observations for the epoch
    let before = env.snapshot(&[m]).await;
    assert_err(
        env.observe_at(&m, cents(90), 0, T0 + 4_600).await,
        ErrorCode::MarketAlreadyTriggered,
    );
    assert_eq!(env.snapshot(&[m]).await, before);
}

#[tokio::test]
async fn a_depeg_that_recovers_above_the_recovery_price_resets() {
    let (mut env, m) = env_with_market().await;
    env.observe_at(&m, cents(94), 0, T0).await.unwrap();
    env.observe_at(&m, cents(97), 0, T0 + 1_800).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!(mk.status, MarketStatus::Active);
    assert_eq!(env.pool().await.open_streaks, 0);
    // a new streak starts from scratch: 3599 s after its own start, no trigger
    env.observe_at(&m, cents(94), 0, T0 + 2_000).await.unwrap();
    env.observe_at(&m, cents(94), 0, T0 + 5_599).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!((mk.status, mk.streak_start), (MarketStatus::StreakOpen, T0 + 2_000));
    env.observe_at(&m, cents(94), 0, T0 + 5_600).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Triggered);
}

#[tokio::test]
async fn a_price_hovering_between_strike_and_recovery_keeps_the_streak_open() {
    let (mut env, m) = env_with_market().await;
    env.observe_at(&m, cents(94), 0, T0).await.unwrap();
    // 0.96 is above the strike but below the recovery price: hysteresis
    for i in 1..4 {
        env.observe_at(&m, cents(96), 0, T0 + i * 900).await.unwrap();
        assert_eq!(env.market(&m).await.status, MarketStatus::StreakOpen);
    }
    env.observe_at(&m, 96_900_000, 0, T0 + 3_600).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!(
        (mk.status, mk.event.streak_start, mk.event.lowest_price),
        (MarketStatus::Triggered, T0, cents(94) as u64)
    );
}

#[tokio::test]
async fn a_gap_longer_than_max_gap_drops_the_streak() {
    let (mut env, m) = env_with_market().await;
    env.observe_at(&m, cents(94), 0, T0).await.unwrap();
    // nobody saw the next 3601 s: the streak is dropped, and this observation opens a new one
    env.observe_at(&m, cents(94), 0, T0 + 3_601).await.unwrap();
    let mk = env.market(&m).await;
    assert_eq!((mk.status, mk.streak_start), (MarketStatus::StreakOpen, T0 + 3_601));
    // exactly max_gap apart is no gap
    env.observe_at(&m, cents(94), 0, T0 + 7_201).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Triggered);
}

#[tokio::test]
async fn a_confidence_interval_straddling_the_strike_opens_no_streak() {
    let (mut env, m) = env_with_market().await;
    // 0.94 ± 0.02: the top, 0.96, is above the strike
    env.observe_at(&m, cents(94), 2_000_000, T0).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Active);
    // top exactly at the strike still does not open (strictly below is required)
    env.observe_at(&m, cents(94), 1_000_000, T0 + 60).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::Active);
    env.observe_at(&m, cents(94), 999_999, T0 + 120).await.unwrap();
    assert_eq!(env.market(&m).await.status, MarketStatus::StreakOpen);
}

#[tokio::test]
async fn adversarial_oracle_inputs_are_refused_and_change_nothing() {
    let (mut env, m) = env_with_market().await;
    env.observe_at(&m, cents(94), 0, T0).await.unwrap();
    env.warp_to(T0 + 30).await;
    let good = test_price(cents(93), 0, T0 + 30);
    let before = env.snapshot(&[m]).await;

    // a byte-identical copy under another owner
    let fake = Pubkey::new_unique();
    install_with_owner(&mut env.ctx, &fake, &good, &Pubkey::new_unique());
    assert_err(env.check_trigger(&m, &fake).await, ErrorCode::OracleWrongOwner);
    // the receiver's owner, but not a PriceUpdateV2 (type cosplay)
    let mut garbage = good;
    garbage.price = 0;
    let cosplay = Pubkey::new_unique();
    install(&mut env.ctx, &cosplay, &garbage);
    let mut acc = env.ctx.banks_client.get_account(cosplay).await.unwrap().unwrap();
    acc.data[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    env.ctx.set_account(&cosplay, &acc.into());
    assert_err(env.check_trigger(&m, &cosplay).await, ErrorCode::OracleInvalidAccount);

    let cases: Vec<(PriceSpec, ErrorCode)> = vec![
        (
            PriceSpec {
                feed_id: [9; 32],
                ..good
            },
            ErrorCode::OracleWrongFeed,
        ),
        (
            PriceSpec {
                level: VerificationLevel::Partial { num_signatures: 12 },
                ..good
            },
            ErrorCode::OracleNotFullyVerified,
        ),
        (
            PriceSpec {
                publish_time: T0 + 30 - 61,
                ..good
            },
            ErrorCode::StalePrice,
        ),
        (
            PriceSpec {
                conf: 4_650_001,
                ..good
            },
            ErrorCode::ConfidenceTooWide,
        ),
        (PriceSpec { price: 0, ..good }, ErrorCode::NonPositivePrice),
        (
            PriceSpec {
                price: -cents(93),
                ..good
            },
            ErrorCode::NonPositivePrice,
        ),
        (PriceSpec { exponent: -9, ..good }, ErrorCode::UnsupportedPriceExponent),
        (
            PriceSpec {
                exponent: 8,
                price: i64::MAX,
                ..good
            },
            ErrorCode::PriceNotRepresentable,
        ),
        (
            PriceSpec {
                publish_time: T0,
                ..good
            },
            ErrorCode::PublishTimeNotIncreasing,
        ),
        (
            PriceSpec {
                publish_time: T0 - 1,
                ..good
            },
            ErrorCode::PublishTimeNotIncreasing,
        ),
    ];
    for (spec, err) in cases {
        assert_err(env.observe(&m, &spec).await, err);
        assert_eq!(env.snapshot(&[m]).await, before, "state untouched after {err:?}");
    }
    // the good one is accepted
    env.observe(&m, &good).await.unwrap();
    // the same account again is a replay
    let replay = Pubkey::new_unique();
    install(&mut env.ctx, &replay, &good);
    assert_err(
        env.check_trigger(&m, &replay).await,
        ErrorCode::PublishTimeNotIncreasing,
    );
    // a market paired with another pool's account
    let creator = env.ctx.payer.pubkey();
    let auth = env.authority.pubkey();
    let init = coverage_sdk::ix::initialize_pool(
        &creator,
        &env.keys.collateral_mint,
        &env.treasury,
        &env.keys.token_program,
        PoolConfig::default().args(2, auth),
    );
    env.send(&[init], &[]).await.unwrap();
    let other_pool = coverage_sdk::pda::pool(&creator, 2).0;
    env.warp_to(T0 + 40).await;
    let fresh = Pubkey::new_unique();
    install(&mut env.ctx, &fresh, &test_price(cents(93), 0, T0 + 40));
    let ix = coverage_sdk::ix::check_trigger(&m, &other_pool, &fresh);
    assert_err(env.send(&[ix], &[]).await, ErrorCode::WrongPool);
}

#[tokio::test]
async fn create_market_validates_its_terms_and_its_caller() {
    let mut env = TestEnv::new().await;
    let good = market_args();
    let mut cases = vec![
        (
            coverage_pool::instructions::CreateMarketArgs {
                strike: 0,
                ..good.clone()
            },
            ErrorCode::InvalidStrikeOrRecovery,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                recovery: good.strike - 1,
                ..good.clone()
            },
            ErrorCode::InvalidStrikeOrRecovery,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                duration: 59,
                ..good.clone()
            },
            ErrorCode::InvalidDuration,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                max_gap: 86_401,
                ..good.clone()
            },
            ErrorCode::InvalidMaxGap,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                max_price_age: 4,
                ..good.clone()
            },
            ErrorCode::InvalidMaxPriceAge,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                max_conf_bps: 0,
                ..good.clone()
            },
            ErrorCode::InvalidMaxConf,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                payout: PayoutShape::Linear {
                    floor_price: good.strike,
                },
                ..good.clone()
            },
            ErrorCode::InvalidPayoutShape,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                allocation_bps: 0,
                ..good.clone()
            },
            ErrorCode::InvalidAllocation,
        ),
        (
            coverage_pool::instructions::CreateMarketArgs {
                activation_delay: 60,
                ..good.clone()
            },
            ErrorCode::InvalidActivationDelay,
        ),
    ];
    let mut bad_curve = good.clone();
    bad_curve.curve.kink_utilization_bps = 10_000;
    cases.push((bad_curve, ErrorCode::InvalidPricingCurve));
    let mut bad_curve = good.clone();
    bad_curve.curve.base_rate_bps = 0;
    cases.push((bad_curve, ErrorCode::InvalidPricingCurve));
    let mut bad_curve = good.clone();
    bad_curve.curve.slope_above_kink_bps = 100;
    cases.push((bad_curve, ErrorCode::InvalidPricingCurve));
    for (args, err) in cases {
        assert_err(env.create_market(args).await, err);
    }
    // not the authority
    let mallory = solana_keypair::Keypair::new();
    let payer = env.ctx.payer.pubkey();
    let ix = coverage_sdk::ix::create_market(&mallory.pubkey(), &payer, &env.keys.pool, 0, good.clone());
    assert_err(env.send(&[ix], &[&mallory]).await, ErrorCode::Unauthorized);
    assert_eq!(env.pool().await.market_count, 0);

    // capital reuse up to the max leverage (2x here): 100 % + 100 %, then no more
    env.create_market(good.clone()).await.unwrap();
    env.create_market(good.clone()).await.unwrap();
    assert_err(
        env.create_market(coverage_pool::instructions::CreateMarketArgs {
            allocation_bps: 1,
            ..good.clone()
        })
        .await,
        ErrorCode::InvalidAllocation,
    );
    let pool = env.pool().await;
    assert_eq!((pool.market_count, pool.total_allocation_bps), (2, 20_000));
}

/// Replays the SVB series through the bank; returns the market at the end and
/// (accepted, rejected) counts.
async fn replay_svb(duration: u32) -> (TestEnv, Pubkey, u32, u32) {
    let mut env = TestEnv::new().await;
    let m = env
        .create_market(coverage_pool::instructions::CreateMarketArgs {
            duration,
            ..market_args()
        })
        .await
        .unwrap();
    let rows = svb_rows();
    assert_eq!(rows.len(), 808);
    let (mut accepted, mut rejected) = (0, 0);
    for (t, p, c) in rows {
        match env.observe_at(&m, p, c, t).await {
            Ok(()) => accepted += 1,
            Err(_) => rejected += 1,
        }
        if env.market(&m).await.status == MarketStatus::Triggered {
            break;
        }
    }
    (env, m, accepted, rejected)
}

/// Expected values from `scripts/trigger_reference.py` (an independent
/// implementation of the rule from the spec text):
/// `python3 scripts/trigger_reference.py data/usdc-2023-03-svb.csv 0.95 0.97 3600 3600 500`
#[tokio::test]
async fn the_usdc_march_2023_depeg_triggers_a_one_hour_market() {
    let (mut env, m, accepted, rejected) = replay_svb(3_600).await;
    let mk = env.market(&m).await;
    assert_eq!(mk.status, MarketStatus::Triggered);
    assert_eq!(mk.event.streak_start, 1_678_523_400);
    assert_eq!(mk.event.trigger_time, 1_678_527_000);
    assert_eq!(mk.event.lowest_price, 90_877_355);
    assert_eq!((accepted, rejected), (188, 0));
}

/// `python3 scripts/trigger_reference.py data/usdc-2023-03-svb.csv 0.95 0.97 86400 3600 500`
#[tokio::test]
async fn the_usdc_march_2023_depeg_does_not_trigger_a_one_day_market() {
    let (mut env, m, accepted, rejected) = replay_svb(86_400).await;
    let mk = env.market(&m).await;
    assert_ne!(mk.status, MarketStatus::Triggered);
    assert_eq!((accepted, rejected), (808, 0));
    assert_eq!(
        env.pool().await.open_streaks,
        u16::from(mk.status == MarketStatus::StreakOpen)
    );
}
