//! The keeper on the bank transport: dry runs send nothing; real runs check,
//! settle and release.

use coverage_pool::state::{Market, MarketStatus};
use coverage_sdk::bank::BankTransport;
use coverage_sdk::config::Deployment;
use coverage_sdk::keeper::{Keeper, KeeperConfig};
use coverage_sdk::pda;
use coverage_sdk::pyth::{push_feed_address, PriceUpdate, SPONSORED_SHARD};
use coverage_sdk::transport::{fetch, SendMode};

const T0: i64 = 1_678_338_000;

async fn demo_bank() -> (BankTransport, coverage_sdk::ix::PoolKeys, [u8; 32]) {
    let mut bank = BankTransport::start(T0).await.unwrap();
    let d = Deployment::parse(include_str!("../../../migrations/demo.toml")).unwrap();
    let (keys, _, _) = bank.deploy(&d).await.unwrap();
    (bank, keys, d.markets[0].feed_id().unwrap())
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
    assert_eq!(keeper.metrics.lock().unwrap().checks, 1);
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
    assert_eq!(keeper.metrics.lock().unwrap().triggers, 1);
    assert!(keeper
        .metrics
        .lock()
        .unwrap()
        .prometheus()
        .contains("cover_keeper_triggers_total 1"));
}
