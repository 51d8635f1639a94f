//! Set-up: the deployment applied in the past, the feeds installed, the
//! clock moved to the start; and the ready line that describes the result.

use std::path::{Path, PathBuf};

use anyhow::Context;
use coverage_sdk::config::Deployment;
use coverage_sdk::pyth::{feed_id_hex, Row};
use coverage_sdk::transport::{SendMode, Transport};
use serde::Serialize;
use solana_keypair::Keypair;
use solana_signer::Signer;

use super::{feeds, Faucet, Ledger};

/// SOL the funded user keypair starts with (lamports): 100 SOL.
pub const USER_LAMPORTS: u64 = 100_000_000_000;
/// Collateral the funded user keypair starts with (base units): 1 000 000 tokens.
pub const USER_COLLATERAL: u64 = 1_000_000_000_000;

/// A price CSV replayed into a feed.
#[derive(Clone, Debug)]
pub struct Replay {
    /// Pyth feed id.
    pub feed_id: [u8; 32],
    /// Rows in publish-time order.
    pub rows: Vec<Row>,
    /// Where they came from (for the ready line).
    pub source: String,
}

/// What the ledger thread builds.
pub struct Setup {
    /// The deployment config.
    pub deployment: Deployment,
    /// Price replays.
    pub replays: Vec<Replay>,
    /// Ledger seconds per wall second.
    pub speed: f64,
    /// The clock when users arrive (unix).
    pub start: i64,
    /// `RUST_LOG`-style filter for the bank's logs (when RUST_LOG is unset).
    pub log_filter: String,
    /// HTTP and websocket URLs (for the ready line).
    pub rpc: String,
    /// Websocket URL.
    pub ws: String,
    /// Where the authority's and the user's keypair files are written.
    pub keys_dir: PathBuf,
}

/// A market in the ready line.
#[derive(Clone, Debug, Serialize)]
pub struct MarketInfo {
    /// Name from the config.
    pub name: String,
    /// Market account.
    pub address: String,
    /// Feed name or id as configured.
    pub feed: String,
    /// Feed id (hex).
    pub feed_id: String,
    /// Push-feed `PriceUpdateV2` account.
    pub feed_account: String,
}

/// A replayed series in the ready line.
#[derive(Clone, Debug, Serialize)]
pub struct ReplayInfo {
    /// The CSV.
    pub source: String,
    /// Feed id (hex).
    pub feed_id: String,
    /// Push-feed account it is written to.
    pub feed_account: String,
    /// Rows.
    pub rows: usize,
    /// First and last publish times.
    pub first: i64,
    /// Last publish time.
    pub last: i64,
}

/// The ready line (and `localnet_info`).
#[derive(Clone, Debug, Serialize)]
pub struct Info {
    /// Always true once printed.
    pub ready: bool,
    /// JSON-RPC over HTTP.
    pub rpc: String,
    /// JSON-RPC subscriptions over websocket.
    pub ws: String,
    /// The coverage program.
    pub program_id: String,
    /// The example integrator program.
    pub lender_program: String,
    /// The pool.
    pub pool: String,
    /// Its creator and authority: the bank's genesis payer, which also pays
    /// for airdrops and the faucet.
    pub authority: String,
    /// The authority's keypair file (to act as the pool authority: `cover gov …`).
    pub authority_keypair: String,
    /// A user funded at start with 100 SOL and 1 000 000 collateral tokens.
    pub user: String,
    /// The user's keypair file (to stake, buy, run a keeper).
    pub user_keypair: String,
    /// The collateral mint (6 decimals; `localnet_mintCollateral` mints it).
    pub mint: String,
    /// The protocol fee treasury.
    pub treasury: String,
    /// Markets in index order.
    pub markets: Vec<MarketInfo>,
    /// Bank clock (unix) when this was made.
    pub clock: i64,
    /// Bank slot when this was made.
    pub slot: u64,
    /// Ledger seconds per wall second.
    pub speed: f64,
    /// Replayed price series.
    pub prices: Vec<ReplayInfo>,
}

impl Ledger {
    /// The ready line, with the current clock and slot.
    pub fn info(&self) -> Option<Info> {
        self.info.clone().map(|mut i| {
            i.clock = self.time.unix();
            i.slot = self.slot;
            i
        })
    }

    /// Applies the deployment in the past (markets open for sales
    /// `cooldown + withdraw window + 1 day` after creation), installs the
    /// feeds, then moves the clock to `setup.start` and lets it run.
    pub(super) async fn setup(&mut self, setup: &Setup) -> anyhow::Result<Info> {
        let (keys, mint_authority, treasury) = coverage_sdk::setup::deploy(self, &setup.deployment).await?;
        let mut markets = Vec::new();
        for (i, m) in setup.deployment.markets.iter().enumerate() {
            let feed_id = m.feed_id()?;
            let (price, conf) = healthy_price(m.recovery);
            let feed_account = self.feeds.set_live(feed_id, price, conf, -8);
            markets.push(MarketInfo {
                name: m.name.clone(),
                address: coverage_sdk::pda::market(&keys.pool, i as u32).0.to_string(),
                feed: m.feed.clone(),
                feed_id: feed_id_hex(&feed_id),
                feed_account: feed_account.to_string(),
            });
        }
        let mut prices = Vec::new();
        for r in &setup.replays {
            let feed_account = self.feeds.replay(r.feed_id, r.rows.clone());
            prices.push(ReplayInfo {
                source: r.source.clone(),
                feed_id: feed_id_hex(&r.feed_id),
                feed_account: feed_account.to_string(),
                rows: r.rows.len(),
                first: r.rows.first().map_or(0, |r| r.publish_time),
                last: r.rows.last().map_or(0, |r| r.publish_time),
            });
        }
        let user = Keypair::new();
        let payer = self.ctx.payer.pubkey();
        let fund = solana_system_interface::instruction::transfer(&payer, &user.pubkey(), USER_LAMPORTS);
        self.send(&[fund], &[], SendMode::Send).await?;
        let user_collateral = coverage_sdk::setup::token_account(self, &keys.collateral_mint, &user.pubkey()).await?;
        coverage_sdk::setup::mint_to(
            self,
            &keys.collateral_mint,
            &mint_authority,
            &user_collateral,
            USER_COLLATERAL,
        )
        .await?;
        let authority_keypair = write_keypair(&setup.keys_dir.join("authority.json"), &self.ctx.payer)?;
        let user_keypair = write_keypair(&setup.keys_dir.join("user.json"), &user)?;
        self.faucet = Some(Faucet {
            mint: keys.collateral_mint,
            authority: mint_authority,
        });
        self.time.set(setup.start);
        self.time.run();
        self.new_block().await.map_err(|e| anyhow::anyhow!(e.message))?;
        let info = Info {
            ready: true,
            rpc: setup.rpc.clone(),
            ws: setup.ws.clone(),
            program_id: coverage_pool::ID.to_string(),
            lender_program: example_lender::ID.to_string(),
            pool: keys.pool.to_string(),
            authority: payer.to_string(),
            authority_keypair,
            user: user.pubkey().to_string(),
            user_keypair,
            mint: keys.collateral_mint.to_string(),
            treasury: treasury.to_string(),
            markets,
            clock: self.time.unix(),
            slot: self.slot,
            speed: self.time.speed(),
            prices,
        };
        self.info = Some(info.clone());
        Ok(info)
    }
}

/// Writes `keypair` to `path` as the Solana CLI does (a JSON array of 64
/// bytes, mode 0600, directories created); returns its absolute path (the
/// ready line's reader may run in another directory).
fn write_keypair(path: &Path, keypair: &Keypair) -> anyhow::Result<String> {
    solana_keypair::write_keypair_file(keypair, path)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("writing the keypair file {} (pass --keys-dir)", path.display()))?;
    Ok(std::fs::canonicalize(path)?.display().to_string())
}

/// The healthy price a market's feed starts at: 1.00000000 USD, or 1 % above
/// the market's recovery price when that is higher.
fn healthy_price(recovery_usd: f64) -> (i64, u64) {
    let recovery = coverage_sdk::pyth::usd_to_units(recovery_usd);
    if recovery >= feeds::HEALTHY.0 {
        (recovery + recovery / 100, feeds::HEALTHY.1)
    } else {
        feeds::HEALTHY
    }
}

/// How long before users arrive the deployment is applied: a market opens
/// for cover sales `cooldown + withdraw window + 1 day` after its creation;
/// one hour more of margin.
pub fn sales_delay(d: &Deployment) -> i64 {
    i64::from(d.pool.cooldown_secs) + i64::from(d.pool.withdraw_window_secs) + 86_400 + 3_600
}
