//! A triggered market with many policies of distinct owners, on the bank:
//! the set-up of the settlement measurements (the largest batches that fit,
//! the 10 000-policy run) and of the keeper tests that need more policies
//! than one transaction settles.

use anchor_lang::prelude::Pubkey;
use anyhow::{ensure, Result};
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::bank::BankTransport;
use crate::config::Deployment;
use crate::ix::{self, BuyCoverKeys, PoolKeys};
use crate::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use crate::transport::{fetch, SendMode, Transport};
use crate::tx;

/// When the scenario's markets are open: 2023-03-01 00:00 UTC.
pub const OPEN: i64 = 1_677_628_800;
/// Cover per policy, base units (10 USDC).
pub const COVER: u64 = 10_000_000;

/// The scenario: the demo's pool, its USDC market triggered, `owners[i]`
/// owning `policies[i]` with a collateral token account of its own.
pub struct Settlement {
    /// The bank.
    pub bank: BankTransport,
    /// The pool.
    pub keys: PoolKeys,
    /// The triggered market.
    pub market: Pubkey,
    /// Each policy's owner and the owner's collateral token account.
    pub owners: Vec<(Pubkey, Pubkey)>,
    /// The policies, in purchase order.
    pub policies: Vec<Pubkey>,
    /// Transactions the set-up sent.
    pub setup_transactions: u64,
}

/// Builds the scenario with `n` policies (each of [`COVER`], 30 days, its own owner).
pub async fn triggered_market_with_policies(n: usize) -> Result<Settlement> {
    let d = Deployment::parse(include_str!("../../../migrations/demo.toml"))?;
    let (mut bank, keys, mint_authority) = open_pool(&d).await?;
    let market = crate::pda::market(&keys.pool, 0).0;
    let feed = d.markets[0].feed_id()?;
    let feed_account = push_feed_address(&feed, SPONSORED_SHARD);
    let cover_total = COVER * n as u64;
    let payer_usdc = fund_and_stake(&mut bank, &keys, &mint_authority, (cover_total * 2).max(1_000_000_000)).await?;
    bank.install_price(&feed_account, &PriceUpdate::new(feed, 100_000_000, 10_000, OPEN));
    let owners = buy_for_owners(&mut bank, &keys, &market, &feed_account, &payer_usdc, n).await?;

    // a depeg from ten minutes later, for an hour: every policy is in force
    let start = OPEN + 600;
    for t in [start, start + 3_600] {
        bank.set_time(t).await?;
        bank.install_price(&feed_account, &PriceUpdate::new(feed, 90_000_000, 0, t));
        bank.send(
            &[ix::check_trigger(&market, &keys.pool, &feed_account)],
            &[],
            SendMode::Send,
        )
        .await?;
    }
    let m: coverage_pool::state::Market = fetch(&mut bank, &market).await?;
    ensure!(
        m.status == coverage_pool::state::MarketStatus::Triggered,
        "the scenario's market did not trigger"
    );
    ensure!(m.settlement.eligible_cover == cover_total, "every policy is eligible");
    let policies = (0..n as u64).map(|i| crate::pda::policy(&market, i).0).collect();
    let setup_transactions = bank.sent;
    Ok(Settlement {
        bank,
        keys,
        market,
        owners,
        policies,
        setup_transactions,
    })
}

/// A bank with the pool of deployment `d`, created the governance delay
/// before [`OPEN`] and the clock at [`OPEN`] (its markets open). Returns the
/// bank, the pool and the collateral's mint authority.
pub async fn open_pool(d: &Deployment) -> Result<(BankTransport, PoolKeys, Keypair)> {
    let mut bank = BankTransport::start(OPEN - d.pool.governance_delay()).await?;
    let (keys, mint_authority, _) = bank.deploy(d).await?;
    bank.set_time(OPEN).await?;
    Ok((bank, keys, mint_authority))
}

/// Mints `capital × 2` collateral to the bank payer, stakes `capital` in the
/// junior tranche; returns the payer's collateral account.
pub async fn fund_and_stake(
    bank: &mut BankTransport,
    keys: &PoolKeys,
    mint_authority: &Keypair,
    capital: u64,
) -> Result<Pubkey> {
    let payer = bank.payer();
    let payer_usdc = bank.token_account(&keys.collateral_mint, &payer).await?;
    bank.mint_to(&keys.collateral_mint, mint_authority, &payer_usdc, capital * 2)
        .await?;
    let shares = bank.token_account(&keys.share_mint(0), &payer).await?;
    let deposit = ix::deposit(&payer, keys, 0, &payer_usdc, &shares, capital, 0);
    bank.send(&[deposit], &[], SendMode::Send).await?;
    Ok(payer_usdc)
}

/// `n` new owners, each with a collateral token account, each buying one
/// policy of [`COVER`] for 30 days on `market` (signing as buyer; the bank
/// payer pays premium and rent from `payer_usdc`), as many a transaction as
/// fit. The market's price at `feed_account` must be fresh and healthy.
/// Returns each owner and its collateral account.
pub async fn buy_for_owners(
    bank: &mut BankTransport,
    keys: &PoolKeys,
    market: &Pubkey,
    feed_account: &Pubkey,
    payer_usdc: &Pubkey,
    n: usize,
) -> Result<Vec<(Pubkey, Pubkey)>> {
    let payer = bank.payer();
    let first_id = fetch::<coverage_pool::state::Market, _>(bank, market)
        .await?
        .policy_count;
    let owners: Vec<Keypair> = (0..n).map(|_| Keypair::new()).collect();
    let creates: Vec<_> = owners
        .iter()
        .map(|o| {
            anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &payer,
                &o.pubkey(),
                &keys.collateral_mint,
                &keys.token_program,
            )
        })
        .collect();
    send_in_batches(bank, &creates, |_| Vec::new()).await?;
    let buys: Vec<_> = owners
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let k = BuyCoverKeys {
                keys: *keys,
                market: *market,
                policy_id: first_id + i as u64,
                payer_collateral: *payer_usdc,
                price_update: *feed_account,
            };
            ix::buy_cover(&o.pubkey(), &payer, &k, COVER, 30, u64::MAX)
        })
        .collect();
    let signers: Vec<&Keypair> = owners.iter().collect();
    send_in_batches(bank, &buys, |range| signers[range].to_vec()).await?;
    Ok(owners
        .iter()
        .map(|o| {
            let ata = anchor_spl::associated_token::get_associated_token_address_with_program_id(
                &o.pubkey(),
                &keys.collateral_mint,
                &keys.token_program,
            );
            (o.pubkey(), ata)
        })
        .collect())
}

/// `n` new stakers, each with 0.1 SOL, twice `amount` of collateral minted to it and a
/// deposit of `amount` into `tranche` (as many deposits a transaction as fit). Returns
/// each staker's keypair, collateral account and share account.
pub async fn add_stakers(
    bank: &mut BankTransport,
    keys: &PoolKeys,
    mint_authority: &Keypair,
    tranche: u8,
    amount: u64,
    n: usize,
) -> Result<Vec<(Keypair, Pubkey, Pubkey)>> {
    use anchor_spl::associated_token::{
        get_associated_token_address_with_program_id as ata, spl_associated_token_account::instruction as ata_ix,
    };
    let payer = bank.payer();
    let stakers: Vec<Keypair> = (0..n).map(|_| Keypair::new()).collect();
    let share_mint = keys.share_mint(tranche);
    let mut setup = Vec::new();
    for s in &stakers {
        // lamports for the fees and rents a staker pays (a withdrawal request's)
        setup.push(solana_system_interface::instruction::transfer(
            &payer,
            &s.pubkey(),
            100_000_000,
        ));
        for mint in [&keys.collateral_mint, &share_mint] {
            setup.push(ata_ix::create_associated_token_account_idempotent(
                &payer,
                &s.pubkey(),
                mint,
                &keys.token_program,
            ));
        }
    }
    send_in_batches(bank, &setup, |_| Vec::new()).await?;
    let mints: Vec<_> = stakers
        .iter()
        .map(|s| {
            anchor_spl::token_2022::spl_token_2022::instruction::mint_to(
                &keys.token_program,
                &keys.collateral_mint,
                &ata(&s.pubkey(), &keys.collateral_mint, &keys.token_program),
                &mint_authority.pubkey(),
                &[],
                amount * 2,
            )
        })
        .collect::<std::result::Result<_, _>>()?;
    send_in_batches(bank, &mints, |_| vec![mint_authority]).await?;
    let out: Vec<(Keypair, Pubkey, Pubkey)> = stakers
        .into_iter()
        .map(|s| {
            let collateral = ata(&s.pubkey(), &keys.collateral_mint, &keys.token_program);
            let shares = ata(&s.pubkey(), &share_mint, &keys.token_program);
            (s, collateral, shares)
        })
        .collect();
    let deposits: Vec<_> = out
        .iter()
        .map(|(s, c, sh)| ix::deposit(&s.pubkey(), keys, tranche, c, sh, amount, 0))
        .collect();
    let signers: Vec<&Keypair> = out.iter().map(|(s, _, _)| s).collect();
    send_in_batches(bank, &deposits, |range| signers[range].to_vec()).await?;
    Ok(out)
}

/// The largest `settle_policies` batch of `s`'s policies that `t` would
/// send through `tables` (none: a legacy transaction), measured on the
/// transaction itself (what the README's batch sizes come from).
pub fn largest_settlement<T: Transport>(
    t: &T,
    s: &Settlement,
    tables: &[tx::AddressLookupTableAccount],
) -> Result<usize> {
    let pairs: Vec<(Pubkey, Pubkey)> = s.policies.iter().zip(&s.owners).map(|(p, (_, a))| (*p, *a)).collect();
    // the program's loop bound comes first only if the transaction could hold more
    let most = pairs.len().min(coverage_core::settlement::MAX_SETTLE_BATCH);
    tx::largest_batch(most, |n| {
        Ok(tx::fits(&t.transaction(
            &[ix::settle_policies(&s.keys, &s.market, &pairs[..n])],
            &[],
            tables,
        )?))
    })
}

/// A lookup table (not on chain) holding `s`'s settlement accounts as the
/// keeper writes them: the fixed accounts, then (policy, token account)
/// pairs, as many as one table holds ([`crate::tables::TABLE_CAPACITY`]).
pub fn settlement_table(s: &Settlement) -> tx::AddressLookupTableAccount {
    let mut addresses = vec![
        s.market,
        s.keys.pool,
        s.keys.collateral_mint,
        s.keys.vault(),
        s.keys.token_program,
    ];
    let room = (crate::tables::TABLE_CAPACITY - addresses.len()) / 2;
    for (p, (_, a)) in s.policies.iter().zip(&s.owners).take(room) {
        addresses.extend([*p, *a]);
    }
    tx::AddressLookupTableAccount {
        key: Pubkey::new_unique(),
        addresses,
    }
}

/// Sends `ixs` in order, as many a transaction as fit; `signers(range)`
/// gives the extra signers of the instructions in `range`.
async fn send_in_batches<'a>(
    bank: &mut BankTransport,
    ixs: &[anchor_lang::solana_program::instruction::Instruction],
    signers: impl Fn(std::ops::Range<usize>) -> Vec<&'a Keypair>,
) -> Result<()> {
    // every instruction here runs a few more by CPI (a token-account creation up
    // to 7): stay inside the trace limit
    let plan = tx::batches(ixs.len(), tx::MAX_TOKEN_ACCOUNT_CREATIONS, |range| {
        Ok(tx::fits(&bank.transaction(
            &ixs[range.clone()],
            &signers(range),
            &[],
        )?))
    })?;
    for range in plan {
        bank.send(&ixs[range.clone()], &signers(range), SendMode::Send).await?;
    }
    Ok(())
}

/// The example lender's `originate_loan`: its `insurer` PDA buys `days` of
/// cover for `principal` on `market` (its next policy: `policy_id`) by CPI
/// into `buy_cover`, paying from `insurer_collateral` (the integrator path of
/// the README).
#[allow(clippy::too_many_arguments)]
pub fn lender_originate(
    keys: &PoolKeys,
    market: &Pubkey,
    policy_id: u64,
    borrower: &Pubkey,
    insurer_collateral: &Pubkey,
    price_update: &Pubkey,
    loan_id: u64,
    principal: u64,
    days: u16,
    max_premium: u64,
) -> anchor_lang::solana_program::instruction::Instruction {
    use anchor_lang::{InstructionData, ToAccountMetas};
    let insurer = lender_insurer();
    let loan = Pubkey::find_program_address(
        &[example_lender::LOAN_SEED, borrower.as_ref(), &loan_id.to_le_bytes()],
        &example_lender::ID,
    )
    .0;
    anchor_lang::solana_program::instruction::Instruction {
        program_id: example_lender::ID,
        accounts: example_lender::accounts::OriginateLoan {
            borrower: *borrower,
            loan,
            insurer,
            insurer_collateral: *insurer_collateral,
            pool: keys.pool,
            ledger: keys.ledger(),
            market: *market,
            book: crate::pda::book(market).0,
            policy: crate::pda::policy(market, policy_id).0,
            collateral_mint: keys.collateral_mint,
            vault: keys.vault(),
            price_update: *price_update,
            token_program: keys.token_program,
            system_program: anchor_lang::system_program::ID,
            coverage_program: coverage_pool::ID,
        }
        .to_account_metas(None),
        data: example_lender::instruction::OriginateLoan {
            loan_id,
            principal,
            days,
            max_premium,
        }
        .data(),
    }
}

/// The example lender's insurer PDA (owner and payer of the cover it buys).
pub fn lender_insurer() -> Pubkey {
    Pubkey::find_program_address(&[example_lender::INSURER_SEED], &example_lender::ID).0
}
