//! Staker vaults with tranches (PROTOCOL.md 3.1).

use anchor_spl::token::spl_token;
use anchor_spl::token_2022::spl_token_2022;
use coverage_core::shares::DEAD_SHARES;
use coverage_pool::error::ErrorCode;
use coverage_pool_tests::*;
use coverage_sdk::ix;
use solana_keypair::Keypair;
use solana_signer::Signer;

const COOLDOWN: i64 = 7 * DAY;
const WINDOW: i64 = 2 * DAY;

#[tokio::test]
async fn two_stakers_in_two_tranches_deposit_and_withdraw() {
    let mut env = TestEnv::new().await;
    let alice = env.new_staker(1_000 * ONE).await;
    let bob = env.new_staker(500 * ONE).await;

    env.deposit(&alice, 0, 1_000 * ONE, 0).await.unwrap();
    env.deposit(&bob, 1, 500 * ONE, 0).await.unwrap();
    // first deposits are 1:1, minus the dead shares each tranche locks once
    assert_eq!(env.balance(&alice.shares[0]).await, 1_000 * ONE - DEAD_SHARES);
    assert_eq!(env.balance(&bob.shares[1]).await, 500 * ONE - DEAD_SHARES);
    let pool = env.pool().await;
    assert_eq!(pool.tranches[0].assets, 1_000 * ONE);
    assert_eq!(pool.tranches[1].assets, 500 * ONE);
    assert_eq!(env.vault_balance().await, 1_500 * ONE);

    // a second deposit by alice prices at the current share price (1:1 still)
    let carol = env.new_staker(100 * ONE).await;
    env.deposit(&carol, 0, 100 * ONE, 100 * ONE).await.unwrap();
    assert_eq!(env.balance(&carol.shares[0]).await, 100 * ONE);

    env.request_withdrawal(&alice, 0, 1_000 * ONE - DEAD_SHARES)
        .await
        .unwrap();
    env.request_withdrawal(&bob, 1, 200 * ONE).await.unwrap();
    // locked shares sit in the escrow, still part of the supply
    let escrow0 = env.keys.share_escrow(0);
    assert_eq!(env.balance(&escrow0).await, 1_000 * ONE - DEAD_SHARES);
    assert_eq!(env.balance(&alice.shares[0]).await, 0);

    env.warp_by(COOLDOWN).await;
    env.withdraw(&alice, 0).await.unwrap();
    env.withdraw(&bob, 1).await.unwrap();
    assert_eq!(env.balance(&alice.collateral).await, 1_000 * ONE - DEAD_SHARES);
    assert_eq!(env.balance(&bob.collateral).await, 200 * ONE);
    assert_eq!(env.balance(&bob.shares[1]).await, 300 * ONE - DEAD_SHARES);
    assert!(env.request(&alice, 0).await.is_none(), "request closed");
    let pool = env.pool().await;
    assert_eq!(pool.tranches[0].assets, 100 * ONE + DEAD_SHARES);
    assert_eq!(pool.tranches[1].assets, 300 * ONE);
    assert_eq!(env.vault_balance().await, pool.capital().unwrap());
}

#[tokio::test]
async fn cooldown_and_window_are_enforced_both_ways() {
    let mut env = TestEnv::new().await;
    let alice = env.new_staker(10 * ONE).await;
    env.deposit(&alice, 0, 10 * ONE, 0).await.unwrap();
    env.request_withdrawal(&alice, 0, 5 * ONE).await.unwrap();
    let requested_at = env.now().await;

    env.warp_to(requested_at + COOLDOWN - 1).await;
    let before = env.snapshot(&[alice.collateral, alice.shares[0]]).await;
    assert_err(env.withdraw(&alice, 0).await, ErrorCode::CooldownNotElapsed);
    assert_eq!(env.snapshot(&[alice.collateral, alice.shares[0]]).await, before);

    // the last second of the window still works
    env.warp_to(requested_at + COOLDOWN + WINDOW).await;
    env.withdraw(&alice, 0).await.unwrap();
    assert_eq!(env.balance(&alice.collateral).await, 5 * ONE);
}

#[tokio::test]
async fn a_lapsed_request_must_be_renewed() {
    let mut env = TestEnv::new().await;
    let alice = env.new_staker(10 * ONE).await;
    env.deposit(&alice, 0, 10 * ONE, 0).await.unwrap();
    env.request_withdrawal(&alice, 0, 4 * ONE).await.unwrap();
    let requested_at = env.now().await;

    // while open, a second request is refused
    assert_err(
        env.request_withdrawal(&alice, 0, ONE).await,
        ErrorCode::WithdrawalAlreadyRequested,
    );

    env.warp_to(requested_at + COOLDOWN + WINDOW + 1).await;
    let before = env.snapshot(&[alice.collateral]).await;
    assert_err(env.withdraw(&alice, 0).await, ErrorCode::WithdrawalRequestLapsed);
    assert_eq!(env.snapshot(&[alice.collateral]).await, before);

    // renewal (adding 1 more share unit-token) restarts the cooldown
    env.request_withdrawal(&alice, 0, ONE).await.unwrap();
    let renewed = env.request(&alice, 0).await.unwrap();
    assert_eq!(renewed.shares, 5 * ONE);
    assert_eq!(renewed.requested_at, requested_at + COOLDOWN + WINDOW + 1);
    assert_err(env.withdraw(&alice, 0).await, ErrorCode::CooldownNotElapsed);
    env.warp_by(COOLDOWN).await;
    env.withdraw(&alice, 0).await.unwrap();
    assert_eq!(env.balance(&alice.collateral).await, 5 * ONE);
}

#[tokio::test]
async fn cancel_returns_the_shares_and_the_rent() {
    let mut env = TestEnv::new().await;
    let alice = env.new_staker(10 * ONE).await;
    env.deposit(&alice, 1, 10 * ONE, 0).await.unwrap();
    let shares = env.balance(&alice.shares[1]).await;
    let lamports_before = env.ctx.banks_client.get_balance(alice.key()).await.unwrap();
    env.request_withdrawal(&alice, 1, shares).await.unwrap();
    assert_eq!(env.balance(&alice.shares[1]).await, 0);
    env.cancel_withdrawal(&alice, 1).await.unwrap();
    assert_eq!(env.balance(&alice.shares[1]).await, shares);
    assert!(env.request(&alice, 1).await.is_none());
    let lamports_after = env.ctx.banks_client.get_balance(alice.key()).await.unwrap();
    assert_eq!(lamports_after, lamports_before, "request rent refunded");
    // nothing left to withdraw
    let req = env.request_address(&alice, 1);
    let ix = ix::withdraw(&alice.key(), &env.keys, 1, &req, &alice.collateral, &[]);
    assert!(env.send(&[ix], &[&alice.kp]).await.is_err());
}

#[tokio::test]
async fn inflation_attack_leaves_attacker_at_a_loss() {
    let mut env = TestEnv::new().await;
    let attacker = env.new_staker(10_001 * ONE).await;
    let victim = env.new_staker(20_000 * ONE).await;

    // 1 unit is not even a share: the first deposit must pay for the dead shares
    assert_err(env.deposit(&attacker, 0, 1, 0).await, ErrorCode::ZeroShares);
    env.deposit(&attacker, 0, DEAD_SHARES + 1, 0).await.unwrap();
    assert_eq!(env.balance(&attacker.shares[0]).await, 1);

    // donation straight into the vault
    env.donate_to_vault(&attacker, 10_000 * ONE).await;

    // the victim gets fair shares: the donation moved no share price
    env.deposit(&victim, 0, 20_000 * ONE, 20_000 * ONE).await.unwrap();
    assert_eq!(env.balance(&victim.shares[0]).await, 20_000 * ONE);

    env.request_withdrawal(&attacker, 0, 1).await.unwrap();
    env.request_withdrawal(&victim, 0, 20_000 * ONE).await.unwrap();
    env.warp_by(COOLDOWN).await;
    env.withdraw(&attacker, 0).await.unwrap();
    env.withdraw(&victim, 0).await.unwrap();
    assert_eq!(env.balance(&victim.collateral).await, 20_000 * ONE, "victim whole");
    let attacker_end = env.balance(&attacker.collateral).await;
    assert!(
        attacker_end < 10_001 * ONE - 9_999 * ONE,
        "attacker lost the donation: ends with {attacker_end}"
    );
}

#[tokio::test]
async fn wrong_accounts_are_refused_with_their_error_and_move_nothing() {
    let mut env = TestEnv::new().await;
    let alice = env.new_staker(100 * ONE).await;
    let mallory = env.new_staker(100 * ONE).await;
    env.deposit(&alice, 0, 50 * ONE, 0).await.unwrap();
    let watched = [
        alice.collateral,
        alice.shares[0],
        alice.shares[1],
        mallory.collateral,
        mallory.shares[0],
    ];
    let before = env.snapshot(&watched).await;

    // wrong signer: mallory deposits from alice's collateral account
    let ix = ix::deposit(
        &mallory.key(),
        &env.keys,
        0,
        &alice.collateral,
        &mallory.shares[0],
        ONE,
        0,
    );
    assert_err(env.send(&[ix], &[&mallory.kp]).await, ErrorCode::WrongTokenOwner);

    // wrong mint: a collateral account of another mint
    let other_mint = Keypair::new();
    create_mint(&mut env.ctx, &other_mint, &alice.key(), &spl_token::ID, DECIMALS).await;
    let other = create_token_account(&mut env.ctx, &other_mint.pubkey(), &alice.key(), &spl_token::ID).await;
    let ix = ix::deposit(&alice.key(), &env.keys, 0, &other, &alice.shares[0], ONE, 0);
    assert_err(env.send(&[ix], &[&alice.kp]).await, ErrorCode::WrongMint);
    // wrong mint: shares paid into a tranche-1 share account for a tranche-0 deposit
    let ix = ix::deposit(&alice.key(), &env.keys, 0, &alice.collateral, &alice.shares[1], ONE, 0);
    assert_err(env.send(&[ix], &[&alice.kp]).await, ErrorCode::WrongMint);

    // wrong tranche: out of range, and a tranche index that does not match the share mint
    let mut ix = ix::deposit(&alice.key(), &env.keys, 0, &alice.collateral, &alice.shares[0], ONE, 0);
    ix.data = anchor_lang::InstructionData::data(&coverage_pool::instruction::Deposit {
        tranche: 1,
        amount: ONE,
        min_shares: 0,
    });
    assert_err(env.send(&[ix], &[&alice.kp]).await, ErrorCode::InvalidTranche);
    let mut ix = ix::deposit(&alice.key(), &env.keys, 0, &alice.collateral, &alice.shares[0], ONE, 0);
    ix.data = anchor_lang::InstructionData::data(&coverage_pool::instruction::Deposit {
        tranche: 5,
        amount: ONE,
        min_shares: 0,
    });
    assert_err(env.send(&[ix], &[&alice.kp]).await, ErrorCode::InvalidTranche);

    // zero and overflowing amounts, slippage
    assert_err(env.deposit(&alice, 0, 0, 0).await, ErrorCode::ZeroAmount);
    assert_err(env.deposit(&alice, 0, u64::MAX, 0).await, ErrorCode::MathOverflow);
    assert_err(env.deposit(&alice, 0, ONE, ONE + 1).await, ErrorCode::SlippageExceeded);
    assert_err(env.request_withdrawal(&alice, 0, 0).await, ErrorCode::ZeroAmount);

    assert_eq!(env.snapshot(&watched).await, before);

    // someone else's request: mallory can neither cancel nor redeem alice's
    env.request_withdrawal(&alice, 0, 10 * ONE).await.unwrap();
    env.warp_by(COOLDOWN).await;
    let before = env.snapshot(&watched).await;
    let alice_req = env.request_address(&alice, 0);
    let ix = ix::cancel_withdrawal(&mallory.key(), &env.keys, 0, &alice_req, &mallory.shares[0]);
    assert_err(env.send(&[ix], &[&mallory.kp]).await, ErrorCode::NotRequestOwner);
    let ix = ix::withdraw(&mallory.key(), &env.keys, 0, &alice_req, &mallory.collateral, &[]);
    assert_err(env.send(&[ix], &[&mallory.kp]).await, ErrorCode::NotRequestOwner);
    // and alice cannot redeem a tranche-0 request as tranche 1
    let ix = ix::withdraw(&alice.key(), &env.keys, 1, &alice_req, &alice.collateral, &[]);
    assert_err(env.send(&[ix], &[&alice.kp]).await, ErrorCode::InvalidTranche);
    assert_eq!(env.snapshot(&watched).await, before);
    assert!(env.request(&alice, 0).await.is_some());
}

#[tokio::test]
async fn initialize_pool_validates_every_parameter() {
    let mut env = TestEnv::without_pool(spl_token::ID).await;
    let auth = env.authority.pubkey();
    let good = PoolConfig::default();
    let cases: Vec<(PoolConfig, ErrorCode)> = vec![
        (
            PoolConfig {
                weights: vec![],
                ..good.clone()
            },
            ErrorCode::InvalidTrancheCount,
        ),
        (
            PoolConfig {
                weights: vec![2_000; 5],
                ..good.clone()
            },
            ErrorCode::InvalidTrancheCount,
        ),
        (
            PoolConfig {
                weights: vec![6_000, 3_000],
                ..good.clone()
            },
            ErrorCode::InvalidPremiumWeights,
        ),
        (
            PoolConfig {
                weights: vec![3_000, 7_000],
                ..good.clone()
            },
            ErrorCode::InvalidPremiumWeights,
        ),
        (
            PoolConfig {
                weights: vec![10_000, 0],
                ..good.clone()
            },
            ErrorCode::InvalidPremiumWeights,
        ),
        (
            PoolConfig {
                cooldown: 3_599,
                ..good.clone()
            },
            ErrorCode::InvalidCooldown,
        ),
        (
            PoolConfig {
                cooldown: 91 * DAY as u32,
                ..good.clone()
            },
            ErrorCode::InvalidCooldown,
        ),
        (
            PoolConfig {
                withdraw_window: 0,
                ..good.clone()
            },
            ErrorCode::InvalidWithdrawWindow,
        ),
        (
            PoolConfig {
                max_leverage_bps: 9_999,
                ..good.clone()
            },
            ErrorCode::InvalidMaxLeverage,
        ),
        (
            PoolConfig {
                max_leverage_bps: 50_001,
                ..good.clone()
            },
            ErrorCode::InvalidMaxLeverage,
        ),
        (
            PoolConfig {
                protocol_fee_bps: 2_001,
                ..good.clone()
            },
            ErrorCode::InvalidProtocolFee,
        ),
    ];
    for (i, (cfg, err)) in cases.into_iter().enumerate() {
        let res = env.initialize_pool(cfg.args(100 + i as u64, auth)).await;
        assert_err(res, err);
    }
    // a treasury of another mint
    let other_mint = Keypair::new();
    create_mint(&mut env.ctx, &other_mint, &auth, &spl_token::ID, DECIMALS).await;
    let good_treasury = env.treasury;
    env.treasury = create_token_account(&mut env.ctx, &other_mint.pubkey(), &auth, &spl_token::ID).await;
    assert_err(
        env.initialize_pool(good.args(200, auth)).await,
        ErrorCode::InvalidTreasury,
    );
    env.treasury = good_treasury;
    // 4 tranches is the most, and it works
    env.initialize_pool(
        PoolConfig {
            weights: vec![4_000, 3_000, 2_000, 1_000],
            ..good
        }
        .args(300, auth),
    )
    .await
    .unwrap();
    let pool = env.pool().await;
    assert_eq!((pool.tranche_count, pool.tranches_initialized), (4, 4));
    assert_eq!(pool.authority, auth);
}

#[tokio::test]
async fn token_2022_mints_with_fees_or_hooks_are_refused_plain_ones_work() {
    use spl_token_2022::extension::ExtensionType;
    // a Token-2022 mint with a transfer fee
    let mut env = TestEnv::without_pool(spl_token_2022::ID).await;
    let auth = env.authority.pubkey();
    let plain_mint = env.keys.collateral_mint;
    env.use_collateral_mint_with_extensions(&[ExtensionType::TransferFeeConfig], |mint| {
        vec![
            spl_token_2022::extension::transfer_fee::instruction::initialize_transfer_fee_config(
                &spl_token_2022::ID,
                mint,
                Some(&auth),
                Some(&auth),
                50,
                1_000_000,
            )
            .unwrap(),
        ]
    })
    .await;
    assert_err(
        env.initialize_pool(PoolConfig::default().args(1, auth)).await,
        ErrorCode::UnsupportedMintExtension,
    );

    // a plain Token-2022 mint works end to end
    env.keys.collateral_mint = plain_mint;
    env.treasury = create_token_account(&mut env.ctx, &plain_mint, &auth, &spl_token_2022::ID).await;
    env.initialize_pool(PoolConfig::default().args(2, auth)).await.unwrap();
    let alice = env.new_staker(10 * ONE).await;
    env.deposit(&alice, 1, 10 * ONE, 0).await.unwrap();
    env.request_withdrawal(&alice, 1, 5 * ONE).await.unwrap();
    env.warp_by(COOLDOWN).await;
    env.withdraw(&alice, 1).await.unwrap();
    assert_eq!(env.balance(&alice.collateral).await, 5 * ONE);
}
