//! `cover localnet`: the whole protocol behind a local Solana JSON-RPC
//! endpoint (see the `coverage-localnet` crate). Prints one JSON line on
//! stdout when ready; Ctrl-C (or SIGTERM) stops it.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use coverage_localnet::{Localnet, Options, Replay};
use coverage_sdk::config::Deployment;

/// `cover localnet` options.
#[derive(Args, Debug)]
pub struct LocalnetArgs {
    /// JSON-RPC port on 127.0.0.1; the websocket is on port + 1 (0: any free pair).
    #[arg(long, default_value_t = 8899)]
    pub port: u16,
    /// Deployment config to apply (default: the demo pool, migrations/demo.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Replay a price CSV (publish_time,price,conf) into a push feed: FILE goes
    /// to the first market's feed, FEED=FILE to a feed by name (USDC/USD) or id.
    /// The clock starts at the earliest first row. Repeatable.
    #[arg(long, value_name = "[FEED=]FILE")]
    pub prices: Vec<String>,
    /// Ledger seconds per wall second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Show the bank's and the programs' logs on stderr.
    #[arg(long, short)]
    pub verbose: bool,
}

fn replay(spec: &str, deployment: &Deployment) -> Result<Replay> {
    let (feed_id, file) = match spec.split_once('=') {
        Some((feed, file)) => (coverage_sdk::config::feed_id(feed)?, file),
        None => (
            deployment
                .markets
                .first()
                .context("--prices FILE goes to the first market's feed, and the config has no market: use FEED=FILE")?
                .feed_id()?,
            spec,
        ),
    };
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    let rows = coverage_sdk::pyth::parse_csv(&text).with_context(|| file.to_string())?;
    Ok(Replay {
        feed_id,
        rows,
        source: file.to_string(),
    })
}

/// `cover localnet`.
pub async fn run(args: &LocalnetArgs) -> Result<()> {
    let deployment = match &args.config {
        Some(path) => {
            Deployment::parse(&std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?)
                .with_context(|| path.display().to_string())?
        }
        None => Deployment::parse(include_str!("../../../migrations/demo.toml"))?,
    };
    let replays = args
        .prices
        .iter()
        .map(|p| replay(p, &deployment))
        .collect::<Result<Vec<_>>>()?;
    let mut stdout = coverage_sdk::bank::redirect_program_logs(args.verbose).context("redirecting stdout")?;
    let log_filter = if args.verbose {
        "solana_runtime::message_processor=debug,solana_program_test=info".to_string()
    } else {
        "error".to_string()
    };
    let started = Localnet::start(Options {
        port: args.port,
        deployment,
        replays,
        speed: args.speed,
        log_filter,
    })
    .await;
    let localnet = match started {
        Ok(l) => l,
        Err(e) => {
            // stdout back, for the error under --json
            use std::os::fd::AsRawFd;
            // SAFETY: plain descriptor duplication of a descriptor we own.
            unsafe { libc::dup2(stdout.as_raw_fd(), 1) };
            return Err(e);
        }
    };
    // handlers first: a script may signal as soon as it reads the line
    use tokio::signal::unix::{signal, SignalKind};
    let (mut int, mut term) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    writeln!(stdout, "{}", serde_json::to_string(localnet.info())?)?;
    stdout.flush()?;
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    localnet.stop().await
}
