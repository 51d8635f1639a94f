//! Load: bounded concurrent clients, each with the official RPC client,
//! sending deposits and purchases (each client buys on a market of its own:
//! a market's policies are numbered, so purchases on one market are
//! sequential by design). Every accepted transaction is confirmed exactly
//! once, the money reconciles to the unit, no request fails.
//!
//! `load_reconciles_to_the_unit` is the small version in the normal suite;
//! the benchmark prints transactions per second:
//! `cargo test -p cover-cli --test localnet load_benchmark -- --ignored --nocapture`
//! (`LOAD_PER_CLIENT`: transactions per client, 250 by default; `--release`
//! for the release build's figure). The figures are in the README.

use std::collections::HashSet;

use solana_keypair::read_keypair_file;

use super::*;

/// Concurrent clients (and markets: one each; a pool holds at most 16).
const CLIENTS: usize = 16;

/// What one run did.
struct Report {
    transactions: usize,
    seconds: f64,
}

/// A deployment of the demo pool with one market per client, each on a feed
/// of its own (allocations summing to the pool's 2x leverage).
fn load_config(node_dir: &Path) -> PathBuf {
    let demo = std::fs::read_to_string(format!("{}/../../migrations/demo.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let pool = &demo[..demo.find("[[market]]").unwrap()];
    let mut text = pool.to_string();
    for i in 0..CLIENTS {
        text += &format!(
            "[[market]]\nname = \"load {i}\"\nfeed = \"0x{:064x}\"\nstrike = 0.95\nrecovery = 0.97\n\
             duration_secs = 3600\nmax_gap_secs = 3600\nmax_price_age_secs = 60\nmax_conf_bps = 500\n\
             payout = \"binary\"\ncurve = {{ base_bps = 200, slope_below_kink_bps = 800, slope_above_kink_bps = 4000, kink_bps = 8000 }}\n\
             allocation_bps = {}\nactivation_delay_secs = 120\n\n",
            i + 1,
            20_000 / CLIENTS
        );
    }
    std::fs::create_dir_all(node_dir).unwrap();
    let path = node_dir.join("load.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// `per_client` transactions from each of [`CLIENTS`] clients, alternately
/// a deposit (tranche by turn) and 100 tokens of 30-day cover on the
/// client's market; checks and returns what it measured.
async fn run_load(per_client: usize) -> Report {
    let scratch = std::env::temp_dir().join(format!("cover-load-{}-{per_client}", std::process::id()));
    let config = load_config(&scratch);
    let node = Node::start(&["--config", config.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&scratch);
    let client = node.client();
    let keys = node.keys();
    assert_eq!(node.info["markets"].as_array().unwrap().len(), CLIENTS);

    // capital for the cover, from the ready line's user
    let staker = read_keypair_file(node.info_path("user_keypair")).unwrap();
    let staker_shares = ata(&staker.pubkey(), &keys.share_mint(0));
    let create_shares = |owner: &Pubkey, tranche: u8| {
        spl_associated_token_account::instruction::create_associated_token_account_idempotent(
            owner,
            owner,
            &keys.share_mint(tranche),
            &keys.token_program,
        )
    };
    send(
        &client,
        &[
            create_shares(&staker.pubkey(), 0),
            ix::deposit(
                &staker.pubkey(),
                &keys,
                0,
                &ata(&staker.pubkey(), &keys.collateral_mint),
                &staker_shares,
                1_000_000 * USDC,
                1,
            ),
        ],
        &staker,
    )
    .await
    .unwrap();

    // the clients: SOL, collateral, share accounts
    let funds = 1_000_000 * USDC;
    let mut wallets = Vec::new();
    for _ in 0..CLIENTS {
        let w = wallet(&client, funds).await;
        send(
            &client,
            &[create_shares(&w.pubkey(), 0), create_shares(&w.pubkey(), 1)],
            &w,
        )
        .await
        .unwrap();
        wallets.push(w);
    }
    let transactions_before: u64 = client
        .send(RpcRequest::GetTransactionCount, json!([{"commitment": "confirmed"}]))
        .await
        .unwrap();
    let vault_before = token_amount(&client, &keys.vault()).await;

    // ---- the load: each client sends one transaction at a time, confirmed before the next
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, w) in wallets.into_iter().enumerate() {
        let url = node.rpc();
        let (market, feed) = node.market(i);
        tasks.push(tokio::spawn(async move {
            let client = RpcClient::new_with_commitment(url, CommitmentConfig::confirmed());
            let collateral = ata(&w.pubkey(), &keys.collateral_mint);
            let mut signatures = Vec::new();
            let mut errors = Vec::new();
            let (mut deposited, mut bought) = (0u64, 0u64);
            let mut blockhash = None;
            for n in 0..per_client {
                // a blockhash serves many transactions (each is distinct: amounts and policy ids differ)
                if n % 32 == 0 {
                    match client.get_latest_blockhash().await {
                        Ok(h) => blockhash = Some(h),
                        Err(e) => {
                            errors.push(format!("getLatestBlockhash: {e}"));
                            continue;
                        }
                    }
                }
                let ix = if n % 2 == 0 {
                    let tranche = (n / 2 % 2) as u8;
                    let amount = 1_000 * USDC + n as u64;
                    deposited += amount;
                    let shares = ata(&w.pubkey(), &keys.share_mint(tranche));
                    ix::deposit(&w.pubkey(), &keys, tranche, &collateral, &shares, amount, 1)
                } else {
                    let k = BuyCoverKeys {
                        keys,
                        market,
                        policy_id: bought,
                        payer_collateral: collateral,
                        price_update: feed,
                    };
                    bought += 1;
                    ix::buy_cover(&w.pubkey(), &w.pubkey(), &k, 100 * USDC, 30, 10 * USDC)
                };
                let tx = Transaction::new_signed_with_payer(&[ix], Some(&w.pubkey()), &[&w], blockhash.unwrap());
                match client.send_and_confirm_transaction(&tx).await {
                    Ok(sig) => signatures.push(sig),
                    Err(e) => errors.push(format!("transaction {n}: {e}")),
                }
            }
            (w, market, signatures, errors, deposited, bought)
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let seconds = started.elapsed().as_secs_f64();

    // ---- no request failed; every signature is distinct and confirmed once
    let errors: Vec<&String> = results.iter().flat_map(|r| &r.3).collect();
    assert!(errors.is_empty(), "{} request errors: {errors:#?}", errors.len());
    let signatures: Vec<solana_signature::Signature> = results.iter().flat_map(|r| r.2.clone()).collect();
    assert_eq!(signatures.len(), CLIENTS * per_client);
    assert_eq!(
        signatures.iter().collect::<HashSet<_>>().len(),
        signatures.len(),
        "distinct"
    );
    for chunk in signatures.chunks(256) {
        let statuses = client.get_signature_statuses(chunk).await.unwrap().value;
        for (sig, status) in chunk.iter().zip(statuses) {
            let status = status.unwrap_or_else(|| panic!("{sig}: no status"));
            assert!(status.err.is_none(), "{sig}: {status:?}");
            assert!(status.confirmation_status.is_some(), "{sig}");
        }
    }
    let transactions_after: u64 = client
        .send(RpcRequest::GetTransactionCount, json!([{"commitment": "confirmed"}]))
        .await
        .unwrap();
    assert_eq!(
        transactions_after - transactions_before,
        signatures.len() as u64,
        "the ledger processed each transaction once, and nothing else"
    );

    // ---- the money, to the unit
    let mut deposits = 0;
    let mut premiums = 0;
    for (w, market, _, _, deposited, bought) in &results {
        let m: Market = read(&client, market).await;
        assert_eq!(m.policy_count, *bought, "one policy per purchase");
        let mut paid = 0;
        for id in 0..*bought {
            let p: Policy = read(&client, &pda::policy(market, id).0).await;
            assert_eq!((p.owner, p.amount), (w.pubkey(), 100 * USDC));
            paid += p.premium;
        }
        let spent = funds - token_amount(&client, &ata(&w.pubkey(), &keys.collateral_mint)).await;
        assert_eq!(
            spent,
            deposited + paid,
            "the client paid its deposits and premiums, nothing else"
        );
        deposits += deposited;
        premiums += paid;
    }
    let (vault, books) = vault_and_books(&client, &keys).await;
    assert_eq!(vault - vault_before, deposits + premiums);
    assert_eq!(
        vault, books,
        "vault == tranche assets + unearned premium + reserves + fees owed"
    );

    Report {
        transactions: signatures.len(),
        seconds,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_reconciles_to_the_unit() {
    let r = run_load(10).await;
    assert_eq!(r.transactions, CLIENTS * 10);
}

/// The benchmark: a few thousand transactions; prints transactions per second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: cargo test -p cover-cli --test localnet load_benchmark -- --ignored --nocapture"]
async fn load_benchmark() {
    let per_client: usize = std::env::var("LOAD_PER_CLIENT")
        .ok()
        .map(|v| v.parse().expect("LOAD_PER_CLIENT is a number"))
        .unwrap_or(250);
    let r = run_load(per_client).await;
    println!(
        "load: {} transactions (deposits and purchases, half each, from {CLIENTS} concurrent clients, each confirmed before the next) in {:.1} s: {:.0} transactions per second",
        r.transactions,
        r.seconds,
        r.transactions as f64 / r.seconds
    );
}
