//! Integrators: another program buys cover by CPI, with its PDAs as buyer and payer.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use coverage_pool::error::ErrorCode;
use coverage_pool_tests::*;
use coverage_sdk::pda;
use solana_keypair::Keypair;
use solana_signer::Signer;

/// The example lender's `originate_loan` (the SDK's builder), 30-day cover.
#[allow(clippy::too_many_arguments)]
fn originate_ix(
    env: &TestEnv,
    borrower: &Pubkey,
    insurer_collateral: &Pubkey,
    market: &Pubkey,
    policy_id: u64,
    price: &Pubkey,
    loan_id: u64,
    principal: u64,
    max_premium: u64,
) -> Instruction {
    coverage_sdk::scenario::lender_originate(
        &env.keys,
        market,
        policy_id,
        borrower,
        insurer_collateral,
        price,
        loan_id,
        principal,
        30,
        max_premium,
    )
}

#[tokio::test]
async fn a_lender_program_insures_each_loan_at_origination_by_cpi() {
    let mut env = TestEnv::new().await;
    let market = env.create_market(market_args()).await.unwrap();
    let staker = env.new_staker(1_000_000 * ONE).await;
    env.deposit(&staker, 0, 1_000_000 * ONE, 0).await.unwrap();

    // the lender's insurer PDA: SOL for rent, collateral for premiums
    let insurer = coverage_sdk::scenario::lender_insurer();
    env.airdrop(&insurer, 1_000_000_000).await;
    let insurer_collateral = env.new_collateral_account(&insurer).await;
    env.mint_collateral(&insurer_collateral, 10_000 * ONE).await;
    let borrower = Keypair::new();
    env.airdrop(&borrower.pubkey(), 1_000_000_000).await;

    let quote = env.quote(&market, 50_000 * ONE, 30).await.unwrap();
    let price = env.fresh_price().await;

    // a premium cap below the quote: the CPI fails whole with the pool's error
    let ix = originate_ix(
        &env,
        &borrower.pubkey(),
        &insurer_collateral,
        &market,
        0,
        &price,
        1,
        50_000 * ONE,
        quote - 1,
    );
    assert_err(env.send(&[ix], &[&borrower]).await, ErrorCode::PremiumAboveMax);

    let ix = originate_ix(
        &env,
        &borrower.pubkey(),
        &insurer_collateral,
        &market,
        0,
        &price,
        1,
        50_000 * ONE,
        quote,
    );
    env.send(&[ix], &[&borrower]).await.unwrap();

    let policy_address = pda::policy(&market, 0).0;
    let policy = env.policy(&policy_address).await.unwrap();
    assert_eq!(policy.owner, insurer, "the lender's PDA owns the policy");
    assert_eq!((policy.amount, policy.premium), (50_000 * ONE, quote));
    assert_eq!(
        env.balance(&insurer_collateral).await,
        10_000 * ONE - quote,
        "and paid for it"
    );
    let loan = Pubkey::find_program_address(
        &[
            example_lender::LOAN_SEED,
            borrower.pubkey().as_ref(),
            &1u64.to_le_bytes(),
        ],
        &example_lender::ID,
    )
    .0;
    let loan: example_lender::Loan = env.fetch(&loan).await.unwrap();
    assert_eq!(
        (loan.policy, loan.principal, loan.borrower),
        (policy_address, 50_000 * ONE, borrower.pubkey())
    );
    assert_eq!(env.book(&market).await.active_cover, 50_000 * ONE);
}
