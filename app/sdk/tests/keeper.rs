//! The keeper on the bank transport: dry runs send nothing; real runs check,
//! settle and release.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use anchor_lang::solana_program::program_pack::Pack;
use anchor_spl::token_2022::spl_token_2022::state::Account as TokenAccount;
use coverage_pool::state::{Market, MarketStatus};
use coverage_sdk::bank::BankTransport;
use coverage_sdk::config::Deployment;
use coverage_sdk::keeper::{Keeper, KeeperConfig, NothingToSettle};
use coverage_sdk::pda;
use coverage_sdk::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use coverage_sdk::scenario::COVER;
use coverage_sdk::transport::{fetch, SendMode, Transport};
use coverage_sdk::tx::lookup_table::state::LookupTableMeta;
use coverage_sdk::tx::AddressLookupTableAccount;
use solana_keypair::Keypair;
use solana_signer::Signer;

const T0: i64 = 1_678_338_000;

/// The demo's pool, created the governance delay before T0 so its markets are open at T0.
async fn demo_bank() -> (BankTransport, coverage_sdk::ix::PoolKeys, [u8; 32]) {
    let (bank, keys, feed, _) = demo_bank_with_mint().await;
    (bank, keys, feed)
}

async fn demo_bank_with_mint() -> (BankTransport, coverage_sdk::ix::PoolKeys, [u8; 32], Keypair) {
    let d = Deployment::parse(include_str!("../../../migrations/demo.toml")).unwrap();
    let mut bank = BankTransport::start(T0 - d.pool.governance_delay()).await.unwrap();
    let (keys, mint_authority, _) = bank.deploy(&d).await.unwrap();
    bank.set_time(T0).await.unwrap();
    (bank, keys, d.markets[0].feed_id().unwrap(), mint_authority)
}

#[tokio::test]
async fn a_dry_run_simulates_and_sends_nothing() {
    let (mut bank, keys, feed) = demo_bank().await;
    let account = push_feed_address(&feed, SPONSORED_SHARD);
    bank.install_price(&account, &PriceUpdate::new(feed, 90_000_000, 0, T0));
    let market = pda::market(&keys.pool, 0).0;
    let before: Market = fetch(&mut bank, &market).await.unwrap();
    let sent = bank.sent;
    let mut logs = Vec::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(
        KeeperConfig {
            mode: SendMode::Simulate,
            ..KeeperConfig::new(keys.pool)
        },
        Box::new(move |v| tx.send(v).unwrap()),
    );
    keeper.tick(&mut bank).await.unwrap();
    logs.extend(rx.try_iter());
    assert_eq!(bank.sent, sent, "nothing was sent");
    let after: Market = fetch(&mut bank, &market).await.unwrap();
    assert_eq!(after.last_publish_time, before.last_publish_time);
    assert!(
        logs.iter()
            .any(|l| l["action"] == "check_trigger" && l["dry_run"] == true && l["signature"] == "simulated"),
        "{logs:?}"
    );
    assert_eq!(keeper.metrics.checks.get(), 1);
}

#[tokio::test]
async fn a_real_run_checks_triggers_and_settles_without_double_submissions() {
    let (mut bank, keys, feed) = demo_bank().await;
    let account = push_feed_address(&feed, SPONSORED_SHARD);
    let market = pda::market(&keys.pool, 0).0;
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(|_| {}));
    for (i, price) in [90_000_000i64, 90_000_000, 91_000_000].iter().enumerate() {
        let t = T0 + 1_800 * i as i64;
        bank.set_time(t).await.unwrap();
        bank.install_price(&account, &PriceUpdate::new(feed, *price, 0, t));
        keeper.tick(&mut bank).await.unwrap();
        // a second tick on the same price sends nothing more
        let sent = bank.sent;
        keeper.tick(&mut bank).await.unwrap();
        assert_eq!(bank.sent, sent, "no double submission at step {i}");
    }
    let m: Market = fetch(&mut bank, &market).await.unwrap();
    assert_eq!(m.status, MarketStatus::Triggered);
    assert!(
        m.settlement.released,
        "no cover sold: the keeper released the empty reserve"
    );
    assert_eq!(keeper.metrics.triggers.get(), 1);
    let text = keeper.metrics.prometheus();
    assert!(text.contains("cover_keeper_triggers_total 1"), "{text}");
    // the market's last accepted publish time, labelled by market
    assert!(
        text.contains(&format!(
            "cover_keeper_market_last_publish_timestamp_seconds{{market=\"{market}\"}} {}",
            m.last_publish_time
        )),
        "{text}"
    );
    assert!(
        text.contains("cover_keeper_transaction_confirmation_seconds_count"),
        "{text}"
    );
}

/// The keeper closes finished policies by the program's own rule: never one
/// that a depeg published before its end, still to be reported, could pay.
#[tokio::test]
async fn the_keeper_never_closes_a_policy_a_late_report_could_still_pay() {
    let (mut bank, keys, feed, mint_authority) = demo_bank_with_mint().await;
    let account = push_feed_address(&feed, SPONSORED_SHARD);
    let market = pda::market(&keys.pool, 0).0;
    // capital, then a one-day policy
    let staker = Keypair::new();
    let buyer = Keypair::new();
    for w in [&staker, &buyer] {
        bank.airdrop(&w.pubkey(), 1_000_000_000).await.unwrap();
    }
    let staker_usdc = bank
        .token_account(&keys.collateral_mint, &staker.pubkey())
        .await
        .unwrap();
    let buyer_usdc = bank
        .token_account(&keys.collateral_mint, &buyer.pubkey())
        .await
        .unwrap();
    bank.mint_to(&keys.collateral_mint, &mint_authority, &staker_usdc, 100_000_000_000)
        .await
        .unwrap();
    bank.mint_to(&keys.collateral_mint, &mint_authority, &buyer_usdc, 1_000_000_000)
        .await
        .unwrap();
    let shares = bank.token_account(&keys.share_mint(0), &staker.pubkey()).await.unwrap();
    let deposit = coverage_sdk::ix::deposit(&staker.pubkey(), &keys, 0, &staker_usdc, &shares, 100_000_000_000, 0);
    bank.send(&[deposit], &[&staker], SendMode::Send).await.unwrap();
    bank.install_price(&account, &PriceUpdate::new(feed, 100_000_000, 10_000, T0));
    let k = coverage_sdk::ix::BuyCoverKeys {
        keys,
        market,
        policy_id: 0,
        payer_collateral: buyer_usdc,
        price_update: account,
    };
    let buy = coverage_sdk::ix::buy_cover(&buyer.pubkey(), &buyer.pubkey(), &k, 10_000_000_000, 1, u64::MAX);
    bank.send(&[buy], &[&buyer], SendMode::Send).await.unwrap();
    let policy = pda::policy(&market, 0).0;
    let end = fetch::<coverage_pool::state::Policy, _>(&mut bank, &policy)
        .await
        .unwrap()
        .end_time;
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(|_| {}));
    // 10 s after the end the feed's last price is from 5 s before it: a depeg
    // published in between could still be reported, so the policy stays
    bank.set_time(end + 10).await.unwrap();
    bank.install_price(&account, &PriceUpdate::new(feed, 100_000_000, 10_000, end - 5));
    keeper.tick(&mut bank).await.unwrap();
    assert!(
        bank.account(&policy).await.unwrap().is_some(),
        "closed while still claimable"
    );
    assert_eq!(keeper.metrics.policies_closed.get(), 0);
    // max_price_age (60 s) after the end no report can reach it any more
    bank.set_time(end + 60).await.unwrap();
    keeper.tick(&mut bank).await.unwrap();
    assert!(
        bank.account(&policy).await.unwrap().is_none(),
        "finished policy left open"
    );
    assert_eq!(keeper.metrics.policies_closed.get(), 1);
}

/// Says whether a send of these instructions fails.
type FailWhen = Box<dyn FnMut(&[Instruction]) -> bool + Send>;

/// The bank behind a connection that fails as told: a send for which `fail`
/// says so never reaches the bank (as when the node cannot be reached), and
/// the accounts in `stale` read as they were (a node lagging behind).
struct Faulty {
    bank: BankTransport,
    fail: FailWhen,
    stale: std::collections::HashMap<Pubkey, solana_account::Account>,
    /// Lookup-table scans asked for.
    scans: usize,
}

impl Faulty {
    fn new(bank: BankTransport) -> Self {
        Self {
            bank,
            fail: Box::new(|_| false),
            stale: Default::default(),
            scans: 0,
        }
    }
}

impl Transport for Faulty {
    fn payer(&self) -> Pubkey {
        self.bank.payer()
    }
    async fn account(&mut self, address: &Pubkey) -> anyhow::Result<Option<solana_account::Account>> {
        match self.stale.get(address) {
            Some(old) => Ok(Some(old.clone())),
            None => self.bank.account(address).await,
        }
    }
    async fn send_with_tables(
        &mut self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
        mode: SendMode,
    ) -> anyhow::Result<String> {
        if (self.fail)(ixs) {
            anyhow::bail!("error sending request for url (http://127.0.0.1:8899/): connection refused");
        }
        self.bank.send_with_tables(ixs, signers, tables, mode).await
    }
    fn transaction(
        &self,
        ixs: &[Instruction],
        signers: &[&Keypair],
        tables: &[AddressLookupTableAccount],
    ) -> anyhow::Result<solana_transaction::versioned::VersionedTransaction> {
        self.bank.transaction(ixs, signers, tables)
    }
    async fn recent_slot(&mut self) -> anyhow::Result<u64> {
        self.bank.recent_slot().await
    }
    async fn wait_past_slot(&mut self, slot: u64) -> anyhow::Result<()> {
        self.bank.wait_past_slot(slot).await
    }
    async fn slot(&mut self) -> anyhow::Result<u64> {
        self.bank.slot().await
    }
    async fn lookup_tables(
        &mut self,
        authority: &Pubkey,
    ) -> anyhow::Result<Vec<(AddressLookupTableAccount, LookupTableMeta)>> {
        self.scans += 1;
        self.bank.lookup_tables(authority).await
    }
    async fn now(&mut self) -> anyhow::Result<i64> {
        self.bank.now().await
    }
}

/// Only the program's refusals count as rejected checks: a node that cannot
/// be reached is an error of the pass (it used to count as a rejection, so
/// an outage looked like bad prices).
#[tokio::test]
async fn an_unreachable_node_is_an_error_and_only_a_refusal_a_rejected_check() {
    let (bank, keys, feed) = demo_bank().await;
    let account = push_feed_address(&feed, SPONSORED_SHARD);
    let mut t = Faulty::new(bank);
    t.fail = Box::new(|_| true);
    t.bank
        .install_price(&account, &PriceUpdate::new(feed, 100_000_000, 10_000, T0));
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    keeper.tick(&mut t).await.unwrap();
    assert_eq!(keeper.metrics.checks_rejected.get(), 0, "nothing was refused");
    assert_eq!(keeper.metrics.errors.get(), 1, "the market's pass failed");
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    assert!(
        logs.iter()
            .any(|l| l["level"] == "error" && l["error"].as_str().unwrap().contains("connection refused")),
        "{logs:?}"
    );
    // the node answers again; a price older than the market's max age is the program's refusal
    t.fail = Box::new(|_| false);
    t.bank.set_time(T0 + 3_600).await.unwrap();
    keeper.tick(&mut t).await.unwrap();
    assert_eq!(keeper.metrics.checks_rejected.get(), 1);
    assert_eq!(keeper.metrics.errors.get(), 1, "no new error");
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    assert!(
        logs.iter().any(|l| l["action"] == "check_trigger"
            && l["level"] == "warn"
            && l["error"].as_str().unwrap().contains("StalePrice")),
        "{logs:?}"
    );
}

/// A token account's state as the token program keeps it.
fn token_state(acc: &solana_account::Account) -> TokenAccount {
    TokenAccount::unpack(&acc.data[..TokenAccount::LEN]).unwrap()
}

/// Rewrites the token account at `address` with `change` (what the token
/// program's SetAuthority or FreezeAccount leaves there).
async fn rewrite_token_account(bank: &mut BankTransport, address: &Pubkey, change: impl FnOnce(&mut TokenAccount)) {
    let mut acc = bank.account(address).await.unwrap().unwrap();
    let mut state = token_state(&acc);
    change(&mut state);
    TokenAccount::pack(state, &mut acc.data[..TokenAccount::LEN]).unwrap();
    bank.ctx.set_account(address, &acc.into());
}

/// Freezes or thaws the token account at `address` (what the mint's freeze
/// authority does).
async fn set_frozen(bank: &mut BankTransport, address: &Pubkey, frozen: bool) {
    use anchor_spl::token_2022::spl_token_2022::state::AccountState;
    rewrite_token_account(bank, address, |a| {
        a.state = if frozen {
            AccountState::Frozen
        } else {
            AccountState::Initialized
        }
    })
    .await;
}

fn is_settled(bank_account: Option<solana_account::Account>) -> bool {
    match bank_account {
        None => true, // settled, then closed in the same pass
        Some(acc) => {
            coverage_sdk::keeper::decode_policy(&acc.data).unwrap().status
                == coverage_pool::state::PolicyStatus::Settled
        }
    }
}

/// One owner's token account that cannot take a payout must not hold up
/// anyone else's (the whole batch used to fail, every pass, until the claim
/// deadline released the reserve and the owners still unpaid lost their
/// claims). The keeper checks each account (token program, mint, owner, not
/// frozen) before it sends:
/// * lamports sent to an owner's associated-account address before it
///   existed (system-owned, empty): created like a missing one, then paid;
/// * an associated account handed to another owner, or frozen: the policy is
///   skipped and reported, the others paid;
/// * a handed-away associated account whose owner holds another token account
///   of the mint: paid there (the program accepts any token account of the
///   owner for the pool's mint).
#[tokio::test]
async fn bad_owner_token_accounts_do_not_block_the_other_payouts() {
    let mut s = coverage_sdk::scenario::triggered_market_with_policies(30)
        .await
        .unwrap();
    let (prefunded, handed, frozen, handed_but_other) = (2usize, 9usize, 17usize, 24usize);
    let system_owned = solana_account::Account {
        lamports: 1_000_000,
        data: vec![],
        owner: anchor_lang::system_program::ID,
        executable: false,
        rent_epoch: 0,
    };
    s.bank.ctx.set_account(&s.owners[prefunded].1, &system_owned.into());
    for i in [handed, handed_but_other] {
        rewrite_token_account(&mut s.bank, &s.owners[i].1, |a| a.owner = Pubkey::new_unique()).await;
    }
    set_frozen(&mut s.bank, &s.owners[frozen].1, true).await;
    let other = Keypair::new();
    let owner = s.owners[handed_but_other].0;
    let create_other = [
        solana_system_interface::instruction::create_account(
            &s.bank.payer(),
            &other.pubkey(),
            10_000_000,
            TokenAccount::LEN as u64,
            &s.keys.token_program,
        ),
        anchor_spl::token_2022::spl_token_2022::instruction::initialize_account3(
            &s.keys.token_program,
            &other.pubkey(),
            &s.keys.collateral_mint,
            &owner,
        )
        .unwrap(),
    ];
    s.bank.send(&create_other, &[&other], SendMode::Send).await.unwrap();

    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(s.keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    keeper.tick(&mut s.bank).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    for (i, (policy, (_, ata))) in s.policies.iter().zip(&s.owners).enumerate() {
        let settled = is_settled(s.bank.account(policy).await.unwrap());
        if i == handed || i == frozen {
            assert!(!settled, "policy {i} cannot be paid: left unsettled");
            continue;
        }
        assert!(settled, "policy {i} settled; log: {logs:#?}");
        let paid_to = if i == handed_but_other { other.pubkey() } else { *ata };
        assert_eq!(s.bank.token_balance(&paid_to).await.unwrap(), COVER, "owner {i} paid");
    }
    assert_eq!(s.bank.token_balance(&s.owners[handed].1).await.unwrap(), 0);
    assert_eq!(keeper.metrics.policies_skipped.get(), 2);
    assert_eq!(keeper.metrics.errors.get(), 0, "{logs:#?}");
    for (i, why) in [(handed, "owned by"), (frozen, "frozen")] {
        assert!(
            logs.iter().any(|l| l["action"] == "skip_policy"
                && l["policy"] == s.policies[i].to_string()
                && l["reason"].as_str().unwrap().contains(why)),
            "policy {i} reported ({why}): {logs:#?}"
        );
    }
    let m: Market = fetch(&mut s.bank, &s.market).await.unwrap();
    assert_eq!(m.settlement.settled_policies, 28);
    assert!(!m.settlement.released, "two eligible policies are still owed");
    // the next pass skips them again without sending anything: no batch retried forever
    let sent = s.bank.sent;
    keeper.tick(&mut s.bank).await.unwrap();
    assert_eq!(s.bank.sent, sent);
    assert_eq!(keeper.metrics.policies_skipped.get(), 2, "reported once each");
}

/// A batch refused on chain (here the node showed a token account as it was
/// before it was frozen, so the check before sending passed) is split until
/// the pair that fails is alone: every other policy is paid in the same pass.
#[tokio::test]
async fn a_refused_settlement_batch_is_split_to_isolate_the_bad_pair() {
    let s = coverage_sdk::scenario::triggered_market_with_policies(30)
        .await
        .unwrap();
    let (keys, market, policies, owners) = (s.keys, s.market, s.policies, s.owners);
    let mut t = Faulty::new(s.bank);
    let bad = 13usize;
    let before = t.bank.account(&owners[bad].1).await.unwrap().unwrap();
    t.stale.insert(owners[bad].1, before);
    set_frozen(&mut t.bank, &owners[bad].1, true).await;
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    keeper.tick(&mut t).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    for (i, (policy, (_, ata))) in policies.iter().zip(&owners).enumerate() {
        let settled = is_settled(t.bank.account(policy).await.unwrap());
        assert_eq!(settled, i != bad, "policy {i}; log: {logs:#?}");
        if i != bad {
            assert_eq!(t.bank.token_balance(ata).await.unwrap(), COVER);
        }
    }
    assert_eq!(keeper.metrics.policies_skipped.get(), 1);
    assert_eq!(keeper.metrics.errors.get(), 0, "{logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l["action"] == "skip_policy" && l["policy"] == policies[bad].to_string()),
        "{logs:#?}"
    );
    let m: Market = fetch(&mut t.bank, &market).await.unwrap();
    assert_eq!(m.settlement.settled_policies, 29);
}

/// Creating a token account at an address that already holds lamports (less
/// than its rent) runs 7 instructions: the associated-token program, the
/// token program's size query, the system program's transfer, allocate and
/// assign, the token program's two initializations. With the two
/// compute-budget instructions in front, 8 creations fit the runtime's
/// 64-instruction trace, not 9 (the keeper sent 9 and the pass failed).
#[tokio::test]
async fn pre_funded_token_account_addresses_are_created_eight_a_transaction() {
    let mut s = coverage_sdk::scenario::triggered_market_with_policies(20)
        .await
        .unwrap();
    let some_lamports = solana_account::Account {
        lamports: 1_000_000, // above a bare account's rent, below a token account's
        data: vec![],
        owner: anchor_lang::system_program::ID,
        executable: false,
        rent_epoch: 0,
    };
    for (_, ata) in &s.owners[..12] {
        s.bank.ctx.set_account(ata, &some_lamports.clone().into());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(s.keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    keeper.tick(&mut s.bank).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    assert_eq!(keeper.metrics.errors.get(), 0, "{logs:#?}");
    for (_, ata) in &s.owners {
        assert_eq!(s.bank.token_balance(ata).await.unwrap(), COVER);
    }
    assert_eq!(coverage_sdk::tx::MAX_TOKEN_ACCOUNT_CREATIONS, 8);
}

/// Whether `ixs` settle policies.
fn is_settlement(ixs: &[Instruction]) -> bool {
    use anchor_lang::Discriminator;
    ixs.iter().any(|ix| {
        ix.program_id == coverage_pool::ID
            && ix
                .data
                .starts_with(coverage_pool::instruction::SettlePolicies::DISCRIMINATOR)
    })
}

/// The keeper reads the market before it settles: a market that has not
/// triggered, or is released, is refused by name and nothing is sent (it used
/// to create owners' token accounts and lookup tables for a settlement the
/// program then refused).
#[tokio::test]
async fn settlement_is_refused_on_a_market_that_has_not_triggered() {
    let (mut bank, keys, _) = demo_bank().await;
    let market = pda::market(&keys.pool, 0).0;
    let sent = bank.sent;
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(|_| {}));
    let err = keeper.settle(&mut bank, &keys, &market).await.unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<NothingToSettle>(),
            Some(NothingToSettle::NotTriggered { .. })
        ),
        "{err:#}"
    );
    assert_eq!(bank.sent, sent, "nothing was sent");
}

/// The owner of `policies[FROZEN]` whose token account is frozen.
const FROZEN: usize = 5;

/// 60 policies on a triggered market behind a [`Faulty`] node, the token
/// account of owner [`FROZEN`] frozen (its pair cannot be settled yet).
async fn sixty_policies_one_frozen() -> (
    coverage_sdk::ix::PoolKeys,
    Pubkey,
    Vec<Pubkey>,
    Vec<(Pubkey, Pubkey)>,
    Faulty,
) {
    let s = coverage_sdk::scenario::triggered_market_with_policies(60)
        .await
        .unwrap();
    let mut t = Faulty::new(s.bank);
    set_frozen(&mut t.bank, &s.owners[FROZEN].1, true).await;
    (s.keys, s.market, s.policies, s.owners, t)
}

/// Lookup tables are written once per set of accounts and kept across
/// passes: a pass interrupted mid-settlement (the node unreachable) leaves
/// its table, and the next pass settles through it, extended with the one
/// pair it did not hold (an owner who fixed a frozen account meanwhile),
/// rather than writing every address again into new tables. The tables are
/// scanned from the cluster once, not every pass.
#[tokio::test]
async fn lookup_tables_are_reused_and_extended_across_passes() {
    let (keys, market, policies, owners, mut t) = sixty_policies_one_frozen().await;
    let payer = t.payer();
    // the node goes away after the first settlement transaction
    let mut settlements = 0;
    t.fail = Box::new(move |ixs| {
        if is_settlement(ixs) {
            settlements += 1;
        }
        settlements > 1
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    keeper.tick(&mut t).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    assert_eq!(keeper.metrics.errors.get(), 1, "{logs:#?}");
    assert_eq!(keeper.metrics.lookup_tables.get(), 1, "{logs:#?}");
    assert_eq!(keeper.metrics.policies_settled.get(), 28);
    let tables = t.bank.lookup_tables(&payer).await.unwrap();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0].0.addresses.len(), 5 + 2 * 59, "every payable pair written");

    // the node is back and the owner unfroze the account
    t.fail = Box::new(|_| false);
    set_frozen(&mut t.bank, &owners[FROZEN].1, false).await;
    keeper.tick(&mut t).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    assert_eq!(keeper.metrics.errors.get(), 1, "no new error: {logs:#?}");
    assert_eq!(keeper.metrics.lookup_tables.get(), 1, "no new table: {logs:#?}");
    let tables = t.bank.lookup_tables(&payer).await.unwrap();
    assert_eq!(tables.len(), 1, "{logs:#?}");
    let (table, meta) = &tables[0];
    assert_eq!(table.addresses.len(), 5 + 2 * 60, "extended with the new pair");
    assert!(table.addresses.contains(&policies[FROZEN]));
    assert_ne!(meta.deactivation_slot, u64::MAX, "deactivated after the release");
    for (i, policy) in policies.iter().enumerate() {
        assert!(is_settled(t.bank.account(policy).await.unwrap()), "policy {i}");
    }
    let m: Market = fetch(&mut t.bank, &market).await.unwrap();
    assert!(m.settlement.released);
    assert_eq!(t.scans, 1, "the tables were scanned once");
    // a released market is refused by name
    let err = keeper.settle(&mut t, &keys, &market).await.unwrap_err();
    assert!(
        matches!(
            err.downcast_ref::<NothingToSettle>(),
            Some(NothingToSettle::Released { .. })
        ),
        "{err:#}"
    );
}

/// The keeper's cached copy of a table can fall behind the chain (an
/// extension that landed after its send was reported failed, another process
/// with the same key): a v0 transaction names addresses by their position on
/// chain, so the table is read again before it is used. With the stale copy
/// the new pair was compiled one position off and its settlement refused.
#[tokio::test]
async fn a_table_extended_elsewhere_is_read_again_before_it_is_used() {
    let (keys, market, policies, owners, mut t) = sixty_policies_one_frozen().await;
    let payer = t.payer();
    // the first pass writes the table and settles nothing (the node fails every settlement)
    t.fail = Box::new(is_settlement);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    keeper.tick(&mut t).await.unwrap();
    let tables = t.bank.lookup_tables(&payer).await.unwrap();
    assert_eq!(tables.len(), 1);
    let table = tables[0].0.key;

    // meanwhile one more address lands in the table, the keeper's cache does not know it
    let extend = coverage_sdk::tx::lookup_table::instruction::extend_lookup_table(
        table,
        payer,
        Some(payer),
        vec![Pubkey::new_unique()],
    );
    t.bank.send(&[extend], &[], SendMode::Send).await.unwrap();
    let slot = t.bank.slot().await.unwrap();
    t.bank.wait_past_slot(slot).await.unwrap();

    // the node is back and the owner unfroze the account: its pair is appended and settled
    t.fail = Box::new(|_| false);
    set_frozen(&mut t.bank, &owners[FROZEN].1, false).await;
    keeper.tick(&mut t).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    for (i, policy) in policies.iter().enumerate() {
        assert!(
            is_settled(t.bank.account(policy).await.unwrap()),
            "policy {i}: {logs:#?}"
        );
    }
    let tables = t.bank.lookup_tables(&payer).await.unwrap();
    assert_eq!(tables.len(), 1, "the table was reused");
    assert_eq!(tables[0].0.addresses.len(), 5 + 2 * 59 + 1 + 2);
    let m: Market = fetch(&mut t.bank, &market).await.unwrap();
    assert!(m.settlement.released);
}

/// Finished policies are closed many a transaction, not one each.
#[tokio::test]
async fn finished_policies_are_closed_in_batches() {
    let mut s = coverage_sdk::scenario::triggered_market_with_policies(20)
        .await
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(s.keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    keeper.tick(&mut s.bank).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    assert_eq!(keeper.metrics.policies_closed.get(), 20, "{logs:#?}");
    for policy in &s.policies {
        assert!(s.bank.account(policy).await.unwrap().is_none(), "closed");
    }
    let signatures: std::collections::BTreeSet<&str> = logs
        .iter()
        .filter(|l| l["action"] == "close_policy")
        .map(|l| l["signature"].as_str().unwrap())
        .collect();
    // 20 closes of distinct owners fit 2 legacy transactions (one close names 2 new accounts)
    assert_eq!(signatures.len(), 2, "{logs:#?}");
}

/// A policy no close can take (its owner was transferred to an address no
/// transaction may write: a sysvar) is reported and the others in its batch
/// are closed; it used to fail its whole batch and stop every later one.
#[tokio::test]
async fn a_policy_no_close_can_take_does_not_hold_up_the_others() {
    use anchor_lang::{AccountDeserialize, AccountSerialize, Discriminator};
    let s = coverage_sdk::scenario::triggered_market_with_policies(20)
        .await
        .unwrap();
    let mut t = Faulty::new(s.bank);
    // the first pass settles every policy and closes none (the node fails the closes)
    let is_close = |ixs: &[Instruction]| {
        ixs.iter().any(|ix| {
            ix.program_id == coverage_pool::ID
                && ix
                    .data
                    .starts_with(coverage_pool::instruction::ClosePolicy::DISCRIMINATOR)
        })
    };
    t.fail = Box::new(is_close);
    let (tx, rx) = std::sync::mpsc::channel();
    let mut keeper = Keeper::new(KeeperConfig::new(s.keys.pool), Box::new(move |v| tx.send(v).unwrap()));
    let _ = keeper.tick(&mut t).await;
    for policy in &s.policies {
        assert!(is_settled(t.bank.account(policy).await.unwrap()));
    }
    // one owner hands its settled policy to the Clock sysvar (transfer_policy takes any address)
    let stuck = s.policies[3];
    let mut acc = t.bank.account(&stuck).await.unwrap().unwrap();
    let mut policy = coverage_pool::state::Policy::try_deserialize(&mut &acc.data[..]).unwrap();
    policy.owner = anchor_lang::pubkey!("SysvarC1ock11111111111111111111111111111111");
    let mut data = Vec::new();
    policy.try_serialize(&mut data).unwrap();
    acc.data[..data.len()].copy_from_slice(&data);
    t.bank.ctx.set_account(&stuck, &acc.into());

    t.fail = Box::new(|_| false);
    keeper.tick(&mut t).await.unwrap();
    let logs: Vec<serde_json::Value> = rx.try_iter().collect();
    assert_eq!(keeper.metrics.policies_closed.get(), 19, "{logs:#?}");
    for policy in &s.policies {
        assert_eq!(
            t.bank.account(policy).await.unwrap().is_some(),
            *policy == stuck,
            "{policy}"
        );
    }
    let refused: Vec<_> = logs.iter().filter(|l| l["action"] == "close_policy_refused").collect();
    assert_eq!(refused.len(), 1, "{logs:#?}");
    assert_eq!(refused[0]["policy"], stuck.to_string());
}
