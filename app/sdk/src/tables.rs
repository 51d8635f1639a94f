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
//! once the tables add transactions rather than save them, the extensions
//! being sent one after another like the settlements. What they cut is the
//! number of settlement transactions (each writes the pool and the market).
//! The measured figures, and the command, are in the README. Tables are
//! written once per set of accounts and reused ([`ensure`]): a later pass
//! extends them with what they do not hold yet.

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
    let mut made = Vec::new();
    let last_extended = create_unwaited(t, fixed, addresses, &mut made).await?;
    // addresses extended in a slot are usable from the next one
    t.wait_past_slot(last_extended).await?;
    Ok(made)
}

/// [`create`] without the wait: pushes the tables onto `made` and returns the
/// slot of the last extension.
async fn create_unwaited<T: Transport>(
    t: &mut T,
    fixed: &[Pubkey],
    addresses: &[Pubkey],
    made: &mut Vec<AddressLookupTableAccount>,
) -> Result<u64> {
    let authority = t.payer();
    let per_table = (TABLE_CAPACITY - fixed.len()) / 2 * 2;
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
        let slot = write(t, &table, Some(create_ix), &entries).await?;
        last_extended = last_extended.max(slot);
        made.push(AddressLookupTableAccount {
            key: table,
            addresses: entries,
        });
    }
    Ok(last_extended)
}

/// Writes `entries` into `table` (created by `create_ix` in the first
/// transaction when given), as many a transaction as fit, and returns the
/// slot of the last extension as the table records it.
async fn write<T: Transport>(
    t: &mut T,
    table: &Pubkey,
    create_ix: Option<Instruction>,
    entries: &[Pubkey],
) -> Result<u64> {
    let authority = t.payer();
    let batch = |range: std::ops::Range<usize>| -> Vec<Instruction> {
        let extend = alt::extend_lookup_table(*table, authority, Some(authority), entries[range.clone()].to_vec());
        match (&create_ix, range.start) {
            (Some(create), 0) => vec![create.clone(), extend],
            _ => vec![extend],
        }
    };
    let plan = tx::batches(entries.len(), tx::MAX_ACCOUNT_LOCKS, |range| {
        Ok(tx::fits(&t.transaction(&batch(range), &[], &[])?))
    })?;
    for range in plan {
        t.send(&batch(range), &[], SendMode::Send).await?;
    }
    // the slot the last extension landed in, as the table records it: the
    // current slot may be later, and a ledger that makes blocks only for
    // transactions (cover localnet) would never pass it
    let account = t
        .account(table)
        .await?
        .ok_or_else(|| anyhow::anyhow!("lookup table {table} not found after its creation"))?;
    let (_, meta) = tx::decode_table_account(*table, &account)?;
    Ok(meta.last_extended_slot)
}

/// Lookup tables holding every `(policy, token account)` pair of `pairs`
/// next to the settlement's `fixed` accounts, reusing `existing` (tables
/// written earlier for the same `fixed` accounts, each starting with them):
/// pairs no table holds yet are appended to the last table while it has
/// room, then to new tables. Returns the tables, usable once this returns,
/// and how many were created.
pub async fn ensure<T: Transport>(
    t: &mut T,
    mut existing: Vec<AddressLookupTableAccount>,
    fixed: &[Pubkey],
    pairs: &[(Pubkey, Pubkey)],
) -> Result<(Vec<AddressLookupTableAccount>, usize)> {
    existing.retain(|table| table.addresses.starts_with(fixed));
    // a pair is held when one table holds both its addresses: a batch is
    // compiled against the tables holding its policies ([`covering`])
    let held = |tables: &[AddressLookupTableAccount], (p, a): &(Pubkey, Pubkey)| {
        tables
            .iter()
            .any(|table| table.addresses.contains(p) && table.addresses.contains(a))
    };
    let missing: Vec<Pubkey> = pairs
        .iter()
        .filter(|pair| !held(&existing, pair))
        .flat_map(|(p, a)| [*p, *a])
        .collect();
    if missing.is_empty() {
        return Ok((existing, 0));
    }
    let mut last_extended = 0;
    let mut rest = &missing[..];
    if let Some(last) = existing.last_mut() {
        let room = (TABLE_CAPACITY - last.addresses.len().min(TABLE_CAPACITY)) / 2 * 2;
        let now = &rest[..room.min(rest.len())];
        if !now.is_empty() {
            last_extended = write(t, &last.key, None, now).await?;
            last.addresses.extend_from_slice(now);
            rest = &rest[now.len()..];
        }
    }
    let before = existing.len();
    if !rest.is_empty() {
        last_extended = last_extended.max(create_unwaited(t, fixed, rest, &mut existing).await?);
    }
    // addresses extended in a slot are usable from the next one
    t.wait_past_slot(last_extended).await?;
    let created = existing.len() - before;
    Ok((existing, created))
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
