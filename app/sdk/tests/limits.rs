//! Transactions a real cluster accepts: the largest settlement batches each
//! path sends, measured on the transactions themselves, and the keeper
//! settling more policies than one transaction holds through lookup tables.
//!
//! `cargo test -p coverage-sdk --features bank --test limits -- --nocapture`
//! prints the batch sizes (the README's measured table).

use anchor_lang::prelude::Pubkey;
use coverage_pool::state::MarketStatus;
use coverage_sdk::bank::BankTransport;
use coverage_sdk::ix;
use coverage_sdk::keeper::{Keeper, KeeperConfig};
use coverage_sdk::scenario::{largest_settlement, settlement_table, triggered_market_with_policies, Settlement, COVER};
use coverage_sdk::transport::{fetch, RpcTransport, SendMode, Transport};
use coverage_sdk::tx::{self, AddressLookupTableAccount};
use solana_keypair::Keypair;

/// The largest `settle_policies` batch of `s`'s policies `t` would send.
fn largest<T: Transport>(t: &T, s: &Settlement, tables: &[AddressLookupTableAccount]) -> usize {
    largest_settlement(t, s, tables).unwrap()
}

fn table_of(s: &Settlement) -> AddressLookupTableAccount {
    settlement_table(s)
}

#[tokio::test]
async fn settlement_batches_are_the_largest_a_cluster_accepts() {
    let s = triggered_market_with_policies(40).await.unwrap();
    let rpc = RpcTransport::new("http://127.0.0.1:9", Keypair::new());
    // legacy: both transports put the two compute-budget instructions first (the
    // bank varies the limit to keep repeated transactions distinct)
    let legacy_bank = largest(&s.bank, &s, &[]);
    let legacy_rpc = largest(&rpc, &s, &[]);
    // v0 through one lookup table: bounded by the 64 account locks
    let table = [table_of(&s)];
    let v0_bank = largest(&s.bank, &s, &table);
    let v0_rpc = largest(&rpc, &s, &table);
    println!("settle_policies, distinct owners: legacy {legacy_rpc} (RPC transport) / {legacy_bank} (bank); v0 with a lookup table {v0_rpc} (RPC) / {v0_bank} (bank)");
    for (n, t) in [(legacy_rpc, &[][..]), (v0_rpc, &table[..])] {
        let pairs: Vec<(Pubkey, Pubkey)> = s.policies.iter().zip(&s.owners).map(|(p, (_, a))| (*p, *a)).collect();
        let fits = |n: usize| {
            tx::check(
                &rpc.transaction(&[ix::settle_policies(&s.keys, &s.market, &pairs[..n])], &[], t)
                    .unwrap(),
            )
        };
        assert!(fits(n).is_ok());
        let err = fits(n + 1).unwrap_err().to_string();
        assert!(
            err.contains("packet limit") || err.contains("accounts, over the 64"),
            "{err}"
        );
    }
    // the old constant no longer fits the RPC path: 13 pairs + compute budget were 1 252 bytes
    assert!(legacy_rpc < 13, "legacy RPC batch {legacy_rpc}");
    assert_eq!(v0_bank, 28);
    assert_eq!(v0_rpc, 28);
}

#[tokio::test]
async fn a_transaction_over_the_packet_limit_is_refused_before_it_is_sent() {
    let mut s = triggered_market_with_policies(16).await.unwrap();
    let pairs: Vec<(Pubkey, Pubkey)> = s.policies.iter().zip(&s.owners).map(|(p, (_, a))| (*p, *a)).collect();
    let sent = s.bank.sent;
    let err = s
        .bank
        .send(&[ix::settle_policies(&s.keys, &s.market, &pairs)], &[], SendMode::Send)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("over the 1232-byte packet limit"), "{err}");
    assert_eq!(s.bank.sent, sent, "nothing was sent");
    let m: coverage_pool::state::Market = fetch(&mut s.bank, &s.market).await.unwrap();
    assert_eq!(m.settlement.settled_policies, 0);
}

#[tokio::test]
async fn the_keeper_settles_through_lookup_tables_and_closes_them() {
    let Settlement {
        mut bank,
        keys,
        market,
        owners,
        policies,
        ..
    } = triggered_market_with_policies(70).await.unwrap();
    let sent = bank.sent;
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(|_| {}));
    keeper.tick(&mut bank).await.unwrap();
    let m: coverage_pool::state::Market = fetch(&mut bank, &market).await.unwrap();
    assert_eq!(m.status, MarketStatus::Triggered);
    assert!(m.settlement.released, "everything settled, then released");
    assert_eq!(m.settlement.settled_policies, 70);
    // every owner paid exactly once, in full; the settled policies were closed in the same pass
    for (p, (_, ata)) in policies.iter().zip(&owners) {
        assert_eq!(bank.token_balance(ata).await.unwrap(), COVER);
        assert!(bank.account(p).await.unwrap().is_none(), "settled policy {p} closed");
    }
    assert_eq!(keeper.metrics.policies_closed.get(), 70);
    // one table (70 policies fit 256 addresses), ⌈70 / 28⌉ = 3 settlements
    assert_eq!(keeper.metrics.lookup_tables.get(), 1);
    assert_eq!(keeper.metrics.settle_batches.get(), 3);
    println!(
        "70 policies: {} transactions (table and settlement and release), {} settlement batches",
        bank.sent - sent,
        keeper.metrics.settle_batches.get()
    );
    // the release deactivated the table on the pass; once the cooldown is over it is closed
    let payer = bank.payer();
    let tables = bank.lookup_tables(&payer).await.unwrap();
    assert_eq!(tables.len(), 1);
    assert_ne!(tables[0].1.deactivation_slot, u64::MAX, "deactivated after the release");
    let lamports_before = bank.ctx.banks_client.get_balance(payer).await.unwrap();
    let slot = bank.slot().await.unwrap();
    bank.wait_past_slot(slot + coverage_sdk::tables::DEACTIVATION_COOLDOWN_SLOTS + 1)
        .await
        .unwrap();
    keeper.tick(&mut bank).await.unwrap();
    assert!(bank.lookup_tables(&payer).await.unwrap().is_empty(), "closed");
    assert_eq!(keeper.metrics.lookup_tables_closed.get(), 1);
    assert!(
        bank.ctx.banks_client.get_balance(payer).await.unwrap() > lamports_before,
        "rent back"
    );
    let _: &BankTransport = &bank;
}

/// A cluster on which a block closes right after each transaction (as on
/// `cover localnet` when one closes between a confirmation and the next
/// request): the slot moves on before the caller reads it. Records every
/// slot the caller waits past.
struct BlockAfterEachSend {
    bank: BankTransport,
    waited: Vec<u64>,
}

impl Transport for BlockAfterEachSend {
    fn payer(&self) -> Pubkey {
        self.bank.payer()
    }
    async fn account(&mut self, address: &Pubkey) -> anyhow::Result<Option<solana_account::Account>> {
        self.bank.account(address).await
    }
    async fn send_with_tables(
        &mut self,
        ixs: &[anchor_lang::solana_program::instruction::Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        mode: SendMode,
    ) -> anyhow::Result<String> {
        let sig = self.bank.send_with_tables(ixs, signers, tables, mode).await?;
        let slot = self.bank.slot().await?;
        self.bank.wait_past_slot(slot).await?;
        Ok(sig)
    }
    fn transaction(
        &self,
        ixs: &[anchor_lang::solana_program::instruction::Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> anyhow::Result<solana_transaction::versioned::VersionedTransaction> {
        self.bank.transaction(ixs, signers, tables)
    }
    async fn recent_slot(&mut self) -> anyhow::Result<u64> {
        self.bank.recent_slot().await
    }
    async fn wait_past_slot(&mut self, slot: u64) -> anyhow::Result<()> {
        self.waited.push(slot);
        self.bank.wait_past_slot(slot).await
    }
    async fn slot(&mut self) -> anyhow::Result<u64> {
        self.bank.slot().await
    }
    async fn lookup_tables(
        &mut self,
        authority: &Pubkey,
    ) -> anyhow::Result<Vec<(AddressLookupTableAccount, tx::lookup_table::state::LookupTableMeta)>> {
        self.bank.lookup_tables(authority).await
    }
    async fn now(&mut self) -> anyhow::Result<i64> {
        self.bank.now().await
    }
}

/// A lookup table's addresses are usable from the slot after its last
/// extension: that is the slot `tables::create` waits past, not the current
/// one, which on a ledger that makes blocks only for transactions (`cover
/// localnet`) may never pass (the keeper hung there for 60 s).
#[tokio::test]
async fn a_new_lookup_table_waits_past_its_last_extension_only() {
    let mut t = BlockAfterEachSend {
        bank: BankTransport::start(1_700_000_000).await.unwrap(),
        waited: Vec::new(),
    };
    let addresses: Vec<Pubkey> = (0..80).map(|_| Pubkey::new_unique()).collect();
    let made = coverage_sdk::tables::create(&mut t, &[Pubkey::new_unique()], &addresses)
        .await
        .unwrap();
    assert_eq!(made.len(), 1);
    let payer = t.payer();
    let (_, meta) = t.lookup_tables(&payer).await.unwrap().remove(0);
    let now = t.slot().await.unwrap();
    assert!(meta.last_extended_slot < now, "the slot moved on after the extension");
    assert_eq!(t.waited, vec![meta.last_extended_slot]);
}
