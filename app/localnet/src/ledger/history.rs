//! Processed transactions with their metadata (for getTransaction and
//! getSignatureStatuses) and the prioritization fees of recent blocks (for
//! getRecentPrioritizationFees). Bounded: the oldest records go first.

use std::collections::{HashMap, VecDeque};

use solana_clock::MAX_PROCESSING_AGE;
use solana_pubkey::Pubkey;
use solana_rpc_client_types::response::RpcPrioritizationFee;
use solana_signature::Signature;
use solana_transaction::versioned::VersionedTransaction;
use solana_transaction_status_client_types::{TransactionConfirmationStatus, TransactionStatus, TransactionStatusMeta};

/// Transactions kept for getTransaction (the oldest are forgotten).
pub const MAX_RECORDS: usize = 50_000;

/// One processed transaction.
#[derive(Clone, Debug)]
pub struct Record {
    /// Slot of the block it landed in.
    pub slot: u64,
    /// The bank's unix time when it was processed.
    pub block_time: i64,
    /// The transaction as sent.
    pub transaction: VersionedTransaction,
    /// Status, fee, balances, logs.
    pub meta: TransactionStatusMeta,
}

#[derive(Default)]
struct BlockFees {
    slot: u64,
    min: Option<u64>,
    writable: HashMap<Pubkey, u64>,
}

/// The ledger's memory of processed transactions.
#[derive(Default)]
pub struct History {
    records: HashMap<Signature, Record>,
    order: VecDeque<Signature>,
    blocks: VecDeque<BlockFees>,
    /// Transactions processed since start (committed, successful or not).
    pub transaction_count: u64,
    /// Those of them in closed blocks.
    closed_count: u64,
}

impl History {
    /// Starts the fee record of a new block (the one before it closed).
    pub fn open_block(&mut self, slot: u64) {
        self.closed_count = self.transaction_count;
        self.blocks.push_back(BlockFees {
            slot,
            ..BlockFees::default()
        });
        while self.blocks.len() > MAX_PROCESSING_AGE {
            self.blocks.pop_front();
        }
    }

    /// Records a processed transaction paying `price` micro-lamports per
    /// compute unit and write-locking `writable`.
    pub fn insert(&mut self, signature: Signature, record: Record, price: u64, writable: &[Pubkey]) {
        if let Some(b) = self.blocks.back_mut() {
            b.min = Some(b.min.map_or(price, |m| m.min(price)));
            for w in writable {
                let e = b.writable.entry(*w).or_insert(price);
                *e = (*e).min(price);
            }
        }
        self.transaction_count += 1;
        if self.records.insert(signature, record).is_none() {
            self.order.push_back(signature);
        }
        while self.order.len() > MAX_RECORDS {
            if let Some(old) = self.order.pop_front() {
                self.records.remove(&old);
            }
        }
    }

    /// A processed transaction.
    pub fn get(&self, signature: &Signature) -> Option<&Record> {
        self.records.get(signature)
    }

    /// Transactions processed in closed blocks.
    pub fn closed_count(&self) -> u64 {
        self.closed_count
    }

    /// The status of a processed transaction: `confirmed` while its block is
    /// open, `finalized` once it closed (its slot at most `finalized_slot`).
    pub fn status(&self, signature: &Signature, finalized_slot: u64) -> Option<TransactionStatus> {
        self.records.get(signature).map(|r| {
            let finalized = r.slot <= finalized_slot;
            TransactionStatus {
                slot: r.slot,
                // agave's: none once rooted, else the votes seen (one here: the only node's)
                confirmations: if finalized { None } else { Some(1) },
                status: r.meta.status.clone(),
                err: r.meta.status.clone().err(),
                confirmation_status: Some(if finalized {
                    TransactionConfirmationStatus::Finalized
                } else {
                    TransactionConfirmationStatus::Confirmed
                }),
            }
        })
    }

    /// Per recent block: the lowest price any transaction paid, raised to the
    /// lowest price paid to write-lock each of `accounts` (as agave's cache).
    pub fn prioritization_fees(&self, accounts: &[Pubkey]) -> Vec<RpcPrioritizationFee> {
        self.blocks
            .iter()
            .map(|b| RpcPrioritizationFee {
                slot: b.slot,
                prioritization_fee: accounts
                    .iter()
                    .filter_map(|a| b.writable.get(a).copied())
                    .fold(b.min.unwrap_or(0), u64::max),
            })
            .collect()
    }
}
