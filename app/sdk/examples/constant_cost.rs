//! Does an instruction cost the same whether the pool has ten policies and
//! stakers or ten thousand? Builds the demo's pool at each size (N stakers
//! who deposited, N policies of distinct owners), then times each
//! instruction's execution in the bank (the host time of processing one
//! transaction) and counts the accounts it reads. The sizes are measured in
//! interleaved rounds (one transaction of each instruction on each pool in
//! turn), so a busy machine slows every size alike; the median of the rounds
//! is reported. A benchmark, not a test: it reports, and says which
//! instruction (if any) went past 1.5× its time at the smallest size.
//!
//! `cargo run -p coverage-sdk --features bank --example constant_cost -- 10 1000 10000`

use std::io::Write;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::Context;
use coverage_sdk::bank::BankTransport;
use coverage_sdk::config::Deployment;
use coverage_sdk::ix::{self, BuyCoverKeys, PoolKeys};
use coverage_sdk::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use coverage_sdk::scenario::{self, OPEN};
use coverage_sdk::transport::{SendMode, Transport};
use solana_keypair::Keypair;
use solana_signer::Signer;

/// Rounds (the median is reported).
const ROUNDS: usize = 21;
/// The instructions timed, in the order of a round.
const NAMES: [&str; 8] = [
    "deposit",
    "request_withdrawal",
    "cancel_withdrawal",
    "buy_cover",
    "accrue_premium",
    "check_trigger",
    "transfer_policy",
    "withdraw",
];

/// One pool at one size, ready for rounds.
struct Sized {
    n: usize,
    bank: BankTransport,
    keys: PoolKeys,
    payer: Keypair,
    payer_usdc: Pubkey,
    market: Pubkey,
    feeds: Vec<([u8; 32], Pubkey)>,
    /// Stakers `0..ROUNDS` deposit and request; `ROUNDS..2·ROUNDS` withdraw.
    stakers: Vec<(Keypair, Pubkey, Pubkey)>,
    next_policy: u64,
    now: i64,
}

async fn build(n: usize) -> anyhow::Result<Sized> {
    let d = Deployment::parse(include_str!("../../../migrations/demo.toml"))?;
    let (mut bank, keys, mint_authority) = scenario::open_pool(&d).await?;
    let payer = bank.payer_keypair();
    let market = coverage_sdk::pda::market(&keys.pool, 0).0;
    let mut feeds = Vec::new();
    for m in &d.markets {
        let feed = m.feed_id()?;
        let account = push_feed_address(&feed, SPONSORED_SHARD);
        bank.install_price(&account, &PriceUpdate::new(feed, 100_000_000, 10_000, OPEN));
        feeds.push((feed, account));
    }
    let payer_usdc = scenario::fund_and_stake(&mut bank, &keys, &mint_authority, 1_000_000_000_000_000)
        .await
        .context("staking the pool's capital")?;
    // the population: N stakers, N policies of distinct owners
    let stakers = scenario::add_stakers(&mut bank, &keys, &mint_authority, 1, 1_000_000_000, n.max(2 * ROUNDS))
        .await
        .context("adding stakers")?;
    scenario::buy_for_owners(&mut bank, &keys, &market, &feeds[0].1, &payer_usdc, n)
        .await
        .context("buying the policies")?;
    // the withdrawers ask now and redeem after the cooldown
    for (s, _, shares) in stakers.iter().skip(ROUNDS).take(ROUNDS) {
        bank.send(
            &[ix::request_withdrawal(&s.pubkey(), &keys, 1, shares, 1_000)],
            &[s],
            SendMode::Send,
        )
        .await?;
    }
    let now = OPEN + 7 * 86_400 + 60;
    Ok(Sized {
        n,
        bank,
        keys,
        payer,
        payer_usdc,
        market,
        feeds,
        stakers,
        next_policy: n as u64,
        now,
    })
}

/// Times one transaction; returns the accounts it reads and microseconds.
async fn time(bank: &mut BankTransport, ix: Instruction, signers: &[&Keypair]) -> anyhow::Result<(usize, u64)> {
    let accounts = ix.accounts.len();
    let started = Instant::now();
    bank.send(std::slice::from_ref(&ix), signers, SendMode::Send)
        .await
        .with_context(|| format!("instruction {:?}", &ix.data[..8]))?;
    Ok((accounts, started.elapsed().as_micros() as u64))
}

/// One transaction of each instruction (staker `i`), in the order of [`NAMES`].
async fn round(p: &mut Sized, i: usize) -> anyhow::Result<Vec<(usize, u64)>> {
    let keys = p.keys;
    p.now += 61;
    p.bank.set_time(p.now).await?;
    for (feed, account) in &p.feeds {
        p.bank
            .install_price(account, &PriceUpdate::new(*feed, 100_000_000, 10_000, p.now));
    }
    let mut out = Vec::new();
    let (s, collateral, shares) = &p.stakers[i];
    let request = coverage_sdk::pda::withdrawal_request(&keys.pool, 1, &s.pubkey()).0;
    out.push(
        time(
            &mut p.bank,
            ix::deposit(&s.pubkey(), &keys, 1, collateral, shares, 1_000_000, 0),
            &[s],
        )
        .await?,
    );
    out.push(
        time(
            &mut p.bank,
            ix::request_withdrawal(&s.pubkey(), &keys, 1, shares, 1_000),
            &[s],
        )
        .await?,
    );
    out.push(
        time(
            &mut p.bank,
            ix::cancel_withdrawal(&s.pubkey(), &keys, 1, &request, shares),
            &[s],
        )
        .await?,
    );
    let k = BuyCoverKeys {
        keys,
        market: p.market,
        policy_id: p.next_policy,
        payer_collateral: p.payer_usdc,
        price_update: p.feeds[0].1,
    };
    let payer = p.payer.pubkey();
    out.push(
        time(
            &mut p.bank,
            ix::buy_cover(&payer, &payer, &k, 10_000_000, 30, u64::MAX),
            &[],
        )
        .await?,
    );
    out.push(time(&mut p.bank, ix::accrue_premium(&keys.pool), &[]).await?);
    out.push(
        time(
            &mut p.bank,
            ix::check_trigger(&p.market, &keys.pool, &p.feeds[0].1),
            &[],
        )
        .await?,
    );
    let policy = coverage_sdk::pda::policy(&p.market, p.next_policy).0;
    p.next_policy += 1;
    out.push(
        time(
            &mut p.bank,
            ix::transfer_policy(&payer, &policy, &Pubkey::new_unique()),
            &[],
        )
        .await?,
    );
    let (w, w_collateral, _) = &p.stakers[ROUNDS + i];
    let w_request = coverage_sdk::pda::withdrawal_request(&keys.pool, 1, &w.pubkey()).0;
    let prices: Vec<Pubkey> = p.feeds.iter().map(|(_, a)| *a).collect();
    out.push(
        time(
            &mut p.bank,
            ix::withdraw(&w.pubkey(), &keys, 1, &w_request, w_collateral, &prices),
            &[w],
        )
        .await?,
    );
    Ok(out)
}

fn median(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // quiet unless RUST_LOG says otherwise, without set_var (the runtime's threads are running)
    coverage_sdk::bank::quiet_logs("off");
    let mut out = coverage_sdk::bank::redirect_program_logs(false)?;
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() {
        vec![10, 1_000, 10_000]
    } else {
        sizes
    };
    let mut pools = Vec::new();
    for &n in &sizes {
        let started = Instant::now();
        pools.push(build(n).await?);
        writeln!(out, "size {n}: built in {:.0} s", started.elapsed().as_secs_f64())?;
    }
    // samples[pool][instruction] = (accounts, micros per round)
    let mut samples: Vec<Vec<(usize, Vec<u64>)>> = pools.iter().map(|_| vec![(0, Vec::new()); NAMES.len()]).collect();
    for i in 0..ROUNDS {
        for (p, pool) in pools.iter_mut().enumerate() {
            for (k, (accounts, micros)) in round(pool, i).await?.into_iter().enumerate() {
                samples[p][k].0 = accounts;
                samples[p][k].1.push(micros);
            }
        }
    }
    let header: Vec<String> = pools.iter().map(|p| format!("{} policies + stakers", p.n)).collect();
    writeln!(
        out,
        "\n| instruction | accounts | {} | largest / at the smallest size |",
        header.join(" | ")
    )?;
    writeln!(out, "|---|---|{}---|", "---|".repeat(pools.len()))?;
    let mut over = Vec::new();
    for (k, name) in NAMES.iter().enumerate() {
        let accounts: Vec<usize> = samples.iter().map(|s| s[k].0).collect();
        anyhow::ensure!(
            accounts.iter().all(|a| *a == accounts[0]),
            "{name}: accounts grow with the pool"
        );
        let times: Vec<u64> = samples.iter().map(|s| median(s[k].1.clone())).collect();
        let ratio = *times.iter().max().unwrap() as f64 / times[0] as f64;
        if ratio > 1.5 {
            over.push(*name);
        }
        let cells: Vec<String> = times.iter().map(|t| format!("{:.2} ms", *t as f64 / 1_000.0)).collect();
        writeln!(
            out,
            "| `{name}` | {} | {} | {ratio:.2}× |",
            accounts[0],
            cells.join(" | ")
        )?;
    }
    writeln!(
        out,
        "\nmedian of {ROUNDS} interleaved rounds (host time of one transaction in the bank, debug build); {}",
        if over.is_empty() {
            "every instruction within 1.5× of its time at the smallest size".to_string()
        } else {
            format!("past 1.5×: {over:?}")
        }
    )?;
    Ok(())
}
