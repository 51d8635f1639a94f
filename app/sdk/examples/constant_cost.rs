//! Does an instruction cost the same whether the pool has ten policies and
//! stakers or ten thousand? Builds the demo's pool at each size (N stakers
//! who deposited, N policies of distinct owners), then times each
//! instruction's execution in the bank (the host time of processing one
//! transaction; the median of several) and counts the accounts it reads.
//! A benchmark, not a test: it reports, and says which instruction (if any)
//! went past 1.5× its time at the smallest size.
//!
//! `cargo run -p coverage-sdk --features bank --example constant_cost -- 10 1000 10000`

use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use coverage_sdk::bank::BankTransport;
use coverage_sdk::config::Deployment;
use coverage_sdk::ix::{self, BuyCoverKeys, PoolKeys};
use coverage_sdk::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use coverage_sdk::scenario::{self, OPEN};
use coverage_sdk::transport::{SendMode, Transport};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Runs per instruction and size (the median is reported).
const RUNS: usize = 15;

fn quiet_program_logs() -> std::fs::File {
    use std::os::fd::{AsRawFd, FromRawFd};
    let devnull = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
    // SAFETY: plain descriptor duplication; the returned File owns the new descriptor.
    unsafe {
        let real = libc::dup(1);
        libc::dup2(devnull.as_raw_fd(), 1);
        std::fs::File::from_raw_fd(real)
    }
}

/// One instruction's measurement at one size.
struct Row {
    name: &'static str,
    accounts: usize,
    micros: u64,
}

async fn time(bank: &mut BankTransport, ixs: &[Instruction], signers: &[&Keypair]) -> anyhow::Result<u64> {
    use anyhow::Context;
    let started = Instant::now();
    bank.send(ixs, signers, SendMode::Send)
        .await
        .with_context(|| format!("instruction {:?}", &ixs[0].data[..8]))?;
    Ok(started.elapsed().as_micros() as u64)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

async fn measure(n: usize) -> anyhow::Result<Vec<Row>> {
    let d = Deployment::parse(include_str!("../../../migrations/demo.toml"))?;
    let (mut bank, keys, mint_authority) = scenario::open_pool(&d).await?;
    let keys: PoolKeys = keys;
    let payer = bank.payer_keypair();
    let market = coverage_sdk::pda::market(&keys.pool, 0).0;
    let feed = d.markets[0].feed_id()?;
    let feed_account = push_feed_address(&feed, SPONSORED_SHARD);
    use anyhow::Context;
    let payer_usdc = scenario::fund_and_stake(&mut bank, &keys, &mint_authority, 1_000_000_000_000_000)
        .await
        .context("staking the pool's capital")?;
    bank.install_price(&feed_account, &PriceUpdate::new(feed, 100_000_000, 10_000, OPEN));
    // the population: N stakers, N policies of distinct owners
    let stakers = scenario::add_stakers(&mut bank, &keys, &mint_authority, 1, 1_000_000_000, n.max(2 * RUNS))
        .await
        .context("adding stakers")?;
    scenario::buy_for_owners(&mut bank, &keys, &market, &feed_account, &payer_usdc, n)
        .await
        .context("buying the policies")?;
    let mut rows = Vec::new();
    let mut push = |name, accounts, samples: Vec<u64>| {
        rows.push(Row {
            name,
            accounts,
            micros: median(samples),
        })
    };

    // deposit, request_withdrawal, cancel_withdrawal: RUNS different stakers
    let (mut dep, mut req, mut can) = (Vec::new(), Vec::new(), Vec::new());
    let mut accounts = (0, 0, 0);
    for (s, collateral, shares) in stakers.iter().take(RUNS) {
        let d_ix = ix::deposit(&s.pubkey(), &keys, 1, collateral, shares, 1_000_000, 0);
        let r_ix = ix::request_withdrawal(&s.pubkey(), &keys, 1, shares, 1_000);
        let request = coverage_sdk::pda::withdrawal_request(&keys.pool, 1, &s.pubkey()).0;
        let c_ix = ix::cancel_withdrawal(&s.pubkey(), &keys, 1, &request, shares);
        accounts = (d_ix.accounts.len(), r_ix.accounts.len(), c_ix.accounts.len());
        dep.push(time(&mut bank, &[d_ix], &[s]).await?);
        req.push(time(&mut bank, &[r_ix], &[s]).await?);
        can.push(time(&mut bank, &[c_ix], &[s]).await?);
    }
    push("deposit", accounts.0, dep);
    push("request_withdrawal", accounts.1, req);
    push("cancel_withdrawal", accounts.2, can);

    // buy_cover, accrue_premium, check_trigger (healthy), transfer_policy
    let (mut buy, mut accrue, mut check, mut transfer) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut accounts = (0, 0, 0, 0);
    let mut now = OPEN;
    for i in 0..RUNS {
        now += 61;
        bank.set_time(now).await?;
        bank.install_price(&feed_account, &PriceUpdate::new(feed, 100_000_000, 10_000, now));
        let k = BuyCoverKeys {
            keys,
            market,
            policy_id: (n + i) as u64,
            payer_collateral: payer_usdc,
            price_update: feed_account,
        };
        let b_ix = ix::buy_cover(&payer.pubkey(), &payer.pubkey(), &k, 10_000_000, 30, u64::MAX);
        let a_ix = ix::accrue_premium(&keys.pool);
        let c_ix = ix::check_trigger(&market, &keys.pool, &feed_account);
        let policy = coverage_sdk::pda::policy(&market, (n + i) as u64).0;
        let t_ix = ix::transfer_policy(&payer.pubkey(), &policy, &Pubkey::new_unique());
        accounts = (
            b_ix.accounts.len(),
            a_ix.accounts.len(),
            c_ix.accounts.len(),
            t_ix.accounts.len(),
        );
        buy.push(time(&mut bank, &[b_ix], &[]).await?);
        accrue.push(time(&mut bank, &[a_ix], &[]).await?);
        check.push(time(&mut bank, &[c_ix], &[]).await?);
        transfer.push(time(&mut bank, &[t_ix], &[]).await?);
    }
    push("buy_cover", accounts.0, buy);
    push("accrue_premium", accounts.1, accrue);
    push("check_trigger", accounts.2, check);
    push("transfer_policy", accounts.3, transfer);

    // withdraw after the cooldown (each market's price fresh)
    let mut withdraw = Vec::new();
    let mut w_accounts = 0;
    for (s, _, shares) in stakers.iter().skip(RUNS).take(RUNS) {
        bank.send(
            &[ix::request_withdrawal(&s.pubkey(), &keys, 1, shares, 1_000)],
            &[s],
            SendMode::Send,
        )
        .await?;
    }
    now += 7 * 86_400 + 60;
    bank.set_time(now).await?;
    let prices = coverage_sdk::transport::market_price_updates(&mut bank, &keys.pool, 2).await?;
    for (i, (s, collateral, _)) in stakers.iter().skip(RUNS).take(RUNS).enumerate() {
        now += 1;
        bank.set_time(now).await?;
        for (j, m) in d.markets.iter().enumerate() {
            let f = m.feed_id()?;
            bank.install_price(&prices[j], &PriceUpdate::new(f, 100_000_000, 10_000, now));
        }
        let request = coverage_sdk::pda::withdrawal_request(&keys.pool, 1, &s.pubkey()).0;
        let w_ix = ix::withdraw(&s.pubkey(), &keys, 1, &request, collateral, &prices);
        w_accounts = w_ix.accounts.len();
        withdraw.push(time(&mut bank, &[w_ix], &[s]).await?);
        let _ = i;
    }
    if !withdraw.is_empty() {
        push("withdraw", w_accounts, withdraw);
    }
    Ok(rows)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    use std::io::Write;
    if std::env::var_os("RUST_LOG").is_none() {
        std::env::set_var("RUST_LOG", "off");
    }
    let mut out = quiet_program_logs();
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() {
        vec![10, 1_000, 10_000]
    } else {
        sizes
    };
    let mut table: Vec<Vec<Row>> = Vec::new();
    for &n in &sizes {
        let started = Instant::now();
        table.push(measure(n).await?);
        writeln!(
            out,
            "size {n}: built and measured in {:.0} s",
            started.elapsed().as_secs_f64()
        )?;
    }
    let header: Vec<String> = sizes.iter().map(|n| format!("{n} policies + stakers")).collect();
    writeln!(
        out,
        "\n| instruction | accounts | {} | largest / smallest |",
        header.join(" | ")
    )?;
    writeln!(out, "|---|---|{}---|", "---|".repeat(sizes.len()))?;
    let mut over = Vec::new();
    for (i, row) in table[0].iter().enumerate() {
        let times: Vec<u64> = table.iter().map(|rows| rows[i].micros).collect();
        let accounts: Vec<usize> = table.iter().map(|rows| rows[i].accounts).collect();
        anyhow::ensure!(
            accounts.iter().all(|a| *a == accounts[0]),
            "{}: accounts grow with the pool",
            row.name
        );
        let ratio = *times.iter().max().unwrap() as f64 / times[0] as f64;
        if ratio > 1.5 {
            over.push(row.name);
        }
        let cells: Vec<String> = times.iter().map(|t| format!("{:.2} ms", *t as f64 / 1_000.0)).collect();
        writeln!(
            out,
            "| `{}` | {} | {} | {ratio:.2}× |",
            row.name,
            row.accounts,
            cells.join(" | ")
        )?;
    }
    writeln!(
        out,
        "\nmedian of {RUNS} transactions each (host time in the bank, debug build); {}",
        if over.is_empty() {
            "every instruction within 1.5× of its time at the smallest size".to_string()
        } else {
            format!("past 1.5×: {over:?}")
        }
    )?;
    Ok(())
}
