//! One transport trait, two implementations: the in-process bank
//! ([`crate::bank::BankTransport`]) and a real cluster over RPC
//! ([`RpcTransport`]). Everything above it — CLI, keeper, demo — is written
//! once against the trait.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{anyhow, Context, Result};
use coverage_pool::state::Policy;
use solana_account::Account;
use solana_keypair::Keypair;

use crate::pda;
use crate::tx::lookup_table::state::LookupTableMeta;
use crate::tx::AddressLookupTableAccount;
use solana_transaction::versioned::VersionedTransaction;

/// The clock sysvar's address.
pub const CLOCK_SYSVAR: Pubkey = anchor_lang::pubkey!("SysvarC1ock11111111111111111111111111111111");

/// A transaction the cluster refused: a program's or the runtime's error in
/// its simulation or its execution, as opposed to a failure to reach the
/// cluster (an HTTP error, a timeout), after which the same transaction may
/// still pass. Both transports return it (inside `anyhow::Error`; see
/// [`is_rejected`]); the keeper counts these apart and isolates them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected(pub String);

impl std::fmt::Display for Rejected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rejected {}

impl Rejected {
    /// The refusal `text` says, with the program's error named
    /// ([`crate::errors::explain`]).
    pub fn explained(text: &str) -> anyhow::Error {
        anyhow::Error::new(Rejected(crate::errors::explain(text)))
    }
}

/// Whether `e` is a refusal by the cluster ([`Rejected`]) rather than a
/// failure to reach it.
pub fn is_rejected(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<Rejected>().is_some())
}

/// How a transaction is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SendMode {
    /// Send and wait for confirmation.
    #[default]
    Send,
    /// Simulate only: nothing is sent (`--dry-run`).
    Simulate,
}

/// What every client needs from a cluster.
#[allow(async_fn_in_trait)]
pub trait Transport {
    /// The fee payer (and default signer).
    fn payer(&self) -> Pubkey;

    /// One account, if it exists.
    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>>;

    /// Several accounts, in order.
    async fn accounts(&mut self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        let mut out = Vec::with_capacity(addresses.len());
        for a in addresses {
            out.push(self.account(a).await?);
        }
        Ok(out)
    }

    /// Sends `ixs` signed by the payer and `signers` (or simulates them) in a
    /// legacy transaction; returns the signature (base58) or `"simulated"`.
    /// Refuses a transaction a cluster would refuse ([`crate::tx::check`]).
    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair], mode: SendMode) -> Result<String> {
        self.send_with_tables(ixs, signers, &[], mode).await
    }

    /// As [`Transport::send`], in a v0 transaction compiled against the
    /// lookup `tables` (a legacy one when there are none).
    async fn send_with_tables(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        mode: SendMode,
    ) -> Result<String>;

    /// The transaction this transport would send for `ixs` — its own
    /// additions (the compute-budget instructions) and signatures included — with some
    /// blockhash: what batch sizes are measured on ([`crate::tx::largest_batch`]).
    fn transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<VersionedTransaction>;

    /// A recent slot, valid for `create_lookup_table` (in the SlotHashes sysvar).
    async fn recent_slot(&mut self) -> Result<u64>;

    /// Returns once the cluster is past `slot` (a lookup table extended in
    /// `slot` is usable from the next one).
    async fn wait_past_slot(&mut self, slot: u64) -> Result<()>;

    /// The current slot.
    async fn slot(&mut self) -> Result<u64>;

    /// Lookup tables whose authority is `authority`, with their addresses and metadata.
    async fn lookup_tables(&mut self, authority: &Pubkey) -> Result<Vec<(AddressLookupTableAccount, LookupTableMeta)>>;

    /// The cluster's unix time.
    async fn now(&mut self) -> Result<i64>;

    /// The token accounts of `owner` for `mint`, with their data: where a
    /// payout can go when the owner's associated token account cannot take
    /// it (`settle_policies` accepts any token account of the owner for the
    /// pool's mint). Empty when the transport cannot list accounts by owner.
    async fn token_accounts(&mut self, owner: &Pubkey, mint: &Pubkey) -> Result<Vec<(Pubkey, Account)>> {
        let _ = (owner, mint);
        Ok(Vec::new())
    }

    /// Every policy of `market` (ids `0..policy_count`), with its address.
    async fn policies(&mut self, market: &Pubkey, policy_count: u64) -> Result<Vec<(Pubkey, Policy)>> {
        let addresses: Vec<Pubkey> = (0..policy_count).map(|i| pda::policy(market, i).0).collect();
        let mut out = Vec::new();
        for chunk in addresses.chunks(100) {
            for (a, acc) in chunk.iter().zip(self.accounts(chunk).await?) {
                if let Some(acc) = acc {
                    out.push((*a, crate::decode::<Policy>(&acc.data)?));
                }
            }
        }
        Ok(out)
    }
}

/// Decodes an Anchor account of type `T` at `address` (error if missing).
pub async fn fetch<T: anchor_lang::AccountDeserialize, X: Transport>(t: &mut X, address: &Pubkey) -> Result<T> {
    let acc = t
        .account(address)
        .await?
        .ok_or_else(|| anyhow!("account {address} does not exist"))?;
    crate::decode::<T>(&acc.data).with_context(|| format!("decoding account {address}"))
}

/// Decodes a zero-copy account of type `T` at `address` (error if missing).
pub async fn fetch_zero_copy<T: bytemuck::Pod + anchor_lang::Discriminator, X: Transport>(
    t: &mut X,
    address: &Pubkey,
) -> Result<T> {
    let acc = t
        .account(address)
        .await?
        .ok_or_else(|| anyhow!("account {address} does not exist"))?;
    Ok(crate::quote::decode_zero_copy::<T>(&acc.data)?)
}

/// The push-feed account of every market of `pool` (`market_count` of them),
/// in market order: what `withdraw` reads (see [`crate::ix::withdraw`]).
pub async fn market_price_updates<X: Transport>(t: &mut X, pool: &Pubkey, market_count: u32) -> Result<Vec<Pubkey>> {
    let addresses: Vec<Pubkey> = (0..market_count).map(|i| pda::market(pool, i).0).collect();
    let mut out = Vec::with_capacity(addresses.len());
    for (a, acc) in addresses.iter().zip(t.accounts(&addresses).await?) {
        let acc = acc.ok_or_else(|| anyhow!("market {a} does not exist"))?;
        let market: coverage_pool::state::Market = crate::decode(&acc.data)?;
        out.push(crate::pyth::push_feed_address(
            &market.feed_id,
            crate::pyth::SPONSORED_SHARD,
        ));
    }
    Ok(out)
}

/// A real cluster over JSON-RPC.
pub struct RpcTransport {
    client: solana_rpc_client::nonblocking::rpc_client::RpcClient,
    /// The fee payer and signer; `None` for a read-only transport.
    payer: Option<Keypair>,
    /// Micro-lamports per compute unit at most (`--priority-fee-cap`).
    pub priority_fee_cap: u64,
    /// Compute units requested over what simulation consumed: `used × (1 +
    /// margin_bps / 10 000)` plus [`CU_FLOOR_MARGIN`] (priority fees are
    /// charged on the limit requested, so it follows the transaction).
    pub compute_unit_margin_bps: u32,
    /// Attempts per transaction. After a send whose outcome is unknown (a
    /// timeout) the same signed transaction is sent again while its blockhash
    /// is valid; a new one is signed only once the cluster says the earlier
    /// one did not land and never can.
    pub max_attempts: u32,
}

/// What became of a transaction sent with an unknown outcome (a timeout, a
/// lost connection).
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    /// It landed and succeeded.
    Landed,
    /// It landed and failed (the program's or the runtime's error).
    Failed(String),
    /// Not seen yet and its blockhash is valid: it may still land, so it is
    /// sent again as it is (the same signature lands at most once).
    Pending,
    /// Not seen and its blockhash expired: it can never land.
    Expired,
}

/// How long a send waits for a new blockhash when an identical transaction
/// already used the latest one.
pub const NEW_BLOCKHASH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The most compute units a transaction may request.
pub const MAX_COMPUTE_UNITS: u32 = 1_400_000;
/// Compute units added to every request on top of the proportional margin
/// (what a few more account reads or a longer log cost).
pub const CU_FLOOR_MARGIN: u64 = 5_000;

/// The compute-unit limit to request for a transaction that used `used`
/// units in simulation: `used × (1 + margin_bps / 10 000) + CU_FLOOR_MARGIN`,
/// at most [`MAX_COMPUTE_UNITS`].
pub fn compute_unit_limit(used: u64, margin_bps: u32) -> u32 {
    let with_margin = used
        .saturating_mul(10_000 + u64::from(margin_bps))
        .div_ceil(10_000)
        .saturating_add(CU_FLOOR_MARGIN);
    with_margin.min(u64::from(MAX_COMPUTE_UNITS)) as u32
}

/// `ixs` after a compute-unit limit and a priority fee (what every transport
/// sends first: [`crate::tx::BUDGET_INSTRUCTIONS`] instructions).
pub(crate) fn with_budget(limit: u32, micro_lamports: u64, ixs: &[Instruction]) -> Vec<Instruction> {
    use solana_compute_budget_interface::ComputeBudgetInstruction;
    let mut all = vec![
        ComputeBudgetInstruction::set_compute_unit_limit(limit),
        ComputeBudgetInstruction::set_compute_unit_price(micro_lamports),
    ];
    all.extend_from_slice(ixs);
    all
}

impl RpcTransport {
    /// `getProgramAccounts` of `program` with memcmp filters `(offset, bytes)`.
    async fn program_accounts(&self, program: &Pubkey, memcmp: &[(usize, &[u8])]) -> Result<Vec<(Pubkey, Account)>> {
        use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
        let config = RpcProgramAccountsConfig {
            filters: Some(
                memcmp
                    .iter()
                    .map(|(offset, bytes)| RpcFilterType::Memcmp(Memcmp::new_base58_encoded(*offset, bytes)))
                    .collect(),
            ),
            account_config: RpcAccountInfoConfig {
                encoding: Some(solana_account_decoder_client_types::UiAccountEncoding::Base64),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        #[allow(deprecated)]
        let accounts = self.client.get_program_accounts_with_config(program, config).await?;
        Ok(accounts)
    }

    fn signer(&self) -> Result<&Keypair> {
        self.payer.as_ref().ok_or_else(|| {
            anyhow!(
                "this command signs a transaction: pass --keypair FILE (or set keypair_path in the Solana CLI config)"
            )
        })
    }

    /// A transport to `url` paying with `payer`.
    pub fn new(url: &str, payer: Keypair) -> Self {
        Self::with_payer(url, Some(payer))
    }

    /// A transport to `url` that only reads (no keypair needed): sending
    /// through it fails with an error that says to pass a keypair.
    pub fn read_only(url: &str) -> Self {
        Self::with_payer(url, None)
    }

    fn with_payer(url: &str, payer: Option<Keypair>) -> Self {
        Self::with_client(
            solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
                url.to_string(),
                solana_commitment_config::CommitmentConfig::confirmed(),
            ),
            payer,
        )
    }

    /// A transport over `client` (any `RpcSender`: a test's scripted node).
    pub fn with_client(client: solana_rpc_client::nonblocking::rpc_client::RpcClient, payer: Option<Keypair>) -> Self {
        Self {
            client,
            payer,
            priority_fee_cap: 100_000,
            compute_unit_margin_bps: 1_000,
            max_attempts: 3,
        }
    }

    /// The cluster's latest blockhash once it is not `used` (its next block),
    /// within [`NEW_BLOCKHASH_TIMEOUT`].
    async fn blockhash_after(&self, used: &solana_hash::Hash) -> Result<(solana_hash::Hash, u64)> {
        let started = std::time::Instant::now();
        loop {
            let latest = self.latest_blockhash().await?;
            if latest.0 != *used {
                return Ok(latest);
            }
            if started.elapsed() > NEW_BLOCKHASH_TIMEOUT {
                return Err(anyhow!(
                    "the cluster made no new block within {} s (an identical transaction was already processed with blockhash {used})",
                    NEW_BLOCKHASH_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }

    /// The latest blockhash and the last block height a transaction using it
    /// can land at.
    async fn latest_blockhash(&self) -> Result<(solana_hash::Hash, u64)> {
        Ok(self
            .client
            .get_latest_blockhash_with_commitment(self.client.commitment())
            .await?)
    }

    /// What became of `tx`, sent with an unknown outcome; it can land in no
    /// block higher than `last_valid`. The block height is read first, at
    /// `finalized`: once a finalized block is higher, no block that could
    /// hold it can still come, so a transaction the cluster has not seen
    /// then never lands, and only then may another be signed. (Not
    /// `isBlockhashValid`: a node that has not seen the blockhash yet — a
    /// load-balanced endpoint, a restarted node — answers false too.)
    async fn outcome(&self, tx: &VersionedTransaction, last_valid: u64) -> Result<Outcome> {
        let height = self
            .client
            .get_block_height_with_commitment(solana_commitment_config::CommitmentConfig::finalized())
            .await?;
        let valid = height <= last_valid;
        let status = self
            .client
            .get_signature_statuses_with_history(&tx.signatures[..1])
            .await?
            .value
            .pop()
            .flatten();
        Ok(match status {
            Some(s) => match s.err {
                Some(e) => Outcome::Failed(e.to_string()),
                None if s.satisfies_commitment(self.client.commitment()) => Outcome::Landed,
                // processed, not yet confirmed: sending it again is harmless
                None => Outcome::Pending,
            },
            None if valid => Outcome::Pending,
            None => Outcome::Expired,
        })
    }

    async fn priority_fee(&self, ixs: &[Instruction]) -> u64 {
        let writable: Vec<Pubkey> = ixs
            .iter()
            .flat_map(|ix| ix.accounts.iter().filter(|m| m.is_writable).map(|m| m.pubkey))
            .collect();
        match self.client.get_recent_prioritization_fees(&writable).await {
            Ok(fees) => {
                let mut v: Vec<u64> = fees.iter().map(|f| f.prioritization_fee).collect();
                v.sort_unstable();
                v.get(v.len() * 3 / 4).copied().unwrap_or(0).min(self.priority_fee_cap)
            }
            Err(_) => 0,
        }
    }
}

impl Transport for RpcTransport {
    fn payer(&self) -> Pubkey {
        use solana_signer::Signer;
        self.payer.as_ref().map(|k| k.pubkey()).unwrap_or_default()
    }

    async fn account(&mut self, address: &Pubkey) -> Result<Option<Account>> {
        Ok(self
            .client
            .get_account_with_commitment(address, self.client.commitment())
            .await?
            .value)
    }

    async fn accounts(&mut self, addresses: &[Pubkey]) -> Result<Vec<Option<Account>>> {
        let mut out = Vec::new();
        for chunk in addresses.chunks(100) {
            out.extend(self.client.get_multiple_accounts(chunk).await?);
        }
        Ok(out)
    }

    async fn send_with_tables(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        mode: SendMode,
    ) -> Result<String> {
        let payer = self.signer()?.insecure_clone();
        let fee = self.priority_fee(ixs).await;
        let mut last_err = None;
        // signatures this call sent, and a blockhash an identical transaction already used
        let mut sent = Vec::new();
        let mut used_blockhash = None;
        // a transaction sent whose outcome is unknown and whose blockhash is still
        // valid: sent again as it is, never re-signed, so it lands at most once
        let mut again: Option<(VersionedTransaction, u64)> = None;
        for _ in 0..self.max_attempts.max(1) {
            let (tx, last_valid) = match again.take() {
                Some(pending) => pending,
                None => {
                    let (blockhash, last_valid) = match used_blockhash.take() {
                        Some(used) => self.blockhash_after(&used).await?,
                        None => self.latest_blockhash().await?,
                    };
                    // simulate with the most a transaction may use, then ask for what it used plus a margin
                    let probe = crate::tx::build(
                        &payer,
                        &with_budget(MAX_COMPUTE_UNITS, fee, ixs),
                        signers,
                        tables,
                        blockhash,
                    )?;
                    crate::tx::check(&probe)?;
                    let sim = self
                        .client
                        .simulate_transaction_with_config(
                            &probe,
                            solana_rpc_client_types::config::RpcSimulateTransactionConfig {
                                sig_verify: false,
                                commitment: Some(self.client.commitment()),
                                ..Default::default()
                            },
                        )
                        .await?;
                    if let Some(err) = sim.value.err {
                        return Err(Rejected::explained(&format!(
                            "simulation failed: {err:?}; logs: {:?}",
                            sim.value.logs.unwrap_or_default()
                        )));
                    }
                    if mode == SendMode::Simulate {
                        return Ok("simulated".to_string());
                    }
                    let used = sim.value.units_consumed.unwrap_or(u64::from(MAX_COMPUTE_UNITS));
                    let limit = compute_unit_limit(used, self.compute_unit_margin_bps);
                    let tx = crate::tx::build(&payer, &with_budget(limit, fee, ixs), signers, tables, blockhash)?;
                    crate::tx::check(&tx)?;
                    (tx, last_valid)
                }
            };
            let signature = tx.signatures[0];
            let blockhash = *tx.message.recent_blockhash();
            let err = match self.client.send_and_confirm_transaction(&tx).await {
                Ok(sig) => return Ok(sig.to_string()),
                Err(e) => e,
            };
            use solana_transaction_error::TransactionError;
            match err.get_transaction_error() {
                Some(TransactionError::AlreadyProcessed) => {
                    // an earlier attempt of this call landed though its confirmation was
                    // lost — maybe with an error (failed transactions are processed too)
                    if sent.contains(&signature) {
                        match self.outcome(&tx, last_valid).await? {
                            Outcome::Failed(e) => {
                                return Err(Rejected::explained(&format!("transaction {signature} failed: {e}")))
                            }
                            // processed, not yet confirmed: sent again as it is
                            Outcome::Pending => {
                                again = Some((tx, last_valid));
                                last_err = Some(err);
                                continue;
                            }
                            Outcome::Landed | Outcome::Expired => return Ok(signature.to_string()),
                        }
                    }
                    // an identical transaction sent before this call (the same
                    // instructions and signers within one blockhash): this one is
                    // new, so it waits for the next blockhash
                    used_blockhash = Some(blockhash);
                    last_err = Some(err);
                }
                // a timeout, a lost connection, an expired blockhash: the
                // transaction may have landed, so nothing new is signed before
                // the cluster says it did not
                None | Some(TransactionError::BlockhashNotFound) => {
                    sent.push(signature);
                    match self.outcome(&tx, last_valid).await? {
                        Outcome::Landed => return Ok(signature.to_string()),
                        Outcome::Failed(e) => {
                            return Err(Rejected::explained(&format!("transaction {signature} failed: {e}")))
                        }
                        Outcome::Pending => again = Some((tx, last_valid)),
                        Outcome::Expired => {}
                    }
                    last_err = Some(err);
                }
                // a program error will not pass on retry
                Some(_) => return Err(Rejected::explained(&format!("{err}"))),
            }
        }
        if let Some((tx, _)) = again {
            // it may still land: a caller must not take this for a refusal and send again
            return Err(anyhow!(
                "outcome unknown after {} attempts: transaction {} may still land until its blockhash expires; check its status before sending again ({:?})",
                self.max_attempts,
                tx.signatures[0],
                last_err
            ));
        }
        Err(anyhow!(
            "sending failed after {} attempts: {:?}",
            self.max_attempts,
            last_err
        ))
    }

    fn transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> Result<VersionedTransaction> {
        // the compute-budget instructions are the same size whatever their values
        let payer = self.signer()?;
        crate::tx::build(
            payer,
            &with_budget(MAX_COMPUTE_UNITS, 0, ixs),
            signers,
            tables,
            Default::default(),
        )
    }

    async fn recent_slot(&mut self) -> Result<u64> {
        // finalized, as the Solana CLI asks for it: an ancestor of every bank the
        // transaction can land in, so in their SlotHashes (a confirmed slot may be
        // the very bank that runs it, or on a fork)
        Ok(self
            .client
            .get_slot_with_commitment(solana_commitment_config::CommitmentConfig::finalized())
            .await?)
    }

    async fn slot(&mut self) -> Result<u64> {
        Ok(self.client.get_slot().await?)
    }

    async fn wait_past_slot(&mut self, slot: u64) -> Result<()> {
        let started = std::time::Instant::now();
        while self.client.get_slot().await? <= slot {
            if started.elapsed() > std::time::Duration::from_secs(60) {
                return Err(anyhow!("the cluster did not pass slot {slot} within 60 s"));
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        Ok(())
    }

    async fn lookup_tables(&mut self, authority: &Pubkey) -> Result<Vec<(AddressLookupTableAccount, LookupTableMeta)>> {
        // LookupTableMeta: u32 tag, deactivation slot, last extended slot, start index, then Option<authority>
        let accounts = self
            .program_accounts(
                &crate::tx::lookup_table::program::id(),
                &[(21, &[1]), (22, authority.as_ref())],
            )
            .await?;
        // the node's answer is checked, not trusted: only the lookup-table
        // program's accounts are tables
        accounts
            .into_iter()
            .map(|(a, acc)| crate::tx::decode_table_account(a, &acc))
            .collect()
    }

    async fn now(&mut self) -> Result<i64> {
        let acc = self
            .client
            .get_account(&CLOCK_SYSVAR)
            .await
            .context("reading the clock sysvar")?;
        // a sysvar's account data is its bincode serialization
        let clock: anchor_lang::prelude::Clock =
            bincode::deserialize(&acc.data).context("decoding the clock sysvar")?;
        Ok(clock.unix_timestamp)
    }

    async fn token_accounts(&mut self, owner: &Pubkey, mint: &Pubkey) -> Result<Vec<(Pubkey, Account)>> {
        use solana_rpc_client::api::request::RpcRequest;
        use solana_rpc_client::api::response::{Response, RpcKeyedAccount};
        // base64, not the client's jsonParsed: the keeper reads the bytes as the program does
        let config = serde_json::json!({"encoding": "base64", "commitment": self.client.commitment().commitment});
        let found: Response<Vec<RpcKeyedAccount>> = self
            .client
            .send(
                RpcRequest::GetTokenAccountsByOwner,
                serde_json::json!([owner.to_string(), {"mint": mint.to_string()}, config]),
            )
            .await?;
        found
            .value
            .into_iter()
            .map(|keyed| {
                let address: Pubkey = keyed.pubkey.parse()?;
                let account = keyed
                    .account
                    .decode::<Account>()
                    .ok_or_else(|| anyhow!("token account {address}: undecodable data"))?;
                Ok((address, account))
            })
            .collect()
    }

    async fn policies(&mut self, market: &Pubkey, _policy_count: u64) -> Result<Vec<(Pubkey, Policy)>> {
        use anchor_lang::Discriminator;
        // the Policy discriminator, and `market` at its offset
        let accounts = self
            .program_accounts(
                &coverage_pool::ID,
                &[
                    (0, Policy::DISCRIMINATOR),
                    (crate::POLICY_MARKET_OFFSET, market.as_ref()),
                ],
            )
            .await?;
        accounts
            .into_iter()
            .map(|(a, acc)| Ok((a, crate::decode::<Policy>(&acc.data)?)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use serde_json::{json, Value};
    use solana_rpc_client::api::client_error::Result as ClientResult;
    use solana_rpc_client::api::request::RpcRequest;
    use solana_rpc_client::mock_sender::MockSender;
    use solana_rpc_client::rpc_sender::{RpcSender, RpcTransportStats};
    use solana_signature::Signature;
    use std::sync::{Arc, Mutex};

    /// What the scripted node does with each `sendTransaction`.
    #[derive(Clone, Copy, Debug)]
    enum Send {
        /// Lands it and answers.
        Land,
        /// Lands it, but the answer is lost (the client times out).
        LandLost,
        /// Loses it (the client times out).
        Lose,
        /// Lands it with the program's error and answers that it was
        /// already processed (a resend of a transaction that landed late).
        AlreadyFailed,
    }

    #[derive(Default)]
    struct Node {
        script: std::collections::VecDeque<Send>,
        /// Every signature sent, in order, and those that landed.
        sent: Vec<Signature>,
        landed: Vec<Signature>,
        /// Those that landed with an error.
        failed: Vec<Signature>,
        blockhashes: u8,
        blockhash_valid: bool,
    }

    /// A node following a script; what the transport does not depend on
    /// (simulation, fees) answered by the client's own mock.
    struct Scripted {
        node: Arc<Mutex<Node>>,
        rest: MockSender,
    }

    fn timed_out() -> solana_rpc_client::api::client_error::Error {
        std::io::Error::new(std::io::ErrorKind::TimedOut, "operation timed out").into()
    }

    #[async_trait::async_trait]
    impl RpcSender for Scripted {
        async fn send(&self, request: RpcRequest, params: Value) -> ClientResult<Value> {
            let context = json!({"slot": 1});
            let method = request.build_request_json(1, params.clone())["method"].clone();
            let mut node = self.node.lock().unwrap();
            match method.as_str().unwrap() {
                "getLatestBlockhash" => {
                    // a new blockhash every time: a re-signed transaction has a new signature
                    node.blockhashes += 1;
                    let hash = solana_hash::Hash::new_from_array([node.blockhashes; 32]);
                    Ok(
                        json!({"context": context, "value": {"blockhash": hash.to_string(), "lastValidBlockHeight": 100}}),
                    )
                }
                "sendTransaction" => {
                    let wire = base64::engine::general_purpose::STANDARD
                        .decode(params[0].as_str().unwrap())
                        .unwrap();
                    let tx: VersionedTransaction = bincode::deserialize(&wire).unwrap();
                    let signature = tx.signatures[0];
                    node.sent.push(signature);
                    let step = node.script.pop_front().expect("a send the script did not expect");
                    if matches!(step, Send::Land | Send::LandLost) && !node.landed.contains(&signature) {
                        node.landed.push(signature);
                    }
                    match step {
                        Send::Land => Ok(json!(signature.to_string())),
                        Send::LandLost | Send::Lose => Err(timed_out()),
                        Send::AlreadyFailed => {
                            node.failed.push(signature);
                            Err(solana_transaction_error::TransactionError::AlreadyProcessed.into())
                        }
                    }
                }
                "getSignatureStatuses" => {
                    let statuses: Vec<Value> = params[0]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|s| {
                            let s: Signature = s.as_str().unwrap().parse().unwrap();
                            if node.failed.contains(&s) {
                                let err = json!({"InstructionError": [0, {"Custom": 6008}]});
                                json!({"slot": 1, "confirmations": null, "err": err, "status": {"Err": err}, "confirmationStatus": "confirmed"})
                            } else if node.landed.contains(&s) {
                                json!({"slot": 1, "confirmations": null, "err": null, "status": {"Ok": null}, "confirmationStatus": "confirmed"})
                            } else {
                                Value::Null
                            }
                        })
                        .collect();
                    Ok(json!({"context": context, "value": statuses}))
                }
                // the blockhashes above are valid to height 100: the finalized height is
                // below it while they are valid, past it once they expired
                "getBlockHeight" => Ok(json!(if node.blockhash_valid { 50 } else { 101 })),
                // a load-balanced endpoint whose node has not seen the blockhash yet
                // (the transport used to take this for an expired blockhash and re-sign)
                "isBlockhashValid" => Ok(json!({"context": context, "value": false})),
                _ => {
                    drop(node);
                    self.rest.send(request, params).await
                }
            }
        }
        fn get_transport_stats(&self) -> RpcTransportStats {
            RpcTransportStats::default()
        }
        fn url(&self) -> String {
            "scripted".to_string()
        }
    }

    /// Sends one transfer through a node following `script`; returns the
    /// result and the node.
    async fn send_through(script: &[Send], blockhash_valid: bool) -> (Result<String>, Node) {
        let node = Arc::new(Mutex::new(Node {
            script: script.iter().copied().collect(),
            blockhash_valid,
            ..Node::default()
        }));
        let client = solana_rpc_client::nonblocking::rpc_client::RpcClient::new_sender(
            Scripted {
                node: node.clone(),
                rest: MockSender::new("succeeds"),
            },
            solana_rpc_client::rpc_client::RpcClientConfig::with_commitment(
                solana_commitment_config::CommitmentConfig::confirmed(),
            ),
        );
        let payer = Keypair::new();
        let ix = solana_system_interface::instruction::transfer(
            &solana_signer::Signer::pubkey(&payer),
            &Pubkey::new_unique(),
            1,
        );
        let mut t = RpcTransport::with_client(client, Some(payer));
        let result = t.send(&[ix], &[], SendMode::Send).await;
        let node = std::mem::take(&mut *node.lock().unwrap());
        (result, node)
    }

    /// A send that timed out but landed is found by its signature, not sent
    /// again re-signed (the retry used to sign a new transaction with a new
    /// blockhash: both could land, paying or settling twice).
    #[tokio::test]
    async fn a_timed_out_send_that_landed_is_not_sent_again() {
        let (result, node) = send_through(&[Send::LandLost, Send::Land], true).await;
        assert_eq!(result.unwrap(), node.sent[0].to_string());
        assert_eq!(node.sent.len(), 1, "sent once");
        assert_eq!(node.landed.len(), 1);
    }

    /// A send lost while its blockhash is valid is sent again as it is: the
    /// same signature, so it can land only once — even from a node that says
    /// it does not know the blockhash (isBlockhashValid false): validity is
    /// the finalized block height against the blockhash's last valid height.
    #[tokio::test]
    async fn a_lost_send_is_sent_again_unchanged_while_its_blockhash_is_valid() {
        let (result, node) = send_through(&[Send::Lose, Send::Land], true).await;
        assert_eq!(node.sent.len(), 2);
        assert_eq!(node.sent[0], node.sent[1], "the same signed transaction");
        assert_eq!(result.unwrap(), node.sent[0].to_string());
    }

    /// Only once its blockhash has expired unseen (it can never land) is a
    /// new transaction signed.
    #[tokio::test]
    async fn a_new_transaction_is_signed_only_after_the_first_can_no_longer_land() {
        let (result, node) = send_through(&[Send::Lose, Send::Land], false).await;
        assert_eq!(node.sent.len(), 2);
        assert_ne!(node.sent[0], node.sent[1], "re-signed with a new blockhash");
        assert_eq!(result.unwrap(), node.sent[1].to_string());
        assert_eq!(node.landed, vec![node.sent[1]]);
    }

    /// A lost send whose resend the node calls already processed landed with
    /// an error meanwhile: the error is the result, not a success (the
    /// transport used to answer the signature as landed).
    #[tokio::test]
    async fn a_resend_already_processed_with_an_error_is_that_error() {
        let (result, node) = send_through(&[Send::Lose, Send::AlreadyFailed], true).await;
        assert_eq!(node.sent.len(), 2);
        assert_eq!(node.sent[0], node.sent[1], "the same signed transaction");
        let err = result.unwrap_err();
        assert!(err.downcast_ref::<Rejected>().is_some(), "{err:#}");
        assert!(err.to_string().contains("RequiredCapitalBreached (6008)"), "{err:#}");
    }
}
