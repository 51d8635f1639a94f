//! `cover localnet` through the binary, on loopback, one node per test:
//! every JSON-RPC method with the official Rust clients and bad input with
//! raw HTTP (`rpc`), every `cover` role command (`roles`), the keeper daemon
//! settling a replayed depeg (`keeper`), and concurrent clients (`load`).
//! This file is the harness they share: a node started and waited for,
//! funded wallets, raw calls.

mod keeper;
mod load;
mod review;
mod roles;
mod rpc;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator, Space};
use anchor_spl::associated_token::{get_associated_token_address_with_program_id, spl_associated_token_account};
use coverage_pool::state::{Market, Policy, Pool};
use coverage_sdk::ix::{self, BuyCoverKeys, PoolKeys};
use coverage_sdk::pda;
use coverage_sdk::pyth::PriceUpdate;
use coverage_sdk::transport::{RpcTransport, Transport};
use futures_util::StreamExt;
use serde_json::{json, Value};
use solana_account_decoder_client_types::{UiAccountData, UiAccountEncoding, UiDataSliceConfig};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::client_error::ErrorKind;
use solana_rpc_client_api::request::{RpcError, RpcRequest, RpcResponseErrorData, TokenAccountsFilter};
use solana_rpc_client_types::config::{
    RpcAccountInfoConfig, RpcProgramAccountsConfig, RpcSendTransactionConfig, RpcSignatureSubscribeConfig,
    RpcSimulateTransactionConfig, RpcTransactionConfig,
};
use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
use solana_rpc_client_types::response::RpcSignatureResult;
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction::Transaction;
use solana_transaction_status_client_types::{TransactionConfirmationStatus, UiTransactionEncoding};

const USDC: u64 = 1_000_000;
const SOL: u64 = 1_000_000_000;

/// A `cover localnet` child process, killed on drop, with a scratch
/// directory of its own (its keypair files, the tests' files; removed on
/// drop) that is also the `HOME` of every process the test starts, so no
/// Solana CLI config is found.
struct Node {
    child: Child,
    info: Value,
    stderr: Arc<Mutex<String>>,
    dir: PathBuf,
    /// The reader of stdout after the ready line: what else it printed,
    /// checked when the node is dropped (a thread's failed assertion would
    /// not fail the test).
    stdout_rest: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Node {
    fn start(args: &[&str]) -> Self {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "cover-localnet-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cover"))
            .args(["localnet", "--port", "0", "--keys-dir"])
            .arg(dir.join("keys"))
            .args(args)
            .env("HOME", &dir)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn cover localnet");
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().unwrap();
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stdout_rest = std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let first = lines.next();
            let _ = tx.send(first);
            // anything more on stdout breaks the one-line protocol: returned,
            // and asserted empty on the test's thread (`Drop for Node`)
            lines.map_while(Result::ok).collect()
        });
        let line = match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(Some(Ok(line))) => line,
            other => panic!("no ready line ({other:?}); stderr: {}", stderr.lock().unwrap()),
        };
        let info: Value = serde_json::from_str(&line).expect("the ready line is JSON");
        assert_eq!(info["ready"], true);
        Node {
            child,
            info,
            stderr,
            dir,
            stdout_rest: Some(stdout_rest),
        }
    }

    fn rpc(&self) -> String {
        self.info["rpc"].as_str().unwrap().to_string()
    }

    fn ws(&self) -> String {
        self.info["ws"].as_str().unwrap().to_string()
    }

    fn key(&self, field: &str) -> Pubkey {
        Pubkey::from_str(self.info[field].as_str().unwrap()).unwrap()
    }

    fn market(&self, i: usize) -> (Pubkey, Pubkey) {
        let m = &self.info["markets"][i];
        (
            Pubkey::from_str(m["address"].as_str().unwrap()).unwrap(),
            Pubkey::from_str(m["feed_account"].as_str().unwrap()).unwrap(),
        )
    }

    fn client(&self) -> RpcClient {
        RpcClient::new_with_commitment(self.rpc(), CommitmentConfig::confirmed())
    }

    fn keys(&self) -> PoolKeys {
        PoolKeys {
            pool: self.key("pool"),
            collateral_mint: self.key("mint"),
            token_program: anchor_spl::token::ID,
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
        // the child is gone, so its stdout is closed and the reader ends
        let rest = self.stdout_rest.take().map(|t| t.join());
        if !std::thread::panicking() {
            let rest = rest.expect("the stdout reader").expect("the stdout reader ended");
            assert!(rest.is_empty(), "more than one line on stdout: {rest:?}");
        }
    }
}

/// `cover` as a user runs it against a node: `--url` its RPC, `HOME` its
/// scratch directory, `RUST_LOG` unset.
impl Node {
    fn cover(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_cover"));
        c.args(["--url", &self.rpc()])
            .env("HOME", &self.dir)
            .env_remove("RUST_LOG");
        c
    }

    /// Runs `cover --json ARGS`, signed by `keypair` if any; expects success
    /// and one JSON object on stdout (nothing on stderr).
    fn cli(&self, keypair: Option<&Path>, args: &[&str]) -> Value {
        let out = self.run_cli(keypair, args);
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        assert!(out.status.success(), "cover {args:?} failed: {stderr}{stdout}");
        assert!(stderr.is_empty(), "cover {args:?}: quiet by default, yet: {stderr}");
        serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("cover {args:?}: stdout is not one JSON object ({e}): {stdout}"))
    }

    /// Runs `cover --json ARGS` expecting it to fail; returns its error.
    fn cli_err(&self, keypair: Option<&Path>, args: &[&str]) -> String {
        let out = self.run_cli(keypair, args);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "cover {args:?} should fail: {stdout}");
        let v: Value = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("cover {args:?}: the error is not JSON ({e}): {stdout}"));
        v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error in {v}"))
            .to_string()
    }

    fn run_cli(&self, keypair: Option<&Path>, args: &[&str]) -> std::process::Output {
        let mut c = self.cover();
        if let Some(k) = keypair {
            c.arg("--keypair").arg(k);
        }
        c.arg("--json").args(args).output().expect("run cover")
    }

    /// Writes `keypair` as a Solana CLI keypair file in the scratch directory.
    fn keypair_file(&self, name: &str, keypair: &Keypair) -> PathBuf {
        let path = self.dir.join(format!("{name}.json"));
        solana_keypair::write_keypair_file(keypair, &path).unwrap();
        path
    }

    /// A keypair file the ready line names (`authority_keypair`, `user_keypair`).
    fn info_path(&self, field: &str) -> PathBuf {
        PathBuf::from(
            self.info[field]
                .as_str()
                .unwrap_or_else(|| panic!("no {field} in the ready line")),
        )
    }
}

async fn control(client: &RpcClient, method: &'static str, params: Value) -> Value {
    client
        .send::<Value>(RpcRequest::Custom { method }, params)
        .await
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// A funded wallet with collateral from the faucet.
async fn wallet(client: &RpcClient, usdc: u64) -> Keypair {
    let kp = Keypair::new();
    let sig = client.request_airdrop(&kp.pubkey(), 10 * SOL).await.unwrap();
    assert!(client.confirm_transaction(&sig).await.unwrap());
    if usdc > 0 {
        control(
            client,
            "localnet_mintCollateral",
            json!([kp.pubkey().to_string(), usdc]),
        )
        .await;
    }
    kp
}

async fn token_amount(client: &RpcClient, account: &Pubkey) -> u64 {
    client
        .get_token_account_balance(account)
        .await
        .unwrap()
        .amount
        .parse()
        .unwrap()
}

async fn send(
    client: &RpcClient,
    ixs: &[anchor_lang::solana_program::instruction::Instruction],
    signer: &Keypair,
) -> solana_rpc_client_api::client_error::Result<solana_signature::Signature> {
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(ixs, Some(&signer.pubkey()), &[signer], blockhash);
    client.send_and_confirm_transaction(&tx).await
}

/// A processed transaction (any version), JSON-encoded.
async fn record(
    client: &RpcClient,
    signature: &solana_signature::Signature,
) -> solana_transaction_status_client_types::EncodedConfirmedTransactionWithStatusMeta {
    let config = RpcTransactionConfig {
        max_supported_transaction_version: Some(0),
        ..RpcTransactionConfig::default()
    };
    client.get_transaction_with_config(signature, config).await.unwrap()
}

/// Code, message and data of a JSON-RPC error response.
fn rpc_error(e: &solana_rpc_client_api::client_error::Error) -> (i64, String, &RpcResponseErrorData) {
    match e.kind() {
        ErrorKind::RpcError(RpcError::RpcResponseError { code, message, data }) => (*code, message.clone(), data),
        other => panic!("not an RPC error: {other:?}"),
    }
}

/// Waits for the block holding `signature` to close (400 ms after it opened).
async fn block_after(client: &RpcClient, signature: &solana_signature::Signature) {
    let slot = client.get_signature_statuses(&[*signature]).await.unwrap().value[0]
        .as_ref()
        .unwrap()
        .slot;
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get_slot().await.unwrap() <= slot {
        assert!(Instant::now() < deadline, "no new block after slot {slot}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// One raw JSON-RPC call; returns the HTTP status and the body.
async fn raw(http: &reqwest::Client, url: &str, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let r = http
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}")),
    )
}

async fn call(http: &reqwest::Client, url: &str, method: &str, params: Value) -> Value {
    raw(
        http,
        url,
        json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}).to_string(),
    )
    .await
    .1
}

fn code(v: &Value) -> i64 {
    v["error"]["code"].as_i64().unwrap_or_else(|| panic!("no error: {v}"))
}

/// An Anchor account, read through the official client.
async fn read<T: AccountDeserialize>(client: &RpcClient, address: &Pubkey) -> T {
    let data = client
        .get_account_data(address)
        .await
        .unwrap_or_else(|e| panic!("{address}: {e}"));
    T::try_deserialize(&mut &data[..]).unwrap_or_else(|e| panic!("{address}: {e}"))
}

/// Whether an account exists.
async fn exists(client: &RpcClient, address: &Pubkey) -> bool {
    client
        .get_account_with_commitment(address, CommitmentConfig::confirmed())
        .await
        .unwrap()
        .value
        .is_some()
}

/// `owner`'s associated token account for `mint` (classic SPL Token).
fn ata(owner: &Pubkey, mint: &Pubkey) -> Pubkey {
    get_associated_token_address_with_program_id(owner, mint, &anchor_spl::token::ID)
}

/// The vault's balance and the pool's books from the accounts: tranche
/// assets + unearned premium + reserves + fees owed.
async fn vault_and_books(client: &RpcClient, keys: &PoolKeys) -> (u64, u64) {
    let pool: Pool = read(client, &keys.pool).await;
    let ledger_data = client.get_account_data(&keys.ledger()).await.unwrap();
    let ledger: coverage_pool::state::PremiumLedger = coverage_sdk::quote::decode_zero_copy(&ledger_data).unwrap();
    let books = coverage_sdk::quote::books(&pool, &ledger).unwrap();
    (token_amount(client, &keys.vault()).await, books)
}

/// A signature the CLI printed, confirmed without error.
async fn landed(client: &RpcClient, v: &Value) {
    let sig =
        solana_signature::Signature::from_str(v["signature"].as_str().unwrap_or_else(|| panic!("no signature in {v}")))
            .unwrap();
    let status = client.get_signature_statuses(&[sig]).await.unwrap().value[0].clone();
    assert!(status.as_ref().is_some_and(|s| s.err.is_none()), "{v}: {status:?}");
}

/// Sends `signal` to a child process this test started.
fn signal(child: &Child, signal: i32) {
    // SAFETY: signals our own child by its id
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

/// Waits for `child` to exit, at most `secs` seconds; its status.
fn exit_within(child: &mut Child, secs: u64) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(Instant::now() < deadline, "still running {secs} s after the signal");
        std::thread::sleep(Duration::from_millis(20));
    }
}
