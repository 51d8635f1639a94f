//! Transactions as a cluster accepts them: at most [`PACKET_DATA_SIZE`]
//! bytes on the wire and [`MAX_ACCOUNT_LOCKS`] accounts locked. The
//! in-process bank checks neither, so every transport checks both before
//! sending ([`check`]); batch sizes come from the transaction a transport
//! will actually send ([`largest_batch`] over `Transport::transaction`), not
//! from a constant.
//!
//! A message is legacy when no lookup table is given, v0 otherwise: a v0
//! message names an account of a table by a one-byte index, so a batch is
//! bounded by the account-lock limit rather than by size.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anyhow::{anyhow, bail, Context, Result};
use solana_hash::Hash;
use solana_keypair::Keypair;
use solana_message::{v0, Message, VersionedMessage};
use solana_signer::Signer;
use solana_transaction::versioned::VersionedTransaction;

pub use solana_address_lookup_table_interface as lookup_table;
pub use solana_message::AddressLookupTableAccount;

/// The largest transaction a cluster accepts, bytes (one packet: IPv6 MTU
/// minus headers): the validator's own constant.
pub use solana_packet::PACKET_DATA_SIZE;
/// The most accounts one transaction may lock (static keys plus those loaded
/// from lookup tables).
pub const MAX_ACCOUNT_LOCKS: usize = 64;

/// The most instructions one transaction may run, its top-level ones and
/// every CPI they make (the runtime's instruction trace).
pub const MAX_INSTRUCTION_TRACE: usize = 64;
/// Instructions the associated-token program's idempotent create runs at
/// most: itself, the token program's size query, the system program's
/// create (or transfer, allocate and assign for a pre-funded address), and
/// the token program's two initializations.
pub const CREATE_TOKEN_ACCOUNT_TRACE: usize = 7;
/// Instructions every transport puts in front of a transaction's own: the
/// compute-unit limit and its price (`transport::with_budget`).
pub const BUDGET_INSTRUCTIONS: usize = 2;
/// Token-account creations one transaction can run: the trace left after the
/// compute-budget instructions, (64 − 2) / 7 = 8.
pub const MAX_TOKEN_ACCOUNT_CREATIONS: usize =
    (MAX_INSTRUCTION_TRACE - BUDGET_INSTRUCTIONS) / CREATE_TOKEN_ACCOUNT_TRACE;

/// Signs `ixs` paid by `payer` (signing with `signers` too): a legacy message
/// when `tables` is empty, else a v0 message compiled against them.
pub fn build(
    payer: &Keypair,
    ixs: &[Instruction],
    signers: &[&Keypair],
    tables: &[AddressLookupTableAccount],
    blockhash: Hash,
) -> Result<VersionedTransaction> {
    let mut keys: Vec<&Keypair> = vec![payer];
    for s in signers {
        if !keys.iter().any(|k| k.pubkey() == s.pubkey()) {
            keys.push(s);
        }
    }
    let message = if tables.is_empty() {
        VersionedMessage::Legacy(Message::new_with_blockhash(ixs, Some(&payer.pubkey()), &blockhash))
    } else {
        VersionedMessage::V0(
            v0::Message::try_compile(&payer.pubkey(), ixs, tables, blockhash)
                .context("compiling a v0 message against the lookup tables")?,
        )
    };
    VersionedTransaction::try_new(message, &keys).map_err(|e| anyhow!("signing: {e}"))
}

/// Bytes on the wire.
pub fn size(tx: &VersionedTransaction) -> usize {
    bincode::serialized_size(tx).map(|n| n as usize).unwrap_or(usize::MAX)
}

/// Accounts the transaction locks: its static keys and every address it
/// loads from lookup tables.
pub fn account_locks(tx: &VersionedTransaction) -> usize {
    let loaded: usize = tx
        .message
        .address_table_lookups()
        .map(|l| {
            l.iter()
                .map(|t| t.writable_indexes.len() + t.readonly_indexes.len())
                .sum()
        })
        .unwrap_or(0);
    tx.message.static_account_keys().len() + loaded
}

/// Refuses what a cluster refuses: over [`PACKET_DATA_SIZE`] bytes or
/// [`MAX_ACCOUNT_LOCKS`] accounts. Returns the size.
pub fn check(tx: &VersionedTransaction) -> Result<usize> {
    let bytes = size(tx);
    if bytes > PACKET_DATA_SIZE {
        bail!("transaction too large: {bytes} bytes, over the {PACKET_DATA_SIZE}-byte packet limit a cluster accepts");
    }
    let locks = account_locks(tx);
    if locks > MAX_ACCOUNT_LOCKS {
        bail!("transaction locks {locks} accounts, over the {MAX_ACCOUNT_LOCKS} a cluster allows");
    }
    Ok(bytes)
}

/// Whether `tx` passes [`check`].
pub fn fits(tx: &VersionedTransaction) -> bool {
    check(tx).is_ok()
}

/// The largest `n` in `0..=max` for which `fits(n)` holds, assuming it holds
/// for every smaller `n` once it holds for one (a batch only grows).
pub fn largest_batch(max: usize, mut fits: impl FnMut(usize) -> Result<bool>) -> Result<usize> {
    let (mut lo, mut hi) = (0usize, max);
    // invariant: fits(lo) (or lo == 0); every n > hi does not fit
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid)? {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    Ok(lo)
}

/// Splits `len` items into consecutive batches, each the largest (at most
/// `most` items) whose transaction `fits(range)` says a cluster accepts: what
/// a sender sends in turn. Fails when not even one item fits.
pub fn batches(
    len: usize,
    most: usize,
    mut fits: impl FnMut(std::ops::Range<usize>) -> Result<bool>,
) -> Result<Vec<std::ops::Range<usize>>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < len {
        let n = largest_batch((len - start).min(most), |n| fits(start..start + n))?;
        if n == 0 {
            bail!("not even one item fits a transaction (item {start} of {len})");
        }
        out.push(start..start + n);
        start += n;
    }
    Ok(out)
}

/// A lookup table's addresses and metadata from its account, refused unless
/// the address-lookup-table program owns it (any program could write bytes
/// that decode as a table; only that program's accounts are tables).
pub fn decode_table_account(
    address: Pubkey,
    account: &solana_account::Account,
) -> Result<(AddressLookupTableAccount, lookup_table::state::LookupTableMeta)> {
    if account.owner != lookup_table::program::id() {
        bail!(
            "{address} is not an address lookup table: owned by {}, not the lookup-table program {}",
            account.owner,
            lookup_table::program::id()
        );
    }
    decode_table(address, &account.data)
}

/// A lookup table's addresses and metadata from its account data (the
/// owner unchecked: see [`decode_table_account`]).
pub fn decode_table(
    address: Pubkey,
    data: &[u8],
) -> Result<(AddressLookupTableAccount, lookup_table::state::LookupTableMeta)> {
    let table = lookup_table::state::AddressLookupTable::deserialize(data)
        .map_err(|e| anyhow!("{address} is not an address lookup table: {e}"))?;
    Ok((
        AddressLookupTableAccount {
            key: address,
            addresses: table.addresses.to_vec(),
        },
        table.meta,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transfer(from: &Pubkey, to: &Pubkey) -> Instruction {
        solana_system_interface::instruction::transfer(from, to, 1)
    }

    #[test]
    fn the_limits_are_a_clusters() {
        let payer = Keypair::new();
        let to: Vec<Pubkey> = (0..40).map(|_| Pubkey::new_unique()).collect();
        // legacy: 32 bytes per account, so the size limit comes first
        let n = largest_batch(40, |n| {
            let ixs: Vec<_> = to[..n].iter().map(|t| transfer(&payer.pubkey(), t)).collect();
            Ok(fits(&build(&payer, &ixs, &[], &[], Hash::default())?))
        })
        .unwrap();
        let ixs: Vec<_> = to[..n].iter().map(|t| transfer(&payer.pubkey(), t)).collect();
        let tx = build(&payer, &ixs, &[], &[], Hash::default()).unwrap();
        assert!(size(&tx) <= PACKET_DATA_SIZE);
        let more: Vec<_> = to[..n + 1].iter().map(|t| transfer(&payer.pubkey(), t)).collect();
        let err = check(&build(&payer, &more, &[], &[], Hash::default()).unwrap()).unwrap_err();
        assert!(err.to_string().contains("packet limit"), "{err}");
        // v0 with a table: one byte an account, so the lock limit comes first
        let many: Vec<Pubkey> = (0..100).map(|_| Pubkey::new_unique()).collect();
        let table = AddressLookupTableAccount {
            key: Pubkey::new_unique(),
            addresses: many.clone(),
        };
        let wide = |n: usize| Instruction {
            program_id: Pubkey::new_unique(),
            accounts: many[..n]
                .iter()
                .map(|a| anchor_lang::solana_program::instruction::AccountMeta::new(*a, false))
                .collect(),
            data: vec![],
        };
        let tx = build(&payer, &[wide(70)], &[], std::slice::from_ref(&table), Hash::default()).unwrap();
        assert!(size(&tx) <= PACKET_DATA_SIZE, "{} bytes", size(&tx));
        assert_eq!(account_locks(&tx), 72); // payer, the program, 70 loaded
        assert!(check(&tx).unwrap_err().to_string().contains("locks 72 accounts"));
        let n = largest_batch(100, |n| {
            Ok(fits(&build(
                &payer,
                &[wide(n)],
                &[],
                std::slice::from_ref(&table),
                Hash::default(),
            )?))
        })
        .unwrap();
        assert_eq!(n, MAX_ACCOUNT_LOCKS - 2);
    }

    #[test]
    fn the_trace_left_for_token_account_creations_counts_the_budget_instructions() {
        let payer = Pubkey::new_unique();
        let ixs = [transfer(&payer, &Pubkey::new_unique())];
        let sent = crate::transport::with_budget(200_000, 1, &ixs);
        assert_eq!(sent.len() - ixs.len(), BUDGET_INSTRUCTIONS);
    }

    #[test]
    fn batches_are_consecutive_and_as_large_as_fit() {
        // items of sizes 1, 2, 3, …: a batch fits while its sum is at most 10
        let size = |r: std::ops::Range<usize>| r.map(|i| i + 1).sum::<usize>();
        let plan = batches(8, 3, |r| Ok(size(r) <= 10)).unwrap();
        assert_eq!(plan, vec![0..3, 3..5, 5..6, 6..7, 7..8]);
        let err = batches(3, 3, |r| Ok(size(r) <= 1)).unwrap_err();
        assert!(err.to_string().contains("item 1 of 3"), "{err}");
    }

    #[test]
    fn only_the_lookup_table_programs_accounts_decode_as_tables() {
        use lookup_table::state::{AddressLookupTable, LookupTableMeta};
        let address = Pubkey::new_unique();
        let entries = [Pubkey::new_unique(), Pubkey::new_unique()];
        let table = AddressLookupTable {
            meta: LookupTableMeta {
                authority: Some(Pubkey::new_unique()),
                ..LookupTableMeta::default()
            },
            addresses: std::borrow::Cow::Borrowed(&entries),
        };
        let mut account = solana_account::Account {
            lamports: 1,
            data: table.serialize_for_tests().unwrap(),
            owner: lookup_table::program::id(),
            executable: false,
            rent_epoch: 0,
        };
        let (decoded, _) = decode_table_account(address, &account).unwrap();
        assert_eq!(decoded.addresses, entries);
        account.owner = Pubkey::new_unique();
        let err = decode_table_account(address, &account).unwrap_err();
        assert!(err.to_string().contains("not the lookup-table program"), "{err}");
    }

    #[test]
    fn largest_batch_finds_the_edge() {
        for edge in [0usize, 1, 7, 28, 64] {
            assert_eq!(largest_batch(64, |n| Ok(n <= edge)).unwrap(), edge);
        }
    }
}
