//! `cover localnet`: the whole protocol behind a local Solana JSON-RPC
//! endpoint (see the `coverage-localnet` crate). Prints one JSON line on
//! stdout when ready, and on a terminal a short guide on stderr (the
//! addresses as shell variables, first commands); writes the authority's and
//! a funded user's keypair files into `--keys-dir`; Ctrl-C (or SIGTERM)
//! stops it.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use coverage_localnet::{Info, Localnet, Options, Replay};
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
    /// Where to write the pool authority's keypair (authority.json) and a
    /// funded user's (user.json: 100 SOL, 1 000 000 collateral tokens).
    #[arg(long, default_value = "target/localnet")]
    pub keys_dir: PathBuf,
    /// Show the bank's and the programs' logs on stderr.
    #[arg(long, short)]
    pub verbose: bool,
    /// Serve no test control but `localnet_info` (no faucet, no clock or
    /// price changes): the ledger moves only by transactions and time.
    #[arg(long)]
    pub no_test_controls: bool,
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
        keys_dir: args.keys_dir.clone(),
        test_controls: !args.no_test_controls,
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
    if std::io::stderr().is_terminal() {
        eprint!("{}", guide(localnet.info()));
    }
    tokio::select! {
        _ = int.recv() => {}
        _ = term.recv() => {}
    }
    localnet.stop().await
}

/// The shell variable a market's address is offered in: `USDC_MARKET` for
/// the feed `USDC/USD`, else `MARKET<index>`.
fn market_var(index: usize, feed: &str) -> String {
    match feed.split_once('/') {
        Some((base, _)) if !base.is_empty() && base.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("{}_MARKET", base.to_ascii_uppercase())
        }
        _ => format!("MARKET{index}"),
    }
}

/// Every market's shell variable and address, the names unique: two
/// markets on one asset (`USDC/USD` and `USDC/USDT`) are `USDC_MARKET` and
/// `MARKET<index>`, so pasting the export line sets both.
fn market_vars(info: &Info) -> Vec<(String, &str)> {
    let mut vars: Vec<(String, &str)> = Vec::with_capacity(info.markets.len());
    for (i, m) in info.markets.iter().enumerate() {
        let mut var = market_var(i, &m.feed);
        if vars.iter().any(|(v, _)| *v == var) {
            var = format!("MARKET{i}");
        }
        vars.push((var, m.address.as_str()));
    }
    vars
}

/// What a person at a terminal reads after the ready line (on stderr): the
/// addresses as shell variables to paste into another terminal, and a first
/// few commands.
fn guide(info: &Info) -> String {
    let url = if info.rpc == "http://127.0.0.1:8899" {
        "l"
    } else {
        info.rpc.as_str()
    };
    let vars = market_vars(info);
    let mut out = format!(
        "\ncover localnet: the coverage program on a local bank at {} ({}); clock {}, {}x wall time\n",
        info.rpc,
        info.ws,
        crate::output::time(info.clock),
        info.speed
    );
    let mut export = format!("export POOL={}", info.pool);
    for (var, address) in &vars {
        export += &format!(" {var}={address}");
    }
    export += &format!(" AUTH_KEY={} USER_KEY={}", info.authority_keypair, info.user_keypair);
    out += &format!(
        "In another terminal, from this directory (`cover` is target/debug/cover after `cargo build -p cover-cli`):\n\n  {export}\n"
    );
    out += &format!("  cover -u {url} pool show --pool $POOL\n");
    out += &format!("  cover -u {url} -k $USER_KEY stake deposit --pool $POOL --tranche 0 --amount 100000\n");
    if let Some((var, _)) = vars.first() {
        out += &format!("  cover -u {url} -k $USER_KEY cover buy --market ${var} --amount 10000 --days 30\n");
    }
    out += &format!("  cover -u {url} -k $USER_KEY keeper run --pool $POOL --interval 1\n\n");
    out += "$USER_KEY holds 100 SOL and 1 000 000 collateral tokens; $AUTH_KEY is the pool authority.\n\
            Ctrl-C stops the localnet.\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_offers_every_address_as_a_shell_variable() {
        assert_eq!(market_var(0, "USDC/USD"), "USDC_MARKET");
        assert_eq!(market_var(3, "0xeaa0"), "MARKET3");
        let market = |name: &str, feed: &str, address: &str| coverage_localnet::ledger::setup::MarketInfo {
            name: name.into(),
            address: address.into(),
            feed: feed.into(),
            feed_id: String::new(),
            feed_account: String::new(),
        };
        let info = Info {
            ready: true,
            rpc: "http://127.0.0.1:8899".into(),
            ws: "ws://127.0.0.1:8900".into(),
            program_id: String::new(),
            lender_program: String::new(),
            pool: "P00L".into(),
            authority: String::new(),
            authority_keypair: "k/authority.json".into(),
            user: String::new(),
            user_keypair: "k/user.json".into(),
            mint: String::new(),
            treasury: String::new(),
            markets: vec![
                market("USDC depeg", "USDC/USD", "M0"),
                market("other", "ab12", "M1"),
                market("USDC against USDT", "USDC/USDT", "M2"),
            ],
            clock: 1_678_338_000,
            slot: 0,
            speed: 60.0,
            prices: vec![],
        };
        let text = guide(&info);
        assert!(
            text.contains(
                "export POOL=P00L USDC_MARKET=M0 MARKET1=M1 MARKET2=M2 AUTH_KEY=k/authority.json USER_KEY=k/user.json\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("cover -u l -k $USER_KEY cover buy --market $USDC_MARKET"),
            "{text}"
        );
        assert!(text.contains("2023-03-09 05:00"), "{text}");
    }
}
