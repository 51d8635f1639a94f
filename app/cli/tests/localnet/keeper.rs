//! `cover keeper run`, the binary, against a node replaying the real USDC
//! series of March 2023: it reports the prices, sees the 1-hour market
//! trigger, settles every eligible policy through lookup tables (more
//! policies of distinct owners than a legacy transaction holds), releases
//! the reserve, closes finished policies and later its tables; `/metrics`
//! and `/health` scraped while it runs; `--dry-run` changes nothing; SIGKILL
//! mid-settlement and a restart neither pay twice nor skip anyone; SIGINT
//! stops it cleanly.

use std::collections::HashMap;
use std::sync::mpsc::{Receiver, RecvTimeoutError};

use coverage_pool::state::MarketStatus;
use solana_keypair::read_keypair_file;

use super::*;

/// Policies bought, each by its own owner: four settlement transactions
/// through a lookup table (28 pairs each), so a kill as soon as the first
/// one is logged lands mid-settlement even on a busy machine.
const POLICIES: usize = 90;
/// Cover per policy.
const COVER: u64 = 100 * USDC;
/// The replay's streak opens at this publish time (README, trigger table).
const STREAK_START: i64 = 1_678_523_400;
/// And the 1-hour market triggers here.
const TRIGGER: i64 = 1_678_527_000;

/// A running `cover keeper run`: its JSON log lines as they come.
struct Daemon {
    child: Child,
    lines: Receiver<Value>,
    seen: Vec<Value>,
    metrics: String,
}

impl Daemon {
    fn start(node: &Node, keypair: &Path, pool: &Pubkey, extra: &[&str]) -> Self {
        let port = free_port();
        let mut child = node
            .cover()
            .arg("--keypair")
            .arg(keypair)
            .args(["keeper", "run", "--pool", &pool.to_string(), "--interval", "1"])
            .args(["--metrics-port", &port.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn cover keeper run");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let v: Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Daemon {
            child,
            lines,
            seen: Vec::new(),
            metrics: format!("http://127.0.0.1:{port}"),
        }
    }

    /// Waits for a log line matching `wanted` (within `secs`); returns it.
    fn wait_for(&mut self, what: &str, secs: u64, wanted: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| wanted(v)) {
            return v.clone();
        }
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            match self
                .lines
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            {
                Ok(v) => {
                    assert_ne!(v["level"], "error", "the keeper failed: {v}");
                    self.seen.push(v.clone());
                    if wanted(&v) {
                        return v;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!("no {what} within {secs} s; log: {:#?}", self.seen),
                Err(RecvTimeoutError::Disconnected) => panic!("the keeper exited before {what}; log: {:#?}", self.seen),
            }
        }
    }

    /// Log lines of `action` seen so far (after draining what is waiting).
    fn actions(&mut self, action: &str) -> Vec<Value> {
        while let Ok(v) = self.lines.try_recv() {
            assert_ne!(v["level"], "error", "the keeper failed: {v}");
            self.seen.push(v);
        }
        self.seen.iter().filter(|v| v["action"] == action).cloned().collect()
    }

    /// `/metrics` as a map from series (name and labels) to value.
    async fn scrape(&self) -> HashMap<String, f64> {
        let r = reqwest::get(format!("{}/metrics", self.metrics)).await.unwrap();
        assert_eq!(r.status(), 200);
        let content_type = r.headers()["content-type"].to_str().unwrap().to_string();
        assert!(
            content_type.starts_with("application/openmetrics-text"),
            "{content_type}"
        );
        let text = r.text().await.unwrap();
        assert!(text.trim_end().ends_with("# EOF"), "{text}");
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .map(|(series, value)| (series.to_string(), value.parse().unwrap()))
            .collect()
    }

    async fn health(&self) -> (u16, Value) {
        let r = reqwest::get(format!("{}/health", self.metrics)).await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on now (the kernel's pick).
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A metric that must be there.
fn metric(m: &HashMap<String, f64>, series: &str) -> f64 {
    *m.get(series).unwrap_or_else(|| panic!("no {series} in {m:#?}"))
}

/// The lookup tables `authority` holds.
async fn tables_of(node: &Node, authority: &Pubkey) -> Vec<Pubkey> {
    RpcTransport::read_only(&node.rpc())
        .lookup_tables(authority)
        .await
        .unwrap()
        .into_iter()
        .map(|(t, _)| t.key)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keeper_daemon_settles_a_replayed_depeg() {
    let started = Instant::now();
    let csv = format!("{}/../../data/usdc-2023-03-svb.csv", env!("CARGO_MANIFEST_DIR"));
    let node = Node::start(&["--prices", &csv, "--speed", "240"]);
    let client = node.client();
    let keys = node.keys();
    let (usdc_market, usdc_feed) = node.market(0);
    let (usdt_market, _) = node.market(1);

    // ---- capital, then cover bought by distinct owners while the price is healthy
    let staker = read_keypair_file(node.info_path("user_keypair")).unwrap();
    let staker_usdc = ata(&staker.pubkey(), &keys.collateral_mint);
    let staker_shares = ata(&staker.pubkey(), &keys.share_mint(0));
    send(
        &client,
        &[
            spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &staker.pubkey(),
                &staker.pubkey(),
                &keys.share_mint(0),
                &keys.token_program,
            ),
            ix::deposit(
                &staker.pubkey(),
                &keys,
                0,
                &staker_usdc,
                &staker_shares,
                500_000 * USDC,
                1,
            ),
        ],
        &staker,
    )
    .await
    .unwrap();
    let buy = |owner: &Keypair, policy_id: u64, days: u16| {
        let k = BuyCoverKeys {
            keys,
            market: usdc_market,
            policy_id,
            payer_collateral: ata(&owner.pubkey(), &keys.collateral_mint),
            price_update: usdc_feed,
        };
        ix::buy_cover(&owner.pubkey(), &owner.pubkey(), &k, COVER, days, 100 * USDC)
    };
    let mut owners = Vec::new();
    for id in 0..POLICIES as u64 {
        let owner = wallet(&client, 1_000 * USDC).await;
        send(&client, &[buy(&owner, id, 30)], &owner).await.unwrap();
        owners.push(owner);
    }
    // one more that ends long before the depeg: never paid, closed by the keeper
    let expired = wallet(&client, 1_000 * USDC).await;
    send(&client, &[buy(&expired, POLICIES as u64, 1)], &expired)
        .await
        .unwrap();
    let mut paid_before = Vec::new();
    for o in owners.iter().chain([&expired]) {
        paid_before.push(token_amount(&client, &ata(&o.pubkey(), &keys.collateral_mint)).await);
    }

    // ---- to a quarter of an hour before the streak opens
    let now = RpcTransport::read_only(&node.rpc()).now().await.unwrap();
    assert!(now < STREAK_START - 900, "{now}");
    let set = control(&client, "localnet_setClock", json!([STREAK_START - 900])).await;
    // the clock runs on (240x) while the block at the new time is made
    let at = set["unixTimestamp"].as_i64().unwrap();
    assert!((STREAK_START - 900..STREAK_START - 600).contains(&at), "{set}");
    let keeper = wallet(&client, 0).await;
    let keeper_file = node.keypair_file("keeper", &keeper);

    // ---- a dry run sends nothing: the ledger is unchanged
    let count = || async {
        client
            .send::<u64>(RpcRequest::GetTransactionCount, json!([{"commitment": "confirmed"}]))
            .await
            .unwrap()
    };
    let mut watched: Vec<Pubkey> = vec![keys.pool, usdc_market, usdt_market, keys.vault(), keeper.pubkey()];
    watched.extend((0..=POLICIES as u64).map(|id| pda::policy(&usdc_market, id).0));
    let snapshot = || async {
        let accounts = client.get_multiple_accounts(&watched).await.unwrap();
        (count().await, format!("{accounts:?}"))
    };
    let before = snapshot().await;
    let out = node
        .cover()
        .arg("--keypair")
        .arg(&keeper_file)
        .args(["keeper", "run", "--pool", &keys.pool.to_string(), "--dry-run", "--once"])
        .args(["--metrics-port", "0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let log: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let simulated = log
        .iter()
        .find(|v| v["action"] == "check_trigger" && v["market"] == usdc_market.to_string())
        .unwrap_or_else(|| panic!("the dry run would report the USDC price: {log:#?}"));
    assert_eq!(
        (&simulated["signature"], &simulated["dry_run"]),
        (&json!("simulated"), &json!(true))
    );
    assert_eq!(snapshot().await, before, "a dry run sends nothing");

    // ---- the daemon: it reports, sees the trigger, builds a lookup table, settles
    let mut first = Daemon::start(&node, &keeper_file, &keys.pool, &[]);
    first.wait_for("the first pass", 60, |v| v["action"] == "check_trigger");
    let (status, health) = first.health().await;
    assert_eq!(status, 200, "{health}");
    assert_eq!(health["healthy"], true);
    let m = first.scrape().await;
    assert!(metric(&m, "cover_keeper_ticks_total") + metric(&m, "cover_keeper_checks_total") >= 1.0);
    for name in [
        "cover_keeper_checks_rejected_total",
        "cover_keeper_policies_settled_total",
        "cover_keeper_errors_total",
        "cover_keeper_lookup_tables_total",
        "cover_keeper_transaction_confirmation_seconds_count",
    ] {
        metric(&m, name);
    }
    let triggered = first.wait_for("the trigger", 120, |v| {
        v["action"] == "check_trigger" && v["market"] == usdc_market.to_string() && v["status"] == "Triggered"
    });
    let market: Market = read(&client, &usdc_market).await;
    assert_eq!(market.status, MarketStatus::Triggered);
    // the streak opens at the first report of the 08:30 row or after it, within a pass or two
    assert!(
        (STREAK_START..STREAK_START + 900).contains(&market.event.streak_start),
        "{triggered}: streak from {}",
        market.event.streak_start
    );
    assert!(market.event.trigger_time >= TRIGGER && market.event.trigger_time - market.event.streak_start >= 3_600);
    assert_eq!(market.settlement.eligible_cover, POLICIES as u64 * COVER);
    let tables = first.wait_for("lookup tables", 60, |v| v["action"] == "lookup_tables");
    assert_eq!(tables["addresses"], 2 * POLICIES, "a (policy, token account) pair each");
    let batch = first.wait_for("a settlement", 60, |v| v["action"] == "settle_policies");
    assert_eq!(batch["v0"], true, "through the lookup table");
    // killed mid-settlement
    signal(&first.child, libc::SIGKILL);
    let _ = first.child.wait();
    let market: Market = read(&client, &usdc_market).await;
    let settled_first = market.settlement.settled_policies;
    assert!(
        0 < settled_first && settled_first < POLICIES as u64,
        "killed mid-settlement: {settled_first} of {POLICIES} settled"
    );
    assert!(!market.settlement.released);
    let orphans = tables_of(&node, &keeper.pubkey()).await;
    assert!(!orphans.is_empty(), "the killed run's table is on chain");

    // ---- restarted: it settles the rest (and no one twice), releases, closes, tidies up
    let mut second = Daemon::start(&node, &keeper_file, &keys.pool, &[]);
    second.wait_for("the release", 120, |v| v["action"] == "release_reserve");
    let deadline = Instant::now() + Duration::from_secs(120);
    while second.actions("close_policy").len() < POLICIES
        || second.actions("deactivate_lookup_table").len() < tables_of(&node, &keeper.pubkey()).await.len()
    {
        assert!(Instant::now() < deadline, "{:#?}", second.seen);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let market: Market = read(&client, &usdc_market).await;
    let s = market.settlement;
    assert!(s.released);
    assert_eq!(
        (s.settled_policies, s.settled_cover, s.paid),
        (POLICIES as u64, POLICIES as u64 * COVER, POLICIES as u64 * COVER)
    );
    let m = second.scrape().await;
    assert_eq!(
        metric(&m, "cover_keeper_policies_settled_total") as u64,
        POLICIES as u64 - settled_first,
        "the restart settled only the rest"
    );
    assert_eq!(metric(&m, "cover_keeper_releases_total"), 1.0);
    assert_eq!(metric(&m, "cover_keeper_policies_closed_total") as usize, POLICIES);
    // the killed run's table holds every pair: the restart finds it and settles through it
    assert_eq!(
        metric(&m, "cover_keeper_lookup_tables_total"),
        0.0,
        "{:#?}",
        second.actions("lookup_tables")
    );
    assert!(metric(&m, "cover_keeper_transaction_confirmation_seconds_count") >= 1.0);
    assert_eq!(metric(&m, "cover_keeper_errors_total"), 0.0);
    let gauge = format!("cover_keeper_market_last_publish_timestamp_seconds{{market=\"{usdc_market}\"}}");
    assert_eq!(
        metric(&m, &gauge) as i64,
        market.last_publish_time,
        "a triggered market takes no more reports"
    );
    let usdt_gauge = format!("cover_keeper_market_last_publish_timestamp_seconds{{market=\"{usdt_market}\"}}");
    assert!(metric(&m, &usdt_gauge) > 0.0);
    assert_eq!(second.health().await.0, 200);

    // every owner paid exactly once, the expired policy never; every policy closed
    for (i, o) in owners.iter().enumerate() {
        let balance = token_amount(&client, &ata(&o.pubkey(), &keys.collateral_mint)).await;
        assert_eq!(balance, paid_before[i] + COVER, "owner {i} paid once");
        assert!(!exists(&client, &pda::policy(&usdc_market, i as u64).0).await);
    }
    let expired_balance = token_amount(&client, &ata(&expired.pubkey(), &keys.collateral_mint)).await;
    assert_eq!(expired_balance, paid_before[POLICIES]);
    assert!(!exists(&client, &pda::policy(&usdc_market, POLICIES as u64).0).await);
    let (vault, books) = vault_and_books(&client, &keys).await;
    assert_eq!(vault, books);

    // ---- the deactivated tables (the killed run's too) close once the cluster allows
    let all_tables = tables_of(&node, &keeper.pubkey()).await;
    assert!(orphans.iter().all(|t| all_tables.contains(t)));
    assert_eq!(
        all_tables.len(),
        orphans.len(),
        "the restart reused the killed run's table"
    );
    let mut advances = 0u32;
    while second.actions("close_lookup_table").len() < all_tables.len() {
        // a deactivated table closes once its slot has left SlotHashes: 512 blocks
        assert!(
            advances < 800,
            "tables still open after {advances} blocks: {:#?}",
            second.seen
        );
        control(&client, "localnet_advanceClock", json!([1])).await;
        advances += 1;
        if advances > 512 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(tables_of(&node, &keeper.pubkey()).await.is_empty());
    assert_eq!(
        second.scrape().await["cover_keeper_lookup_tables_closed_total"] as usize,
        all_tables.len()
    );

    // ---- SIGINT: a clean exit, promptly
    signal(&second.child, libc::SIGINT);
    let status = exit_within(&mut second.child, 15);
    assert!(status.success(), "{status:?}");
    let last = second.wait_for("the goodbye", 5, |v| v["msg"] == "shutting down");
    assert_eq!(last["signal"], "SIGINT");
    eprintln!(
        "keeper test: killed after {settled_first} of {POLICIES} settled; {} lookup tables, closed after {advances} blocks; {:.1} s",
        all_tables.len(),
        started.elapsed().as_secs_f64()
    );
}

/// SIGINT as soon as the daemon has started, during its first pass: a clean
/// exit with a goodbye line (it used to be killed by the signal then).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_during_a_pass_stops_the_keeper_cleanly() {
    let node = Node::start(&[]);
    let keeper = wallet(&node.client(), 0).await;
    let keeper_file = node.keypair_file("keeper", &keeper);
    let mut daemon = Daemon::start(&node, &keeper_file, &node.key("pool"), &[]);
    daemon.wait_for("the start", 30, |v| v["msg"] == "keeper started");
    signal(&daemon.child, libc::SIGINT);
    let status = exit_within(&mut daemon.child, 15);
    assert!(status.success(), "{status:?}");
    let last = daemon.wait_for("the goodbye", 5, |v| v["msg"] == "shutting down");
    assert_eq!(last["signal"], "SIGINT");
}
