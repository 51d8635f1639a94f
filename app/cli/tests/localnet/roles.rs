//! Every `cover` role command that talks to a cluster, through the binary
//! against a node (`--url`, `--keypair FILE`, `--json`), each output checked
//! against the accounts read with the official client; every refusal names
//! the program's error and changes nothing.

use coverage_pool::state::{MarketStatus, PolicyStatus, WithdrawalRequest};
use solana_keypair::read_keypair_file;

use super::*;

const DAY: u64 = 86_400;

/// A JSON number as u64.
fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The staker, buyer and authority roles and the keeper's one-shot commands
/// on the demo pool, in the order a pool lives them: stake, buy, govern,
/// wait out the cooldown, withdraw, close, trigger, settle, release.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_role_command_through_the_binary() {
    let node = Node::start(&[]);
    let client = node.client();
    let keys = node.keys();
    let pool = keys.pool.to_string();
    let (usdc_market, usdc_feed) = node.market(0);
    let (usdt_market, _) = node.market(1);
    let (usdc, usdt) = (usdc_market.to_string(), usdt_market.to_string());

    // the ready line's keypair files: the pool authority, and a funded user
    let authority = node.info_path("authority_keypair");
    let user = node.info_path("user_keypair");
    let authority_key = read_keypair_file(&authority).unwrap().pubkey();
    let me = read_keypair_file(&user).unwrap().pubkey();
    for file in [&authority, &user] {
        use std::os::unix::fs::PermissionsExt;
        assert!(file.is_absolute(), "{}", file.display());
        assert_eq!(std::fs::metadata(file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(authority_key, node.key("authority"));
    assert_eq!(me, node.key("user"));
    let my_usdc = ata(&me, &keys.collateral_mint);
    assert_eq!(client.get_balance(&me).await.unwrap(), 100 * SOL);
    assert_eq!(token_amount(&client, &my_usdc).await, 1_000_000 * USDC);

    // ---- the pool and its markets, read without a keypair
    let v = node.cli(None, &["pool", "show", "--pool", &pool]);
    let p: Pool = read(&client, &keys.pool).await;
    assert_eq!(v["authority"], authority_key.to_string());
    assert_eq!(p.authority, authority_key);
    assert_eq!(v["collateral_mint"], keys.collateral_mint.to_string());
    assert_eq!(
        (n(&v["capital"]), n(&v["markets"]), &v["paused"]),
        (0, 2, &json!(false))
    );
    let tranches = v["tranches"].as_array().unwrap();
    assert_eq!(tranches.len(), 2);
    for (i, t) in tranches.iter().enumerate() {
        assert_eq!(t["share_mint"], keys.share_mint(i as u8).to_string());
        assert_eq!(n(&t["weight_bps"]), u64::from(p.tranches[i].premium_weight_bps));
    }
    let v = node.cli(None, &["market", "list", "--pool", &pool]);
    let listed: Vec<&str> = v["markets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["market"].as_str().unwrap())
        .collect();
    assert_eq!(listed, [usdc.as_str(), usdt.as_str()]);
    let v = node.cli(None, &["market", "show", &usdc]);
    let m: Market = read(&client, &usdc_market).await;
    assert_eq!(v["feed_account"], usdc_feed.to_string());
    assert_eq!(v["pool"], pool);
    assert_eq!(
        (
            n(&v["strike"]),
            n(&v["recovery"]),
            n(&v["duration"]),
            n(&v["max_price_age"])
        ),
        (m.strike, m.recovery, u64::from(m.duration), u64::from(m.max_price_age))
    );
    assert_eq!(
        (v["sales_open_at"].as_i64().unwrap(), n(&v["policies"])),
        (m.sales_open_at, 0)
    );
    assert_eq!(v["status"], "Active");

    // ---- a staker (the ready line's user): deposit, request, cancel
    let stake = |action: &str, tranche: &str, extra: &[&str]| {
        let mut args = vec!["stake", action, "--pool", &pool, "--tranche", tranche];
        args.extend_from_slice(extra);
        node.cli(Some(&user), &args)
    };
    let v = stake("deposit", "0", &["--amount", "100000"]);
    landed(&client, &v).await;
    stake("deposit", "1", &["--amount", "50000.5"]);
    let p: Pool = read(&client, &keys.pool).await;
    assert_eq!(
        (p.tranches[0].assets, p.tranches[1].assets),
        (100_000 * USDC, 50_000 * USDC + USDC / 2)
    );
    let my_shares = [ata(&me, &keys.share_mint(0)), ata(&me, &keys.share_mint(1))];
    // the first deposit is 1:1 and locks the dead shares
    assert_eq!(
        token_amount(&client, &my_shares[0]).await,
        100_000 * USDC - coverage_core::shares::DEAD_SHARES
    );
    assert_eq!(token_amount(&client, &my_usdc).await, 849_999_500_000);
    let shown = node.cli(Some(&user), &["stake", "show", "--pool", &pool]);
    let by_owner = node.cli(None, &["stake", "show", "--pool", &pool, "--owner", &me.to_string()]);
    assert_eq!(shown, by_owner, "the same position, with or without the keypair");
    assert_eq!(shown["owner"], me.to_string());
    for (i, position) in shown["positions"].as_array().unwrap().iter().enumerate() {
        let held = token_amount(&client, &my_shares[i]).await;
        assert_eq!(n(&position["shares"]), held);
        let supply = held + p.tranches[i].dead_shares;
        assert_eq!(
            n(&position["value"]),
            coverage_core::shares::assets_for_shares(held, p.tranches[i].assets, supply).unwrap()
        );
        assert_eq!(position["request"], Value::Null);
    }
    let request = pda::withdrawal_request(&keys.pool, 0, &me).0;
    stake("request", "0", &["--shares", "1000"]);
    let r: WithdrawalRequest = read(&client, &request).await;
    assert_eq!((r.shares, r.staker), (1_000 * USDC, me));
    assert_eq!(token_amount(&client, &keys.share_escrow(0)).await, 1_000 * USDC);
    let shown = node.cli(None, &["stake", "show", "--pool", &pool, "--owner", &me.to_string()]);
    assert_eq!(n(&shown["positions"][0]["request"]["shares"]), 1_000 * USDC);
    stake("cancel", "0", &[]);
    assert!(!exists(&client, &request).await, "the request is closed");
    assert_eq!(
        token_amount(&client, &my_shares[0]).await,
        100_000 * USDC - coverage_core::shares::DEAD_SHARES
    );
    stake("request", "0", &["--shares", "2000"]);
    let requested: WithdrawalRequest = read(&client, &request).await;
    assert_eq!(requested.shares, 2_000 * USDC);
    // too early: the program's error by name, and nothing changes
    let err = node.cli_err(Some(&user), &["stake", "withdraw", "--pool", &pool, "--tranche", "0"]);
    assert!(err.contains("CooldownNotElapsed"), "{err}");
    assert_eq!(read::<WithdrawalRequest>(&client, &request).await.shares, 2_000 * USDC);
    assert_eq!(token_amount(&client, &my_usdc).await, 849_999_500_000);

    // ---- a buyer: quote, buy, list, transfer
    let buyer = wallet(&client, 100_000 * USDC).await;
    let buyer_file = node.keypair_file("buyer", &buyer);
    let buyer_usdc = ata(&buyer.pubkey(), &keys.collateral_mint);
    let quote = node.cli(
        None,
        &["cover", "quote", "--market", &usdc, "--amount", "10000", "--days", "30"],
    );
    assert_eq!((n(&quote["amount"]), n(&quote["days"])), (10_000 * USDC, 30));
    let premium = n(&quote["premium"]);
    let bought = node.cli(
        Some(&buyer_file),
        &["cover", "buy", "--market", &usdc, "--amount", "10000", "--days", "30"],
    );
    landed(&client, &bought).await;
    let long = Pubkey::from_str(bought["policy"].as_str().unwrap()).unwrap();
    assert_eq!(long, pda::policy(&usdc_market, 0).0);
    let policy: Policy = read(&client, &long).await;
    assert_eq!(
        (policy.owner, policy.amount, policy.premium, policy.market),
        (buyer.pubkey(), 10_000 * USDC, premium, usdc_market),
        "charged exactly the quote"
    );
    assert_eq!(n(&bought["premium_max"]), premium + premium * 50 / 10_000);
    assert_eq!(token_amount(&client, &buyer_usdc).await, 100_000 * USDC - premium);
    let short_buy = node.cli(
        Some(&buyer_file),
        &["cover", "buy", "--market", &usdc, "--amount", "1000", "--days", "1"],
    );
    let short = Pubkey::from_str(short_buy["policy"].as_str().unwrap()).unwrap();
    let listed = node.cli(None, &["cover", "list", "--market", &usdc]);
    let listed = listed["policies"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    for entry in listed {
        let address = Pubkey::from_str(entry["policy"].as_str().unwrap()).unwrap();
        let p: Policy = read(&client, &address).await;
        assert_eq!(entry["owner"], p.owner.to_string());
        assert_eq!(
            (
                n(&entry["amount"]),
                n(&entry["premium"]),
                entry["end_time"].as_i64().unwrap()
            ),
            (p.amount, p.premium, p.end_time)
        );
        assert_eq!(entry["status"], "Active");
    }
    let heir = Keypair::new();
    let policy_arg = long.to_string();
    let (heir_arg, buyer_arg) = (heir.pubkey().to_string(), buyer.pubkey().to_string());
    let transfer = ["cover", "transfer", "--policy", &policy_arg, "--to"];
    node.cli(Some(&buyer_file), &[&transfer[..], &[&heir_arg]].concat());
    assert_eq!(read::<Policy>(&client, &long).await.owner, heir.pubkey());
    // the old owner can no longer give it away
    let err = node.cli_err(Some(&buyer_file), &[&transfer[..], &[&buyer_arg]].concat());
    assert!(err.contains("NotPolicyOwner"), "{err}");
    assert_eq!(read::<Policy>(&client, &long).await.owner, heir.pubkey());

    // ---- the authority: pause, queued changes, authority transfer
    node.cli(Some(&authority), &["gov", "pause", "--pool", &pool]);
    assert!(read::<Pool>(&client, &keys.pool).await.paused);
    let err = node.cli_err(
        Some(&user),
        &["stake", "deposit", "--pool", &pool, "--tranche", "0", "--amount", "10"],
    );
    assert!(err.contains("PoolPaused"), "{err}");
    assert_eq!(token_amount(&client, &my_usdc).await, 849_999_500_000);
    node.cli(Some(&authority), &["gov", "pause", "--pool", &pool, "--resume"]);
    assert!(!read::<Pool>(&client, &keys.pool).await.paused);
    node.cli(Some(&authority), &["gov", "pause", "--pool", &pool, "--market", &usdt]);
    assert!(read::<Market>(&client, &usdt_market).await.paused);
    node.cli(
        Some(&authority),
        &["gov", "pause", "--pool", &pool, "--market", &usdt, "--resume"],
    );
    assert!(!read::<Market>(&client, &usdt_market).await.paused);
    // a pool change: queued, shown, cancelled, queued again
    node.cli(
        Some(&authority),
        &["gov", "queue-pool", "--pool", &pool, "--fee-bps", "1500"],
    );
    let p: Pool = read(&client, &keys.pool).await;
    assert_eq!(p.pending_change.protocol_fee_bps, 1_500);
    assert!(p.pending_change_eta > 0);
    let pending = node.cli(None, &["gov", "pending", "--pool", &pool]);
    assert_eq!(pending["pool_change"]["eta"].as_i64().unwrap(), p.pending_change_eta);
    assert_eq!(pending["pending_authority"], Value::Null);
    node.cli(Some(&authority), &["gov", "cancel-pool", "--pool", &pool]);
    let p: Pool = read(&client, &keys.pool).await;
    assert_eq!(p.pending_change_eta, 0, "nothing queued");
    assert_eq!(
        node.cli(None, &["gov", "pending", "--pool", &pool])["pool_change"],
        Value::Null
    );
    node.cli(
        Some(&authority),
        &["gov", "queue-pool", "--pool", &pool, "--fee-bps", "1500"],
    );
    // a market change, the same way
    node.cli(
        Some(&authority),
        &["gov", "queue-market", "--market", &usdc, "--base-bps", "300"],
    );
    let m: Market = read(&client, &usdc_market).await;
    assert_eq!(m.pending_change.map(|c| c.curve.base_rate_bps), Some(300));
    node.cli(Some(&authority), &["gov", "cancel-market", "--market", &usdc]);
    assert!(read::<Market>(&client, &usdc_market).await.pending_change.is_none());
    node.cli(
        Some(&authority),
        &["gov", "queue-market", "--market", &usdc, "--base-bps", "300"],
    );
    let pending = node.cli(None, &["gov", "pending", "--pool", &pool]);
    assert_eq!(pending["market_changes"][0]["market"], usdc);
    // not yet due: refused by name, nothing applied
    let err = node.cli_err(Some(&user), &["gov", "apply-pool", "--pool", &pool]);
    assert!(err.contains("ChangeNotReady"), "{err}");
    assert_eq!(read::<Pool>(&client, &keys.pool).await.protocol_fee_bps, 1_000);
    // the authority moves to a new key in two steps; the old one can no longer act
    let successor = wallet(&client, 0).await;
    let successor_file = node.keypair_file("successor", &successor);
    node.cli(
        Some(&authority),
        &[
            "gov",
            "propose-authority",
            "--pool",
            &pool,
            "--new-authority",
            &successor.pubkey().to_string(),
        ],
    );
    assert_eq!(
        read::<Pool>(&client, &keys.pool).await.pending_authority,
        successor.pubkey()
    );
    assert_eq!(
        node.cli(None, &["gov", "pending", "--pool", &pool])["pending_authority"],
        successor.pubkey().to_string()
    );
    let err = node.cli_err(Some(&user), &["gov", "accept-authority", "--pool", &pool]);
    assert!(err.contains("NotPendingAuthority"), "{err}");
    node.cli(Some(&successor_file), &["gov", "accept-authority", "--pool", &pool]);
    assert_eq!(read::<Pool>(&client, &keys.pool).await.authority, successor.pubkey());
    let err = node.cli_err(Some(&authority), &["gov", "pause", "--pool", &pool]);
    assert!(err.contains("Unauthorized"), "{err}");
    assert!(!read::<Pool>(&client, &keys.pool).await.paused);

    // ---- past the cooldown: withdraw; close the policy that ended
    control(&client, "localnet_advanceClock", json!([7 * DAY + 60])).await;
    let before = token_amount(&client, &my_usdc).await;
    stake("withdraw", "0", &[]);
    assert!(!exists(&client, &request).await, "the request is redeemed");
    // no loss since the request, so the lower of the two values is the one at request
    assert_eq!(
        token_amount(&client, &my_usdc).await - before,
        requested.value_at_request
    );
    let err = node.cli_err(Some(&buyer_file), &["cover", "close", "--policy", &long.to_string()]);
    assert!(err.contains("PolicyNotClosable"), "{err}");
    assert!(exists(&client, &long).await);
    let lamports = client.get_balance(&buyer.pubkey()).await.unwrap();
    let rent = client.get_balance(&short).await.unwrap();
    node.cli(Some(&user), &["cover", "close", "--policy", &short.to_string()]);
    assert!(!exists(&client, &short).await);
    assert_eq!(
        client.get_balance(&buyer.pubkey()).await.unwrap(),
        lamports + rent,
        "the rent goes to the owner, whoever closes"
    );

    // ---- the queued changes are due: anyone applies them
    control(&client, "localnet_advanceClock", json!([3 * DAY])).await;
    node.cli(Some(&user), &["gov", "apply-pool", "--pool", &pool]);
    node.cli(Some(&user), &["gov", "apply-market", "--market", &usdc]);
    assert_eq!(read::<Pool>(&client, &keys.pool).await.protocol_fee_bps, 1_500);
    assert_eq!(read::<Market>(&client, &usdc_market).await.curve.base_rate_bps, 300);

    // ---- the keeper's one-shot commands: report, trigger, settle, release
    let keeper = wallet(&client, 0).await;
    let keeper_file = node.keypair_file("keeper", &keeper);
    // the keeper's log: one JSON object per action
    let keeper_run = |args: &[&str]| -> Vec<Value> {
        let out = node.run_cli(Some(&keeper_file), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {l}")))
            .collect()
    };
    let check = || {
        let log = keeper_run(&["keeper", "check", "--pool", &pool]);
        log.into_iter()
            .find(|v| v["action"] == "check_trigger" && v["market"] == usdc)
            .unwrap_or_else(|| panic!("no report of the USDC market"))
    };
    let now = RpcTransport::read_only(&node.rpc()).now().await.unwrap();
    let reported = check();
    for market in [usdc_market, usdt_market] {
        let m: Market = read(&client, &market).await;
        assert!(m.last_publish_time >= now - 5, "{market}: {}", m.last_publish_time);
        assert_eq!(m.status, MarketStatus::Active);
    }
    let m: Market = read(&client, &usdc_market).await;
    assert_eq!(reported["publish_time"].as_i64().unwrap(), m.last_publish_time);
    assert_eq!(
        (reported["status"].as_str(), reported["price"].as_u64()),
        (Some("Active"), Some(m.last_price))
    );
    landed(&client, &reported).await;
    control(
        &client,
        "localnet_setPrice",
        json!(["USDC/USD", { "price": 90_000_000, "conf": 10_000 }]),
    )
    .await;
    // a publish time past the one just reported
    control(&client, "localnet_advanceClock", json!([5])).await;
    assert_eq!(check()["status"], "StreakOpen");
    assert_eq!(
        read::<Market>(&client, &usdc_market).await.status,
        MarketStatus::StreakOpen
    );
    // the streak lasts the market's hour, reported within its max gap
    control(&client, "localnet_advanceClock", json!([3_000])).await;
    assert_eq!(check()["status"], "StreakOpen");
    control(&client, "localnet_advanceClock", json!([700])).await;
    assert_eq!(check()["status"], "Triggered");
    let m: Market = read(&client, &usdc_market).await;
    assert_eq!(m.status, MarketStatus::Triggered);
    assert_eq!(
        m.settlement.eligible_cover,
        10_000 * USDC,
        "the 30-day policy; the 1-day one ended"
    );
    assert_eq!(read::<Market>(&client, &usdt_market).await.status, MarketStatus::Active);
    let heir_usdc = ata(&heir.pubkey(), &keys.collateral_mint);
    assert!(!exists(&client, &heir_usdc).await);
    let log = keeper_run(&["keeper", "settle", "--market", &usdc]);
    let settle = log
        .iter()
        .find(|v| v["action"] == "settle_policies")
        .expect("a settlement");
    assert_eq!((&settle["policies"], &settle["v0"]), (&json!(1), &json!(false)));
    landed(&client, settle).await;
    let settled: Policy = read(&client, &long).await;
    assert_eq!((settled.status, settled.payout), (PolicyStatus::Settled, 10_000 * USDC));
    assert_eq!(
        token_amount(&client, &heir_usdc).await,
        10_000 * USDC,
        "paid to the new owner, whose token account the keeper created"
    );
    let reserve_left = read::<Market>(&client, &usdc_market).await.settlement.reserve_left;
    let log = keeper_run(&["keeper", "release", "--market", &usdc]);
    let release = log
        .iter()
        .find(|v| v["action"] == "release_reserve")
        .expect("a release");
    assert_eq!(release["returned"].as_u64(), Some(reserve_left));
    assert!(read::<Market>(&client, &usdc_market).await.settlement.released);
    let err = node.cli_err(Some(&keeper_file), &["keeper", "release", "--market", &usdc]);
    assert!(err.contains("nothing to release"), "{err}");
    node.cli(Some(&keeper_file), &["cover", "close", "--policy", &long.to_string()]);
    assert!(!exists(&client, &long).await);
    assert_eq!(token_amount(&client, &heir_usdc).await, 10_000 * USDC, "paid once");

    let (vault, books) = vault_and_books(&client, &keys).await;
    assert_eq!(vault, books, "the vault equals the books to the unit");
}

/// `migrate apply` (and `--dry-run`), `pool init` and `market create`: a
/// second and a third pool on the node's collateral mint, from deployment
/// files with `collateral_mint` and `treasury` filled in from the ready line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_pool_init_and_market_create_deploy_more_pools() {
    let node = Node::start(&[]);
    let client = node.client();
    let creator = wallet(&client, 0).await;
    let creator_file = node.keypair_file("creator", &creator);
    let demo = std::fs::read_to_string(format!("{}/../../migrations/demo.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let deployment = |pool_id: u64| {
        let text = demo.replace(
            "pool_id = 1\n",
            &format!(
                "pool_id = {pool_id}\ncollateral_mint = \"{}\"\ntreasury = \"{}\"\n",
                node.info["mint"].as_str().unwrap(),
                node.info["treasury"].as_str().unwrap()
            ),
        );
        assert_ne!(text, demo);
        let path = node.dir.join(format!("pool-{pool_id}.toml"));
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let count = || async {
        client
            .send::<u64>(RpcRequest::GetTransactionCount, json!([{"commitment": "confirmed"}]))
            .await
            .unwrap()
    };
    let steps = |v: &Value| -> Vec<String> {
        v["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["step"].as_str().unwrap().split(' ').next().unwrap().to_string())
            .collect()
    };

    // pool 2 in pieces: the plan, the pool, then its markets
    let two = deployment(2);
    let pool = pda::pool(&creator.pubkey(), 2).0;
    let transactions = count().await;
    let plan = node.cli(
        Some(&creator_file),
        &["migrate", "apply", "--config", &two, "--dry-run"],
    );
    assert_eq!(plan["pool"], pool.to_string());
    assert_eq!(plan["dry_run"], true);
    assert_eq!(steps(&plan), ["initialize_pool", "create_market", "create_market"]);
    assert_eq!(count().await, transactions, "a dry run sends nothing");
    assert!(!exists(&client, &pool).await);
    let init = node.cli(Some(&creator_file), &["pool", "init", "--config", &two]);
    assert_eq!(steps(&init), ["initialize_pool"]);
    landed(&client, &init["steps"][0]).await;
    let p: Pool = read(&client, &pool).await;
    assert_eq!(
        (p.authority, p.creator, p.tranche_count, p.market_count),
        (creator.pubkey(), creator.pubkey(), 2, 0)
    );
    assert_eq!(p.collateral_mint, node.key("mint"));
    let shown = node.cli(None, &["pool", "show", "--pool", &pool.to_string()]);
    assert_eq!((n(&shown["markets"]), n(&shown["capital"])), (0, 0));
    let plan = node.cli(
        Some(&creator_file),
        &["migrate", "apply", "--config", &two, "--dry-run"],
    );
    assert_eq!(steps(&plan), ["create_market", "create_market"]);
    let created = node.cli(Some(&creator_file), &["market", "create", "--config", &two]);
    assert_eq!(steps(&created), ["create_market", "create_market"]);
    let listed = node.cli(None, &["market", "list", "--pool", &pool.to_string()]);
    let markets = listed["markets"].as_array().unwrap();
    assert_eq!(markets.len(), 2);
    for (i, entry) in markets.iter().enumerate() {
        let address = pda::market(&pool, i as u32).0;
        assert_eq!(entry["market"], address.to_string());
        let m: Market = read(&client, &address).await;
        assert_eq!((m.pool, m.strike, m.duration), (pool, 95_000_000, 3_600));
        // a new market sells nothing before the governance delay
        assert!(m.sales_open_at > RpcTransport::read_only(&node.rpc()).now().await.unwrap() + 10 * DAY as i64 - 60);
    }
    let plan = node.cli(
        Some(&creator_file),
        &["migrate", "apply", "--config", &two, "--dry-run"],
    );
    assert!(steps(&plan).is_empty(), "nothing left to do: {plan}");

    // pool 3 in one go, then again: nothing to do
    let three = deployment(3);
    let applied = node.cli(Some(&creator_file), &["migrate", "apply", "--config", &three]);
    assert_eq!(steps(&applied), ["initialize_pool", "create_market", "create_market"]);
    for step in applied["steps"].as_array().unwrap() {
        landed(&client, step).await;
    }
    let pool3 = pda::pool(&creator.pubkey(), 3).0;
    assert_eq!(read::<Pool>(&client, &pool3).await.market_count, 2);
    let transactions = count().await;
    let again = node.cli(Some(&creator_file), &["migrate", "apply", "--config", &three]);
    assert!(steps(&again).is_empty(), "{again}");
    assert_eq!(count().await, transactions);
}
