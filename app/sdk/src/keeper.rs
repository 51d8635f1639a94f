//! The keeper: written once against [`Transport`], run by `cover keeper run`
//! on a real cluster and by `cover demo` on the embedded bank.
//!
//! One [`Keeper::tick`] walks every market of the pool:
//! * active market (once open): reads the market's Pyth push-feed account
//!   (derived from its feed id) and calls `check_trigger` when the publish
//!   time moved past the market's last accepted observation;
//! * triggered market: settles every unsettled policy of the epoch in full
//!   batches (creating owners' associated token accounts when missing), then
//!   releases the reserve when the rules allow;
//! * closes policies that are finished and that no late report can still
//!   make eligible (the program's rule, `coverage_core::policy::policy_closable`;
//!   rent back to their owners).
//!
//! No double submissions: each action is derived from on-chain state read in
//! the same tick and confirmed before the next; a retry first re-reads the
//! state, so something that already landed is never sent again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::{get_associated_token_address_with_program_id, spl_associated_token_account};
use anyhow::Result;
use coverage_pool::state::{Market, MarketStatus, Policy, PolicyStatus, Pool};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::json;
use solana_account::Account;

use crate::ix::{self, PoolKeys};
use crate::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use crate::transport::{fetch, is_rejected, SendMode, Transport};
use crate::{decode, pda};
use crate::{tables, tx};
use coverage_core::settlement::MAX_SETTLE_BATCH;

/// The keeper's Prometheus metrics (prometheus-client: OpenMetrics text,
/// counters exposed with `_total`, times in seconds). Every metric is an
/// atomic handle, so the HTTP server reads them while the keeper runs.
pub struct Metrics {
    registry: Registry,
    /// Passes over the pool's markets.
    pub ticks: Counter,
    /// `check_trigger` transactions confirmed (or simulated).
    pub checks: Counter,
    /// `check_trigger` attempts refused by the program (or the runtime); a
    /// failure to reach the cluster counts in `errors`.
    pub checks_rejected: Counter,
    /// Markets seen triggering.
    pub triggers: Counter,
    /// Policies settled.
    pub policies_settled: Counter,
    /// Policies left unsettled because their owner's token account cannot
    /// take the payout (each policy counted once per reason; the log line
    /// `skip_policy` says which and why).
    pub policies_skipped: Counter,
    /// `settle_policies` transactions.
    pub settle_batches: Counter,
    /// Reserves released.
    pub releases: Counter,
    /// Policies closed.
    pub policies_closed: Counter,
    /// Failed keeper actions.
    pub errors: Counter,
    /// Address lookup tables created for settlement.
    pub lookup_tables: Counter,
    /// Address lookup tables closed (rent back).
    pub lookup_tables_closed: Counter,
    /// Cluster time of the last completed pass (unix seconds).
    pub last_tick: Gauge,
    /// Per market: publish time of its last accepted observation (unix seconds).
    pub last_publish_time: Family<Vec<(String, String)>, Gauge>,
    /// Seconds from sending a transaction to its confirmation.
    pub confirmation_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("cover_keeper");
        let m = Self {
            ticks: Counter::default(),
            checks: Counter::default(),
            checks_rejected: Counter::default(),
            triggers: Counter::default(),
            policies_settled: Counter::default(),
            policies_skipped: Counter::default(),
            settle_batches: Counter::default(),
            releases: Counter::default(),
            policies_closed: Counter::default(),
            errors: Counter::default(),
            lookup_tables: Counter::default(),
            lookup_tables_closed: Counter::default(),
            last_tick: Gauge::default(),
            last_publish_time: Family::default(),
            // 50 ms … ~100 s: a bank confirms in milliseconds, a cluster in about a second
            confirmation_seconds: Histogram::new(exponential_buckets(0.05, 2.0, 12)),
            registry: Registry::default(),
        };
        for (name, help, c) in [
            ("ticks", "Keeper passes over the pool's markets", &m.ticks),
            ("checks", "check_trigger transactions sent", &m.checks),
            (
                "checks_rejected",
                "check_trigger refused by the program",
                &m.checks_rejected,
            ),
            ("triggers", "Markets seen triggering", &m.triggers),
            ("policies_settled", "Policies settled", &m.policies_settled),
            (
                "policies_skipped",
                "Policies left unsettled: the owner's token account cannot take the payout",
                &m.policies_skipped,
            ),
            ("settle_batches", "settle_policies transactions", &m.settle_batches),
            ("releases", "Reserves released", &m.releases),
            ("policies_closed", "Policies closed", &m.policies_closed),
            ("errors", "Failed keeper actions", &m.errors),
            (
                "lookup_tables",
                "Address lookup tables created for settlement",
                &m.lookup_tables,
            ),
            (
                "lookup_tables_closed",
                "Address lookup tables closed",
                &m.lookup_tables_closed,
            ),
        ] {
            registry.register(name, help, c.clone());
        }
        registry.register(
            "last_tick_timestamp_seconds",
            "Cluster time of the last completed pass",
            m.last_tick.clone(),
        );
        registry.register(
            "market_last_publish_timestamp_seconds",
            "Publish time of each market's last accepted observation",
            m.last_publish_time.clone(),
        );
        registry.register(
            "transaction_confirmation_seconds",
            "Time from sending a transaction to its confirmation",
            m.confirmation_seconds.clone(),
        );
        Self { registry, ..m }
    }
}

impl Metrics {
    /// The OpenMetrics text exposition (what `/metrics` serves).
    pub fn prometheus(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        out
    }

    /// Records market `address`'s last accepted publish time.
    pub fn observe_market(&self, address: &Pubkey, last_publish_time: i64) {
        self.last_publish_time
            .get_or_create(&vec![("market".to_string(), address.to_string())])
            .set(last_publish_time);
    }
}

/// The content type of [`Metrics::prometheus`].
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the keeper needs to know.
#[derive(Clone, Debug)]
pub struct KeeperConfig {
    /// The pool.
    pub pool: Pubkey,
    /// Send, or only simulate (`--dry-run`).
    pub mode: SendMode,
    /// Push-feed shard.
    pub shard: u16,
    /// Close finished policies.
    pub close_policies: bool,
}

impl KeeperConfig {
    /// Defaults for `pool`.
    pub fn new(pool: Pubkey) -> Self {
        Self {
            pool,
            mode: SendMode::Send,
            shard: SPONSORED_SHARD,
            close_policies: true,
        }
    }
}

/// A structured log line.
pub type LogSink = Box<dyn FnMut(serde_json::Value) + Send>;

/// The keeper.
pub struct Keeper {
    /// Configuration.
    pub cfg: KeeperConfig,
    /// Shared metrics (the metrics server reads them).
    pub metrics: Arc<Metrics>,
    log: LogSink,
    /// Policies left unsettled, with the reason last reported.
    skipped: HashMap<Pubkey, String>,
    /// The keeper's lookup tables: scanned from the cluster once (a
    /// restarted keeper finds what an earlier run left), then kept up to
    /// date with what this keeper creates, extends, deactivates and closes,
    /// so a pass neither rescans nor rebuilds them. `None` until the scan.
    tables: Option<Vec<KeptTable>>,
}

/// A lookup table the keeper wrote, as it last left it.
#[derive(Clone, Debug)]
struct KeptTable {
    table: tx::AddressLookupTableAccount,
    /// Deactivated: waiting for the cooldown before it can be closed.
    deactivated: bool,
}

/// Why [`Keeper::settle`] sent nothing: settlement is only for a triggered
/// market whose reserve has not been released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NothingToSettle {
    /// The market has not triggered (it is in this status).
    NotTriggered { market: Pubkey, status: MarketStatus },
    /// The market's reserve was released: its claims are over.
    Released { market: Pubkey },
}

impl std::fmt::Display for NothingToSettle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotTriggered { market, status } => {
                write!(
                    f,
                    "market {market} has not triggered (status {status:?}): nothing to settle"
                )
            }
            Self::Released { market } => {
                write!(f, "market {market} is released: its claims are over, nothing to settle")
            }
        }
    }
}

impl std::error::Error for NothingToSettle {}

impl Keeper {
    /// A keeper logging to `log`.
    pub fn new(cfg: KeeperConfig, log: LogSink) -> Self {
        Self {
            cfg,
            metrics: Arc::new(Metrics::default()),
            log,
            skipped: HashMap::new(),
            tables: None,
        }
    }

    fn emit(&mut self, v: serde_json::Value) {
        (self.log)(v);
    }

    /// Sends `ixs` (through lookup `tables` when there are any) and records
    /// how long confirmation took.
    async fn send<T: Transport>(
        &self,
        t: &mut T,
        ixs: &[anchor_lang::solana_program::instruction::Instruction],
        tables: &[tx::AddressLookupTableAccount],
    ) -> Result<String> {
        let started = Instant::now();
        let sig = t.send_with_tables(ixs, &[], tables, self.cfg.mode).await?;
        self.metrics
            .confirmation_seconds
            .observe(started.elapsed().as_secs_f64());
        Ok(sig)
    }

    /// One pass over every market of the pool.
    pub async fn tick<T: Transport>(&mut self, t: &mut T) -> Result<()> {
        let pool: Pool = fetch(t, &self.cfg.pool).await?;
        let keys = PoolKeys {
            pool: self.cfg.pool,
            collateral_mint: pool.collateral_mint,
            token_program: pool.token_program,
        };
        for index in 0..pool.market_count {
            let address = pda::market(&self.cfg.pool, index).0;
            if let Err(e) = self.market_pass(t, &keys, &address).await {
                self.metrics.errors.inc();
                self.emit(json!({"level": "error", "market": address.to_string(), "error": format!("{e:#}")}));
            }
        }
        if let Err(e) = self.tidy_tables(t).await {
            self.metrics.errors.inc();
            self.emit(json!({"level": "error", "action": "tidy_lookup_tables", "error": format!("{e:#}")}));
        }
        let now = t.now().await?;
        self.metrics.ticks.inc();
        self.metrics.last_tick.set(now);
        Ok(())
    }

    async fn market_pass<T: Transport>(&mut self, t: &mut T, keys: &PoolKeys, address: &Pubkey) -> Result<()> {
        let mut market: Market = fetch(t, address).await?;
        self.metrics.observe_market(address, market.last_publish_time);
        // a new market takes observations once it opens (`sales_open_at`)
        let open = market.is_open(t.now().await?);
        if open && matches!(market.status, MarketStatus::Active | MarketStatus::StreakOpen) {
            self.check(t, address, &market).await?;
            market = fetch(t, address).await?;
            self.metrics.observe_market(address, market.last_publish_time);
        }
        if market.status == MarketStatus::Triggered && !market.settlement.released {
            self.settle(t, keys, address).await?;
            market = fetch(t, address).await?;
            self.release(t, keys, address, &market).await?;
            market = fetch(t, address).await?;
        }
        if self.cfg.close_policies {
            self.close_finished(t, address, &market).await?;
        }
        Ok(())
    }

    /// Calls `check_trigger` if the market's push feed has a newer price.
    pub async fn check<T: Transport>(&mut self, t: &mut T, address: &Pubkey, market: &Market) -> Result<bool> {
        let feed = push_feed_address(&market.feed_id, self.cfg.shard);
        let Some(acc) = t.account(&feed).await? else {
            self.emit(json!({"level": "warn", "market": address.to_string(), "msg": "push feed account missing", "feed_account": feed.to_string()}));
            return Ok(false);
        };
        let Some(msg) = PriceUpdate::read(&acc.data) else {
            return Ok(false);
        };
        if msg.publish_time <= market.last_publish_time {
            return Ok(false);
        }
        let ix = ix::check_trigger(address, &market.pool, &feed);
        match self.send(t, &[ix], &[]).await {
            Ok(sig) => {
                let after: Market = fetch(t, address).await?;
                self.metrics.checks.inc();
                let triggered = after.status == MarketStatus::Triggered && market.status != MarketStatus::Triggered;
                if triggered {
                    self.metrics.triggers.inc();
                }
                self.emit(json!({
                    "level": "info", "action": "check_trigger", "market": address.to_string(),
                    "publish_time": msg.publish_time, "price": msg.price, "conf": msg.conf,
                    "status": format!("{:?}", after.status), "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate,
                }));
                Ok(triggered)
            }
            // the program refused the observation (stale, too wide, …): said, and the pass goes on
            Err(e) if is_rejected(&e) => {
                self.metrics.checks_rejected.inc();
                self.emit(json!({"level": "warn", "action": "check_trigger", "market": address.to_string(), "publish_time": msg.publish_time, "error": format!("{e:#}")}));
                Ok(false)
            }
            // the cluster could not be reached: an error of the pass (`errors`), not a refusal
            Err(e) => Err(e.context(format!("check_trigger on market {address}"))),
        }
    }

    /// Settles every unsettled policy of the market's epoch. Owners are paid
    /// into their associated token accounts, created first where missing, in
    /// as few transactions as fit; a policy whose owner's account cannot take
    /// the payout is left out and reported ([`Keeper::payout_accounts`]), so
    /// it never holds up the others. When the policies do not fit one legacy
    /// transaction, the keeper writes them into address lookup tables
    /// ([`crate::tables`]) and settles through v0 transactions, each batch
    /// the largest the transport can send (size and account locks measured on
    /// the transaction itself); the tables are deactivated after the release
    /// and closed later ([`Keeper::tidy_tables`]). A batch the cluster
    /// refuses is split until the pair that fails is alone, and that policy
    /// is skipped and reported. The tables are kept across passes: a later
    /// pass reuses them, extended with the pairs they do not hold yet.
    ///
    /// The market is read first: one that has not triggered, or is released,
    /// is refused ([`NothingToSettle`]) before anything is sent.
    pub async fn settle<T: Transport>(&mut self, t: &mut T, keys: &PoolKeys, address: &Pubkey) -> Result<usize> {
        let market: Market = fetch(t, address).await?;
        if market.status != MarketStatus::Triggered {
            return Err(NothingToSettle::NotTriggered {
                market: *address,
                status: market.status,
            }
            .into());
        }
        if market.settlement.released {
            return Err(NothingToSettle::Released { market: *address }.into());
        }
        let policies: Vec<(Pubkey, Policy)> = t
            .policies(address, market.policy_count)
            .await?
            .into_iter()
            .filter(|(_, p)| p.epoch == market.epoch && p.status == PolicyStatus::Active)
            .collect();
        if policies.is_empty() {
            return Ok(0);
        }
        let pairs = self.payout_accounts(t, keys, address, &policies).await?;
        if pairs.is_empty() {
            return Ok(0);
        }
        let settle_ix = |batch: &[(Pubkey, Pubkey)]| ix::settle_policies(keys, address, batch);
        // one legacy transaction for all, or lookup tables (never in a dry run: nothing would exist)
        let all_fit = pairs.len() <= MAX_SETTLE_BATCH && tx::fits(&t.transaction(&[settle_ix(&pairs)], &[], &[])?);
        let tables = if all_fit || self.cfg.mode == SendMode::Simulate {
            Vec::new()
        } else {
            let fixed = [
                *address,
                keys.pool,
                keys.collateral_mint,
                keys.vault(),
                keys.token_program,
            ];
            let existing = self.market_tables(t, address).await?;
            let reused = existing.len();
            let (made, created) = match tables::ensure(t, existing, &fixed, &pairs).await {
                Ok(done) => done,
                Err(e) => {
                    // a write may have landed in part: the cache is read again next time
                    self.tables = None;
                    return Err(e);
                }
            };
            // the cache follows what was created and extended, even if a later send fails
            let kept = self.tables.get_or_insert_with(Vec::new);
            kept.retain(|k| !made.iter().any(|m| m.key == k.table.key));
            kept.extend(made.iter().map(|table| KeptTable {
                table: table.clone(),
                deactivated: false,
            }));
            self.metrics.lookup_tables.inc_by(created as u64);
            self.emit(json!({"level": "info", "action": "lookup_tables", "market": address.to_string(), "tables": made.len(), "created": created, "reused": reused, "addresses": 2 * pairs.len()}));
            made
        };
        let mut settled = 0;
        let plan = tx::batches(pairs.len(), MAX_SETTLE_BATCH, |range| {
            let used = tables::covering(&tables, &pairs[range.clone()]);
            Ok(tx::fits(&t.transaction(&[settle_ix(&pairs[range])], &[], &used)?))
        })?;
        for planned in plan {
            // a refused batch is split in halves until the pair that fails is alone
            let mut pending = vec![planned];
            while let Some(range) = pending.pop() {
                let batch = &pairs[range.clone()];
                let used = tables::covering(&tables, batch);
                match self.send(t, &[settle_ix(batch)], &used).await {
                    Ok(sig) => {
                        settled += batch.len();
                        self.metrics.settle_batches.inc();
                        self.metrics.policies_settled.inc_by(batch.len() as u64);
                        self.emit(json!({"level": "info", "action": "settle_policies", "market": address.to_string(), "policies": batch.len(), "v0": !used.is_empty(), "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate}));
                    }
                    Err(e) if is_rejected(&e) && self.cfg.mode == SendMode::Send => {
                        // nothing more can pass once the market is released (by anyone)
                        let now: Market = fetch(t, address).await?;
                        if now.status != MarketStatus::Triggered || now.settlement.released {
                            return Ok(settled);
                        }
                        if batch.len() > 1 {
                            let mid = range.start + batch.len() / 2;
                            pending.push(mid..range.end);
                            pending.push(range.start..mid);
                            continue;
                        }
                        let (policy, account) = batch[0];
                        // settled meanwhile by another keeper: nothing to say
                        let still_owed = match t.account(&policy).await? {
                            Some(acc) => decode_policy(&acc.data)?.status == PolicyStatus::Active,
                            None => false,
                        };
                        if still_owed {
                            let owner = policies.iter().find(|(p, _)| *p == policy).map(|(_, x)| x.owner);
                            self.report_skip(address, &policy, owner, &account, format!("{e:#}"));
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(settled)
    }

    /// Says once per policy and reason that `policy` was left unsettled.
    fn report_skip(
        &mut self,
        market: &Pubkey,
        policy: &Pubkey,
        owner: Option<Pubkey>,
        account: &Pubkey,
        reason: String,
    ) {
        if self.skipped.get(policy) == Some(&reason) {
            return;
        }
        self.metrics.policies_skipped.inc();
        self.emit(json!({
            "level": "warn", "action": "skip_policy", "market": market.to_string(), "policy": policy.to_string(),
            "owner": owner.map(|o| o.to_string()), "token_account": account.to_string(), "reason": reason,
        }));
        self.skipped.insert(*policy, reason);
    }

    /// The `(policy, token account)` pairs to settle. Each owner's
    /// associated token account is checked as the program will check it
    /// (token program, mint, owner) and for a freeze (the transfer would
    /// fail): a missing one, or an address holding only lamports (sent there
    /// before the account existed; the idempotent create takes it over), is
    /// created first, as many a transaction as fit. Where the associated
    /// account cannot take the payout, any other token account of the owner
    /// for the mint that can ([`Transport::token_accounts`]) is used; with
    /// none, the owner's policies are left out and reported
    /// ([`Metrics::policies_skipped`]): one owner never blocks the others.
    async fn payout_accounts<T: Transport>(
        &mut self,
        t: &mut T,
        keys: &PoolKeys,
        market: &Pubkey,
        policies: &[(Pubkey, Policy)],
    ) -> Result<Vec<(Pubkey, Pubkey)>> {
        let mut owners: Vec<(Pubkey, Pubkey)> = Vec::new();
        let mut at = std::collections::HashMap::new();
        for (_, policy) in policies {
            let ata =
                get_associated_token_address_with_program_id(&policy.owner, &keys.collateral_mint, &keys.token_program);
            at.entry(policy.owner).or_insert_with(|| {
                owners.push((policy.owner, ata));
                ata
            });
        }
        // each owner's account for the payout, or why there is none
        let mut payee: std::collections::HashMap<Pubkey, std::result::Result<Pubkey, (Pubkey, String)>> =
            std::collections::HashMap::new();
        let mut missing = Vec::new();
        for chunk in owners.chunks(100) {
            let atas: Vec<Pubkey> = chunk.iter().map(|(_, a)| *a).collect();
            for ((owner, ata), acc) in chunk.iter().zip(t.accounts(&atas).await?) {
                match check_payout_account(acc.as_ref(), keys, owner) {
                    PayoutAccount::Ready => {
                        payee.insert(*owner, Ok(*ata));
                    }
                    PayoutAccount::Missing => {
                        missing.push(
                            spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                                &t.payer(),
                                owner,
                                &keys.collateral_mint,
                                &keys.token_program,
                            ),
                        );
                        payee.insert(*owner, Ok(*ata));
                    }
                    PayoutAccount::Unusable(why) => {
                        let other = t
                            .token_accounts(owner, &keys.collateral_mint)
                            .await?
                            .into_iter()
                            .filter(|(_, a)| check_payout_account(Some(a), keys, owner) == PayoutAccount::Ready)
                            .map(|(address, _)| address)
                            .min();
                        payee.insert(*owner, other.ok_or((*ata, why)));
                    }
                }
            }
        }
        // a creation runs several instructions: the trace limit comes before the size
        let plan = tx::batches(missing.len(), tx::MAX_TOKEN_ACCOUNT_CREATIONS, |range| {
            Ok(tx::fits(&t.transaction(&missing[range], &[], &[])?))
        })?;
        for range in plan {
            self.send(t, &missing[range], &[]).await?;
        }
        let mut pairs = Vec::with_capacity(policies.len());
        for (p, policy) in policies {
            match &payee[&policy.owner] {
                Ok(account) => pairs.push((*p, *account)),
                Err((ata, why)) => {
                    let why = format!("the owner's token account {ata} cannot take the payout: {why}");
                    self.report_skip(market, p, Some(policy.owner), ata, why);
                }
            }
        }
        Ok(pairs)
    }

    /// The keeper's lookup tables: scanned from the cluster on first use
    /// (tables whose authority is the payer: a restarted keeper finds what an
    /// earlier run left), from the cache afterwards.
    async fn kept_tables<T: Transport>(&mut self, t: &mut T) -> Result<&mut Vec<KeptTable>> {
        if self.tables.is_none() {
            let payer = t.payer();
            let found = t.lookup_tables(&payer).await?;
            let kept = found
                .into_iter()
                .map(|(table, meta)| KeptTable {
                    table,
                    deactivated: meta.deactivation_slot != u64::MAX,
                })
                .collect();
            self.tables = Some(kept);
        }
        Ok(self.tables.get_or_insert_with(Vec::new))
    }

    /// The kept, active tables of `market`, each read again from the cluster
    /// before it is used: a v0 transaction names addresses by their position
    /// in the table as it is on chain, and the chain's copy may have grown
    /// since it was cached (an extension that landed after its send was
    /// reported failed, another process with the same key). A table gone,
    /// deactivated, or no longer this keeper's is forgotten.
    async fn market_tables<T: Transport>(
        &mut self,
        t: &mut T,
        market: &Pubkey,
    ) -> Result<Vec<tx::AddressLookupTableAccount>> {
        let payer = t.payer();
        let cached: Vec<Pubkey> = self
            .kept_tables(t)
            .await?
            .iter()
            .filter(|k| !k.deactivated && k.table.addresses.first() == Some(market))
            .map(|k| k.table.key)
            .collect();
        let mut fresh = Vec::with_capacity(cached.len());
        for key in cached {
            let read = match t.account(&key).await? {
                Some(account) => tx::decode_table_account(key, &account).ok(),
                None => None,
            };
            match read {
                Some((table, meta)) if meta.deactivation_slot == u64::MAX && meta.authority == Some(payer) => {
                    if let Some(k) = self.tables.iter_mut().flatten().find(|k| k.table.key == key) {
                        k.table = table.clone();
                    }
                    fresh.push(table);
                }
                _ => self.forget_table(&key),
            }
        }
        Ok(fresh)
    }

    /// Deactivates the keeper's lookup tables of markets whose settlement is
    /// over (released), and closes deactivated ones once the cluster allows
    /// (the deactivation slot has left the SlotHashes sysvar), rent back to
    /// the keeper. Tables are scanned once ([`Keeper::kept_tables`]: their
    /// first address is the market), so a restarted keeper tidies up what an
    /// earlier run left; later passes read only the deactivated tables.
    pub async fn tidy_tables<T: Transport>(&mut self, t: &mut T) -> Result<()> {
        if self.cfg.mode == SendMode::Simulate {
            return Ok(());
        }
        let payer = t.payer();
        let kept = self.kept_tables(t).await?.clone();
        if kept.is_empty() {
            return Ok(());
        }
        let slot = t.slot().await?;
        let slot_hashes = t
            .account(&tables::SLOT_HASHES_SYSVAR)
            .await?
            .map(|a| a.data)
            .unwrap_or_default();
        // a refused deactivation or close does not hold up the other tables; the
        // cache may be wrong about it (it landed after all, another process acted):
        // read again from the cluster next time, and the error reported
        let mut failed = None;
        for k in kept {
            let key = k.table.key;
            if k.deactivated {
                let meta = match t.account(&key).await? {
                    Some(acc) => tx::decode_table_account(key, &acc)?.1,
                    // closed already (by an earlier run whose confirmation was lost)
                    None => {
                        self.forget_table(&key);
                        continue;
                    }
                };
                if tables::closable(&meta, slot, &slot_hashes) {
                    if let Err(e) = self.send(t, &[tables::close(&key, &payer)], &[]).await {
                        failed = Some(e);
                        continue;
                    }
                    self.forget_table(&key);
                    self.metrics.lookup_tables_closed.inc();
                    self.emit(json!({"level": "info", "action": "close_lookup_table", "table": key.to_string()}));
                }
                continue;
            }
            let Some(market_address) = k.table.addresses.first() else {
                continue;
            };
            let Some(acc) = t.account(market_address).await? else {
                continue;
            };
            let Ok(market) = decode::<Market>(&acc.data) else {
                continue;
            };
            if market.pool != self.cfg.pool {
                continue;
            }
            if market.status != MarketStatus::Triggered || market.settlement.released {
                if let Err(e) = self.send(t, &[tables::deactivate(&key, &payer)], &[]).await {
                    failed = Some(e);
                    continue;
                }
                if let Some(k) = self.tables.iter_mut().flatten().find(|k| k.table.key == key) {
                    k.deactivated = true;
                }
                self.emit(json!({"level": "info", "action": "deactivate_lookup_table", "table": key.to_string()}));
            }
        }
        match failed {
            Some(e) => {
                self.tables = None;
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Drops a closed table from the cache.
    fn forget_table(&mut self, key: &Pubkey) {
        if let Some(kept) = self.tables.as_mut() {
            kept.retain(|k| k.table.key != *key);
        }
    }

    /// Releases the reserve when every eligible policy is settled or the claim window has passed.
    pub async fn release<T: Transport>(
        &mut self,
        t: &mut T,
        keys: &PoolKeys,
        address: &Pubkey,
        market: &Market,
    ) -> Result<bool> {
        let s = market.settlement;
        if market.status != MarketStatus::Triggered || s.released {
            return Ok(false);
        }
        let now = t.now().await?;
        if s.settled_cover < s.eligible_cover && now <= s.claim_deadline {
            return Ok(false);
        }
        let sig = self.send(t, &[ix::release_reserve(&keys.pool, address)], &[]).await?;
        self.metrics.releases.inc();
        self.emit(json!({"level": "info", "action": "release_reserve", "market": address.to_string(), "returned": s.reserve_left, "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate}));
        Ok(true)
    }

    /// Closes finished policies of the market (rent to their owners), as
    /// many a transaction as fit.
    pub async fn close_finished<T: Transport>(
        &mut self,
        t: &mut T,
        address: &Pubkey,
        market: &Market,
    ) -> Result<usize> {
        let now = t.now().await?;
        let closable: Vec<(Pubkey, Pubkey)> = t
            .policies(address, market.policy_count)
            .await?
            .into_iter()
            .filter(|(_, policy)| {
                // the program's own rule: never close a policy a late report could still make eligible
                coverage_core::policy::policy_closable(
                    policy.status == PolicyStatus::Settled,
                    policy.epoch,
                    policy.end_time,
                    &market.claims(),
                    now,
                )
            })
            .map(|(p, policy)| (p, policy.owner))
            .collect();
        let ixs: Vec<_> = closable
            .iter()
            .map(|(p, owner)| ix::close_policy(owner, p, address))
            .collect();
        // each close is one instruction (no CPI): the trace left after the budget bounds a batch
        let plan = tx::batches(
            ixs.len(),
            tx::MAX_INSTRUCTION_TRACE - tx::BUDGET_INSTRUCTIONS,
            |range| Ok(tx::fits(&t.transaction(&ixs[range], &[], &[])?)),
        )?;
        let mut closed = 0;
        for planned in plan {
            // a refused batch is split in halves until the close that fails is alone (an
            // owner no transaction can write, e.g. a policy transferred to a sysvar):
            // that one is reported and the others closed
            let mut pending = vec![planned];
            while let Some(range) = pending.pop() {
                let sig = match self.send(t, &ixs[range.clone()], &[]).await {
                    Ok(sig) => sig,
                    Err(e) if is_rejected(&e) && self.cfg.mode == SendMode::Send && range.len() > 1 => {
                        let mid = range.start + range.len() / 2;
                        pending.push(mid..range.end);
                        pending.push(range.start..mid);
                        continue;
                    }
                    Err(e) if is_rejected(&e) && self.cfg.mode == SendMode::Send => {
                        let (p, owner) = closable[range.start];
                        // closed meanwhile by someone else: nothing to say
                        if t.account(&p).await?.is_some() {
                            self.emit(json!({"level": "warn", "action": "close_policy_refused", "policy": p.to_string(), "owner": owner.to_string(), "error": format!("{e:#}")}));
                        }
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                closed += range.len();
                self.metrics.policies_closed.inc_by(range.len() as u64);
                for (p, owner) in &closable[range] {
                    self.emit(json!({"level": "info", "action": "close_policy", "policy": p.to_string(), "owner": owner.to_string(), "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate}));
                }
            }
        }
        Ok(closed)
    }
}

/// What an owner's associated-token-account address holds for a payout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PayoutAccount {
    /// A token account of the pool's token program and mint, owned by the
    /// policy's owner, not frozen: `settle_policies` pays into it.
    Ready,
    /// Nothing, or only lamports (system-owned, no data: sent to the address
    /// before the account existed): the idempotent create makes it.
    Missing,
    /// Something the payout cannot go to, and why.
    Unusable(String),
}

/// Checks `acc` as `settle_policies` will check the token account it pays
/// `owner` into (the pool's token program, collateral mint, the policy's
/// owner), and that the token program will not refuse the transfer (frozen).
pub fn check_payout_account(acc: Option<&Account>, keys: &PoolKeys, owner: &Pubkey) -> PayoutAccount {
    use anchor_spl::token_2022::spl_token_2022::extension::StateWithExtensions;
    use anchor_spl::token_2022::spl_token_2022::state::{Account as TokenAccount, AccountState};
    let Some(acc) = acc else {
        return PayoutAccount::Missing;
    };
    if acc.owner == anchor_lang::system_program::ID && acc.data.is_empty() {
        return PayoutAccount::Missing;
    }
    if acc.owner != keys.token_program {
        return PayoutAccount::Unusable(format!(
            "owned by program {}, not the pool's token program {}",
            acc.owner, keys.token_program
        ));
    }
    let Ok(state) = StateWithExtensions::<TokenAccount>::unpack(&acc.data) else {
        return PayoutAccount::Unusable("not a token account".to_string());
    };
    let a = state.base;
    if a.mint != keys.collateral_mint {
        return PayoutAccount::Unusable(format!(
            "an account of mint {}, not the pool's collateral {}",
            a.mint, keys.collateral_mint
        ));
    }
    if a.owner != *owner {
        return PayoutAccount::Unusable(format!("owned by {}, not the policy's owner {owner}", a.owner));
    }
    match a.state {
        AccountState::Initialized => PayoutAccount::Ready,
        AccountState::Frozen => PayoutAccount::Unusable("frozen by the mint's freeze authority".to_string()),
        AccountState::Uninitialized => PayoutAccount::Unusable("not initialized".to_string()),
    }
}

/// Decodes a policy account (re-exported for CLI listings).
pub fn decode_policy(data: &[u8]) -> Result<Policy> {
    Ok(decode::<Policy>(data)?)
}
