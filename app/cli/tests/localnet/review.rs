//! What a review found, each pinned by the exact answer: extreme test-control
//! values, base58 account notifications, the websocket bounds, test controls
//! refused to web pages elsewhere, commitments that agree, the received
//! notification after preflight, and mainnet's 64-account lock limit.

use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::rpc::{self, Ws};
use super::*;

fn request(id: u64, method: &str, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

/// The next websocket message, at most 10 s away.
async fn next_message(ws: &mut Ws) -> Message {
    tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a websocket message within 10 s")
        .expect("the connection is open")
        .expect("a websocket message")
}

/// The next notification (answers skipped), as JSON.
async fn next_notification(ws: &mut Ws) -> Value {
    loop {
        let v: Value = serde_json::from_str(next_message(ws).await.to_text().unwrap()).unwrap();
        if v.get("method").is_some() {
            return v;
        }
    }
}

fn message(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("no error: {v}"))
        .to_string()
}

/// The feed's price now.
async fn price(client: &RpcClient, feed: &Pubkey) -> i64 {
    PriceUpdate::read(&client.get_account_data(feed).await.unwrap())
        .unwrap()
        .price
}

/// `localnet_setPrice` with `publishTime` i64::MIN panicked the bank thread,
/// after which every request failed: out-of-range values are now -32602
/// naming the field, change nothing, and the node serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extreme_test_control_values_are_refused_and_the_node_serves_on() {
    let node = Node::start(&[]);
    let client = node.client();
    let (url, http) = (node.rpc(), reqwest::Client::new());
    let (_, feed) = node.market(0);
    let feed_name = node.info["markets"][0]["feed"].as_str().unwrap().to_string();
    let healthy = price(&client, &feed).await;

    for t in [i64::MIN, -1, i64::MAX] {
        let v = call(
            &http,
            &url,
            "localnet_setPrice",
            json!([feed_name, {"price": 1, "publishTime": t}]),
        )
        .await;
        assert_eq!(code(&v), -32602, "{v}");
        let m = message(&v);
        assert!(
            m.starts_with("Invalid param `price.publishTime`: must be 0 to ") && m.ends_with(&format!(", got {t}")),
            "{m}"
        );
    }
    for e in [i32::MIN, -19, 19] {
        let v = call(
            &http,
            &url,
            "localnet_setPrice",
            json!([feed_name, {"price": 1, "exponent": e}]),
        )
        .await;
        assert_eq!(code(&v), -32602, "{v}");
        assert_eq!(
            message(&v),
            format!("Invalid param `price.exponent`: must be -18 to 18, got {e}")
        );
    }
    let v = call(&http, &url, "localnet_setClock", json!([i64::MAX])).await;
    assert_eq!(code(&v), -32602, "{v}");
    assert!(
        message(&v).starts_with("Invalid param `unixTimestamp`: must be after the bank's clock ("),
        "{v}"
    );
    let v = call(&http, &url, "localnet_advanceClock", json!([u64::MAX])).await;
    assert_eq!(code(&v), -32602, "{v}");
    assert!(message(&v).starts_with("Invalid param `seconds`"), "{v}");
    assert_eq!(price(&client, &feed).await, healthy, "nothing changed");

    // the node serves on
    assert_eq!(call(&http, &url, "getHealth", json!([])).await["result"], "ok");
    let health = http.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(
        (health.status().as_u16(), health.text().await.unwrap()),
        (200, "ok".to_string())
    );
    let set = control(&client, "localnet_setPrice", json!([feed_name, {"price": 90_000_000}])).await;
    assert_eq!(set["feedAccount"], feed.to_string());
    assert_eq!(price(&client, &feed).await, 90_000_000);
}

/// accountSubscribe with `base58` on an account over 128 bytes (a price
/// feed: 134) was never notified. agave's pubsub encodes the whole account
/// with the account decoder, which puts a placeholder for base58 over 128
/// bytes (getAccountInfo refuses it instead): the same here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base58_account_notifications_over_128_bytes_are_sent_as_agave_sends_them() {
    let node = Node::start(&[]);
    let client = node.client();
    let (url, http) = (node.rpc(), reqwest::Client::new());
    let (_, feed) = node.market(0);
    let feed_name = node.info["markets"][0]["feed"].as_str().unwrap().to_string();
    let v = call(
        &http,
        &url,
        "getAccountInfo",
        json!([feed.to_string(), {"encoding": "base58"}]),
    )
    .await;
    assert_eq!(code(&v), -32600, "{v}");
    assert_eq!(
        message(&v),
        "Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding."
    );

    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws()).await.unwrap();
    let config = json!({"encoding": "base58", "commitment": "confirmed"});
    ws.send(Message::Text(
        request(1, "accountSubscribe", json!([feed.to_string(), config])).into(),
    ))
    .await
    .unwrap();
    control(&client, "localnet_setPrice", json!([feed_name, {"price": 99_000_000}])).await;
    let note = next_notification(&mut ws).await;
    assert_eq!(note["method"], "accountNotification", "{note}");
    let value = &note["params"]["result"]["value"];
    assert_eq!(
        value["data"],
        json!(["error: data too large for bs58 encoding", "base58"]),
        "{note}"
    );
    assert_eq!(value["space"], 134, "{note}");
    assert_eq!(
        value["owner"],
        client.get_account(&feed).await.unwrap().owner.to_string(),
        "{note}"
    );
}

/// A connection holds at most 1 000 subscriptions (the 1 001st is agave's
/// refusal, naming the limit), and one that does not read its notifications
/// is closed (1008) once 4 096 of them wait, instead of the server queuing
/// without bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_has_bounded_subscriptions_and_queue() {
    let node = Node::start(&[]);
    let client = node.client();
    let (_, feed) = node.market(0);
    let feed_name = node.info["markets"][0]["feed"].as_str().unwrap().to_string();
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws()).await.unwrap();
    let config = json!({"encoding": "base64", "commitment": "confirmed"});
    for id in 1..=1_001 {
        ws.feed(Message::Text(
            request(id, "accountSubscribe", json!([feed.to_string(), config])).into(),
        ))
        .await
        .unwrap();
    }
    ws.flush().await.unwrap();
    let mut answers = std::collections::BTreeMap::new();
    while answers.len() < 1_001 {
        let v: Value = serde_json::from_str(next_message(&mut ws).await.to_text().unwrap()).unwrap();
        if let Some(id) = v["id"].as_u64() {
            answers.insert(id, v);
        }
    }
    assert!(
        answers.range(..=1_000).all(|(_, v)| v["result"].is_u64()),
        "the first 1 000 are taken"
    );
    let refused = &answers[&1_001];
    assert_eq!(code(refused), -32603, "{refused}");
    assert_eq!(
        message(refused),
        "Internal Error: Subscription refused. Connection subscription limit reached: at most 1000 subscriptions per connection"
    );

    // unread: each write is 1 000 notifications; 40 overflow any queue
    for i in 0..40 {
        control(
            &client,
            "localnet_setPrice",
            json!([feed_name, {"price": 100_000_000 - i}]),
        )
        .await;
    }
    let mut notes = 0;
    let close = loop {
        match next_message(&mut ws).await {
            Message::Text(_) => notes += 1,
            Message::Close(frame) => break frame.expect("a close frame with a reason"),
            _ => {}
        }
    };
    assert_eq!(close.code, CloseCode::Policy);
    assert_eq!(
        close.reason.as_str(),
        "notification queue full: more than 4096 notifications or 16777216 bytes unread"
    );
    assert!(notes < 40_000, "the queue was cut: {notes} notifications");
    // the node serves on
    assert_eq!(
        control(&client, "localnet_setPrice", json!([feed_name, {"price": 100_000_000}])).await["feedAccount"],
        feed.to_string()
    );
}

/// A POST with headers.
async fn post(http: &reqwest::Client, url: &str, headers: &[(&str, &str)], method: &str, params: Value) -> Value {
    let mut r = http.post(url).header("content-type", "application/json");
    for (k, v) in headers {
        r = r.header(*k, *v);
    }
    let text = r
        .body(request(7, method, params))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
}

/// A web page anywhere could mint or move the clock through the visitor's
/// browser: test controls now answer only requests without an `Origin` or
/// from a page on this machine; `--no-test-controls` serves none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_controls_refuse_web_pages_elsewhere() {
    let node = Node::start(&[]);
    let client = node.client();
    let (url, http) = (node.rpc(), reqwest::Client::new());
    let owner = Keypair::new().pubkey();
    let mint = |headers: Vec<(&'static str, String)>| {
        let (http, url) = (http.clone(), url.clone());
        async move {
            let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(
                &http,
                &url,
                &headers,
                "localnet_mintCollateral",
                json!([owner.to_string(), 5]),
            )
            .await
        }
    };
    for origin in ["https://evil.example", "http://127.0.0.1.evil.example:8899", "null"] {
        let v = mint(vec![("origin", origin.to_string())]).await;
        assert_eq!(code(&v), -32600, "{v}");
        assert_eq!(
            message(&v),
            format!(
                "Invalid request: localnet_mintCollateral is refused to the web page at {origin}: test controls answer \
                 requests without an Origin header or from a page on this machine (127.0.0.1, localhost or [::1])"
            )
        );
    }
    // a page reaching this machine through a rebound DNS name
    let v = mint(vec![("host", "evil.example:8899".to_string())]).await;
    assert_eq!(code(&v), -32600, "{v}");
    assert!(
        message(&v).starts_with(
            "Invalid request: localnet_mintCollateral is refused to the web page at (Host: evil.example:8899)"
        ),
        "{v}"
    );
    let ata = ata(&owner, &node.key("mint"));
    assert!(!exists(&client, &ata).await, "nothing minted");
    // reads answer any page, as a cluster's
    let v = post(&http, &url, &[("origin", "https://evil.example")], "getSlot", json!([])).await;
    assert!(v["result"].is_u64(), "{v}");
    // the app's page (served from 127.0.0.1), localhost, [::1], and no Origin (curl, the clients)
    let mut minted = 0;
    for origin in [
        "http://127.0.0.1:4173",
        "http://localhost:5173",
        "http://[::1]:5173",
        "",
    ] {
        let headers = match origin {
            "" => vec![],
            o => vec![("origin", o.to_string())],
        };
        let v = mint(headers).await;
        assert_eq!(v["result"]["amount"], 5, "{origin}: {v}");
        minted += 5;
    }
    assert_eq!(token_amount(&client, &ata).await, minted);

    // without test controls: only localnet_info
    let node = Node::start(&["--no-test-controls"]);
    let client = node.client();
    for (method, params) in [
        ("localnet_mintCollateral", json!([owner.to_string(), 5])),
        ("localnet_setPrice", json!(["USDC/USD", {"price": 1}])),
        ("localnet_advanceClock", json!([60])),
        ("localnet_setClock", json!([i64::MAX])),
    ] {
        let v = call(&http, &node.rpc(), method, params).await;
        assert_eq!(
            (code(&v), message(&v)),
            (-32601, "Method not found".to_string()),
            "{method}"
        );
    }
    assert_eq!(
        control(&client, "localnet_info", json!([])).await["pool"],
        node.info["pool"]
    );
}

/// Slots, block heights, transaction counts and statuses at one commitment
/// agree: a transaction is `confirmed` while its block is open (its slot
/// after getSlot at `finalized`), `finalized` once it closed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commitments_agree() {
    let node = Node::start(&[]);
    let client = node.client();
    let alice = wallet(&client, 0).await;
    block_after(&client, &client.request_airdrop(&alice.pubkey(), 1).await.unwrap()).await;
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let tx = Transaction::new_signed_with_payer(
        &[solana_system_interface::instruction::transfer(
            &alice.pubkey(),
            &Keypair::new().pubkey(),
            SOL,
        )],
        Some(&alice.pubkey()),
        &[&alice],
        blockhash,
    );
    let signature = client.send_transaction(&tx).await.unwrap();
    let at = |c: CommitmentConfig| {
        let client = &client;
        async move {
            // one request each: sampled again when a block closed in between
            loop {
                let slot = client.get_slot_with_commitment(c).await.unwrap();
                let height = client.get_block_height_with_commitment(c).await.unwrap();
                let count = client.get_transaction_count_with_commitment(c).await.unwrap();
                let epoch = client.get_epoch_info_with_commitment(c).await.unwrap();
                if client.get_slot_with_commitment(c).await.unwrap() != slot {
                    continue;
                }
                assert_eq!(
                    (epoch.absolute_slot, epoch.block_height, epoch.transaction_count),
                    (slot, height, Some(count)),
                    "getEpochInfo agrees at {c:?}"
                );
                return (slot, height, count);
            }
        }
    };
    let (mut seen_confirmed, deadline) = (false, Instant::now() + Duration::from_secs(10));
    loop {
        assert!(Instant::now() < deadline, "its block never closed");
        let finalized = at(CommitmentConfig::finalized()).await;
        let status = client.get_signature_statuses(&[signature]).await.unwrap().value[0]
            .clone()
            .unwrap();
        let confirmed = at(CommitmentConfig::confirmed()).await;
        if finalized != at(CommitmentConfig::finalized()).await {
            continue; // a block closed meanwhile: sample again
        }
        if status.slot > finalized.0 {
            seen_confirmed = true;
            assert_eq!(
                status.confirmation_status,
                Some(TransactionConfirmationStatus::Confirmed)
            );
            assert_eq!(status.confirmations, Some(1));
            assert_eq!(confirmed.0, status.slot, "the open block holds it");
            assert_eq!(confirmed.1, finalized.1 + 1, "one block ahead");
            assert!(confirmed.2 > finalized.2, "it counts at confirmed only");
        } else {
            assert_eq!(
                status.confirmation_status,
                Some(TransactionConfirmationStatus::Finalized)
            );
            assert_eq!(status.confirmations, None);
            assert!(seen_confirmed, "the transaction was confirmed before it was finalized");
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A signature subscriber asking for it hears `receivedSignature` only once
/// the transaction passed preflight (agave tells it once the transaction is
/// sent on to the leader): one refused by preflight is never "received".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn received_is_notified_only_after_preflight() {
    let node = Node::start(&[]);
    let client = node.client();
    let alice = wallet(&client, 0).await;
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let transfer = |lamports: u64| {
        Transaction::new_signed_with_payer(
            &[solana_system_interface::instruction::transfer(
                &alice.pubkey(),
                &Keypair::new().pubkey(),
                lamports,
            )],
            Some(&alice.pubkey()),
            &[&alice],
            blockhash,
        )
    };
    let (refused, good) = (transfer(1_000 * SOL), transfer(SOL));
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws()).await.unwrap();
    let config = json!({"commitment": "confirmed", "enableReceivedNotification": true});
    let subscribe =
        |id: u64, tx: &Transaction| request(id, "signatureSubscribe", json!([tx.signatures[0].to_string(), config]));
    let refused_sub = rpc::ask(&mut ws, subscribe(1, &refused)).await["result"]
        .as_u64()
        .unwrap();
    let good_sub = rpc::ask(&mut ws, subscribe(2, &good)).await["result"].as_u64().unwrap();
    let err = client.send_transaction(&refused).await.unwrap_err();
    assert_eq!(rpc_error(&err).0, -32002, "{err}");
    client.send_transaction(&good).await.unwrap();
    // notifications come in order: the refused one's would come first
    let first = next_notification(&mut ws).await;
    assert_eq!(
        first["params"]["subscription"], good_sub,
        "{first} (refused: {refused_sub})"
    );
    assert_eq!(first["params"]["result"]["value"], "receivedSignature", "{first}");
    let second = next_notification(&mut ws).await;
    assert_eq!(second["params"]["subscription"], good_sub, "{second}");
    assert_eq!(second["params"]["result"]["value"], json!({"err": null}), "{second}");
}

/// Mainnet lets a transaction lock at most 64 accounts; solana-program-test
/// activates `increase_tx_account_lock_limit` (128): the bank now runs
/// without it, so 65 locks are refused over RPC as on a cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transaction_locking_65_accounts_is_refused() {
    let node = Node::start(&[]);
    let client = node.client();
    let alice = wallet(&client, 0).await;
    let mut t = RpcTransport::new(&node.rpc(), alice.insecure_clone());
    let addresses: Vec<Pubkey> = (0..64).map(|_| Keypair::new().pubkey()).collect();
    let tables = coverage_sdk::tables::create(&mut t, &[], &addresses).await.unwrap();
    // alice, the system program, and `extra` more read-only accounts
    let tx = |extra: usize, blockhash| {
        let mut transfer = solana_system_interface::instruction::transfer(&alice.pubkey(), &alice.pubkey(), 0);
        transfer.accounts.extend(
            addresses[..extra]
                .iter()
                .map(|a| anchor_lang::solana_program::instruction::AccountMeta::new_readonly(*a, false)),
        );
        coverage_sdk::tx::build(&alice, &[transfer], &[], &tables, blockhash).unwrap()
    };
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let (fits, over) = (tx(62, blockhash), tx(63, blockhash));
    assert_eq!(coverage_sdk::tx::account_locks(&over), 65);
    assert!(
        coverage_sdk::tx::size(&over) <= 1_232,
        "a packet: refused for its locks only"
    );
    let err = client.send_transaction(&over).await.unwrap_err();
    let (code, message, data) = rpc_error(&err);
    assert_eq!(
        (code, message.as_str()),
        (
            -32002,
            "Transaction simulation failed: Transaction locked too many accounts"
        )
    );
    match data {
        RpcResponseErrorData::SendTransactionPreflightFailure(sim) => {
            assert_eq!(
                format!("{:?}", sim.err),
                "Some(UiTransactionError(TooManyAccountLocks))"
            )
        }
        other => panic!("{other:?}"),
    }
    // 64 pass
    assert_eq!(coverage_sdk::tx::account_locks(&fits), 64);
    client.send_and_confirm_transaction(&fits).await.unwrap();
}
