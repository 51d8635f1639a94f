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

use std::sync::{Arc, Mutex};

use anchor_lang::prelude::Pubkey;
use anchor_spl::associated_token::{get_associated_token_address_with_program_id, spl_associated_token_account};
use anyhow::Result;
use coverage_pool::state::{Market, MarketStatus, Policy, PolicyStatus, Pool};
use serde_json::json;

use crate::ix::{self, PoolKeys};
use crate::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use crate::transport::{fetch, SendMode, Transport};
use crate::{decode, pda};

/// Pairs per `settle_policies` transaction: the most that fit one legacy
/// transaction with distinct owners (measured by the bank test
/// `settle_batch_size_fits_a_legacy_transaction`).
pub const SETTLE_BATCH: usize = 13;

/// Counters exported at `/metrics`.
#[derive(Clone, Debug, Default)]
pub struct Metrics {
    /// Ticks completed.
    pub ticks: u64,
    /// `check_trigger` transactions confirmed (or simulated).
    pub checks: u64,
    /// `check_trigger` attempts refused by the program.
    pub checks_rejected: u64,
    /// Markets seen triggering.
    pub triggers: u64,
    /// Policies settled.
    pub policies_settled: u64,
    /// `settle_policies` transactions.
    pub settle_batches: u64,
    /// Reserves released.
    pub releases: u64,
    /// Policies closed.
    pub policies_closed: u64,
    /// Errors (any action).
    pub errors: u64,
    /// Unix time (cluster clock) of the last completed tick.
    pub last_tick: i64,
}

impl Metrics {
    /// Prometheus text exposition.
    pub fn prometheus(&self) -> String {
        let mut s = String::new();
        for (name, help, v) in [
            (
                "cover_keeper_ticks_total",
                "Keeper passes over the pool's markets",
                self.ticks as i64,
            ),
            (
                "cover_keeper_checks_total",
                "check_trigger transactions sent",
                self.checks as i64,
            ),
            (
                "cover_keeper_checks_rejected_total",
                "check_trigger refused by the program",
                self.checks_rejected as i64,
            ),
            (
                "cover_keeper_triggers_total",
                "Markets seen triggering",
                self.triggers as i64,
            ),
            (
                "cover_keeper_policies_settled_total",
                "Policies settled",
                self.policies_settled as i64,
            ),
            (
                "cover_keeper_settle_batches_total",
                "settle_policies transactions",
                self.settle_batches as i64,
            ),
            ("cover_keeper_releases_total", "Reserves released", self.releases as i64),
            (
                "cover_keeper_policies_closed_total",
                "Policies closed",
                self.policies_closed as i64,
            ),
            ("cover_keeper_errors_total", "Failed keeper actions", self.errors as i64),
            (
                "cover_keeper_last_tick_unixtime",
                "Cluster time of the last completed tick",
                self.last_tick,
            ),
        ] {
            let kind = if name.ends_with("_total") { "counter" } else { "gauge" };
            s.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {v}\n"));
        }
        s
    }
}

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
    /// Shared counters (the metrics server reads them).
    pub metrics: Arc<Mutex<Metrics>>,
    log: LogSink,
}

impl Keeper {
    /// A keeper logging to `log`.
    pub fn new(cfg: KeeperConfig, log: LogSink) -> Self {
        Self {
            cfg,
            metrics: Arc::new(Mutex::new(Metrics::default())),
            log,
        }
    }

    fn emit(&mut self, v: serde_json::Value) {
        (self.log)(v);
    }

    fn count(&self, f: impl FnOnce(&mut Metrics)) {
        if let Ok(mut m) = self.metrics.lock() {
            f(&mut m);
        }
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
                self.count(|m| m.errors += 1);
                self.emit(json!({"level": "error", "market": address.to_string(), "error": format!("{e:#}")}));
            }
        }
        let now = t.now().await?;
        self.count(|m| {
            m.ticks += 1;
            m.last_tick = now;
        });
        Ok(())
    }

    async fn market_pass<T: Transport>(&mut self, t: &mut T, keys: &PoolKeys, address: &Pubkey) -> Result<()> {
        let mut market: Market = fetch(t, address).await?;
        // a new market takes observations once it opens (`sales_open_at`)
        let open = market.is_open(t.now().await?);
        if open && matches!(market.status, MarketStatus::Active | MarketStatus::StreakOpen) {
            self.check(t, address, &market).await?;
            market = fetch(t, address).await?;
        }
        if market.status == MarketStatus::Triggered && !market.settlement.released {
            self.settle(t, keys, address, &market).await?;
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
        match t.send(&[ix], &[], self.cfg.mode).await {
            Ok(sig) => {
                let after: Market = fetch(t, address).await?;
                self.count(|m| m.checks += 1);
                let triggered = after.status == MarketStatus::Triggered && market.status != MarketStatus::Triggered;
                if triggered {
                    self.count(|m| m.triggers += 1);
                }
                self.emit(json!({
                    "level": "info", "action": "check_trigger", "market": address.to_string(),
                    "publish_time": msg.publish_time, "price": msg.price, "conf": msg.conf,
                    "status": format!("{:?}", after.status), "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate,
                }));
                Ok(triggered)
            }
            Err(e) => {
                self.count(|m| m.checks_rejected += 1);
                self.emit(json!({"level": "warn", "action": "check_trigger", "market": address.to_string(), "publish_time": msg.publish_time, "error": format!("{e:#}")}));
                Ok(false)
            }
        }
    }

    /// Settles every unsettled policy of the market's epoch, in full batches.
    pub async fn settle<T: Transport>(
        &mut self,
        t: &mut T,
        keys: &PoolKeys,
        address: &Pubkey,
        market: &Market,
    ) -> Result<usize> {
        let policies: Vec<(Pubkey, Policy)> = t
            .policies(address, market.policy_count)
            .await?
            .into_iter()
            .filter(|(_, p)| p.epoch == market.epoch && p.status == PolicyStatus::Active)
            .collect();
        let mut settled = 0;
        for chunk in policies.chunks(SETTLE_BATCH) {
            // owners are paid into their associated token account, created when missing
            let mut pairs = Vec::new();
            let mut creates = Vec::new();
            for (p, policy) in chunk {
                let ata = get_associated_token_address_with_program_id(
                    &policy.owner,
                    &keys.collateral_mint,
                    &keys.token_program,
                );
                if t.account(&ata).await?.is_none() && !creates.iter().any(|(a, _)| *a == ata) {
                    creates.push((
                        ata,
                        spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                            &t.payer(),
                            &policy.owner,
                            &keys.collateral_mint,
                            &keys.token_program,
                        ),
                    ));
                }
                pairs.push((*p, ata));
            }
            if !creates.is_empty() {
                let ixs: Vec<_> = creates.into_iter().map(|(_, ix)| ix).collect();
                t.send(&ixs, &[], self.cfg.mode).await?;
            }
            let ix = ix::settle_policies(keys, address, &pairs);
            let sig = t.send(&[ix], &[], self.cfg.mode).await?;
            settled += pairs.len();
            self.count(|m| {
                m.settle_batches += 1;
                m.policies_settled += pairs.len() as u64;
            });
            self.emit(json!({"level": "info", "action": "settle_policies", "market": address.to_string(), "policies": pairs.len(), "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate}));
        }
        Ok(settled)
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
        let sig = t
            .send(&[ix::release_reserve(&keys.pool, address)], &[], self.cfg.mode)
            .await?;
        self.count(|m| m.releases += 1);
        self.emit(json!({"level": "info", "action": "release_reserve", "market": address.to_string(), "returned": s.reserve_left, "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate}));
        Ok(true)
    }

    /// Closes finished policies of the market (rent to their owners).
    pub async fn close_finished<T: Transport>(
        &mut self,
        t: &mut T,
        address: &Pubkey,
        market: &Market,
    ) -> Result<usize> {
        let now = t.now().await?;
        let policies = t.policies(address, market.policy_count).await?;
        let mut closed = 0;
        for (p, policy) in policies {
            // the program's own rule: never close a policy a late report could still make eligible
            let closable = coverage_core::policy::policy_closable(
                policy.status == PolicyStatus::Settled,
                policy.epoch,
                policy.end_time,
                &market.claims(),
                now,
            );
            if !closable {
                continue;
            }
            let sig = t
                .send(&[ix::close_policy(&policy.owner, &p, address)], &[], self.cfg.mode)
                .await?;
            closed += 1;
            self.count(|m| m.policies_closed += 1);
            self.emit(json!({"level": "info", "action": "close_policy", "policy": p.to_string(), "owner": policy.owner.to_string(), "signature": sig, "dry_run": self.cfg.mode == SendMode::Simulate}));
        }
        Ok(closed)
    }
}

/// Decodes a policy account (re-exported for CLI listings).
pub fn decode_policy(data: &[u8]) -> Result<Policy> {
    Ok(decode::<Policy>(data)?)
}
