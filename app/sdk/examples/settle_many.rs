//! Settles N policies of distinct owners on the bank with the keeper (lookup
//! tables, the largest batches that fit), and reports the transactions it
//! used, the wall time, and that every owner was paid exactly once.
//!
//! `cargo run --release -p coverage-sdk --features bank --example settle_many -- 10000`

use std::time::Instant;

use coverage_pool::state::{Market, MarketStatus};
use coverage_sdk::keeper::{Keeper, KeeperConfig};
use coverage_sdk::scenario::{largest_settlement, settlement_table, triggered_market_with_policies, COVER};
use coverage_sdk::transport::{fetch, RpcTransport, Transport};

macro_rules! report {
    ($out:expr, $($fmt:tt)*) => {{
        use std::io::Write;
        writeln!($out, $($fmt)*)?;
    }};
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // quiet: solana-program-test logs every instruction unless told otherwise (RUST_LOG);
    // no set_var, the runtime's threads are running
    coverage_sdk::bank::quiet_logs("off");
    let mut out = coverage_sdk::bank::redirect_program_logs(false)?;
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(10_000);
    let started = Instant::now();
    let mut s = triggered_market_with_policies(n).await?;
    report!(
        out,
        "set-up: {n} policies of distinct owners, market triggered ({} transactions, {:.1} s)",
        s.setup_transactions,
        started.elapsed().as_secs_f64()
    );
    // the batch sizes, measured on the transactions: v0 through a table as the bank
    // transport sends it, legacy as the RPC transport would (built offline: nothing is sent)
    let v0 = largest_settlement(&s.bank, &s, &[settlement_table(&s)])?;
    let rpc = RpcTransport::new("http://127.0.0.1:9", solana_keypair::Keypair::new());
    let legacy = largest_settlement(&rpc, &s, &[])?;
    // the keeper's settlement pass (closing the policies afterwards is another matter: counted apart)
    let mut keeper = Keeper::new(
        KeeperConfig {
            close_policies: false,
            ..KeeperConfig::new(s.keys.pool)
        },
        Box::new(|_| {}),
    );
    let before = s.bank.sent;
    let started = Instant::now();
    keeper.tick(&mut s.bank).await?;
    let wall = started.elapsed().as_secs_f64();
    let used = s.bank.sent - before;
    let m: Market = fetch(&mut s.bank, &s.market).await?;
    anyhow::ensure!(
        m.status == MarketStatus::Triggered && m.settlement.released,
        "settled and released"
    );
    anyhow::ensure!(m.settlement.settled_policies == n as u64, "every policy settled");
    // every owner paid exactly once, in full
    let mut paid = 0u64;
    for (_, ata) in &s.owners {
        let balance = s.bank.token_balance(ata).await?;
        anyhow::ensure!(balance == COVER, "an owner was paid {balance}, not {COVER}");
        paid += balance;
    }
    anyhow::ensure!(paid == m.settlement.paid, "payouts add up");
    let batches = keeper.metrics.settle_batches.get();
    let tables = keeper.metrics.lookup_tables.get();
    let table_transactions = used - batches - 1 - tables; // minus settlements, the release, the deactivations
    report!(
        out,
        "keeper: {used} transactions in {wall:.1} s — {batches} settlements (⌈{n} / {v0}⌉ = {}), {tables} lookup tables in {table_transactions} transactions, {tables} deactivations, 1 release",
        n.div_ceil(v0)
    );
    report!(
        out,
        "        a legacy-only keeper would need ⌈{n} / {legacy}⌉ = {} settlements",
        n.div_ceil(legacy)
    );
    report!(out, "every one of the {n} owners was paid exactly {COVER} once");
    // after the cooldown the next pass closes the tables (rent back)
    let payer = s.bank.payer();
    let slot = s.bank.slot().await?;
    s.bank
        .wait_past_slot(slot + coverage_sdk::tables::DEACTIVATION_COOLDOWN_SLOTS + 1)
        .await?;
    let before = s.bank.sent;
    keeper.tick(&mut s.bank).await?;
    anyhow::ensure!(s.bank.lookup_tables(&payer).await?.is_empty(), "tables closed");
    report!(
        out,
        "after the deactivation cooldown: {} tables closed in {} transactions (rent back)",
        keeper.metrics.lookup_tables_closed.get(),
        s.bank.sent - before
    );
    Ok(())
}
