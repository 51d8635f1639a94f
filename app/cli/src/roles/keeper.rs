//! `cover keeper`: one-shot keeper actions and the keeper daemon.

use anyhow::{bail, Result};
use clap::Subcommand;
use coverage_pool::state::Market;
use coverage_sdk::keeper::{Keeper, KeeperConfig};
use coverage_sdk::pda;
use coverage_sdk::transport::{fetch, RpcTransport};
use serde_json::json;

use crate::{cluster, Cli};

use super::{key, mode, pool_keys};

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
                let n = k.settle(&mut t, &keys, &address).await?;
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
                Some(crate::server::serve(*metrics_port, k.metrics.clone(), *interval).await?)
            } else {
                None
            };
            // handlers first: a signal during the first pass must not kill the process unlogged
            use tokio::signal::unix::{signal, SignalKind};
            let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
            let mut stop = Box::pin(async move {
                tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                }
            });
            println!(
                "{}",
                json!({"level": "info", "msg": "keeper started", "pool": pool.to_string(), "url": cluster::url(&cli.url), "dry_run": dry_run, "interval": interval, "metrics": server.as_ref().map(|s| s.to_string())})
            );
            let stopped = |signal: &str, mid_pass: bool| {
                println!(
                    "{}",
                    json!({"level": "info", "msg": "shutting down", "signal": signal, "mid_pass": mid_pass})
                );
            };
            loop {
                // a signal stops a pass at its next await: what it sent lands or not, and the
                // next run derives every action from the chain again (nothing is sent twice)
                tokio::select! {
                    result = k.tick(&mut t) => {
                        if let Err(e) = result {
                            println!("{}", json!({"level": "error", "error": format!("{e:#}")}));
                        }
                    }
                    signal = &mut stop => {
                        stopped(signal, true);
                        break;
                    }
                }
                if *once {
                    break;
                }
                tokio::select! {
                    signal = &mut stop => {
                        stopped(signal, false);
                        break;
                    }
                    _ = tokio::time::sleep(std::time::Duration::from_secs(*interval)) => {}
                }
            }
        }
    }
    Ok(())
}
