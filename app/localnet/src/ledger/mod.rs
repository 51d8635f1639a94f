//! The ledger: the only owner of the bank (a solana-program-test context is
//! not shareable), on a thread of its own. RPC handlers send it jobs over a
//! channel and await their results; between jobs it keeps time.
//!
//! The thread drives the context's tokio runtime only while a job or a tick
//! runs, and that runtime's timers are paused: solana-program-test's own
//! background task, which would register a fresh blockhash every 6.4 ms
//! (expiring every blockhash after about a second), never fires. Blocks are
//! made here instead, one `warp_to_slot` each: the slot is the one the ledger
//! time stands for, and the block registers exactly one new blockhash. A
//! block closes when it holds transactions and is at least 400 ms old (the
//! bank never frees the ~150 KB of sysvars each block writes, so an idle
//! ledger makes none); a blockhash stays valid for 150 blocks, like a
//! cluster's. The clock sysvar follows the ledger time on every tick
//! (100 ms) within the current block, which costs nothing.

pub mod execute;
pub mod feeds;
pub mod history;
pub mod index;
pub mod setup;
pub mod time;

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use agave_feature_set::FeatureSet;
use anchor_lang::prelude::Clock;
use coverage_sdk::pyth::PriceUpdate;
use futures_util::FutureExt;
use jsonrpc_core::{Error, ErrorCode};
use solana_account::Account;
use solana_account_decoder::parse_account_data::SplTokenAdditionalDataV2;
use solana_clock::MAX_PROCESSING_AGE;
use solana_commitment_config::CommitmentLevel;
use solana_epoch_schedule::EpochSchedule;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_program_test::ProgramTestContext;
use solana_pubkey::Pubkey;
use solana_rent::Rent;
use solana_signer::Signer;
use spl_token_2022_interface::extension::interest_bearing_mint::InterestBearingConfig;
use spl_token_2022_interface::extension::scaled_ui_amount::ScaledUiAmountConfig;
use spl_token_2022_interface::extension::{BaseStateWithExtensions, StateWithExtensions};

use crate::rpc::subscriptions::Registry;
use feeds::Feeds;
use history::History;
use index::Index;
pub use setup::{Info, Replay, Setup};
use time::{LedgerTime, SLOT_MS, TICK};

/// A future run on the ledger thread (not `Send`: it borrows the ledger).
pub type LocalFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

type Job = Box<dyn for<'a> FnOnce(&'a mut Ledger) -> LocalFuture<'a, ()> + Send>;

enum Msg {
    Job(Job),
    Stop,
}

/// A handle to the ledger thread.
#[derive(Clone)]
pub struct LedgerHandle {
    tx: Sender<Msg>,
}

fn stopped() -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: "the localnet is shutting down".into(),
        data: None,
    }
}

/// What a panic carried, as text.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

/// The -32603 answer to a request whose job panicked (a bug of the localnet).
fn panicked(panic: Box<dyn std::any::Any + Send>) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: format!(
            "Internal error: the localnet failed serving this request (a bug: {}); it may have been applied in part, the ledger serves on",
            panic_message(&*panic)
        ),
        data: None,
    }
}

impl LedgerHandle {
    /// Runs `f` on the ledger thread and returns its result. A job that
    /// panics is answered -32603 and the ledger serves on: the bank's own
    /// state is changed only by whole transactions and account writes, so a
    /// request cut short leaves at most the server's records of it partial
    /// (the panic is on stderr, as every panic).
    pub async fn call<T, F>(&self, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: for<'a> FnOnce(&'a mut Ledger) -> LocalFuture<'a, T> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |ledger| {
            Box::pin(async move {
                let result = match std::panic::catch_unwind(AssertUnwindSafe(|| f(ledger))) {
                    Ok(fut) => AssertUnwindSafe(fut).catch_unwind().await,
                    Err(panic) => Err(panic),
                };
                let _ = tx.send(result.map_err(panicked));
            })
        });
        self.tx.send(Msg::Job(job)).map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }

    /// Asks the ledger thread to stop after the jobs already queued.
    pub fn stop(&self) {
        let _ = self.tx.send(Msg::Stop);
    }
}

/// A bank error that is the server's fault, not the request's.
pub fn internal(e: impl std::fmt::Display) -> Error {
    Error {
        code: ErrorCode::InternalError,
        message: format!("bank: {e}"),
        data: None,
    }
}

/// The block a request at a commitment names. Every commitment reads the
/// same bank, the working one (the bank keeps no older state); they differ
/// in the block they stand for: `processed` and `confirmed` the open block
/// (its transactions are executed), `finalized` — and a request without a
/// commitment, agave's default — the last closed block, the open one's
/// parent. Every slot, block height and transaction count a request at a
/// commitment answers, its context slot and its `minContextSlot` check come
/// from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct View {
    /// The block's slot.
    pub slot: u64,
    /// Its block height.
    pub block_height: u64,
    /// Transactions processed up to it.
    pub transaction_count: u64,
}

/// Whether `commitment` names the last closed block (`finalized`, or none).
pub fn is_finalized(commitment: Option<CommitmentLevel>) -> bool {
    commitment.unwrap_or_default() == CommitmentLevel::Finalized
}

/// Blocks made so far and the blockhashes they registered.
struct Blocks {
    made: u64,
    hashes: HashMap<Hash, u64>,
    order: VecDeque<Hash>,
    opened: Instant,
    dirty: bool,
}

/// The collateral faucet.
pub struct Faucet {
    /// Collateral mint.
    pub mint: Pubkey,
    /// Its mint authority.
    pub authority: Keypair,
}

/// The bank and everything the RPC layer needs to serve it.
pub struct Ledger {
    /// The program-test context (bank, payer, banks client).
    pub ctx: ProgramTestContext,
    /// Ledger time.
    pub time: LedgerTime,
    /// Addresses seen.
    pub index: Index,
    /// Processed transactions.
    pub history: History,
    /// Price feeds.
    pub feeds: Feeds,
    /// Websocket subscriptions.
    pub subs: Registry,
    /// Collateral faucet (after setup).
    pub faucet: Option<Faucet>,
    /// The ready line (after setup).
    pub info: Option<Info>,
    /// Epoch schedule of the bank.
    pub epoch_schedule: EpochSchedule,
    /// Rent of the bank.
    pub rent: Rent,
    /// Fee per signature.
    pub lamports_per_signature: u64,
    /// Features: the bank's (every one but those mainnet lacks, see
    /// [`coverage_sdk::bank::INACTIVE_ON_MAINNET`]).
    pub feature_set: FeatureSet,
    /// Accounts no transaction may write-lock.
    pub reserved_keys: HashSet<Pubkey>,
    /// The bank's working slot.
    pub slot: u64,
    /// Its parent (rooted) slot.
    pub parent_slot: u64,
    block_height_base: u64,
    blocks: Blocks,
    clock: Option<Clock>,
    nonce: u64,
}

impl Ledger {
    async fn new(ctx: ProgramTestContext, start: i64, speed: f64) -> Result<Self, Error> {
        let banks = &ctx.banks_client;
        let slot = banks
            .get_slot_with_context(tarpc_context(), CommitmentLevel::Processed)
            .await
            .map_err(internal)?;
        let epoch_schedule: EpochSchedule = banks.get_sysvar().await.map_err(internal)?;
        let rent = banks.get_rent().await.map_err(internal)?;
        let block_height_base = banks
            .get_block_height_with_context(tarpc_context(), CommitmentLevel::Processed)
            .await
            .map_err(internal)?;
        // the fee of a one-signature message is the fee per signature
        let probe = solana_message::Message::new_with_blockhash(&[], Some(&ctx.payer.pubkey()), &ctx.last_blockhash);
        let lamports_per_signature = banks
            .get_fee_for_message(probe)
            .await
            .map_err(internal)?
            .ok_or_else(|| internal("no fee for a one-signature message"))?;
        let mut ledger = Self {
            time: LedgerTime::paused(start, slot, speed),
            index: Index::default(),
            history: History::default(),
            feeds: Feeds::default(),
            subs: Registry::default(),
            faucet: None,
            info: None,
            epoch_schedule,
            rent,
            lamports_per_signature,
            feature_set: feature_set(),
            reserved_keys: agave_reserved_account_keys::ReservedAccountKeys::new_all_activated().active,
            slot,
            parent_slot: slot.saturating_sub(1),
            block_height_base,
            blocks: Blocks {
                made: 0,
                hashes: HashMap::new(),
                order: VecDeque::new(),
                opened: Instant::now(),
                dirty: false,
            },
            clock: None,
            nonce: 0,
            ctx,
        };
        let hash = ledger.ctx.last_blockhash;
        ledger.register_blockhash(hash);
        ledger.history.open_block(slot);
        let payer = ledger.ctx.payer.pubkey();
        let account = ledger.get_account(&payer).await?;
        ledger.index.observe(&payer, account.as_ref());
        ledger.sync_clock().await?;
        Ok(ledger)
    }

    /// One account of the working bank.
    pub async fn get_account(&mut self, address: &Pubkey) -> Result<Option<Account>, Error> {
        self.ctx
            .banks_client
            .get_account_with_commitment(*address, CommitmentLevel::Processed)
            .await
            .map_err(internal)
    }

    /// The block height: blocks made, each with one new blockhash. (A warp
    /// over skipped slots adds an intermediate bank to the bank's own count,
    /// which a cluster would not: clients compare this height with a
    /// blockhash's `lastValidBlockHeight`, so it counts blockhashes.)
    pub fn block_height(&self) -> u64 {
        self.block_height_base + self.blocks.made
    }

    /// The block a request at `commitment` names (see [`View`]): the open
    /// block, or for `finalized` its rooted parent (so a client can use its
    /// slot as a recent slot, e.g. to create a lookup table).
    pub fn view(&self, commitment: Option<CommitmentLevel>) -> View {
        if is_finalized(commitment) {
            View {
                slot: self.parent_slot,
                block_height: self.block_height().saturating_sub(1),
                transaction_count: self.history.closed_count(),
            }
        } else {
            View {
                slot: self.slot,
                block_height: self.block_height(),
                transaction_count: self.history.transaction_count,
            }
        }
    }

    /// The slot a request at `commitment` sees ([`Ledger::view`]).
    pub fn slot_at(&self, commitment: Option<CommitmentLevel>) -> u64 {
        self.view(commitment).slot
    }

    /// The latest blockhash and the last block height it is valid at, as the
    /// block `view` sees them: the open block's blockhash was
    /// registered by its parent, so both know it, each counting 150 blocks
    /// from its own height.
    pub fn latest_blockhash(&self, view: View) -> (Hash, u64) {
        (self.ctx.last_blockhash, view.block_height + MAX_PROCESSING_AGE as u64)
    }

    /// Whether the bank still accepts transactions with `hash` (at most 150
    /// blocks old, as the bank checks), as the block `commitment` names sees it.
    pub fn is_blockhash_valid(&self, hash: &Hash, commitment: Option<CommitmentLevel>) -> bool {
        let made = match is_finalized(commitment) {
            true => self.blocks.made.saturating_sub(1),
            false => self.blocks.made,
        };
        self.blocks
            .hashes
            .get(hash)
            .is_some_and(|registered| made.saturating_sub(*registered) <= MAX_PROCESSING_AGE as u64)
    }

    /// Whether the bank answers: the ledger thread runs (this is a job on
    /// it) and the bank's server takes a request.
    pub async fn health(&mut self) -> Result<(), Error> {
        self.ctx
            .banks_client
            .get_slot_with_context(tarpc_context(), CommitmentLevel::Processed)
            .await
            .map(|_| ())
            .map_err(internal)
    }

    fn register_blockhash(&mut self, hash: Hash) {
        self.blocks.hashes.insert(hash, self.blocks.made);
        self.blocks.order.push_back(hash);
        while self.blocks.order.len() > 2 * MAX_PROCESSING_AGE {
            if let Some(old) = self.blocks.order.pop_front() {
                self.blocks.hashes.remove(&old);
            }
        }
    }

    /// Marks the current block as holding a transaction (it will close).
    pub fn touch_block(&mut self) {
        self.blocks.dirty = true;
    }

    /// Sets the bank's clock sysvar to the ledger time when the second changed.
    async fn sync_clock(&mut self) -> Result<bool, Error> {
        let unix = self.time.unix();
        let mut clock = match self.clock.take() {
            Some(c) => c,
            None => self.ctx.banks_client.get_sysvar::<Clock>().await.map_err(internal)?,
        };
        let changed = clock.unix_timestamp != unix || clock.slot != self.slot;
        if changed {
            clock.unix_timestamp = unix;
            self.ctx.set_sysvar(&clock);
        }
        self.clock = Some(clock);
        if changed {
            self.notify_written(&[solana_sdk_ids::sysvar::clock::ID]).await?;
        }
        Ok(changed)
    }

    /// Writes an account outside any transaction (test controls, feeds).
    pub async fn write_account(&mut self, address: &Pubkey, account: Account) -> Result<(), Error> {
        self.ctx.set_account(address, &account.clone().into());
        self.index.observe(address, Some(&account));
        self.notify_written(&[*address]).await
    }

    /// Writes a `PriceUpdateV2` at `address` (rent-exempt).
    pub async fn write_price(&mut self, address: &Pubkey, update: &PriceUpdate) -> Result<(), Error> {
        let lamports = self
            .rent
            .minimum_balance(pyth_solana_receiver_sdk::price_update::PriceUpdateV2::LEN);
        self.write_account(address, update.account(lamports)).await
    }

    async fn write_feeds(&mut self) -> Result<(), Error> {
        for (address, update) in self.feeds.updates(self.time.unix()) {
            self.write_price(&address, &update).await?;
        }
        Ok(())
    }

    /// Keeps time: the clock and live feeds follow the ledger time; a block
    /// holding transactions closes after 400 ms.
    pub async fn tick(&mut self) -> Result<(), Error> {
        if self.sync_clock().await? {
            self.write_feeds().await?;
        }
        if self.blocks.dirty && self.blocks.opened.elapsed().as_millis() >= SLOT_MS as u128 {
            self.new_block().await?;
        }
        Ok(())
    }

    /// Closes the current block and opens the next, at the slot the ledger
    /// time stands for: one new blockhash.
    pub async fn new_block(&mut self) -> Result<(), Error> {
        let target = self.time.slot().max(self.slot + 1);
        self.ctx
            .warp_to_slot(target)
            .map_err(|e| internal(format!("warp to slot {target}: {e:?}")))?;
        self.parent_slot = self.slot;
        self.slot = target;
        self.blocks.made += 1;
        self.blocks.dirty = false;
        self.blocks.opened = Instant::now();
        let hash = self.ctx.last_blockhash;
        self.register_blockhash(hash);
        self.history.open_block(target);
        // what the closed block changed, to subscribers at `finalized`
        // (before anything is written in the new one)
        self.notify_closed().await?;
        self.clock = None;
        self.sync_clock().await?;
        self.write_feeds().await?;
        self.subs.notify_slot(target, self.parent_slot);
        Ok(())
    }

    /// Moves the clock forward by `secs` and makes a block at the new time.
    pub async fn advance(&mut self, secs: i64) -> Result<(), Error> {
        self.time.advance(secs);
        self.new_block().await
    }

    /// Token amounts' display data of `mint` (decimals, interest and scaling
    /// extensions at the bank's time), if it is a token mint.
    pub async fn mint_data(&mut self, mint: &Pubkey) -> Result<Option<SplTokenAdditionalDataV2>, Error> {
        let Some(account) = self.get_account(mint).await? else {
            return Ok(None);
        };
        if !spl_generic_token::is_known_spl_token_id(&account.owner) {
            return Ok(None);
        }
        let Ok(state) = StateWithExtensions::<spl_token_2022_interface::state::Mint>::unpack(&account.data) else {
            return Ok(None);
        };
        let now = self.time.unix();
        Ok(Some(SplTokenAdditionalDataV2 {
            decimals: state.base.decimals,
            interest_bearing_config: state.get_extension::<InterestBearingConfig>().ok().map(|c| (*c, now)),
            scaled_ui_amount_config: state.get_extension::<ScaledUiAmountConfig>().ok().map(|c| (*c, now)),
        }))
    }

    /// A fresh number that keeps the server's own transactions (airdrops,
    /// faucet, set-up) unique within one blockhash
    /// ([`coverage_sdk::bank::with_unique_budget`]).
    pub fn next_nonce(&mut self) -> u64 {
        self.nonce += 1;
        self.nonce
    }

    /// The number `next_nonce` will give (to measure the transaction it makes).
    pub fn nonce_peek(&self) -> u64 {
        self.nonce + 1
    }
}

/// The bank's features: solana-program-test activates every one, except
/// those `coverage_sdk::bank::program_test` deactivates.
fn feature_set() -> FeatureSet {
    let mut features = FeatureSet::all_enabled();
    for feature in coverage_sdk::bank::INACTIVE_ON_MAINNET {
        features.deactivate(feature);
    }
    features
}

fn tarpc_context() -> tarpc::context::Context {
    tarpc::context::current()
}

/// Starts the ledger thread: builds the bank, applies the deployment, and
/// returns a handle with the ready line once users may arrive.
pub fn spawn(setup: Setup) -> anyhow::Result<(LedgerHandle, std::thread::JoinHandle<()>, Info)> {
    let (tx, rx) = std::sync::mpsc::channel::<Msg>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<anyhow::Result<Info>>();
    let thread = std::thread::Builder::new()
        .name("localnet-bank".into())
        .spawn(move || {
            // paused timers: see the module documentation
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            coverage_sdk::bank::quiet_logs(&setup.log_filter);
            let program_test = coverage_sdk::bank::program_test();
            let ctx = rt.block_on(program_test.start_with_context());
            let deploy_time = setup.start - setup::sales_delay(&setup.deployment);
            let started = rt.block_on(async {
                let mut ledger = Ledger::new(ctx, deploy_time, setup.speed)
                    .await
                    .map_err(|e| anyhow::anyhow!(e.message))?;
                let info = ledger.setup(&setup).await?;
                Ok::<_, anyhow::Error>((ledger, info))
            });
            match started {
                Ok((ledger, info)) => {
                    let _ = ready_tx.send(Ok(info));
                    serve(ledger, &rt, rx);
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                }
            }
        })?;
    let info = ready_rx
        .recv()
        .map_err(|_| anyhow::anyhow!("the bank thread stopped during set-up"))??;
    Ok((LedgerHandle { tx }, thread, info))
}

/// One tick; a failure (or a panic: a bug) is logged and the ledger serves on.
async fn tick_logged(ledger: &mut Ledger) {
    match AssertUnwindSafe(ledger.tick()).catch_unwind().await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => log::error!("localnet tick: {}", e.message),
        Err(panic) => log::error!("localnet tick panicked: {}", panic_message(&*panic)),
    }
}

fn serve(mut ledger: Ledger, rt: &tokio::runtime::Runtime, rx: Receiver<Msg>) {
    let mut next_tick = Instant::now() + TICK;
    loop {
        match rx.recv_timeout(next_tick.saturating_duration_since(Instant::now())) {
            // a job catches its own panic (`LedgerHandle::call`)
            Ok(Msg::Job(job)) => rt.block_on(async {
                tick_logged(&mut ledger).await;
                job(&mut ledger).await
            }),
            Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
        if Instant::now() >= next_tick {
            rt.block_on(tick_logged(&mut ledger));
            next_tick = Instant::now() + TICK;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A job that panics (a bug of the localnet, as `localnet_setPrice` with
    /// publishTime i64::MIN was) is answered -32603, and the ledger thread
    /// serves the next request: it used to die, failing every request after.
    #[tokio::test]
    async fn a_panicking_job_is_answered_and_the_ledger_serves_on() {
        let keys_dir = std::env::temp_dir().join(format!("localnet-panic-{}", std::process::id()));
        let setup = Setup {
            deployment: coverage_sdk::config::Deployment::parse(include_str!("../../../../migrations/demo.toml"))
                .unwrap(),
            replays: vec![],
            speed: 1.0,
            start: 1_700_000_000,
            log_filter: "error".into(),
            rpc: String::new(),
            ws: String::new(),
            keys_dir: keys_dir.clone(),
        };
        let (handle, thread, _) = tokio::task::spawn_blocking(move || spawn(setup))
            .await
            .unwrap()
            .unwrap();
        let expected = |what: &str| {
            format!(
                "Internal error: the localnet failed serving this request (a bug: {what}); it may have been applied in part, the ledger serves on"
            )
        };
        // panicking as the job starts, and inside its future
        let e = handle.call::<(), _>(|_| panic!("at once")).await.unwrap_err();
        assert_eq!((e.code, e.message), (ErrorCode::InternalError, expected("at once")));
        let e = handle
            .call::<(), _>(|_| Box::pin(async { panic!("{}", "later".to_string()) }))
            .await
            .unwrap_err();
        assert_eq!((e.code, e.message), (ErrorCode::InternalError, expected("later")));
        // it serves on: the bank answers
        let slot = handle
            .call(|l| {
                Box::pin(async move {
                    l.health().await?;
                    Ok::<_, Error>(l.slot)
                })
            })
            .await
            .unwrap()
            .unwrap();
        assert!(slot > 0);
        handle.stop();
        thread.join().unwrap();
        let _ = std::fs::remove_dir_all(keys_dir);
    }
}
