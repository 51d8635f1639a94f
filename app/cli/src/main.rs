//! `cover` — the command line of the coverage pool.
//!
//! Cluster and signer the way Solana users expect: `--url` (or `l`, `d`,
//! `t`, `m`) and `--keypair`, both defaulting from the Solana CLI config
//! file. Tables by default, `--json` for machines. `cover demo` and
//! `cover backtest` run the real program on an embedded bank: no validator.

mod backtest;
mod chart;
mod cluster;
mod demo;
mod localnet;
mod output;
mod risk;
mod roles;
mod server;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Parametric coverage pool: stakers, buyers, keepers, integrators.
#[derive(Parser, Debug)]
#[command(name = "cover", version, about)]
pub struct Cli {
    /// Cluster: a URL, or l (localhost), d (devnet), t (testnet), m (mainnet-beta). Default: the Solana CLI config.
    #[arg(long, short = 'u', global = true)]
    pub url: Option<String>,
    /// Signer keypair file. Default: the Solana CLI config's keypair.
    #[arg(long, short = 'k', global = true)]
    pub keypair: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Also print the embedded bank's and the programs' logs (on stderr); `RUST_LOG` filters them.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Pools: create from a config, show.
    Pool {
        #[command(subcommand)]
        cmd: roles::PoolCmd,
    },
    /// Markets: create from a config, show, list.
    Market {
        #[command(subcommand)]
        cmd: roles::MarketCmd,
    },
    /// Stakers: deposit, request, cancel, withdraw, show.
    Stake {
        #[command(subcommand)]
        cmd: roles::StakeCmd,
    },
    /// Buyers: quote, buy, list, transfer, close.
    Cover {
        #[command(subcommand)]
        cmd: roles::CoverCmd,
    },
    /// Keepers: check, settle, release, run (the daemon).
    Keeper {
        #[command(subcommand)]
        cmd: roles::KeeperCmd,
    },
    /// Governance: two-step authority, queued parameter changes, pause.
    Gov {
        #[command(subcommand)]
        cmd: roles::GovCmd,
    },
    /// Config-driven set-up (migrations/*.toml).
    Migrate {
        #[command(subcommand)]
        cmd: roles::MigrateCmd,
    },
    /// The whole protocol end to end on an embedded bank, with the real USDC March 2023 series.
    Demo {
        /// Write the chart (demo.svg, demo.png) and the JSON report (demo.json) into this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Risk engine: Monte Carlo with copulas and Bayesian frequencies; capital and rate advice.
    Risk(risk::RiskArgs),
    /// Replay a price CSV (publish_time,price,conf) through the real program on an embedded bank.
    Backtest(backtest::BacktestArgs),
    /// A local Solana JSON-RPC endpoint (and websocket) serving the real program on an embedded bank.
    Localnet(localnet::LocalnetArgs),
}

fn main() {
    let cli = Cli::parse();
    // Quiet by default: solana-program-test turns on DEBUG logging of every
    // instruction unless RUST_LOG says otherwise. Set before any thread starts.
    if std::env::var_os("RUST_LOG").is_none() {
        let filter = if cli.verbose {
            "solana_runtime::message_processor=debug,solana_program_test=info,warn"
        } else {
            "off"
        };
        std::env::set_var("RUST_LOG", filter);
    }
    output::set_verbose(cli.verbose);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let json = cli.json;
    if let Err(e) = rt.block_on(run(cli)) {
        if json {
            println!("{}", serde_json::json!({ "error": format!("{e:#}") }));
        } else {
            eprintln!("error: {e:#}");
        }
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Demo { out } => demo::run(cli.json, out.clone()).await,
        Command::Backtest(args) => backtest::run(args, cli.json).await,
        Command::Localnet(args) => localnet::run(args).await,
        Command::Risk(args) => risk::run(&cli, args).await,
        Command::Pool { cmd } => roles::pool(&cli, cmd).await,
        Command::Market { cmd } => roles::market(&cli, cmd).await,
        Command::Stake { cmd } => roles::stake(&cli, cmd).await,
        Command::Cover { cmd } => roles::cover(&cli, cmd).await,
        Command::Keeper { cmd } => roles::keeper(&cli, cmd).await,
        Command::Migrate { cmd } => roles::migrate(&cli, cmd).await,
        Command::Gov { cmd } => roles::gov(&cli, cmd).await,
    }
}
