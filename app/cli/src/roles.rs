//! Role commands against a real cluster (RPC transport).

use std::path::PathBuf;
use std::str::FromStr;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::get_associated_token_address_with_program_id;
use anyhow::{anyhow, bail, Context, Result};
use clap::Subcommand;
use coverage_pool::state::{Market, Policy, Pool, WithdrawalRequest};
use coverage_sdk::config::{self, Deployment};
use coverage_sdk::ix::{self, BuyCoverKeys, PoolKeys};
use coverage_sdk::keeper::{Keeper, KeeperConfig};
use coverage_sdk::pyth::{feed_id_hex, push_feed_address, SPONSORED_SHARD};
use coverage_sdk::transport::{fetch, RpcTransport, SendMode, Transport};
use coverage_sdk::{pda, quote};
use serde_json::json;
use solana_signer::Signer;

use crate::output::{amount, pairs, parse_amount, price, table, time};
use crate::{cluster, Cli};

fn key(s: &str) -> Result<Pubkey> {
    Pubkey::from_str(s).map_err(|_| anyhow!("{s:?} is not a base58 address"))
}

fn transport(cli: &Cli) -> Result<RpcTransport> {
    Ok(RpcTransport::new(
        &cluster::url(&cli.url),
        cluster::keypair(&cli.keypair)?,
    ))
}

fn mode(dry_run: bool) -> SendMode {
    if dry_run {
        SendMode::Simulate
    } else {
        SendMode::Send
    }
}

async fn pool_keys<T: Transport>(t: &mut T, pool: &Pubkey) -> Result<(Pool, PoolKeys)> {
    let p: Pool = fetch(t, pool)
        .await
        .with_context(|| format!("no pool at {pool}: check --pool and --url"))?;
    let keys = PoolKeys {
        pool: *pool,
        collateral_mint: p.collateral_mint,
        token_program: p.token_program,
    };
    Ok((p, keys))
}

fn say(cli: &Cli, what: &str, sig: &str, extra: serde_json::Value) {
    if cli.json {
        let mut v = json!({ "action": what, "signature": sig });
        if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            o.extend(e.clone());
        }
        println!("{v}");
    } else {
        println!("{what}: {sig}");
    }
}

/// `cover pool`.
#[derive(Subcommand, Debug)]
pub enum PoolCmd {
    /// Create the pool (and its tranches) described by a deployment TOML.
    Init {
        /// Deployment file (see migrations/).
        #[arg(long)]
        config: PathBuf,
        /// Print what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show a pool: tranches, capital, fees, markets.
    Show {
        /// Pool address.
        #[arg(long)]
        pool: String,
    },
}

/// `cover market`.
#[derive(Subcommand, Debug)]
pub enum MarketCmd {
    /// Create the markets of a deployment TOML that the pool does not have yet.
    Create {
        /// Deployment file (see migrations/).
        #[arg(long)]
        config: PathBuf,
        /// Print what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show one market.
    Show {
        /// Market address.
        market: String,
    },
    /// List a pool's markets.
    List {
        /// Pool address.
        #[arg(long)]
        pool: String,
    },
}

/// `cover stake`.
#[derive(Subcommand, Debug)]
pub enum StakeCmd {
    /// Deposit collateral into a tranche (0 = junior).
    Deposit {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
        /// Amount in collateral tokens (e.g. 1000.5).
        #[arg(long)]
        amount: String,
        /// Fewest shares accepted (slippage bound), in share tokens.
        #[arg(long, default_value = "0")]
        min_shares: String,
    },
    /// Request a withdrawal of shares (redeemable after the cooldown, within the window).
    Request {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
        /// Shares in share tokens.
        #[arg(long)]
        shares: String,
    },
    /// Cancel your withdrawal request.
    Cancel {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
    },
    /// Redeem your withdrawal request.
    Withdraw {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        tranche: u8,
    },
    /// Your shares, their value and your requests.
    Show {
        #[arg(long)]
        pool: String,
        /// Whose position (default: the signer).
        #[arg(long)]
        owner: Option<String>,
    },
}

/// `cover cover`.
#[derive(Subcommand, Debug)]
pub enum CoverCmd {
    /// The premium buy would charge now (the program's own pricing code).
    Quote {
        #[arg(long)]
        market: String,
        /// Amount covered, collateral tokens.
        #[arg(long)]
        amount: String,
        #[arg(long)]
        days: u16,
    },
    /// Buy cover (the premium is capped at the quote plus --slippage-bps).
    Buy {
        #[arg(long)]
        market: String,
        #[arg(long)]
        amount: String,
        #[arg(long)]
        days: u16,
        /// Extra premium accepted over the quote, bps.
        #[arg(long, default_value_t = 50)]
        slippage_bps: u64,
    },
    /// A market's policies.
    List {
        #[arg(long)]
        market: String,
    },
    /// Give a policy to a new owner.
    Transfer {
        #[arg(long)]
        policy: String,
        #[arg(long)]
        to: String,
    },
    /// Close a finished policy (rent to its owner).
    Close {
        #[arg(long)]
        policy: String,
    },
}

/// `cover keeper`.
#[derive(Subcommand, Debug)]
pub enum KeeperCmd {
    /// One check_trigger per market whose push feed moved.
    Check {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Settle every unsettled policy of a triggered market.
    Settle {
        #[arg(long)]
        market: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// Release a triggered market's reserve.
    Release {
        #[arg(long)]
        market: String,
        #[arg(long)]
        dry_run: bool,
    },
    /// The keeper daemon for one pool.
    Run {
        #[arg(long)]
        pool: String,
        /// Seconds between passes.
        #[arg(long, default_value_t = 10)]
        interval: u64,
        /// Simulate every transaction; send nothing.
        #[arg(long)]
        dry_run: bool,
        /// Attempts per transaction, each with a fresh blockhash.
        #[arg(long, default_value_t = 3)]
        max_attempts: u32,
        /// Highest priority fee, micro-lamports per compute unit.
        #[arg(long, default_value_t = 100_000)]
        priority_fee_cap: u64,
        /// Local port for /metrics (Prometheus) and /health; 0 disables.
        #[arg(long, default_value_t = 9464)]
        metrics_port: u16,
        /// One pass, then exit.
        #[arg(long)]
        once: bool,
    },
}

/// `cover migrate`.
#[derive(Subcommand, Debug)]
pub enum MigrateCmd {
    /// Create what the deployment describes and the cluster lacks (pool, then markets).
    Apply {
        /// Deployment file (see migrations/).
        #[arg(long)]
        config: PathBuf,
        /// Print what would be sent; send nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

async fn run_plan(cli: &Cli, path: &PathBuf, dry_run: bool, only: Option<&str>) -> Result<()> {
    let d = Deployment::parse(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)?;
    let signer = cluster::keypair(&cli.keypair)?;
    let mut t = RpcTransport::new(&cluster::url(&cli.url), signer.insecure_clone());
    let mint = key(d
        .pool
        .collateral_mint
        .as_deref()
        .ok_or_else(|| anyhow!("the config needs pool.collateral_mint"))?)?;
    let treasury = key(d
        .pool
        .treasury
        .as_deref()
        .ok_or_else(|| anyhow!("the config needs pool.treasury (a token account of the mint)"))?)?;
    let authority = match &d.pool.authority {
        Some(a) => key(a)?,
        None => signer.pubkey(),
    };
    let token_program = t
        .account(&mint)
        .await?
        .ok_or_else(|| anyhow!("mint {mint} not found on {}", cluster::url(&cli.url)))?
        .owner;
    let (keys, steps) = config::plan(&mut t, &d, mint, treasury, token_program, authority).await?;
    let steps: Vec<_> = steps
        .into_iter()
        .filter(|s| only.is_none_or(|o| s.description.starts_with(o)))
        .collect();
    if dry_run {
        if cli.json {
            let v: Vec<_> = steps
                .iter()
                .map(|s| json!({"step": s.description, "instructions": s.instructions.len()}))
                .collect();
            println!(
                "{}",
                json!({ "pool": keys.pool.to_string(), "dry_run": true, "steps": v })
            );
        } else {
            println!("pool {} — would send {} transaction(s):", keys.pool, steps.len());
            for s in &steps {
                println!("  {} ({} instruction(s))", s.description, s.instructions.len());
            }
        }
        return Ok(());
    }
    let auth = if authority == signer.pubkey() {
        Some(&signer)
    } else {
        None
    };
    let sigs = config::apply(&mut t, &steps, auth, SendMode::Send).await?;
    for (s, sig) in steps.iter().zip(sigs) {
        say(cli, &s.description, &sig, json!({ "pool": keys.pool.to_string() }));
    }
    Ok(())
}

/// `cover migrate …`.
pub async fn migrate(cli: &Cli, cmd: &MigrateCmd) -> Result<()> {
    match cmd {
        MigrateCmd::Apply { config, dry_run } => run_plan(cli, config, *dry_run, None).await,
    }
}

/// `cover pool …`.
pub async fn pool(cli: &Cli, cmd: &PoolCmd) -> Result<()> {
    match cmd {
        PoolCmd::Init { config, dry_run } => run_plan(cli, config, *dry_run, Some("initialize_pool")).await,
        PoolCmd::Show { pool } => {
            let mut t = transport(cli)?;
            let pool = key(pool)?;
            show_pool(&mut t, &pool, cli.json).await
        }
    }
}

/// Prints a pool (shared with the demo).
pub async fn show_pool<T: Transport>(t: &mut T, pool: &Pubkey, json_out: bool) -> Result<()> {
    let (p, keys) = pool_keys(t, pool).await?;
    let d = p.collateral_decimals;
    let mut tranches = Vec::new();
    for i in 0..p.tranche_count {
        let tr = p.tranches[i as usize];
        let supply = supply(t, &keys.share_mint(i)).await?;
        let sp = coverage_core::shares::share_price_scaled(tr.assets, supply + tr.dead_shares, 1_000_000_000)?;
        tranches.push((i, tr, supply, sp));
    }
    if json_out {
        let v: Vec<_> = tranches
            .iter()
            .map(|(i, tr, s, sp)| json!({"tranche": i, "weight_bps": tr.premium_weight_bps, "assets": tr.assets, "shares": s, "share_price": *sp as f64 / 1e9, "share_mint": tr.share_mint.to_string()}))
            .collect();
        println!(
            "{}",
            json!({"pool": pool.to_string(), "authority": p.authority.to_string(), "collateral_mint": p.collateral_mint.to_string(), "capital": p.capital()?, "fees_owed": p.fees_owed, "reserves": p.reserves_total, "markets": p.market_count, "paused": p.paused, "tranches": v})
        );
        return Ok(());
    }
    pairs(&[
        ("pool", pool.to_string()),
        ("authority", p.authority.to_string()),
        ("collateral", p.collateral_mint.to_string()),
        ("capital", amount(p.capital()?, d)),
        ("reserves", amount(p.reserves_total, d)),
        ("fees owed", amount(p.fees_owed, d)),
        ("markets", p.market_count.to_string()),
        (
            "cooldown / window",
            format!("{} s / {} s", p.cooldown, p.withdraw_window),
        ),
        ("max leverage", format!("{:.2}x", f64::from(p.max_leverage_bps) / 1e4)),
        ("paused", p.paused.to_string()),
    ]);
    let rows: Vec<Vec<String>> = tranches
        .iter()
        .map(|(i, tr, s, sp)| {
            vec![
                i.to_string(),
                format!("{} bps", tr.premium_weight_bps),
                amount(tr.assets, d),
                amount(*s, d),
                crate::output::share_price(*sp),
            ]
        })
        .collect();
    println!();
    table(&["tranche", "weight", "assets", "shares", "share price"], &rows);
    Ok(())
}

async fn supply<T: Transport>(t: &mut T, mint: &Pubkey) -> Result<u64> {
    use anchor_lang::solana_program::program_pack::Pack;
    use anchor_spl::token_2022::spl_token_2022::state::Mint;
    let acc = t.account(mint).await?.ok_or_else(|| anyhow!("no mint {mint}"))?;
    Ok(Mint::unpack_from_slice(&acc.data[..Mint::LEN])?.supply)
}

async fn balance<T: Transport>(t: &mut T, account: &Pubkey) -> Result<u64> {
    use anchor_lang::solana_program::program_pack::Pack;
    use anchor_spl::token_2022::spl_token_2022::state::Account;
    match t.account(account).await? {
        Some(acc) => Ok(Account::unpack_from_slice(&acc.data[..Account::LEN])?.amount),
        None => Ok(0),
    }
}

fn market_row(address: &Pubkey, m: &Market) -> Vec<String> {
    vec![
        m.index.to_string(),
        address.to_string(),
        feed_id_hex(&m.feed_id)[..10].to_string() + "…",
        format!("{:?}{}", m.status, if m.paused { " (paused)" } else { "" }),
        price(m.strike),
        price(m.recovery),
        format!("{} s", m.duration),
        m.epoch.to_string(),
        m.policy_count.to_string(),
    ]
}

/// `cover market …`.
pub async fn market(cli: &Cli, cmd: &MarketCmd) -> Result<()> {
    match cmd {
        MarketCmd::Create { config, dry_run } => run_plan(cli, config, *dry_run, Some("create_market")).await,
        MarketCmd::Show { market } => {
            let mut t = transport(cli)?;
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            if cli.json {
                println!(
                    "{}",
                    json!({"market": address.to_string(), "pool": m.pool.to_string(), "status": format!("{:?}", m.status), "paused": m.paused, "epoch": m.epoch, "feed_id": feed_id_hex(&m.feed_id), "feed_account": push_feed_address(&m.feed_id, SPONSORED_SHARD).to_string(), "strike": m.strike, "recovery": m.recovery, "duration": m.duration, "max_gap": m.max_gap, "max_price_age": m.max_price_age, "max_conf_bps": m.max_conf_bps, "last_publish_time": m.last_publish_time, "sales_open_at": m.sales_open_at, "streak_start": m.streak_start, "event": {"epoch": m.event.epoch, "streak_start": m.event.streak_start, "trigger_time": m.event.trigger_time, "lowest_price": m.event.lowest_price}, "policies": m.policy_count})
                );
                return Ok(());
            }
            pairs(&[
                ("market", address.to_string()),
                ("pool", m.pool.to_string()),
                (
                    "status",
                    format!("{:?}{}", m.status, if m.paused { " (paused)" } else { "" }),
                ),
                ("epoch", m.epoch.to_string()),
                ("sales open", time(m.sales_open_at)),
                ("feed id", feed_id_hex(&m.feed_id)),
                (
                    "push feed account",
                    push_feed_address(&m.feed_id, SPONSORED_SHARD).to_string(),
                ),
                (
                    "trigger",
                    format!(
                        "price + conf < {} for {} s (gap ≤ {} s), recovers at {}",
                        price(m.strike),
                        m.duration,
                        m.max_gap,
                        price(m.recovery)
                    ),
                ),
                (
                    "oracle",
                    format!("age ≤ {} s, conf ≤ {} bps", m.max_price_age, m.max_conf_bps),
                ),
                ("payout", format!("{:?}", m.payout)),
                (
                    "last observation",
                    if m.last_publish_time == 0 {
                        "-".into()
                    } else {
                        format!("{} at {}", price(m.last_price), time(m.last_publish_time))
                    },
                ),
                ("policies sold", m.policy_count.to_string()),
            ]);
            Ok(())
        }
        MarketCmd::List { pool } => {
            let mut t = transport(cli)?;
            let pool = key(pool)?;
            let (p, _) = pool_keys(&mut t, &pool).await?;
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for i in 0..p.market_count {
                let a = pda::market(&pool, i).0;
                let m: Market = fetch(&mut t, &a).await?;
                js.push(json!({"index": i, "market": a.to_string(), "status": format!("{:?}", m.status), "strike": m.strike, "epoch": m.epoch}));
                rows.push(market_row(&a, &m));
            }
            if cli.json {
                println!("{}", json!({ "markets": js }));
            } else {
                table(
                    &[
                        "#", "market", "feed", "status", "strike", "recovery", "duration", "epoch", "policies",
                    ],
                    &rows,
                );
            }
            Ok(())
        }
    }
}

/// `cover stake …`.
pub async fn stake(cli: &Cli, cmd: &StakeCmd) -> Result<()> {
    let signer = cluster::keypair(&cli.keypair)?;
    let mut t = RpcTransport::new(&cluster::url(&cli.url), signer.insecure_clone());
    let me = signer.pubkey();
    let pool_arg = match cmd {
        StakeCmd::Deposit { pool, .. }
        | StakeCmd::Request { pool, .. }
        | StakeCmd::Cancel { pool, .. }
        | StakeCmd::Withdraw { pool, .. }
        | StakeCmd::Show { pool, .. } => key(pool)?,
    };
    let (p, keys) = pool_keys(&mut t, &pool_arg).await?;
    let d = p.collateral_decimals;
    let ata =
        |owner: &Pubkey, mint: &Pubkey| get_associated_token_address_with_program_id(owner, mint, &keys.token_program);
    match cmd {
        StakeCmd::Deposit {
            tranche,
            amount: a,
            min_shares,
            ..
        } => {
            let shares_ata = ata(&me, &keys.share_mint(*tranche));
            let create = anchor_spl::associated_token::spl_associated_token_account::instruction::create_associated_token_account_idempotent(&me, &me, &keys.share_mint(*tranche), &keys.token_program);
            let ix = ix::deposit(
                &me,
                &keys,
                *tranche,
                &ata(&me, &keys.collateral_mint),
                &shares_ata,
                parse_amount(a, d)?,
                parse_amount(min_shares, d)?,
            );
            let sig = t.send(&[create, ix], &[], SendMode::Send).await?;
            say(cli, "deposit", &sig, json!({}));
        }
        StakeCmd::Request { tranche, shares, .. } => {
            let ix = ix::request_withdrawal(
                &me,
                &keys,
                *tranche,
                &ata(&me, &keys.share_mint(*tranche)),
                parse_amount(shares, d)?,
            );
            let sig = t.send(&[ix], &[], SendMode::Send).await?;
            say(cli, "request_withdrawal", &sig, json!({}));
        }
        StakeCmd::Cancel { tranche, .. } => {
            let req = pda::withdrawal_request(&keys.pool, *tranche, &me).0;
            let ix = ix::cancel_withdrawal(&me, &keys, *tranche, &req, &ata(&me, &keys.share_mint(*tranche)));
            let sig = t.send(&[ix], &[], SendMode::Send).await?;
            say(cli, "cancel_withdrawal", &sig, json!({}));
        }
        StakeCmd::Withdraw { tranche, .. } => {
            let req = pda::withdrawal_request(&keys.pool, *tranche, &me).0;
            let prices = coverage_sdk::transport::market_price_updates(&mut t, &keys.pool, p.market_count).await?;
            let ix = ix::withdraw(&me, &keys, *tranche, &req, &ata(&me, &keys.collateral_mint), &prices);
            let sig = t.send(&[ix], &[], SendMode::Send).await?;
            say(cli, "withdraw", &sig, json!({}));
        }
        StakeCmd::Show { owner, .. } => {
            let owner = match owner {
                Some(o) => key(o)?,
                None => me,
            };
            let mut rows = Vec::new();
            let mut js = Vec::new();
            for i in 0..p.tranche_count {
                let tr = p.tranches[i as usize];
                let total = supply(&mut t, &keys.share_mint(i)).await? + tr.dead_shares;
                let held = balance(&mut t, &ata(&owner, &keys.share_mint(i))).await?;
                let req: Option<WithdrawalRequest> =
                    match t.account(&pda::withdrawal_request(&keys.pool, i, &owner).0).await? {
                        Some(a) => Some(coverage_sdk::decode(&a.data)?),
                        None => None,
                    };
                let value = coverage_core::shares::assets_for_shares(held, tr.assets, total)?;
                let req_s = req
                    .as_ref()
                    .map(|r| {
                        format!(
                            "{} shares, redeemable {} to {}",
                            amount(r.shares, d),
                            time(r.requested_at + i64::from(r.cooldown)),
                            time(r.requested_at + i64::from(r.cooldown) + i64::from(r.withdraw_window))
                        )
                    })
                    .unwrap_or_else(|| "-".into());
                js.push(json!({"tranche": i, "shares": held, "value": value, "request": req.map(|r| json!({"shares": r.shares, "value_at_request": r.value_at_request, "requested_at": r.requested_at}))}));
                rows.push(vec![i.to_string(), amount(held, d), amount(value, d), req_s]);
            }
            if cli.json {
                println!("{}", json!({"owner": owner.to_string(), "positions": js}));
            } else {
                table(&["tranche", "shares", "value", "withdrawal request"], &rows);
            }
        }
    }
    Ok(())
}

/// `cover cover …`.
pub async fn cover(cli: &Cli, cmd: &CoverCmd) -> Result<()> {
    let signer = cluster::keypair(&cli.keypair)?;
    let mut t = RpcTransport::new(&cluster::url(&cli.url), signer.insecure_clone());
    let me = signer.pubkey();
    match cmd {
        CoverCmd::Quote {
            market,
            amount: a,
            days,
        }
        | CoverCmd::Buy {
            market,
            amount: a,
            days,
            ..
        } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            let (p, keys) = pool_keys(&mut t, &m.pool).await?;
            let ledger = coverage_sdk::transport::fetch_zero_copy(&mut t, &keys.ledger()).await?;
            let book = coverage_sdk::transport::fetch_zero_copy(&mut t, &m.book).await?;
            let now = t.now().await?;
            let amt = parse_amount(a, p.collateral_decimals)?;
            let premium = quote::premium(&p, &ledger, &m, &book, amt, *days, now)
                .map_err(|e| anyhow!(coverage_sdk::errors::explain(&format!("{e}"))))?;
            if let CoverCmd::Buy { slippage_bps, .. } = cmd {
                let max = premium + premium * slippage_bps / 10_000;
                let k = BuyCoverKeys {
                    keys,
                    market: address,
                    policy_id: m.policy_count,
                    payer_collateral: get_associated_token_address_with_program_id(
                        &me,
                        &keys.collateral_mint,
                        &keys.token_program,
                    ),
                    price_update: push_feed_address(&m.feed_id, SPONSORED_SHARD),
                };
                let sig = t
                    .send(&[ix::buy_cover(&me, &me, &k, amt, *days, max)], &[], SendMode::Send)
                    .await?;
                say(
                    cli,
                    "buy_cover",
                    &sig,
                    json!({"policy": pda::policy(&address, m.policy_count).0.to_string(), "premium_max": max}),
                );
            } else if cli.json {
                println!(
                    "{}",
                    json!({"market": address.to_string(), "amount": amt, "days": days, "premium": premium})
                );
            } else {
                pairs(&[
                    ("amount", amount(amt, p.collateral_decimals)),
                    ("days", days.to_string()),
                    ("premium", amount(premium, p.collateral_decimals)),
                    (
                        "annualized rate",
                        format!(
                            "{:.4} %",
                            premium as f64 / amt as f64 * 365.0 / f64::from(*days) * 100.0
                        ),
                    ),
                ]);
            }
        }
        CoverCmd::List { market } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            let (p, _) = pool_keys(&mut t, &m.pool).await?;
            let policies = t.policies(&address, m.policy_count).await?;
            if cli.json {
                let v: Vec<_> = policies.iter().map(|(a, x)| json!({"policy": a.to_string(), "owner": x.owner.to_string(), "amount": x.amount, "premium": x.premium, "epoch": x.epoch, "activation_time": x.activation_time, "end_time": x.end_time, "status": format!("{:?}", x.status), "payout": x.payout})).collect();
                println!("{}", json!({ "policies": v }));
            } else {
                let d = p.collateral_decimals;
                let rows: Vec<Vec<String>> = policies
                    .iter()
                    .map(|(a, x)| {
                        vec![
                            a.to_string(),
                            x.owner.to_string(),
                            amount(x.amount, d),
                            amount(x.premium, d),
                            time(x.end_time),
                            format!("{:?}", x.status),
                            amount(x.payout, d),
                        ]
                    })
                    .collect();
                table(
                    &["policy", "owner", "amount", "premium", "ends", "status", "payout"],
                    &rows,
                );
            }
        }
        CoverCmd::Transfer { policy, to } => {
            let sig = t
                .send(
                    &[ix::transfer_policy(&me, &key(policy)?, &key(to)?)],
                    &[],
                    SendMode::Send,
                )
                .await?;
            say(cli, "transfer_policy", &sig, json!({}));
        }
        CoverCmd::Close { policy } => {
            let address = key(policy)?;
            let p: Policy = fetch(&mut t, &address).await?;
            let sig = t
                .send(&[ix::close_policy(&p.owner, &address, &p.market)], &[], SendMode::Send)
                .await?;
            say(cli, "close_policy", &sig, json!({}));
        }
    }
    Ok(())
}

fn json_logger() -> coverage_sdk::keeper::LogSink {
    Box::new(|v| println!("{v}"))
}

/// `cover keeper …`.
pub async fn keeper(cli: &Cli, cmd: &KeeperCmd) -> Result<()> {
    let signer = cluster::keypair(&cli.keypair)?;
    let mut t = RpcTransport::new(&cluster::url(&cli.url), signer.insecure_clone());
    match cmd {
        KeeperCmd::Check { pool, dry_run } => {
            let pool = key(pool)?;
            let (p, _) = pool_keys(&mut t, &pool).await?;
            let mut k = Keeper::new(
                KeeperConfig {
                    mode: mode(*dry_run),
                    ..KeeperConfig::new(pool)
                },
                json_logger(),
            );
            for i in 0..p.market_count {
                let a = pda::market(&pool, i).0;
                let m: Market = fetch(&mut t, &a).await?;
                k.check(&mut t, &a, &m).await?;
            }
        }
        KeeperCmd::Settle { market, dry_run } | KeeperCmd::Release { market, dry_run } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            let (_, keys) = pool_keys(&mut t, &m.pool).await?;
            let mut k = Keeper::new(
                KeeperConfig {
                    mode: mode(*dry_run),
                    ..KeeperConfig::new(m.pool)
                },
                json_logger(),
            );
            if matches!(cmd, KeeperCmd::Settle { .. }) {
                let n = k.settle(&mut t, &keys, &address, &m).await?;
                if !cli.json {
                    eprintln!("{n} policies settled");
                }
            } else if !k.release(&mut t, &keys, &address, &m).await? {
                bail!("nothing to release: the market has not triggered, is released, or has eligible policies unsettled inside the claim window");
            }
        }
        KeeperCmd::Run {
            pool,
            interval,
            dry_run,
            max_attempts,
            priority_fee_cap,
            metrics_port,
            once,
        } => {
            t.max_attempts = *max_attempts;
            t.priority_fee_cap = *priority_fee_cap;
            let pool = key(pool)?;
            pool_keys(&mut t, &pool).await?;
            let mut k = Keeper::new(
                KeeperConfig {
                    mode: mode(*dry_run),
                    ..KeeperConfig::new(pool)
                },
                json_logger(),
            );
            let server = if *metrics_port > 0 {
                Some(crate::server::serve(*metrics_port, k.metrics.clone(), *interval)?)
            } else {
                None
            };
            println!(
                "{}",
                json!({"level": "info", "msg": "keeper started", "pool": pool.to_string(), "url": cluster::url(&cli.url), "dry_run": dry_run, "interval": interval, "metrics": server.as_ref().map(|s| s.to_string())})
            );
            loop {
                if let Err(e) = k.tick(&mut t).await {
                    println!("{}", json!({"level": "error", "error": format!("{e:#}")}));
                }
                if *once {
                    break;
                }
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {
                        println!("{}", json!({"level": "info", "msg": "shutting down (Ctrl-C)"}));
                        break;
                    }
                    _ = tokio::time::sleep(std::time::Duration::from_secs(*interval)) => {}
                }
            }
        }
    }
    Ok(())
}

/// `cover gov`.
#[derive(Subcommand, Debug)]
pub enum GovCmd {
    /// Propose a new pool authority (step 1; e.g. a Squads vault).
    ProposeAuthority {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        new_authority: String,
    },
    /// Accept the authority (step 2; signed by the proposed key).
    AcceptAuthority {
        #[arg(long)]
        pool: String,
    },
    /// Queue new pool parameters (applied by anyone after cooldown + window + 1 day).
    QueuePool {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        fee_bps: Option<u16>,
        #[arg(long)]
        max_leverage_bps: Option<u32>,
        #[arg(long)]
        cooldown: Option<u32>,
        #[arg(long)]
        window: Option<u32>,
        /// Premium weights, junior first, e.g. 7000,3000.
        #[arg(long, value_delimiter = ',')]
        weights: Option<Vec<u16>>,
    },
    /// Cancel the queued pool change.
    CancelPool {
        #[arg(long)]
        pool: String,
    },
    /// Apply the due pool change (anyone).
    ApplyPool {
        #[arg(long)]
        pool: String,
    },
    /// Queue a market's new pricing curve / allocation / activation delay.
    QueueMarket {
        #[arg(long)]
        market: String,
        #[arg(long)]
        base_bps: Option<u32>,
        #[arg(long)]
        slope_below_kink_bps: Option<u32>,
        #[arg(long)]
        slope_above_kink_bps: Option<u32>,
        #[arg(long)]
        kink_bps: Option<u32>,
        #[arg(long)]
        allocation_bps: Option<u32>,
        #[arg(long)]
        activation_delay: Option<u32>,
    },
    /// Cancel a market's queued change.
    CancelMarket {
        #[arg(long)]
        market: String,
    },
    /// Apply a market's due change (anyone).
    ApplyMarket {
        #[arg(long)]
        market: String,
    },
    /// Pause or resume deposits and cover sales (pool, or one market). Never blocks redemptions or payouts.
    Pause {
        #[arg(long)]
        pool: String,
        #[arg(long)]
        market: Option<String>,
        /// Resume instead of pause.
        #[arg(long)]
        resume: bool,
    },
    /// Show queued changes and a pending authority transfer.
    Pending {
        #[arg(long)]
        pool: String,
    },
}

/// `cover gov …`.
pub async fn gov(cli: &Cli, cmd: &GovCmd) -> Result<()> {
    let signer = cluster::keypair(&cli.keypair)?;
    let mut t = RpcTransport::new(&cluster::url(&cli.url), signer.insecure_clone());
    let me = signer.pubkey();
    let (name, ix) = match cmd {
        GovCmd::ProposeAuthority { pool, new_authority } => (
            "propose_authority",
            ix::propose_authority(&me, &key(pool)?, &key(new_authority)?),
        ),
        GovCmd::AcceptAuthority { pool } => ("accept_authority", ix::accept_authority(&me, &key(pool)?)),
        GovCmd::QueuePool {
            pool,
            fee_bps,
            max_leverage_bps,
            cooldown,
            window,
            weights,
        } => {
            let address = key(pool)?;
            let (p, _) = pool_keys(&mut t, &address).await?;
            let mut w = [0u16; 4];
            for (slot, t) in w.iter_mut().zip(p.tranches.iter()).take(p.tranche_count as usize) {
                *slot = t.premium_weight_bps;
            }
            if let Some(new) = weights {
                if new.len() != p.tranche_count as usize {
                    bail!("--weights needs {} values (one per tranche)", p.tranche_count);
                }
                w = [0; 4];
                w[..new.len()].copy_from_slice(new);
            }
            let change = coverage_pool::PoolParamsChange {
                protocol_fee_bps: fee_bps.unwrap_or(p.protocol_fee_bps),
                max_leverage_bps: max_leverage_bps.unwrap_or(p.max_leverage_bps),
                cooldown: cooldown.unwrap_or(p.cooldown),
                withdraw_window: window.unwrap_or(p.withdraw_window),
                weights_bps: w,
            };
            ("queue_pool_params", ix::queue_pool_params(&me, &address, change))
        }
        GovCmd::CancelPool { pool } => ("cancel_pool_params", ix::cancel_pool_params(&me, &key(pool)?)),
        GovCmd::ApplyPool { pool } => ("apply_pool_params", ix::apply_pool_params(&key(pool)?)),
        GovCmd::QueueMarket {
            market,
            base_bps,
            slope_below_kink_bps,
            slope_above_kink_bps,
            kink_bps,
            allocation_bps,
            activation_delay,
        } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            let change = coverage_pool::MarketParamsChange {
                curve: coverage_pool::state::PricingCurve {
                    base_rate_bps: base_bps.unwrap_or(m.curve.base_rate_bps),
                    slope_below_kink_bps: slope_below_kink_bps.unwrap_or(m.curve.slope_below_kink_bps),
                    slope_above_kink_bps: slope_above_kink_bps.unwrap_or(m.curve.slope_above_kink_bps),
                    kink_utilization_bps: kink_bps.unwrap_or(m.curve.kink_utilization_bps),
                },
                allocation_bps: allocation_bps.unwrap_or(m.allocation_bps),
                activation_delay: activation_delay.unwrap_or(m.activation_delay),
            };
            (
                "queue_market_params",
                ix::queue_market_params(&me, &m.pool, &address, change),
            )
        }
        GovCmd::CancelMarket { market } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            ("cancel_market_params", ix::cancel_market_params(&me, &m.pool, &address))
        }
        GovCmd::ApplyMarket { market } => {
            let address = key(market)?;
            let m: Market = fetch(&mut t, &address).await?;
            ("apply_market_params", ix::apply_market_params(&m.pool, &address))
        }
        GovCmd::Pause { pool, market, resume } => {
            let pool = key(pool)?;
            match market {
                Some(m) => (
                    "set_market_paused",
                    ix::set_market_paused(&me, &pool, &key(m)?, !resume),
                ),
                None => ("set_pool_paused", ix::set_pool_paused(&me, &pool, !resume)),
            }
        }
        GovCmd::Pending { pool } => {
            let address = key(pool)?;
            let (p, _) = pool_keys(&mut t, &address).await?;
            let mut markets = Vec::new();
            for i in 0..p.market_count {
                let a = pda::market(&address, i).0;
                let m: Market = fetch(&mut t, &a).await?;
                if m.pending_change_eta != 0 {
                    markets.push(json!({"market": a.to_string(), "eta": m.pending_change_eta, "change": format!("{:?}", m.pending_change)}));
                }
            }
            let v = json!({
                "pool": address.to_string(),
                "pending_authority": (p.pending_authority != Pubkey::default()).then(|| p.pending_authority.to_string()),
                "pool_change": (p.pending_change_eta != 0).then(|| json!({"eta": p.pending_change_eta, "change": format!("{:?}", p.pending_change)})),
                "market_changes": markets,
            });
            println!(
                "{}",
                if cli.json {
                    v.to_string()
                } else {
                    serde_json::to_string_pretty(&v)?
                }
            );
            return Ok(());
        }
    };
    let sig = t.send(&[ix], &[], SendMode::Send).await?;
    say(cli, name, &sig, json!({}));
    Ok(())
}
