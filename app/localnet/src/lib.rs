//! `cover localnet`: a local Solana JSON-RPC server whose ledger is
//! solana-program-test's bank with the coverage program loaded.
//!
//! # What it is
//! The real program — coverage_pool and the example lender, run natively as
//! builtins — with the real SPL Token, Token-2022, associated-token and memo
//! programs, behind the real JSON-RPC wire format: every request and
//! response is one of the Solana crates' own types (solana-rpc-client-api,
//! solana-account-decoder, solana-transaction-status), so the official Rust
//! client, @solana/kit and wallets talk to it as to a cluster. At start it
//! applies a deployment config (a 6-decimal collateral mint whose authority
//! it keeps for the faucet, the treasury, the pool with its tranches, the
//! markets, and each market's push-feed price account at a healthy price).
//!
//! # What it is not
//! No SBF virtual machine (the programs run natively, so compute units are
//! not the program's: only CPI'd bytecode such as SPL Token is metered), no
//! consensus, no gossip, one bank. A block is `processed` and `confirmed`
//! while open, `finalized` once it closes (see [`ledger::View`]). Program `msg!`
//! output goes to the process's stdout, not to transaction logs (which hold
//! the runtime's and the bytecode programs' lines).
//!
//! # Keys: acting as the authority, a funded user
//! The pool's creator and authority is the bank's genesis payer (which also
//! pays for airdrops and the faucet). At start the server writes its keypair
//! and a fresh user's, funded with 100 SOL and 1 000 000 collateral tokens,
//! as Solana CLI keypair files (JSON, mode 0600) into [`Options::keys_dir`]:
//! `authority.json` and `user.json`, named by absolute path in the ready
//! line (`authority_keypair`, `user_keypair`). So `cover --keypair
//! …/authority.json gov …` acts as the pool authority, and `cover --keypair
//! …/user.json stake …` as a staker, buyer or keeper. More SOL:
//! `requestAirdrop`; more collateral: `localnet_mintCollateral`. The files
//! are rewritten at each start (a new bank, new keys).
//!
//! # Time
//! The bank's clock follows wall time `speed` times faster (plus
//! `localnet_advanceClock` and `localnet_setClock`); a slot is 400 ms of
//! that ledger time. A block closes when it holds transactions and is
//! 400 ms old (wall time), at the slot the clock stands for (skipping slots
//! after idle time, as a cluster skips them); an idle ledger makes no
//! blocks, since each costs the bank ~150 KB it never frees. The block
//! height counts blocks, each registering one blockhash, so a blockhash is
//! valid for 150 blocks (`lastValidBlockHeight`): about a minute under load,
//! longer when idle. `getSlot` at `finalized` is the rooted parent of the
//! working slot, a recent slot for creating a lookup table (at `confirmed`
//! it is the working slot, which is not in its own SlotHashes: take the
//! finalized one, as the Solana CLI and the SDK do).
//!
//! The deployment is applied `cooldown + withdraw window + 1 day + 1 hour`
//! before the start time (markets open for cover sales that long after
//! creation), then the clock jumps to the start: wall time, or with
//! `--prices` the earliest first row's publish time. Each market's feed is
//! then republished live at a healthy price (1.00 USD) with the current time
//! every clock second; a replayed CSV writes each row at its own publish
//! time and holds it, republished, until the next (see [`ledger::feeds`]).
//!
//! # Methods
//! Reads (HTTP): getAccountInfo, getMultipleAccounts (base58, base64,
//! base64+zstd, jsonParsed; dataSlice), getBalance, getProgramAccounts
//! (memcmp, dataSize, tokenAccountState; withContext),
//! getTokenAccountsByOwner (mint or programId), getTokenAccountBalance,
//! getMinimumBalanceForRentExemption, getEpochSchedule, getLatestBlockhash,
//! isBlockhashValid, getEpochInfo, getSlot (`finalized`: the parent slot),
//! getBlockHeight, getTransactionCount, getHealth, getVersion,
//! getGenesisHash, getRecentPrioritizationFees, getSignatureStatuses,
//! getTransaction (json, jsonParsed, base58, base64; fee, balances, token
//! balances, logs, inner instructions when preflight ran, loaded addresses).
//!
//! Writes (HTTP): sendTransaction (base58/base64, legacy and v0 with lookup
//! tables; at most 1 232 bytes; signatures always verified; preflight unless
//! `skipPreflight`, a failure being the standard -32002 error with the
//! simulation and its logs; a transaction the bank refuses without charging
//! a fee — unknown blockhash, already processed — is the same -32002 error
//! even with `skipPreflight`, where a cluster would drop it silently),
//! simulateTransaction (sigVerify, replaceRecentBlockhash, innerInstructions;
//! not `accounts`), requestAirdrop (a transfer from the genesis payer).
//!
//! Subscriptions (websocket, port + 1): accountSubscribe, signatureSubscribe
//! (with `enableReceivedNotification`), slotSubscribe, and their
//! unsubscribes; at most 1 000 per connection, and a connection more than
//! 4 096 notifications (16 MiB) behind is closed (see [`server`]).
//!
//! Health: getHealth and `GET /health` answer "ok" while the ledger thread
//! and the bank serve; a request whose handling panics (a bug) is answered
//! -32603 and the ledger serves on.
//!
//! Test controls (HTTP; only without an `Origin` or from a page on this
//! machine, none but `localnet_info` with `--no-test-controls`): see
//! [`rpc::test_controls`] — `localnet_info`,
//! `localnet_advanceClock [seconds]`, `localnet_setClock [unixTimestamp]`,
//! `localnet_setPrice [feed, {price, conf?, exponent?, publishTime?}]`,
//! `localnet_mintCollateral [owner, amount]`.
//!
//! Bad input is the standard error and changes nothing: malformed JSON
//! -32700, unknown method -32601, bad parameters -32602 naming the
//! parameter, oversized or undecodable transactions -32602, bad signatures
//! -32003, unknown blockhash -32002, bodies over 50 KiB HTTP 413.

pub mod ledger;
pub mod rpc;
pub mod server;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use coverage_sdk::config::Deployment;
use tokio::sync::watch;

pub use ledger::{Info, Replay};

/// How to start.
pub struct Options {
    /// HTTP port on 127.0.0.1 (websocket on port + 1); 0 picks a free pair.
    pub port: u16,
    /// The deployment applied at start.
    pub deployment: Deployment,
    /// Price series replayed into feeds.
    pub replays: Vec<Replay>,
    /// Ledger seconds per wall second.
    pub speed: f64,
    /// Log filter for the bank when `RUST_LOG` is unset (e.g. `"error"`).
    pub log_filter: String,
    /// Directory the authority's and the funded user's keypair files are
    /// written to (`authority.json`, `user.json`; created if missing).
    pub keys_dir: std::path::PathBuf,
    /// Serve the test controls that change the ledger (`localnet_setPrice`,
    /// the clock, the faucet); without, only `localnet_info`.
    pub test_controls: bool,
}

/// A running localnet.
pub struct Localnet {
    info: Info,
    ledger: ledger::LedgerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    shutdown: watch::Sender<bool>,
    servers: Vec<tokio::task::JoinHandle<()>>,
}

impl Localnet {
    /// Binds the ports, builds the bank, applies the deployment, and serves.
    pub async fn start(options: Options) -> Result<Self> {
        if !(options.speed.is_finite() && options.speed > 0.0 && options.speed <= 1e6) {
            bail!(
                "--speed must be a number above 0 (at most 1000000), got {}",
                options.speed
            );
        }
        let (http, ws) = server::bind(options.port).await?;
        let rpc = format!("http://{}", http.local_addr()?);
        let ws_url = format!("ws://{}", ws.local_addr()?);
        let wall = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() as i64;
        let start = options
            .replays
            .iter()
            .filter_map(|r| r.rows.first().map(|row| row.publish_time))
            .min()
            .unwrap_or(wall);
        let setup = ledger::Setup {
            deployment: options.deployment,
            replays: options.replays,
            speed: options.speed,
            start,
            log_filter: options.log_filter,
            rpc,
            ws: ws_url,
            keys_dir: options.keys_dir,
        };
        let (handle, thread, info) = tokio::task::spawn_blocking(move || ledger::spawn(setup))
            .await
            .context("the bank thread")??;
        let (shutdown, rx) = watch::channel(false);
        let servers = server::serve(http, ws, handle.clone(), options.test_controls, rx);
        Ok(Self {
            info,
            ledger: handle,
            thread: Some(thread),
            shutdown,
            servers,
        })
    }

    /// The ready line.
    pub fn info(&self) -> &Info {
        &self.info
    }

    /// Stops serving (open connections are closed), then the bank.
    pub async fn stop(mut self) -> Result<()> {
        let _ = self.shutdown.send(true);
        for s in self.servers.drain(..) {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s).await;
        }
        self.ledger.stop();
        if let Some(t) = self.thread.take() {
            tokio::task::spawn_blocking(move || t.join())
                .await?
                .map_err(|_| anyhow::anyhow!("the bank thread panicked"))?;
        }
        Ok(())
    }
}
