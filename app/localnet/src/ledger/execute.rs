//! The transaction pipeline, the same for every transaction the bank sees
//! (sendTransaction, requestAirdrop, the faucet, the deployment):
//!
//! 1. at most 1 232 bytes: a client's was decoded from one packet
//!    (`rpc::full`), the server's own pass `coverage_sdk::tx::check` as every
//!    transport's sends do;
//! 2. sanitized with its lookup tables resolved against the bank (the
//!    bank's own rules: table owner, deactivation, entries extended in the
//!    current slot not yet usable);
//! 3. every signature verified (the bank does not);
//! 4. preflight: simulated, refused with the simulation if it fails (a
//!    transaction locking more than 64 accounts fails here as on a cluster,
//!    `TooManyAccountLocks`: the bank runs with mainnet's limit, see
//!    `coverage_sdk::bank::INACTIVE_ON_MAINNET`); a signature subscriber
//!    asking for it hears that it was received only after this step, as
//!    agave tells it only of transactions sent on to the leader;
//! 5. processed; balances read before and after, the fee computed as the
//!    bank charges it, and the record kept for getTransaction, the address
//!    index and subscribers.

use anchor_lang::solana_program::instruction::Instruction;
use jsonrpc_core::Error;
use solana_account::Account;
use solana_address_lookup_table_interface::error::AddressLookupError;
use solana_address_lookup_table_interface::state::{AddressLookupTable, LookupTableMeta};
use solana_banks_interface::TransactionSimulationDetails;
use solana_commitment_config::CommitmentLevel;
use solana_compute_budget_instruction::instructions_processor::process_compute_budget_instructions;
use solana_fee_structure::FeeBudgetLimits;
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_message::v0::{LoadedAddresses, MessageAddressTableLookup};
use solana_message::{AddressLoader, AddressLookupTableAccount, SanitizedMessage};
use solana_pubkey::Pubkey;
use solana_rpc_client_api::custom_error::RpcCustomError;
use solana_rpc_client_types::response::RpcSimulateTransactionResult;
use solana_signature::Signature;
use solana_signer::Signer;
use solana_slot_hashes::SlotHashes;
use solana_svm_transaction::svm_message::SVMMessage;
use solana_transaction::sanitized::{MessageHash, SanitizedTransaction};
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_error::{AddressLoaderError, TransactionError};
use solana_transaction_status::{map_inner_instructions, parse_ui_inner_instructions};
use solana_transaction_status_client_types::{TransactionStatusMeta, TransactionTokenBalance, UiLoadedAddresses};
use spl_token_2022_interface::extension::StateWithExtensions;

use super::history::Record;
use super::{internal, Ledger};

/// A transaction checked against the bank, ready to simulate or process.
pub struct Loaded {
    /// As sent.
    pub transaction: VersionedTransaction,
    /// Sanitized, lookup tables resolved.
    pub sanitized: SanitizedTransaction,
}

impl Loaded {
    /// Every account key, static then loaded.
    pub fn keys(&self) -> Vec<Pubkey> {
        self.sanitized.message().account_keys().iter().copied().collect()
    }

    /// Addresses loaded from lookup tables.
    pub fn loaded_addresses(&self) -> LoadedAddresses {
        match self.sanitized.message() {
            SanitizedMessage::V0(m) => m.loaded_addresses.clone().into_owned(),
            SanitizedMessage::Legacy(_) => LoadedAddresses::default(),
        }
    }

    /// Write-locked keys.
    pub fn writable(&self) -> Vec<Pubkey> {
        let m = self.sanitized.message();
        m.account_keys()
            .iter()
            .enumerate()
            .filter(|(i, _)| m.is_writable(*i))
            .map(|(_, k)| *k)
            .collect()
    }
}

/// Lookup tables read from the bank, resolved as the bank resolves them.
#[derive(Clone)]
struct Tables {
    slot: u64,
    slot_hashes: std::sync::Arc<SlotHashes>,
    accounts: std::collections::HashMap<Pubkey, Option<Account>>,
}

impl AddressLoader for Tables {
    fn load_addresses(self, lookups: &[MessageAddressTableLookup]) -> Result<LoadedAddresses, AddressLoaderError> {
        let lookup_error = |e: AddressLookupError| match e {
            AddressLookupError::LookupTableAccountNotFound => AddressLoaderError::LookupTableAccountNotFound,
            AddressLookupError::InvalidAccountOwner => AddressLoaderError::InvalidAccountOwner,
            AddressLookupError::InvalidAccountData => AddressLoaderError::InvalidAccountData,
            AddressLookupError::InvalidLookupIndex => AddressLoaderError::InvalidLookupIndex,
        };
        let mut loaded = LoadedAddresses::default();
        for lookup in lookups {
            let account = self
                .accounts
                .get(&lookup.account_key)
                .cloned()
                .flatten()
                .ok_or(AddressLoaderError::LookupTableAccountNotFound)?;
            if account.owner != solana_address_lookup_table_interface::program::ID {
                return Err(AddressLoaderError::InvalidAccountOwner);
            }
            let table =
                AddressLookupTable::deserialize(&account.data).map_err(|_| AddressLoaderError::InvalidAccountData)?;
            loaded.writable.extend(
                table
                    .lookup(self.slot, &lookup.writable_indexes, &self.slot_hashes)
                    .map_err(lookup_error)?,
            );
            loaded.readonly.extend(
                table
                    .lookup(self.slot, &lookup.readonly_indexes, &self.slot_hashes)
                    .map_err(lookup_error)?,
            );
        }
        Ok(loaded)
    }
}

/// The standard -32002 error: what the bank (or its simulation) said.
pub fn preflight_failure(message: String, result: RpcSimulateTransactionResult) -> Error {
    RpcCustomError::SendTransactionPreflightFailure { message, result }.into()
}

/// A simulation result holding only its error (all a refusal before
/// execution can say).
pub fn bare_result(err: Option<TransactionError>) -> RpcSimulateTransactionResult {
    RpcSimulateTransactionResult {
        err: err.map(Into::into),
        logs: None,
        accounts: None,
        units_consumed: None,
        loaded_accounts_data_size: None,
        return_data: None,
        inner_instructions: None,
        replacement_blockhash: None,
        fee: None,
        pre_balances: None,
        post_balances: None,
        pre_token_balances: None,
        post_token_balances: None,
        loaded_addresses: None,
    }
}

/// What a simulation returned.
pub struct Simulation {
    /// Execution result.
    pub result: Result<(), TransactionError>,
    /// Logs, units, return data, inner instructions.
    pub details: Option<TransactionSimulationDetails>,
}

impl Simulation {
    /// The RPC shape (the bank's simulation returns no balances): the fee,
    /// loaded addresses of a v0 message, and with `inner` the inner
    /// instructions parsed against the message's keys.
    pub fn into_rpc(self, loaded: &Loaded, fee: u64, inner: bool) -> RpcSimulateTransactionResult {
        let mut out = bare_result(self.result.err());
        out.fee = Some(fee);
        if loaded.transaction.version() != solana_transaction::versioned::TransactionVersion::LEGACY {
            out.loaded_addresses = Some(UiLoadedAddresses::from(&loaded.loaded_addresses()));
        }
        if let Some(d) = self.details {
            out.logs = Some(d.logs);
            out.units_consumed = Some(d.units_consumed);
            out.loaded_accounts_data_size = Some(d.loaded_accounts_data_size);
            out.return_data = d.return_data.map(Into::into);
            if inner {
                let keys = loaded.sanitized.message().account_keys();
                out.inner_instructions = d.inner_instructions.map(|list| {
                    map_inner_instructions(list)
                        .map(|ii| parse_ui_inner_instructions(ii, &keys))
                        .collect()
                });
            }
        }
        out
    }
}

/// How a sent transaction is checked before processing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preflight {
    /// Simulate first; refuse it if the simulation fails.
    Simulate,
    /// Process directly (`skipPreflight`).
    Skip,
}

impl Ledger {
    /// Step 2: sanitization, lookup tables (errors are -32602, as agave's).
    /// The size was checked when the transaction was decoded or built.
    pub async fn load(&mut self, transaction: VersionedTransaction) -> Result<Loaded, Error> {
        let mut accounts = std::collections::HashMap::new();
        let lookups = transaction.message.address_table_lookups().unwrap_or_default();
        for l in lookups {
            let account = self.get_account(&l.account_key).await?;
            accounts.insert(l.account_key, account);
        }
        let slot_hashes = if lookups.is_empty() {
            SlotHashes::default()
        } else {
            self.ctx
                .banks_client
                .get_sysvar::<SlotHashes>()
                .await
                .map_err(internal)?
        };
        let tables = Tables {
            slot: self.slot,
            slot_hashes: std::sync::Arc::new(slot_hashes),
            accounts,
        };
        let sanitized = SanitizedTransaction::try_create(
            transaction.clone(),
            MessageHash::Compute,
            None,
            tables,
            &self.reserved_keys,
        )
        .map_err(|e| Error::invalid_params(format!("invalid transaction: {e}")))?;
        Ok(Loaded { transaction, sanitized })
    }

    /// Step 3: every signature (-32003 otherwise).
    pub fn verify(loaded: &Loaded) -> Result<(), Error> {
        loaded
            .sanitized
            .verify()
            .map_err(|_| RpcCustomError::TransactionSignatureVerificationFailure.into())
    }

    /// The fee the bank charges and the compute-unit price paid.
    pub fn fee(&self, loaded: &Loaded) -> (u64, u64) {
        let limits = process_compute_budget_instructions(
            SVMMessage::program_instructions_iter(&loaded.sanitized),
            &self.feature_set,
        )
        .unwrap_or_default();
        let fee = solana_fee::calculate_fee(
            &loaded.sanitized,
            false,
            self.lamports_per_signature,
            FeeBudgetLimits::from(limits).prioritization_fee,
            solana_fee::FeeFeatures::from(&self.feature_set),
        );
        (fee, limits.compute_unit_price)
    }

    /// Simulates on the working bank (inner instructions recorded).
    pub async fn simulate(&mut self, loaded: &Loaded) -> Result<Simulation, Error> {
        let r = self
            .ctx
            .banks_client
            .simulate_transaction_with_commitment(loaded.transaction.clone(), CommitmentLevel::Processed)
            .await
            .map_err(internal)?;
        Ok(Simulation {
            result: r
                .result
                .ok_or_else(|| internal("the bank returned no simulation result"))?,
            details: r.simulation_details,
        })
    }

    /// Steps 3–5 for a loaded transaction; returns its signature.
    pub async fn submit(&mut self, loaded: Loaded, preflight: Preflight) -> Result<Signature, Error> {
        Self::verify(&loaded)?;
        let signature = *loaded.sanitized.signature();
        let (fee, price) = self.fee(&loaded);
        let mut inner = None;
        if preflight == Preflight::Simulate {
            let sim = self.simulate(&loaded).await?;
            if let Err(e) = &sim.result {
                let message = format!("Transaction simulation failed: {e}");
                return Err(preflight_failure(message, sim.into_rpc(&loaded, fee, false)));
            }
            inner = sim.details.and_then(|d| d.inner_instructions);
        }
        // on to the leader, as agave's RPC would send it: received
        self.notify_received(&signature);

        let keys = loaded.keys();
        let mut pre = Vec::with_capacity(keys.len());
        for k in &keys {
            pre.push(self.get_account(k).await?);
        }
        let processed = self
            .ctx
            .banks_client
            .process_transaction_with_metadata(loaded.transaction.clone())
            .await
            .map_err(internal)?;
        let Some(metadata) = processed.metadata else {
            // not committed (no fee taken): a cluster would drop it silently
            let err = processed
                .result
                .err()
                .ok_or_else(|| internal("processed without metadata"))?;
            return Err(preflight_failure(
                format!("Transaction refused by the bank: {err}"),
                bare_result(Some(err)),
            ));
        };
        let mut post = Vec::with_capacity(keys.len());
        for k in &keys {
            post.push(self.get_account(k).await?);
        }
        let pre_token_balances = self.token_balances(&pre).await?;
        let post_token_balances = self.token_balances(&post).await?;
        let meta = TransactionStatusMeta {
            status: processed.result.clone(),
            fee,
            pre_balances: pre.iter().map(|a| a.as_ref().map_or(0, |a| a.lamports)).collect(),
            post_balances: post.iter().map(|a| a.as_ref().map_or(0, |a| a.lamports)).collect(),
            inner_instructions: inner.map(|list| map_inner_instructions(list).collect()),
            log_messages: Some(metadata.log_messages),
            pre_token_balances: Some(pre_token_balances),
            post_token_balances: Some(post_token_balances),
            rewards: Some(vec![]),
            loaded_addresses: loaded.loaded_addresses(),
            return_data: metadata.return_data,
            compute_units_consumed: Some(metadata.compute_units_consumed),
            cost_units: None,
        };
        for (k, a) in keys.iter().zip(&post) {
            self.index.observe(k, a.as_ref());
        }
        self.index_table_entries(&post).await?;
        let writable = loaded.writable();
        let record = Record {
            slot: self.slot,
            block_time: self.time.unix(),
            transaction: loaded.transaction,
            meta,
        };
        self.history.insert(signature, record, price, &writable);
        self.touch_block();
        self.notify_signature(&signature, processed.result.err(), self.slot);
        self.notify_written(&writable).await?;
        Ok(signature)
    }

    /// Lookup tables among `accounts` (created or extended): their entries
    /// join the index.
    async fn index_table_entries(&mut self, accounts: &[Option<Account>]) -> Result<(), Error> {
        for a in accounts.iter().flatten() {
            if a.owner != solana_address_lookup_table_interface::program::ID {
                continue;
            }
            let Ok(table) = AddressLookupTable::deserialize(&a.data) else {
                continue;
            };
            for address in table.addresses.iter() {
                if !self.index.contains(address) {
                    let account = self.get_account(address).await?;
                    self.index.observe(address, account.as_ref());
                }
            }
        }
        Ok(())
    }

    /// Token balances of the token accounts among `accounts` (by key index).
    async fn token_balances(&mut self, accounts: &[Option<Account>]) -> Result<Vec<TransactionTokenBalance>, Error> {
        let mut out = Vec::new();
        for (i, a) in accounts.iter().enumerate() {
            let Some(a) = a else { continue };
            if !spl_generic_token::is_known_spl_token_id(&a.owner) {
                continue;
            }
            let Ok(state) = StateWithExtensions::<spl_token_2022_interface::state::Account>::unpack(&a.data) else {
                continue;
            };
            let Some(mint) = self.mint_data(&state.base.mint).await? else {
                continue;
            };
            out.push(TransactionTokenBalance {
                account_index: i as u8,
                mint: state.base.mint.to_string(),
                ui_token_amount: solana_account_decoder::parse_token::token_amount_to_ui_amount_v3(
                    state.base.amount,
                    &mint,
                ),
                owner: state.base.owner.to_string(),
                program_id: a.owner.to_string(),
            });
        }
        Ok(out)
    }

    /// Signs `ixs` with the bank's payer (fee payer) and `signers`, made
    /// unique within one blockhash, and submits it.
    pub async fn send_own(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        preflight: Preflight,
    ) -> Result<Signature, Error> {
        self.send_own_with_tables(ixs, signers, &[], preflight).await
    }

    /// As [`Ledger::send_own`], compiled against lookup `tables` (v0) when there are any.
    pub async fn send_own_with_tables(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        preflight: Preflight,
    ) -> Result<Signature, Error> {
        let nonce = self.next_nonce();
        let tx = self
            .own_transaction(ixs, signers, tables, nonce, self.ctx.last_blockhash)
            .map_err(internal)?;
        // what a cluster refuses, refused before sending, as every transport does
        coverage_sdk::tx::check(&tx).map_err(internal)?;
        let loaded = self.load(tx).await?;
        self.submit(loaded, preflight).await
    }

    /// The transaction `send_own_with_tables` sends: `ixs` after a unique
    /// compute budget, as the bank transport sends them
    /// ([`coverage_sdk::bank::with_unique_budget`]), paid by the bank's payer.
    fn own_transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        nonce: u64,
        blockhash: Hash,
    ) -> anyhow::Result<VersionedTransaction> {
        let all = coverage_sdk::bank::with_unique_budget(nonce, ixs);
        coverage_sdk::tx::build(&self.ctx.payer, &all, signers, tables, blockhash)
    }
}

/// The SDK's set-up helpers (mint, token accounts, deployment) run through
/// the same pipeline as any client's transaction.
impl coverage_sdk::transport::Transport for Ledger {
    fn payer(&self) -> Pubkey {
        self.ctx.payer.pubkey()
    }

    async fn account(&mut self, address: &Pubkey) -> anyhow::Result<Option<Account>> {
        self.get_account(address).await.map_err(|e| anyhow::anyhow!(e.message))
    }

    async fn send_with_tables(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        mode: coverage_sdk::transport::SendMode,
    ) -> anyhow::Result<String> {
        if mode == coverage_sdk::transport::SendMode::Simulate {
            anyhow::bail!("the localnet's own set-up never simulates");
        }
        self.send_own_with_tables(ixs, signers, tables, Preflight::Simulate)
            .await
            .map(|s| s.to_string())
            .map_err(|e| anyhow::anyhow!("{} {}", e.message, e.data.map(|d| d.to_string()).unwrap_or_default()))
    }

    fn transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> anyhow::Result<VersionedTransaction> {
        self.own_transaction(ixs, signers, tables, self.nonce_peek(), Hash::default())
    }

    async fn recent_slot(&mut self) -> anyhow::Result<u64> {
        Ok(self.slot_at(Some(CommitmentLevel::Finalized)))
    }

    async fn slot(&mut self) -> anyhow::Result<u64> {
        Ok(self.slot)
    }

    async fn wait_past_slot(&mut self, slot: u64) -> anyhow::Result<()> {
        while self.slot <= slot {
            self.new_block().await.map_err(|e| anyhow::anyhow!(e.message))?;
        }
        Ok(())
    }

    async fn lookup_tables(
        &mut self,
        authority: &Pubkey,
    ) -> anyhow::Result<Vec<(AddressLookupTableAccount, LookupTableMeta)>> {
        let program = coverage_sdk::tx::lookup_table::program::id();
        let mut out = Vec::new();
        for address in self.index.owned_by(&program) {
            if let Some(acc) = self.account(&address).await? {
                let (table, meta) = coverage_sdk::tx::decode_table(address, &acc.data)?;
                if meta.authority == Some(*authority) {
                    out.push((table, meta));
                }
            }
        }
        Ok(out)
    }

    async fn now(&mut self) -> anyhow::Result<i64> {
        Ok(self.time.unix())
    }
}
