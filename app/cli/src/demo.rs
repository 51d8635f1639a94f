//! `cover demo`: the whole protocol on the embedded bank, telling the story
//! as it runs. The pool comes from `migrations/demo.toml` (the same path
//! `cover migrate apply` takes on a cluster); the keeper that replays the
//! real USDC series of March 2023 and settles the policies is the keeper of
//! `cover keeper run`, here on the bank transport.

use std::path::PathBuf;

use anchor_lang::prelude::Pubkey;
use anyhow::{Context, Result};
use coverage_pool::state::{Market, MarketStatus, Pool, PremiumLedger};
use coverage_sdk::bank::BankTransport;
use coverage_sdk::config::Deployment;
use coverage_sdk::ix::{self, BuyCoverKeys, PoolKeys};
use coverage_sdk::keeper::{Keeper, KeeperConfig};
use coverage_sdk::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use coverage_sdk::transport::{fetch, fetch_zero_copy, SendMode, Transport};
use coverage_sdk::{pda, quote};
use serde::Serialize;
use serde_json::json;
use solana_keypair::Keypair;
use solana_signer::Signer;

use crate::backtest::parse_csv;
use crate::output::{amount, share_price, time};

const ONE: u64 = 1_000_000;
/// The markets open for sales at 2023-03-01 00:00 UTC (the pool and its
/// markets are created the governance delay before, on the bank).
const OPEN: i64 = 1_677_628_800;

/// A tranche in the report.
#[derive(Serialize, Clone, Debug)]
pub struct TrancheReport {
    /// Name from the config.
    pub name: String,
    /// Share price after the stakers' deposits.
    pub share_price_start: f64,
    /// Share price at the end.
    pub share_price_end: f64,
}

/// The demo's JSON report.
#[derive(Serialize, Clone, Debug)]
pub struct Report {
    /// The USDC market triggered.
    pub triggered: bool,
    /// Its trigger time (unix), or null.
    pub trigger_time: Option<i64>,
    /// Start of the triggering streak (unix), or null.
    pub streak_start: Option<i64>,
    /// Policies sold.
    pub policies: u64,
    /// Premiums paid, base units.
    pub premiums_paid: u64,
    /// Payouts, base units.
    pub payouts: u64,
    /// Haircut of the USDC event, bps (10 000 = paid in full).
    pub haircut_bps: u64,
    /// Tranches.
    pub tranches: Vec<TrancheReport>,
    /// Vault balance, base units.
    pub vault_balance: u64,
    /// What the books say the vault holds: tranche assets + unearned premium + reserves + fees owed.
    pub books_total: u64,
    /// Collateral decimals.
    pub decimals: u8,
    /// Price rows replayed.
    pub rows_replayed: usize,
    /// What the junior staker who asked to leave before the depeg got back.
    pub withdrawal_paid: u64,
    /// Keeper counters.
    pub keeper: serde_json::Value,
}

struct Wallet {
    kp: Keypair,
    usdc: Pubkey,
}

async fn wallet(bank: &mut BankTransport, keys: &PoolKeys, mint_auth: &Keypair, funds: u64) -> Result<Wallet> {
    let kp = Keypair::new();
    bank.airdrop(&kp.pubkey(), 2_000_000_000).await?;
    let usdc = bank.token_account(&keys.collateral_mint, &kp.pubkey()).await?;
    if funds > 0 {
        bank.mint_to(&keys.collateral_mint, mint_auth, &usdc, funds).await?;
    }
    Ok(Wallet { kp, usdc })
}

async fn share_prices(bank: &mut BankTransport, keys: &PoolKeys) -> Result<Vec<u64>> {
    let p: Pool = fetch(bank, &keys.pool).await?;
    let mut out = Vec::new();
    for i in 0..p.tranche_count {
        let tr = p.tranches[i as usize];
        let total = bank.mint_supply(&keys.share_mint(i)).await? + tr.dead_shares;
        out.push(coverage_core::shares::share_price_scaled(
            tr.assets,
            total,
            1_000_000_000,
        )?);
    }
    Ok(out)
}

/// `cover demo`.
pub async fn run(json_out: bool, out: Option<PathBuf>) -> Result<()> {
    let stdout = std::cell::RefCell::new(crate::output::capture_program_logs()?);
    play(json_out, out, false, &stdout).await.map(|_| ())
}

/// Runs the demo; `quiet` tells no story and prints no summary (for
/// `cover risk --demo`). Returns the bank with the demo's pool in it.
/// `stdout` is the real standard output (program logs go to stderr).
pub async fn play(
    json_out: bool,
    out: Option<PathBuf>,
    quiet: bool,
    stdout: &std::cell::RefCell<std::fs::File>,
) -> Result<(BankTransport, PoolKeys)> {
    use std::io::Write;
    let say = |s: String| {
        if quiet {
        } else if json_out {
            eprintln!("{s}");
        } else {
            let _ = writeln!(stdout.borrow_mut(), "{s}");
        }
    };
    let rows = parse_csv(include_str!("../../../data/usdc-2023-03-svb.csv")).context("the embedded USDC series")?;
    let deployment = Deployment::parse(include_str!("../../../migrations/demo.toml"))?;

    let start = OPEN - deployment.pool.governance_delay();
    let mut bank = BankTransport::start(start).await?;
    let (keys, mint_auth, _treasury) = bank.deploy(&deployment).await?;
    say(format!("● {} — pool {} from migrations/demo.toml: {} tranches, {} markets, on an embedded bank running the real program", time(start), keys.pool, deployment.pool.tranches.len(), deployment.markets.len()));
    let usdc_market = pda::market(&keys.pool, 0).0;
    let usdt_market = pda::market(&keys.pool, 1).0;
    let usdc_feed = deployment.markets[0].feed_id()?;
    let usdt_feed = deployment.markets[1].feed_id()?;
    let usdc_account = push_feed_address(&usdc_feed, SPONSORED_SHARD);
    let usdt_account = push_feed_address(&usdt_feed, SPONSORED_SHARD);

    // stakers
    let alice = wallet(&mut bank, &keys, &mint_auth, 600_000 * ONE).await?;
    let bob = wallet(&mut bank, &keys, &mint_auth, 400_000 * ONE).await?;
    let mut alice_shares = Pubkey::default();
    for (w, tranche, amt, who) in [(&alice, 0u8, 600_000 * ONE, "alice"), (&bob, 1, 400_000 * ONE, "bob")] {
        let shares = bank.token_account(&keys.share_mint(tranche), &w.kp.pubkey()).await?;
        if tranche == 0 {
            alice_shares = shares;
        }
        bank.send(
            &[ix::deposit(&w.kp.pubkey(), &keys, tranche, &w.usdc, &shares, amt, 0)],
            &[&w.kp],
            SendMode::Send,
        )
        .await?;
        say(format!(
            "  {who} deposits {} USDC into the {} tranche",
            amount(amt, 6),
            deployment.pool.tranches[tranche as usize].name
        ));
    }
    let prices_start = share_prices(&mut bank, &keys).await?;
    bank.set_time(OPEN).await?;
    say(format!(
        "● {} — the markets open for sales, the governance delay after their creation (cooldown + window + 1 day: time for a staker who disagrees to leave)",
        time(OPEN)
    ));

    // healthy prices on both push feeds, then buyers
    let now = bank.now().await?;
    bank.install_price(&usdc_account, &PriceUpdate::new(usdc_feed, 100_010_000, 20_000, now));
    bank.install_price(&usdt_account, &PriceUpdate::new(usdt_feed, 100_000_000, 20_000, now));
    let mut policies = 0u64;
    for (who, market, feed_account, amt, days) in [
        ("carol", usdc_market, usdc_account, 250_000 * ONE, 60u16),
        ("dave", usdc_market, usdc_account, 150_000 * ONE, 30),
        ("erin", usdt_market, usdt_account, 200_000 * ONE, 30),
    ] {
        let w = wallet(&mut bank, &keys, &mint_auth, 20_000 * ONE).await?;
        let m: Market = fetch(&mut bank, &market).await?;
        let p: Pool = fetch(&mut bank, &keys.pool).await?;
        let ledger: PremiumLedger = fetch_zero_copy(&mut bank, &keys.ledger()).await?;
        let book = fetch_zero_copy(&mut bank, &m.book).await?;
        let premium = quote::premium(&p, &ledger, &m, &book, amt, days, now)?;
        let k = BuyCoverKeys {
            keys,
            market,
            policy_id: m.policy_count,
            payer_collateral: w.usdc,
            price_update: feed_account,
        };
        bank.send(
            &[ix::buy_cover(&w.kp.pubkey(), &w.kp.pubkey(), &k, amt, days, premium)],
            &[&w.kp],
            SendMode::Send,
        )
        .await?;
        policies += 1;
        say(format!(
            "  {who} buys {} USDC of {}-day cover on {} for a premium of {} USDC",
            amount(amt, 6),
            days,
            if market == usdc_market { "USDC" } else { "USDT" },
            amount(premium, 6)
        ));
    }
    // an integrator: the example lender insures a loan by CPI, its PDA buys and pays
    let insurer = coverage_sdk::scenario::lender_insurer();
    bank.airdrop(&insurer, 1_000_000_000).await?;
    let insurer_usdc = bank.token_account(&keys.collateral_mint, &insurer).await?;
    bank.mint_to(&keys.collateral_mint, &mint_auth, &insurer_usdc, 10_000 * ONE)
        .await?;
    let borrower = wallet(&mut bank, &keys, &mint_auth, 0).await?;
    let m: Market = fetch(&mut bank, &usdc_market).await?;
    let originate = coverage_sdk::scenario::lender_originate(
        &keys,
        &usdc_market,
        m.policy_count,
        &borrower.kp.pubkey(),
        &insurer_usdc,
        &usdc_account,
        1,
        50_000 * ONE,
        30,
        1_000 * ONE,
    );
    bank.send(&[originate], &[&borrower.kp], SendMode::Send).await?;
    policies += 1;
    say("  a lender program insures a 50 000.000000 USDC loan by CPI: its PDA buys and pays the cover".to_string());

    // the keeper replays March 2023 on the markets' push-feed accounts
    let bar =
        indicatif::ProgressBar::with_draw_target(Some(rows.len() as u64), indicatif::ProgressDrawTarget::stderr());
    // a refused transaction is one line on stderr with the program's error (the story stays on stdout)
    let refused = bar.clone();
    let mut keeper = Keeper::new(
        KeeperConfig {
            close_policies: false,
            ..KeeperConfig::new(keys.pool)
        },
        Box::new(move |v| {
            if !quiet && matches!(v["level"].as_str(), Some("warn" | "error")) {
                refused.println(format!(
                    "  ✗ {} refused (publish time {}): {}",
                    v["action"].as_str().unwrap_or("keeper"),
                    v["publish_time"],
                    v["error"].as_str().or(v["msg"].as_str()).unwrap_or("?")
                ));
            }
        }),
    );
    bar.set_message("replaying USDC/USD, March 2023");
    say(format!(
        "● keeper replays {} real USDC/USD observations, {} to {}",
        rows.len(),
        time(rows[0].publish_time),
        time(rows[rows.len() - 1].publish_time)
    ));
    let mut price_points = Vec::new();
    let mut share_points: Vec<Vec<(f64, f64)>> = vec![Vec::new(); deployment.pool.tranches.len()];
    let mut alice_request: Option<i64> = None;
    let mut was = MarketStatus::Active;
    for (i, row) in rows.iter().enumerate() {
        bank.set_time(row.publish_time).await?;
        bank.install_price(
            &usdc_account,
            &PriceUpdate::new(usdc_feed, row.price, row.conf, row.publish_time),
        );
        bank.install_price(
            &usdt_account,
            &PriceUpdate::new(usdt_feed, 100_000_000, 20_000, row.publish_time),
        );
        // the day before the crisis alice asks to leave with a sixth of her shares
        if alice_request.is_none() && row.publish_time >= 1_678_406_400 {
            let shares = bank.token_balance(&alice_shares).await? / 6;
            bank.send(
                &[ix::request_withdrawal(
                    &alice.kp.pubkey(),
                    &keys,
                    0,
                    &alice_shares,
                    shares,
                )],
                &[&alice.kp],
                SendMode::Send,
            )
            .await?;
            alice_request = Some(row.publish_time);
            say(format!(
                "  {} alice requests a withdrawal of {} junior shares (redeemable after the 7-day cooldown)",
                time(row.publish_time),
                amount(shares, 6)
            ));
        }
        keeper.tick(&mut bank).await?;
        let m: Market = fetch(&mut bank, &usdc_market).await?;
        if m.status != was {
            match m.status {
                MarketStatus::StreakOpen => say(format!(
                    "  {} USDC at {:.4} (± {:.4}): streak opens, sales stop",
                    time(row.publish_time),
                    row.price as f64 / 1e8,
                    row.conf as f64 / 1e8
                )),
                MarketStatus::Active if was == MarketStatus::StreakOpen => say(format!(
                    "  {} USDC back at {:.4}: streak closes",
                    time(row.publish_time),
                    row.price as f64 / 1e8
                )),
                MarketStatus::Triggered => {
                    say(format!(
                        "  {} USDC market TRIGGERS: below 0.95 for an hour since {}; lowest price + conf {:.8}",
                        time(m.event.trigger_time),
                        time(m.event.streak_start),
                        m.event.lowest_price as f64 / 1e8
                    ));
                    say(format!("  reserve {} USDC set aside junior first; the keeper settled {} policies and released the rest", amount(m.settlement.reserve, 6), m.settlement.settled_policies));
                }
                _ => {}
            }
            was = m.status;
        }
        price_points.push((row.publish_time as f64, row.price as f64 / 1e8));
        if i % 4 == 0 || m.status == MarketStatus::Triggered {
            for (t, sp) in share_prices(&mut bank, &keys).await?.iter().enumerate() {
                share_points[t].push((row.publish_time as f64, *sp as f64 / 1e9));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    // alice redeems after the cooldown: the claim hit her locked shares too
    let p: Pool = fetch(&mut bank, &keys.pool).await?;
    let requested = alice_request.unwrap_or(OPEN);
    let opens = requested + i64::from(p.cooldown);
    if bank.now().await? < opens {
        bank.set_time(opens).await?;
    }
    let before = bank.token_balance(&alice.usdc).await?;
    let req = pda::withdrawal_request(&keys.pool, 0, &alice.kp.pubkey()).0;
    let prices = coverage_sdk::transport::market_price_updates(&mut bank, &keys.pool, p.market_count).await?;
    bank.send(
        &[ix::withdraw(&alice.kp.pubkey(), &keys, 0, &req, &alice.usdc, &prices)],
        &[&alice.kp],
        SendMode::Send,
    )
    .await?;
    let withdrawal_paid = bank.token_balance(&alice.usdc).await? - before;
    say(format!(
        "● {} alice redeems after the cooldown: {} USDC (her locked shares bore the claim)",
        time(bank.now().await?),
        amount(withdrawal_paid, 6)
    ));
    bank.send(&[ix::accrue_premium(&keys.pool)], &[], SendMode::Send)
        .await?;

    // the books
    let p: Pool = fetch(&mut bank, &keys.pool).await?;
    let ledger: PremiumLedger = fetch_zero_copy(&mut bank, &keys.ledger()).await?;
    let m: Market = fetch(&mut bank, &usdc_market).await?;
    let vault_balance = bank.token_balance(&keys.vault()).await?;
    let books_total = coverage_sdk::quote::books(&p, &ledger)?;
    let prices_end = share_prices(&mut bank, &keys).await?;
    let triggered = m.status == MarketStatus::Triggered;
    let metrics = keeper.metrics.clone();
    let report = Report {
        triggered,
        trigger_time: triggered.then_some(m.event.trigger_time),
        streak_start: triggered.then_some(m.event.streak_start),
        policies,
        premiums_paid: p.premiums_paid,
        payouts: p.payouts_paid,
        haircut_bps: coverage_core::settlement::haircut_bps(m.settlement.reserve, m.settlement.liability)?,
        tranches: deployment
            .pool
            .tranches
            .iter()
            .enumerate()
            .map(|(i, t)| TrancheReport {
                name: t.name.clone(),
                share_price_start: prices_start[i] as f64 / 1e9,
                share_price_end: prices_end[i] as f64 / 1e9,
            })
            .collect(),
        vault_balance,
        books_total,
        decimals: 6,
        rows_replayed: rows.len(),
        withdrawal_paid,
        keeper: json!({"checks": metrics.checks.get(), "checks_rejected": metrics.checks_rejected.get(), "policies_settled": metrics.policies_settled.get(), "settle_batches": metrics.settle_batches.get(), "releases": metrics.releases.get()}),
    };

    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let market = &deployment.markets[0];
        let hours = f64::from(market.duration_secs) / 3600.0;
        let subtitle = format!(
            "the USDC depeg market of migrations/demo.toml: strike {}, recovery {}, triggers after {hours} h below the strike",
            market.strike, market.recovery
        );
        let chart = crate::chart::DemoChart {
            title: "USDC/USD, March 2023, replayed on the embedded bank",
            subtitle: &subtitle,
            prices: &price_points,
            strike: market.strike,
            recovery: market.recovery,
            streak: triggered.then_some((m.event.streak_start, m.event.trigger_time)),
            tranches: deployment
                .pool
                .tranches
                .iter()
                .zip(&share_points)
                .map(|(t, points)| (t.name.as_str(), points.as_slice()))
                .collect(),
        };
        let [svg, png] = coverage_risk::plot::write(&chart, dir, "demo")?;
        std::fs::write(dir.join("demo.json"), serde_json::to_string_pretty(&report)?)?;
        say(format!(
            "● wrote {}, {} and {}",
            svg.display(),
            png.display(),
            dir.join("demo.json").display()
        ));
    }

    if quiet {
        return Ok((bank, keys));
    }
    if json_out {
        writeln!(stdout.borrow_mut(), "{}", serde_json::to_string(&report)?)?;
        return Ok((bank, keys));
    }
    let mut w = stdout.borrow_mut();
    writeln!(w)?;
    crate::output::table_to(
        &mut *w,
        &["", "value"],
        &[
            vec![
                "USDC market triggered".into(),
                report.trigger_time.map(time).unwrap_or_else(|| "no".into()),
            ],
            vec!["policies sold".into(), report.policies.to_string()],
            vec!["premiums paid".into(), amount(report.premiums_paid, 6)],
            vec!["payouts".into(), amount(report.payouts, 6)],
            vec![
                "haircut".into(),
                format!(
                    "{} bps ({})",
                    report.haircut_bps,
                    if report.haircut_bps == 10_000 {
                        "paid in full"
                    } else {
                        "shortfall"
                    }
                ),
            ],
            vec!["vault balance".into(), amount(report.vault_balance, 6)],
            vec![
                "books total".into(),
                format!(
                    "{} ({})",
                    amount(report.books_total, 6),
                    if report.books_total == report.vault_balance {
                        "equal to the vault"
                    } else {
                        "DIFFERS"
                    }
                ),
            ],
        ],
    );
    writeln!(w)?;
    let rows: Vec<Vec<String>> = report
        .tranches
        .iter()
        .zip(prices_start.iter().zip(&prices_end))
        .map(|(t, (a, b))| vec![t.name.clone(), share_price(*a), share_price(*b)])
        .collect();
    crate::output::table_to(&mut *w, &["tranche", "share price start", "share price end"], &rows);
    drop(w);
    Ok((bank, keys))
}
