//! Compute units per instruction, from the bank's transaction metadata, with
//! the worst cases a caller must budget for: `buy_cover` after a long idle
//! period (the premium ledger and the cover book catch up day by day), the
//! same by CPI from an integrator, `withdraw` reading 16 idle books (a v0
//! transaction through a lookup table: 16 × (market, book, price) accounts),
//! the largest `settle_policies` batch (28 pairs through a lookup table).
//!
//! On the SBF VM (`COVERAGE_SBF=1` after `anchor build`; the hosted workflow
//! `.github/workflows/sbf.yml`) it prints the table:
//! `COVERAGE_SBF=1 cargo test -p coverage-sdk --features bank --test compute_units -- --nocapture`.
//! Natively the programs' own instructions are not metered, so it runs the
//! same transactions (each must succeed) and says the table is skipped.

use anchor_lang::prelude::Pubkey;
use coverage_pool::state::{Market, MarketStatus};
use coverage_sdk::bank::{runs_on_sbf, BankTransport};
use coverage_sdk::config::Deployment;
use coverage_sdk::ix;
use coverage_sdk::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use coverage_sdk::scenario::{self, OPEN};
use coverage_sdk::transport::fetch;
use coverage_sdk::tx::AddressLookupTableAccount;
use solana_keypair::Keypair;
use solana_signer::Signer;

const DAY: i64 = 86_400;

/// A pool of 16 markets on one feed (the most a pool may have), 1 250 bps each.
fn sixteen_markets() -> Deployment {
    let mut toml = String::from(
        "[pool]\npool_id = 1\ntranches = [{ name = \"junior\", weight_bps = 7000 }, { name = \"senior\", weight_bps = 3000 }]\n\
         cooldown_secs = 604800\nwithdraw_window_secs = 172800\nmax_leverage_bps = 20000\nprotocol_fee_bps = 1000\n",
    );
    for i in 0..16 {
        toml.push_str(&format!(
            "\n[[market]]\nname = \"m{i}\"\nfeed = \"USDC/USD\"\nstrike = 0.95\nrecovery = 0.97\nduration_secs = 3600\n\
             max_gap_secs = 3600\nmax_price_age_secs = 60\nmax_conf_bps = 500\npayout = \"binary\"\n\
             curve = {{ base_bps = 200, slope_below_kink_bps = 800, slope_above_kink_bps = 4000, kink_bps = 8000 }}\n\
             allocation_bps = 1250\nactivation_delay_secs = 120\n"
        ));
    }
    Deployment::parse(&toml).unwrap()
}

struct Table {
    rows: Vec<(String, u64)>,
}

impl Table {
    async fn run(
        &mut self,
        bank: &mut BankTransport,
        what: &str,
        ixs: &[anchor_lang::solana_program::instruction::Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) {
        let units = bank
            .send_metered(ixs, signers, tables)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:#}"));
        self.rows.push((what.to_string(), units));
    }
}

#[tokio::test]
async fn compute_units_per_instruction_and_the_worst_cases() {
    let d = sixteen_markets();
    let (mut bank, keys, mint_authority) = scenario::open_pool(&d).await.unwrap();
    let payer = bank.payer_keypair();
    let feed = d.markets[0].feed_id().unwrap();
    let feed_account = push_feed_address(&feed, SPONSORED_SHARD);
    let market = coverage_sdk::pda::market(&keys.pool, 0).0;
    let mut t = Table { rows: Vec::new() };

    // staking
    let payer_usdc = bank
        .token_account(&keys.collateral_mint, &payer.pubkey())
        .await
        .unwrap();
    bank.mint_to(&keys.collateral_mint, &mint_authority, &payer_usdc, 10_000_000_000_000)
        .await
        .unwrap();
    let shares0 = bank.token_account(&keys.share_mint(0), &payer.pubkey()).await.unwrap();
    let shares1 = bank.token_account(&keys.share_mint(1), &payer.pubkey()).await.unwrap();
    let deposit = |shares: &Pubkey, tranche: u8, amount: u64| {
        ix::deposit(&payer.pubkey(), &keys, tranche, &payer_usdc, shares, amount, 0)
    };
    t.run(
        &mut bank,
        "deposit (first: dead shares)",
        &[deposit(&shares0, 0, 2_000_000_000_000)],
        &[],
        &[],
    )
    .await;
    t.run(
        &mut bank,
        "deposit",
        &[deposit(&shares1, 1, 1_000_000_000_000)],
        &[],
        &[],
    )
    .await;
    let request = ix::request_withdrawal(&payer.pubkey(), &keys, 0, &shares0, 1_000_000);
    t.run(
        &mut bank,
        "request_withdrawal",
        std::slice::from_ref(&request),
        &[],
        &[],
    )
    .await;
    let req = coverage_sdk::pda::withdrawal_request(&keys.pool, 0, &payer.pubkey()).0;
    t.run(
        &mut bank,
        "cancel_withdrawal",
        &[ix::cancel_withdrawal(&payer.pubkey(), &keys, 0, &req, &shares0)],
        &[],
        &[],
    )
    .await;

    // cover
    bank.install_price(&feed_account, &PriceUpdate::new(feed, 100_000_000, 10_000, OPEN));
    let buy = |policy_id: u64| {
        ix::buy_cover(
            &payer.pubkey(),
            &payer.pubkey(),
            &ix::BuyCoverKeys {
                keys,
                market,
                policy_id,
                payer_collateral: payer_usdc,
                price_update: feed_account,
            },
            1_000_000_000,
            30,
            u64::MAX,
        )
    };
    t.run(&mut bank, "buy_cover", &[buy(0)], &[], &[]).await;
    t.run(
        &mut bank,
        "accrue_premium (a day later)",
        &[ix::accrue_premium(&keys.pool)],
        &[],
        &[],
    )
    .await;

    // worst case 1: a sale after a long idle period (the ledger and the book catch up 300 days)
    let idle = OPEN + 300 * DAY;
    bank.set_time(idle).await.unwrap();
    bank.install_price(&feed_account, &PriceUpdate::new(feed, 100_000_000, 10_000, idle));
    t.run(
        &mut bank,
        "buy_cover after 300 idle days (worst case)",
        &[buy(1)],
        &[],
        &[],
    )
    .await;

    // worst case 2: an integrator's CPI after a long idle period (on another market)
    let market1 = coverage_sdk::pda::market(&keys.pool, 1).0;
    let insurer = scenario::lender_insurer();
    bank.airdrop(&insurer, 1_000_000_000).await.unwrap();
    let insurer_usdc = bank.token_account(&keys.collateral_mint, &insurer).await.unwrap();
    bank.mint_to(&keys.collateral_mint, &mint_authority, &insurer_usdc, 10_000_000_000)
        .await
        .unwrap();
    let borrower = Keypair::new();
    bank.airdrop(&borrower.pubkey(), 1_000_000_000).await.unwrap();
    let m1: Market = fetch(&mut bank, &market1).await.unwrap();
    let originate = scenario::lender_originate(
        &keys,
        &market1,
        m1.policy_count,
        &borrower.pubkey(),
        &insurer_usdc,
        &feed_account,
        1,
        1_000_000_000,
        30,
        u64::MAX,
    );
    t.run(
        &mut bank,
        "buy_cover by CPI (example lender) after 300 idle days (worst case)",
        &[originate],
        &[&borrower],
        &[],
    )
    .await;

    // worst case 3: withdraw reading 16 idle books, through a lookup table
    t.run(&mut bank, "request_withdrawal", &[request], &[], &[]).await;
    let after_cooldown = idle + 7 * DAY + 60;
    bank.set_time(after_cooldown).await.unwrap();
    bank.install_price(
        &feed_account,
        &PriceUpdate::new(feed, 100_000_000, 10_000, after_cooldown),
    );
    let prices = vec![feed_account; 16];
    let withdraw = ix::withdraw(&payer.pubkey(), &keys, 0, &req, &payer_usdc, &prices);
    let accounts: Vec<Pubkey> = withdraw.accounts.iter().map(|a| a.pubkey).collect();
    let table = coverage_sdk::tables::create(&mut bank, &[], &accounts).await.unwrap();
    bank.install_price(
        &feed_account,
        &PriceUpdate::new(feed, 100_000_000, 10_000, after_cooldown),
    );
    t.run(
        &mut bank,
        "withdraw reading 16 books (worst case, v0)",
        &[withdraw],
        &[],
        &table,
    )
    .await;

    // triggers and the largest settlement batch (28 pairs, distinct owners, through a table)
    let fresh = after_cooldown + 60;
    bank.set_time(fresh).await.unwrap();
    bank.install_price(&feed_account, &PriceUpdate::new(feed, 100_000_000, 10_000, fresh));
    let owners = scenario::buy_for_owners(&mut bank, &keys, &market, &feed_account, &payer_usdc, 28)
        .await
        .unwrap();
    let check = ix::check_trigger(&market, &keys.pool, &feed_account);
    let observe = |bank: &mut BankTransport, price: i64, at: i64| {
        bank.install_price(&feed_account, &PriceUpdate::new(feed, price, 0, at));
    };
    let t0 = fresh + 600;
    bank.set_time(t0).await.unwrap();
    observe(&mut bank, 100_000_000, t0);
    t.run(
        &mut bank,
        "check_trigger (healthy)",
        std::slice::from_ref(&check),
        &[],
        &[],
    )
    .await;
    bank.set_time(t0 + 60).await.unwrap();
    observe(&mut bank, 90_000_000, t0 + 60);
    t.run(
        &mut bank,
        "check_trigger (streak opens)",
        std::slice::from_ref(&check),
        &[],
        &[],
    )
    .await;
    bank.set_time(t0 + 60 + 3_600).await.unwrap();
    observe(&mut bank, 90_000_000, t0 + 60 + 3_600);
    t.run(&mut bank, "check_trigger (triggers: reserve)", &[check], &[], &[])
        .await;
    let m: Market = fetch(&mut bank, &market).await.unwrap();
    assert_eq!(m.status, MarketStatus::Triggered);
    let first = m.policy_count - 28;
    let pairs: Vec<(Pubkey, Pubkey)> = owners
        .iter()
        .enumerate()
        .map(|(i, (_, ata))| (coverage_sdk::pda::policy(&market, first + i as u64).0, *ata))
        .collect();
    let fixed = [
        market,
        keys.pool,
        keys.collateral_mint,
        keys.vault(),
        keys.token_program,
    ];
    let addresses: Vec<Pubkey> = pairs.iter().flat_map(|(p, a)| [*p, *a]).collect();
    let tables = coverage_sdk::tables::create(&mut bank, &fixed, &addresses)
        .await
        .unwrap();
    t.run(
        &mut bank,
        "settle_policies, 28 pairs (worst case, v0)",
        &[ix::settle_policies(&keys, &market, &pairs)],
        &[],
        &tables,
    )
    .await;
    // the policies bought earlier by the payer, then the release
    let early: Vec<(Pubkey, Pubkey)> = (0..first)
        .map(|i| (coverage_sdk::pda::policy(&market, i).0, payer_usdc))
        .collect();
    t.run(
        &mut bank,
        "settle_policies, 2 pairs",
        &[ix::settle_policies(&keys, &market, &early)],
        &[],
        &[],
    )
    .await;
    t.run(
        &mut bank,
        "release_reserve",
        &[ix::release_reserve(&keys.pool, &market)],
        &[],
        &[],
    )
    .await;
    let policy = coverage_sdk::pda::policy(&market, 0).0;
    t.run(
        &mut bank,
        "close_policy",
        &[ix::close_policy(&payer.pubkey(), &policy, &market)],
        &[],
        &[],
    )
    .await;

    if runs_on_sbf() {
        println!("\n| instruction | compute units (whole transaction) |\n|---|---|");
        for (what, units) in &t.rows {
            println!("| {what} | {units} |");
        }
        for (what, units) in &t.rows {
            assert!(*units > 0 && *units < 1_400_000, "{what}: {units}");
        }
    } else {
        println!(
            "skipped the table: the programs run natively here, and native programs' own compute units are \
             not metered ({} transactions ran and succeeded; run with COVERAGE_SBF=1 after `anchor build`)",
            t.rows.len()
        );
    }
}
