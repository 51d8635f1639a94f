//! Address lookup tables for settlement. A v0 transaction names an account
//! of a table by a one-byte index, so a settlement batch is bounded by the
//! 64 account locks (28 policies) rather than by the 1 232-byte packet (12–13
//! policies with distinct owners). A table holds at most 256 addresses: each
//! holds the settlement's fixed accounts (market first, so a table says
//! which market it serves) and then as many (policy, owner's token account)
//! pairs as fit.
//!
//! What a table costs: writing an address into it takes the same 32 bytes of
//! a transaction as naming it in a legacy transaction, so for addresses used
//! once the tables add transactions rather than save them. What they save is
//! the sequential part: settlement transactions all write the pool and the
//! market and run one after another, while a table's extensions touch only
//! the table. The measured figures are in the README.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::Result;

use crate::transport::{SendMode, Transport};
use crate::tx::lookup_table::instruction as alt;
use crate::tx::lookup_table::state::LookupTableMeta;
use crate::tx::{self, AddressLookupTableAccount};

/// Addresses one table can hold.
pub const TABLE_CAPACITY: usize = 256;
/// Slots a deactivated table waits before it may be closed, at least (the
/// SlotHashes sysvar's length: the deactivation slot must have left it).
pub const DEACTIVATION_COOLDOWN_SLOTS: u64 = 512;

/// Creates tables holding `fixed` then consecutive runs of `addresses`
/// (pairs kept together: `addresses` has even length), extending each in as
/// few transactions as fit, and returns once all are usable. The first
/// extension rides in the creation's transaction.
pub async fn create<T: Transport>(
    t: &mut T,
    fixed: &[Pubkey],
    addresses: &[Pubkey],
) -> Result<Vec<AddressLookupTableAccount>> {
    let authority = t.payer();
    let per_table = (TABLE_CAPACITY - fixed.len()) / 2 * 2;
    let mut made = Vec::new();
    let mut last_extended = 0;
    let mut last_recent = None;
    for run in addresses.chunks(per_table) {
        let mut entries: Vec<Pubkey> = fixed.to_vec();
        entries.extend_from_slice(run);
        // a table's address comes from (authority, recent slot): one slot per table
        let mut recent = t.recent_slot().await?;
        while last_recent == Some(recent) {
            let now = t.slot().await?;
            t.wait_past_slot(now).await?;
            recent = t.recent_slot().await?;
        }
        last_recent = Some(recent);
        let (create_ix, table) = alt::create_lookup_table(authority, authority, recent);
        let mut written = 0;
        let mut first = true;
        while written < entries.len() {
            let rest = &entries[written..];
            let batch = |n: usize| -> Vec<Instruction> {
                let extend = alt::extend_lookup_table(table, authority, Some(authority), rest[..n].to_vec());
                if first {
                    vec![create_ix.clone(), extend]
                } else {
                    vec![extend]
                }
            };
            let most = rest.len().min(tx::MAX_ACCOUNT_LOCKS);
            let n = tx::largest_batch(most, |n| Ok(tx::fits(&t.transaction(&batch(n), &[], &[])?)))?;
            anyhow::ensure!(n > 0, "not even one address fits a lookup-table extension");
            t.send(&batch(n), &[], SendMode::Send).await?;
            written += n;
            first = false;
        }
        // the slot the last extension landed in, as the table records it: the
        // current slot may be later, and a ledger that makes blocks only for
        // transactions (cover localnet) would never pass it
        let account = t
            .account(&table)
            .await?
            .ok_or_else(|| anyhow::anyhow!("lookup table {table} not found after its creation"))?;
        let (_, meta) = tx::decode_table(table, &account.data)?;
        last_extended = last_extended.max(meta.last_extended_slot);
        made.push(AddressLookupTableAccount {
            key: table,
            addresses: entries,
        });
    }
    // addresses extended in a slot are usable from the next one
    t.wait_past_slot(last_extended).await?;
    Ok(made)
}

/// The tables that hold the accounts of `pairs` (a settlement batch): the
/// fixed accounts are in every table, so these are enough to compile it.
pub fn covering(tables: &[AddressLookupTableAccount], pairs: &[(Pubkey, Pubkey)]) -> Vec<AddressLookupTableAccount> {
    tables
        .iter()
        .filter(|table| pairs.iter().any(|(p, _)| table.addresses.contains(p)))
        .cloned()
        .collect()
}

/// `deactivate_lookup_table` by its authority.
pub fn deactivate(table: &Pubkey, authority: &Pubkey) -> Instruction {
    alt::deactivate_lookup_table(*table, *authority)
}

/// `close_lookup_table` by its authority, rent to the authority.
pub fn close(table: &Pubkey, authority: &Pubkey) -> Instruction {
    alt::close_lookup_table(*table, *authority, *authority)
}

/// Whether a table deactivated as `meta` says may be closed now: the lookup
/// table program's own rule — its deactivation slot is neither the current
/// slot nor among the recent slots of the SlotHashes sysvar (`slot_hashes`:
/// the sysvar account's data).
pub fn closable(meta: &LookupTableMeta, slot: u64, slot_hashes: &[u8]) -> bool {
    if meta.deactivation_slot == u64::MAX || meta.deactivation_slot == slot {
        return false;
    }
    let recent: Vec<(u64, solana_hash::Hash)> = bincode::deserialize(slot_hashes).unwrap_or_default();
    !recent.iter().any(|(s, _)| *s == meta.deactivation_slot)
}

/// The SlotHashes sysvar's address.
pub const SLOT_HASHES_SYSVAR: Pubkey = anchor_lang::pubkey!("SysvarS1otHashes111111111111111111111111111");
