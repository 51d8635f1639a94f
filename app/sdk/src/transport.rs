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

/// The clock sysvar's address.
pub const CLOCK_SYSVAR: Pubkey = anchor_lang::pubkey!("SysvarC1ock11111111111111111111111111111111");

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

    /// Sends `ixs` signed by the payer and `signers` (or simulates them);
    /// returns the signature (base58) or `"simulated"`.
    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair], mode: SendMode) -> Result<String>;

    /// The cluster's unix time.
    async fn now(&mut self) -> Result<i64>;

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
    /// Compute units requested per transaction.
    pub compute_unit_limit: u32,
    /// Attempts per transaction (each with a fresh blockhash).
    pub max_attempts: u32,
}

impl RpcTransport {
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
        Self {
            client: solana_rpc_client::nonblocking::rpc_client::RpcClient::new_with_commitment(
                url.to_string(),
                solana_commitment_config::CommitmentConfig::confirmed(),
            ),
            payer,
            priority_fee_cap: 100_000,
            compute_unit_limit: 400_000,
            max_attempts: 3,
        }
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

    async fn send(&mut self, ixs: &[Instruction], signers: &[&Keypair], mode: SendMode) -> Result<String> {
        use solana_compute_budget_interface::ComputeBudgetInstruction;
        let fee = self.priority_fee(ixs).await;
        let mut all = vec![
            ComputeBudgetInstruction::set_compute_unit_limit(self.compute_unit_limit),
            ComputeBudgetInstruction::set_compute_unit_price(fee),
        ];
        all.extend_from_slice(ixs);
        let payer = self.payer.as_ref().ok_or_else(|| {
            anyhow!(
                "this command signs a transaction: pass --keypair FILE (or set keypair_path in the Solana CLI config)"
            )
        })?;
        let mut keys: Vec<&Keypair> = vec![payer];
        keys.extend_from_slice(signers);
        let mut last_err = None;
        for _ in 0..self.max_attempts.max(1) {
            let blockhash = self.client.get_latest_blockhash().await?;
            let tx =
                solana_transaction::Transaction::new_signed_with_payer(&all, Some(&self.payer()), &keys, blockhash);
            if mode == SendMode::Simulate {
                let sim = self.client.simulate_transaction(&tx).await?;
                if let Some(err) = sim.value.err {
                    return Err(anyhow!(
                        "simulation failed: {err:?}; logs: {:?}",
                        sim.value.logs.unwrap_or_default()
                    ));
                }
                return Ok("simulated".to_string());
            }
            match self.client.send_and_confirm_transaction(&tx).await {
                Ok(sig) => return Ok(sig.to_string()),
                Err(e) => {
                    // a program error will not pass on retry; an expired blockhash or a timeout may
                    if e.get_transaction_error().is_some() {
                        return Err(anyhow!(crate::errors::explain(&format!("{e}"))));
                    }
                    last_err = Some(e);
                }
            }
        }
        Err(anyhow!(
            "sending failed after {} attempts: {:?}",
            self.max_attempts,
            last_err
        ))
    }

    async fn now(&mut self) -> Result<i64> {
        let acc = self
            .client
            .get_account(&CLOCK_SYSVAR)
            .await
            .context("reading the clock sysvar")?;
        // Clock: slot u64, epoch_start_timestamp i64, epoch u64, leader_schedule_epoch u64, unix_timestamp i64
        let bytes: [u8; 8] = acc
            .data
            .get(32..40)
            .ok_or_else(|| anyhow!("short clock sysvar"))?
            .try_into()?;
        Ok(i64::from_le_bytes(bytes))
    }

    async fn policies(&mut self, market: &Pubkey, _policy_count: u64) -> Result<Vec<(Pubkey, Policy)>> {
        use anchor_lang::Discriminator;
        use solana_rpc_client_types::config::{RpcAccountInfoConfig, RpcProgramAccountsConfig};
        use solana_rpc_client_types::filter::{Memcmp, RpcFilterType};
        // account filters: the Policy discriminator, and `market` at its offset
        let config = RpcProgramAccountsConfig {
            filters: Some(vec![
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, Policy::DISCRIMINATOR)),
                RpcFilterType::Memcmp(Memcmp::new_base58_encoded(crate::POLICY_MARKET_OFFSET, market.as_ref())),
            ]),
            account_config: RpcAccountInfoConfig {
                encoding: Some(solana_account_decoder_client_types::UiAccountEncoding::Base64),
                ..RpcAccountInfoConfig::default()
            },
            ..RpcProgramAccountsConfig::default()
        };
        #[allow(deprecated)]
        let accounts = self
            .client
            .get_program_accounts_with_config(&coverage_pool::ID, config)
            .await?;
        accounts
            .into_iter()
            .map(|(a, acc)| Ok((a, crate::decode::<Policy>(&acc.data)?)))
            .collect()
    }
}
