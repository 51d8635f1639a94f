//! Every JSON-RPC method through the official Rust clients, bad input with
//! raw HTTP, blockhash lifetime, a replayed price series, and a clean stop
//! on SIGINT.

use super::*;

/// 100 USDC of cover for 30 days, at most 1 000 USDC of premium.
async fn buy(
    client: &RpcClient,
    buyer: &Keypair,
    k: &BuyCoverKeys,
) -> solana_rpc_client_api::client_error::Result<solana_signature::Signature> {
    let ix = ix::buy_cover(&buyer.pubkey(), &buyer.pubkey(), k, 100 * USDC, 30, 1_000 * USDC);
    send(client, &[ix], buyer).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_method_through_the_official_clients() {
    let node = Node::start(&[]);
    let client = node.client();
    let keys = node.keys();
    let (usdc_market, usdc_feed) = node.market(0);

    // ---- minimal and bank data
    assert_eq!(client.get_version().await.unwrap().solana_core, "3.1.12");
    client.get_health().await.unwrap();
    let genesis = client.get_genesis_hash().await.unwrap();
    assert_eq!(client.get_genesis_hash().await.unwrap(), genesis);
    let slot = client.get_slot().await.unwrap();
    assert!(slot >= node.info["slot"].as_u64().unwrap());
    let finalized = client
        .get_slot_with_commitment(CommitmentConfig::finalized())
        .await
        .unwrap();
    assert!(finalized < slot, "finalized is the rooted parent");
    let epoch = client.get_epoch_info().await.unwrap();
    assert_eq!(epoch.absolute_slot, slot);
    assert_eq!(epoch.block_height, client.get_block_height().await.unwrap());
    let rent = client.get_minimum_balance_for_rent_exemption(165).await.unwrap();
    assert_eq!(rent, anchor_lang::prelude::Rent::default().minimum_balance(165));

    // ---- airdrop, faucet, balances
    let staker = wallet(&client, 1_000 * USDC).await;
    assert_eq!(client.get_balance(&staker.pubkey()).await.unwrap(), 10 * SOL);
    let staker_usdc =
        get_associated_token_address_with_program_id(&staker.pubkey(), &keys.collateral_mint, &keys.token_program);
    assert_eq!(token_amount(&client, &staker_usdc).await, 1_000 * USDC);

    // ---- a deposit through the SDK's builders
    let share_mint = keys.share_mint(0);
    let staker_shares =
        get_associated_token_address_with_program_id(&staker.pubkey(), &share_mint, &keys.token_program);
    let deposit_sig = send(
        &client,
        &[
            spl_associated_token_account::instruction::create_associated_token_account_idempotent(
                &staker.pubkey(),
                &staker.pubkey(),
                &share_mint,
                &keys.token_program,
            ),
            ix::deposit(&staker.pubkey(), &keys, 0, &staker_usdc, &staker_shares, 500 * USDC, 1),
        ],
        &staker,
    )
    .await
    .unwrap();
    assert_eq!(token_amount(&client, &staker_usdc).await, 500 * USDC);
    assert_eq!(token_amount(&client, &keys.vault()).await, 500 * USDC);
    let pool = Pool::try_deserialize(&mut &client.get_account_data(&keys.pool).await.unwrap()[..]).unwrap();
    assert_eq!(pool.tranches[0].assets, 500 * USDC);
    assert!(token_amount(&client, &staker_shares).await > 0);

    // ---- its status (finalized once its block closed) and its record
    block_after(&client, &deposit_sig).await;
    let status = client.get_signature_statuses(&[deposit_sig]).await.unwrap().value[0]
        .clone()
        .unwrap();
    assert_eq!(
        status.confirmation_status,
        Some(TransactionConfirmationStatus::Finalized)
    );
    assert!(status.status.is_ok() && status.err.is_none());
    let tx = client
        .get_transaction_with_config(
            &deposit_sig,
            RpcTransactionConfig {
                encoding: Some(UiTransactionEncoding::Json),
                commitment: Some(CommitmentConfig::confirmed()),
                max_supported_transaction_version: Some(0),
            },
        )
        .await
        .unwrap();
    let meta = tx.transaction.meta.unwrap();
    assert!(meta.err.is_none());
    assert_eq!(meta.fee, 5_000, "one signature, no priority fee");
    let logs: Vec<String> = meta.log_messages.unwrap();
    let invoke = format!("Program {} invoke [1]", coverage_pool::ID);
    assert!(logs.contains(&invoke), "{logs:?}");
    assert!(
        logs.iter().any(|l| l.contains("TransferChecked")),
        "the CPI's logs: {logs:?}"
    );
    let pre: Vec<u64> = meta.pre_balances;
    let post: Vec<u64> = meta.post_balances;
    assert_eq!(
        pre[0] - post[0],
        5_000 + rent,
        "the payer paid the fee and the share account's rent"
    );
    let pre_tokens = Option::<Vec<_>>::from(meta.pre_token_balances).unwrap();
    let post_tokens = Option::<Vec<_>>::from(meta.post_token_balances).unwrap();
    let amount_of = |v: &Vec<solana_transaction_status_client_types::UiTransactionTokenBalance>,
                     owner: &Pubkey,
                     mint: &Pubkey| {
        v.iter()
            .find(|b| Option::<String>::from(b.owner.clone()) == Some(owner.to_string()) && b.mint == mint.to_string())
            .map(|b| b.ui_token_amount.amount.clone())
    };
    assert_eq!(
        amount_of(&pre_tokens, &staker.pubkey(), &keys.collateral_mint).as_deref(),
        Some("1000000000")
    );
    assert_eq!(
        amount_of(&post_tokens, &staker.pubkey(), &keys.collateral_mint).as_deref(),
        Some("500000000")
    );
    assert!(
        Option::<Vec<_>>::from(meta.inner_instructions).is_some_and(|ii| !ii.is_empty()),
        "inner instructions from the preflight"
    );

    // ---- a purchase, then the policy through getProgramAccounts (the SDK's memcmp filters)
    let buyer = wallet(&client, 1_000 * USDC).await;
    let buyer_usdc =
        get_associated_token_address_with_program_id(&buyer.pubkey(), &keys.collateral_mint, &keys.token_program);
    let market = Market::try_deserialize(&mut &client.get_account_data(&usdc_market).await.unwrap()[..]).unwrap();
    let k = BuyCoverKeys {
        keys,
        market: usdc_market,
        policy_id: market.policy_count,
        payer_collateral: buyer_usdc,
        price_update: usdc_feed,
    };
    let bought = buy(&client, &buyer, &k).await.unwrap();
    let mut t = RpcTransport::new(&node.rpc(), buyer.insecure_clone());
    let policies = t.policies(&usdc_market, 0).await.unwrap();
    assert_eq!(policies.len(), 1);
    assert_eq!(policies[0].0, pda::policy(&usdc_market, market.policy_count).0);
    assert_eq!(
        (policies[0].1.owner, policies[0].1.amount, policies[0].1.market),
        (buyer.pubkey(), 100 * USDC, usdc_market)
    );
    let premium = policies[0].1.premium;
    assert!(premium > 0);
    assert_eq!(token_amount(&client, &buyer_usdc).await, 1_000 * USDC - premium);

    // dataSize + memcmp, with context
    let policy_len = (8 + Policy::INIT_SPACE) as u64;
    let with_context = RpcProgramAccountsConfig {
        filters: Some(vec![
            RpcFilterType::DataSize(policy_len),
            RpcFilterType::Memcmp(Memcmp::new_base58_encoded(0, Policy::DISCRIMINATOR)),
        ]),
        account_config: RpcAccountInfoConfig {
            encoding: Some(UiAccountEncoding::Base64),
            ..RpcAccountInfoConfig::default()
        },
        with_context: Some(true),
        sort_results: None,
    };
    let found = client
        .get_program_ui_accounts_with_config(&coverage_pool::ID, with_context)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1.data.decode().unwrap().len() as u64, policy_len);
    let markets = client
        .get_program_ui_accounts_with_config(
            &coverage_pool::ID,
            RpcProgramAccountsConfig {
                filters: Some(vec![RpcFilterType::Memcmp(Memcmp::new_base58_encoded(
                    0,
                    Market::DISCRIMINATOR,
                ))]),
                account_config: RpcAccountInfoConfig {
                    encoding: Some(UiAccountEncoding::Base64Zstd),
                    ..RpcAccountInfoConfig::default()
                },
                ..RpcProgramAccountsConfig::default()
            },
        )
        .await
        .unwrap();
    let mut market_keys: Vec<Pubkey> = markets.iter().map(|(k, _)| *k).collect();
    market_keys.sort();
    let mut expected = vec![node.market(0).0, node.market(1).0];
    expected.sort();
    assert_eq!(market_keys, expected);

    // ---- token accounts by owner, jsonParsed
    let by_mint = client
        .get_token_accounts_by_owner(&staker.pubkey(), TokenAccountsFilter::Mint(keys.collateral_mint))
        .await
        .unwrap();
    assert_eq!(by_mint.len(), 1);
    assert_eq!(by_mint[0].pubkey, staker_usdc.to_string());
    let UiAccountData::Json(parsed) = &by_mint[0].account.data else {
        panic!("jsonParsed: {:?}", by_mint[0].account.data)
    };
    assert_eq!(parsed.parsed["info"]["tokenAmount"]["amount"], "500000000");
    assert_eq!(parsed.parsed["info"]["tokenAmount"]["decimals"], 6);
    let by_program = client
        .get_token_accounts_by_owner(&staker.pubkey(), TokenAccountsFilter::ProgramId(anchor_spl::token::ID))
        .await
        .unwrap();
    assert_eq!(by_program.len(), 2, "collateral and shares");

    // ---- account reads: encodings and slices
    let sliced = client
        .get_ui_account_with_config(
            &keys.pool,
            RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64),
                data_slice: Some(UiDataSliceConfig { offset: 0, length: 8 }),
                ..RpcAccountInfoConfig::default()
            },
        )
        .await
        .unwrap()
        .value
        .unwrap();
    assert_eq!(sliced.data.decode().unwrap(), Pool::DISCRIMINATOR.to_vec());
    let many = client
        .get_multiple_accounts(&[keys.pool, keys.vault(), Keypair::new().pubkey()])
        .await
        .unwrap();
    assert!(many[0].is_some() && many[1].is_some() && many[2].is_none(), "{many:?}");
    assert_eq!(many[0].as_ref().unwrap().owner, coverage_pool::ID);
    let zstd = client
        .get_ui_account_with_config(
            &keys.pool,
            RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::Base64Zstd),
                ..RpcAccountInfoConfig::default()
            },
        )
        .await
        .unwrap()
        .value
        .unwrap();
    assert_eq!(zstd.data.decode().unwrap(), many[0].as_ref().unwrap().data);

    // ---- blockhashes
    let (latest, _) = client
        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert!(client
        .is_blockhash_valid(&latest, CommitmentConfig::confirmed())
        .await
        .unwrap());
    assert!(!client
        .is_blockhash_valid(&random_hash(), CommitmentConfig::confirmed())
        .await
        .unwrap());

    // ---- a priority fee, seen by getTransaction and getRecentPrioritizationFees (alone in its block)
    block_after(&client, &bought).await;
    let lamports_before = client.get_balance(&staker.pubkey()).await.unwrap();
    let priced = send(
        &client,
        &[
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_limit(200_000),
            solana_compute_budget_interface::ComputeBudgetInstruction::set_compute_unit_price(1_000),
            ix::deposit(&staker.pubkey(), &keys, 0, &staker_usdc, &staker_shares, 10 * USDC, 1),
        ],
        &staker,
    )
    .await
    .unwrap();
    let fee = record(&client, &priced).await.transaction.meta.unwrap().fee;
    assert_eq!(fee, 5_000 + 200, "1 000 micro-lamports × 200 000 units");
    let charged = lamports_before - client.get_balance(&staker.pubkey()).await.unwrap();
    assert_eq!(charged, fee, "the fee reported is the fee the bank charged");
    let fees = client.get_recent_prioritization_fees(&[keys.vault()]).await.unwrap();
    assert!(fees.iter().any(|f| f.prioritization_fee == 1_000), "{fees:?}");

    // ---- simulate: replaceRecentBlockhash, then sigVerify of a forged signature
    let mut stale = Transaction::new_with_payer(
        &[ix::deposit(
            &staker.pubkey(),
            &keys,
            0,
            &staker_usdc,
            &staker_shares,
            5 * USDC,
            1,
        )],
        Some(&staker.pubkey()),
    );
    stale.sign(&[&staker], random_hash());
    let sim = client
        .simulate_transaction_with_config(
            &stale,
            RpcSimulateTransactionConfig {
                replace_recent_blockhash: true,
                inner_instructions: true,
                ..RpcSimulateTransactionConfig::default()
            },
        )
        .await
        .unwrap()
        .value;
    assert!(sim.err.is_none(), "{sim:?}");
    assert!(sim.replacement_blockhash.is_some());
    assert!(sim.logs.unwrap().contains(&invoke));
    assert!(sim.inner_instructions.is_some_and(|ii| !ii.is_empty()));
    assert_eq!(
        token_amount(&client, &staker_usdc).await,
        490 * USDC,
        "a simulation changes nothing"
    );
    let mut forged = stale.clone();
    forged.message.recent_blockhash = latest;
    forged.signatures[0] = Keypair::new().sign_message(&forged.message_data());
    let err = client
        .simulate_transaction_with_config(
            &forged,
            RpcSimulateTransactionConfig {
                sig_verify: true,
                ..RpcSimulateTransactionConfig::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(rpc_error(&err).0, -32003);

    // ---- a v0 transaction through an address lookup table
    use solana_address_lookup_table_interface::instruction as alt;
    let recent = client
        .get_slot_with_commitment(CommitmentConfig::finalized())
        .await
        .unwrap();
    let (create, table) = alt::create_lookup_table(staker.pubkey(), staker.pubkey(), recent);
    send(&client, &[create], &staker).await.unwrap();
    let entries = vec![
        keys.pool,
        keys.ledger(),
        keys.collateral_mint,
        keys.vault(),
        share_mint,
        keys.token_program,
    ];
    let extended = send(
        &client,
        &[alt::extend_lookup_table(
            table,
            staker.pubkey(),
            Some(staker.pubkey()),
            entries.clone(),
        )],
        &staker,
    )
    .await
    .unwrap();
    // entries are usable from the next slot
    block_after(&client, &extended).await;
    let lookup = solana_message::AddressLookupTableAccount {
        key: table,
        addresses: entries,
    };
    let message = solana_message::v0::Message::try_compile(
        &staker.pubkey(),
        &[ix::deposit(
            &staker.pubkey(),
            &keys,
            0,
            &staker_usdc,
            &staker_shares,
            20 * USDC,
            1,
        )],
        &[lookup],
        client.get_latest_blockhash().await.unwrap(),
    )
    .unwrap();
    let v0 = VersionedTransaction::try_new(solana_message::VersionedMessage::V0(message), &[&staker]).unwrap();
    let v0_sig = client.send_and_confirm_transaction(&v0).await.unwrap();
    assert_eq!(token_amount(&client, &staker_usdc).await, 470 * USDC);
    let v0_tx = record(&client, &v0_sig).await;
    assert_eq!(
        v0_tx.transaction.version,
        Some(solana_transaction::versioned::TransactionVersion::Number(0))
    );
    let loaded = Option::<solana_transaction_status_client_types::UiLoadedAddresses>::from(
        v0_tx.transaction.meta.unwrap().loaded_addresses,
    )
    .unwrap();
    assert!(
        loaded.writable.contains(&keys.pool.to_string()) && loaded.readonly.contains(&keys.token_program.to_string()),
        "{loaded:?}"
    );
    let legacy_only = client
        .get_transaction_with_config(&v0_sig, RpcTransactionConfig::default())
        .await
        .unwrap_err();
    assert_eq!(
        rpc_error(&legacy_only).0,
        -32015,
        "v0 needs maxSupportedTransactionVersion"
    );

    // ---- test controls: the clock, a price, a refused purchase that changes nothing
    let clock_before = t.now().await.unwrap();
    let slot_before = client.get_slot().await.unwrap();
    let advanced = control(&client, "localnet_advanceClock", json!([3600])).await;
    let clock_after = t.now().await.unwrap();
    assert!(
        (3600..3600 + 30).contains(&(clock_after - clock_before)),
        "{clock_before} → {clock_after}"
    );
    assert_eq!(advanced["unixTimestamp"].as_i64().unwrap(), clock_after);
    let slot_after = client.get_slot().await.unwrap();
    assert!(
        slot_after >= slot_before + 8_990,
        "a slot is 400 ms of ledger time: {slot_before} → {slot_after}, {advanced}"
    );
    let set = control(
        &client,
        "localnet_setPrice",
        json!(["USDC/USD", { "price": 90_000_000, "conf": 10_000 }]),
    )
    .await;
    assert_eq!(set["feedAccount"], usdc_feed.to_string());
    let feed = PriceUpdate::read(&client.get_account_data(&usdc_feed).await.unwrap()).unwrap();
    assert_eq!((feed.price, feed.conf, feed.exponent), (90_000_000, 10_000, -8));
    let market = Market::try_deserialize(&mut &client.get_account_data(&usdc_market).await.unwrap()[..]).unwrap();
    let k = BuyCoverKeys {
        policy_id: market.policy_count,
        ..k
    };
    let refused = buy(&client, &buyer, &k).await.unwrap_err();
    let (code, message, data) = rpc_error(&refused);
    assert_eq!(code, -32002, "{message}");
    let RpcResponseErrorData::SendTransactionPreflightFailure(result) = data else {
        panic!("no simulation in {message}")
    };
    assert!(result
        .logs
        .as_ref()
        .unwrap()
        .iter()
        .any(|l| l.contains(&coverage_pool::ID.to_string())));
    assert_eq!(
        token_amount(&client, &buyer_usdc).await,
        1_000 * USDC - premium,
        "nothing paid"
    );
    assert_eq!(t.policies(&usdc_market, 0).await.unwrap().len(), 1, "no policy");

    // ---- websocket: slots, an account, a signature
    let pubsub = solana_pubsub_client::nonblocking::pubsub_client::PubsubClient::new(&node.ws())
        .await
        .unwrap();
    let (mut slots, unsub_slots) = pubsub.slot_subscribe().await.unwrap();
    let (mut account_updates, unsub_account) = pubsub
        .account_subscribe(
            &staker_usdc,
            Some(RpcAccountInfoConfig {
                encoding: Some(UiAccountEncoding::JsonParsed),
                ..RpcAccountInfoConfig::default()
            }),
        )
        .await
        .unwrap();
    control(
        &client,
        "localnet_mintCollateral",
        json!([staker.pubkey().to_string(), 30 * USDC]),
    )
    .await;
    let update = tokio::time::timeout(Duration::from_secs(10), account_updates.next())
        .await
        .unwrap()
        .unwrap();
    let UiAccountData::Json(parsed) = update.value.data else {
        panic!("jsonParsed")
    };
    assert_eq!(parsed.parsed["info"]["tokenAmount"]["amount"], "500000000");
    let slot_info = tokio::time::timeout(Duration::from_secs(10), slots.next())
        .await
        .unwrap()
        .unwrap();
    assert!(slot_info.slot > slot_before && slot_info.parent < slot_info.slot);
    // a signature watched before it is sent (kit's flow): received, then processed
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let transfer = Transaction::new_signed_with_payer(
        &[solana_system_interface::instruction::transfer(
            &staker.pubkey(),
            &buyer.pubkey(),
            SOL,
        )],
        Some(&staker.pubkey()),
        &[&staker],
        blockhash,
    );
    let watched = RpcSignatureSubscribeConfig {
        commitment: Some(CommitmentConfig::confirmed()),
        enable_received_notification: Some(true),
    };
    let (mut sig_updates, _unsub_sig) = pubsub
        .signature_subscribe(&transfer.signatures[0], Some(watched))
        .await
        .unwrap();
    let sent = client
        .send_transaction_with_config(
            &transfer,
            RpcSendTransactionConfig {
                skip_preflight: true,
                encoding: Some(UiTransactionEncoding::Base58),
                ..RpcSendTransactionConfig::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(sent, transfer.signatures[0]);
    let received = tokio::time::timeout(Duration::from_secs(10), sig_updates.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(received.value, RpcSignatureResult::ReceivedSignature(_)));
    let done = tokio::time::timeout(Duration::from_secs(10), sig_updates.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(done.value, RpcSignatureResult::ProcessedSignature(ref p) if p.err.is_none()),
        "{done:?}"
    );
    // one already processed is answered at once
    let (mut again, _unsub_again) = pubsub.signature_subscribe(&sent, None).await.unwrap();
    let done = tokio::time::timeout(Duration::from_secs(10), again.next())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(done.value, RpcSignatureResult::ProcessedSignature(ref p) if p.err.is_none()));
    unsub_slots().await;
    unsub_account().await;

    let info = control(&client, "localnet_info", json!([])).await;
    assert_eq!((&info["pool"], &info["mint"]), (&node.info["pool"], &node.info["mint"]));
    assert!(info["clock"].as_i64().unwrap() >= node.info["clock"].as_i64().unwrap() + 3600);
    // the buyer paid one fee and one policy's rent; the refused purchase cost nothing
    assert_eq!(
        client.get_balance(&buyer.pubkey()).await.unwrap(),
        11 * SOL - 5_000 - rent_of_policy(&client).await
    );
    assert!(
        node.stderr.lock().unwrap().is_empty(),
        "quiet by default: {}",
        node.stderr.lock().unwrap()
    );
}

/// A hash no ledger has seen (`Hash::new_unique` counts from 1 in every
/// process, so the server's own may collide).
fn random_hash() -> solana_hash::Hash {
    solana_hash::Hash::new_from_array(Keypair::new().pubkey().to_bytes())
}

async fn rent_of_policy(client: &RpcClient) -> u64 {
    client
        .get_minimum_balance_for_rent_exemption(8 + Policy::INIT_SPACE)
        .await
        .unwrap()
}

fn base64(tx: &impl serde::Serialize) -> String {
    use base64::Engine;
    base64::prelude::BASE64_STANDARD.encode(bincode::serialize(tx).unwrap())
}

pub type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One websocket request; returns its answer (notifications in between are skipped).
pub async fn ask(ws: &mut Ws, text: String) -> Value {
    use futures_util::SinkExt;
    ws.send(tokio_tungstenite::tungstenite::Message::Text(text.into()))
        .await
        .unwrap();
    loop {
        let reply = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let v: Value = serde_json::from_str(reply.to_text().unwrap()).unwrap();
        if v.get("id").is_some() {
            return v;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_standard_error_and_changes_nothing() {
    let node = Node::start(&[]);
    let client = node.client();
    let url = node.rpc();
    let http = reqwest::Client::new();
    let keys = node.keys();
    let alice = wallet(&client, 100 * USDC).await;
    let bob = Keypair::new();
    let alice_usdc =
        get_associated_token_address_with_program_id(&alice.pubkey(), &keys.collateral_mint, &keys.token_program);

    // what must not change
    let count = || async {
        call(&http, &url, "getTransactionCount", json!([{"commitment": "confirmed"}])).await["result"]
            .as_u64()
            .unwrap()
    };
    let before = (
        count().await,
        client.get_balance(&alice.pubkey()).await.unwrap(),
        token_amount(&client, &alice_usdc).await,
        client.get_account_data(&keys.pool).await.unwrap(),
    );

    // envelope
    let (status, v) = raw(&http, &url, r#"{"jsonrpc":"2.0","id":1,"method":"getSlot""#).await;
    assert_eq!((status, code(&v)), (200, -32700));
    assert_eq!(code(&call(&http, &url, "getSlots", json!([])).await), -32601);
    let v = call(&http, &url, "getBalance", json!(["not-an-address"])).await;
    assert_eq!(code(&v), -32602);
    assert!(v["error"]["message"].as_str().unwrap().contains("`pubkey`"), "{v}");
    let v = call(
        &http,
        &url,
        "getAccountInfo",
        json!([keys.pool.to_string(), {"encoding": "base65"}]),
    )
    .await;
    assert_eq!(code(&v), -32602);
    assert!(v["error"]["message"].as_str().unwrap().contains("`config`"), "{v}");
    let v = call(&http, &url, "localnet_advanceClock", json!([0])).await;
    assert!(
        code(&v) == -32602 && v["error"]["message"].as_str().unwrap().contains("`seconds`"),
        "{v}"
    );
    // the clock never goes back
    let v = call(&http, &url, "localnet_setClock", json!([1_600_000_000])).await;
    assert!(
        code(&v) == -32602 && v["error"]["message"].as_str().unwrap().contains("`unixTimestamp`"),
        "{v}"
    );
    let v = call(&http, &url, "getProgramAccounts", json!([coverage_pool::ID.to_string(), {"filters": [{"dataSize": 1}, {"dataSize": 2}, {"dataSize": 3}, {"dataSize": 4}, {"dataSize": 5}]}])).await;
    assert!(
        code(&v) == -32602 && v["error"]["message"].as_str().unwrap().contains("`filters`"),
        "{v}"
    );

    // transactions that cannot be decoded, or are too large
    let v = call(&http, &url, "sendTransaction", json!(["0OIl"])).await;
    assert!(
        code(&v) == -32602 && v["error"]["message"].as_str().unwrap().contains("base58"),
        "{v}"
    );
    let v = call(&http, &url, "sendTransaction", json!(["AAAA", {"encoding": "base64"}])).await;
    assert!(
        code(&v) == -32602
            && v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("failed to deserialize"),
        "{v}"
    );
    let blockhash = client.get_latest_blockhash().await.unwrap();
    let memo = |len: usize| anchor_lang::solana_program::instruction::Instruction {
        program_id: coverage_sdk::bank::MEMO_PROGRAM,
        accounts: vec![],
        data: vec![b'x'; len],
    };
    let transfer = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob.pubkey(), SOL);
    let big = Transaction::new_signed_with_payer(
        &[transfer.clone(), memo(1_200)],
        Some(&alice.pubkey()),
        &[&alice],
        blockhash,
    );
    assert!(bincode::serialized_size(&big).unwrap() > 1_232);
    let v = call(
        &http,
        &url,
        "sendTransaction",
        json!([base64(&big), {"encoding": "base64"}]),
    )
    .await;
    assert!(
        code(&v) == -32602 && v["error"]["message"].as_str().unwrap().contains("too large"),
        "{v}"
    );
    // the largest that fits passes the size check (and is then simulated)
    let overhead = bincode::serialized_size(&Transaction::new_signed_with_payer(
        &[transfer.clone(), memo(0)],
        Some(&alice.pubkey()),
        &[&alice],
        blockhash,
    ))
    .unwrap() as usize;
    let fits = Transaction::new_signed_with_payer(
        &[transfer.clone(), memo(1_232 - overhead - 1)],
        Some(&alice.pubkey()),
        &[&alice],
        blockhash,
    );
    assert!(bincode::serialized_size(&fits).unwrap() <= 1_232);
    let v = call(
        &http,
        &url,
        "simulateTransaction",
        json!([base64(&fits), {"encoding": "base64"}]),
    )
    .await;
    assert!(v.get("result").is_some(), "{v}");

    // unsigned, wrongly signed, unknown blockhash (with and without preflight)
    let mut unsigned = Transaction::new_with_payer(std::slice::from_ref(&transfer), Some(&alice.pubkey()));
    unsigned.message.recent_blockhash = blockhash;
    unsigned.signatures = vec![solana_signature::Signature::default()];
    assert_eq!(
        code(
            &call(
                &http,
                &url,
                "sendTransaction",
                json!([base64(&unsigned), {"encoding": "base64"}])
            )
            .await
        ),
        -32003
    );
    let mut wrong = unsigned.clone();
    wrong.signatures = vec![bob.sign_message(&wrong.message_data())];
    for skip in [false, true] {
        let v = call(
            &http,
            &url,
            "sendTransaction",
            json!([base64(&wrong), {"encoding": "base64", "skipPreflight": skip}]),
        )
        .await;
        assert_eq!(code(&v), -32003, "{v}");
    }
    let stale = Transaction::new_signed_with_payer(
        std::slice::from_ref(&transfer),
        Some(&alice.pubkey()),
        &[&alice],
        random_hash(),
    );
    for skip in [false, true] {
        let v = call(
            &http,
            &url,
            "sendTransaction",
            json!([base64(&stale), {"encoding": "base64", "skipPreflight": skip}]),
        )
        .await;
        assert_eq!(code(&v), -32002, "{v}");
        assert_eq!(v["error"]["data"]["err"], "BlockhashNotFound", "{v}");
    }

    // a body over the limit, before it is read
    let huge = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"getSlot","params":["{}"]}}"#,
        "x".repeat(60 * 1024)
    );
    let (status, v) = raw(&http, &url, huge).await;
    assert_eq!((status, code(&v)), (413, -32600));

    // a browser's preflight passes
    let r = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://localhost:5173")
        .header("access-control-request-method", "POST")
        .header("access-control-request-headers", "content-type, solana-client")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let allow = |h: &str| {
        r.headers()
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(allow("access-control-allow-origin"), "*");
    let headers = allow("access-control-allow-headers");
    assert!(
        headers == "*" || (headers.contains("solana-client") && headers.contains("content-type")),
        "{headers}"
    );

    // the websocket: bad JSON, unknown method, unknown subscription ids
    let (mut ws, _) = tokio_tungstenite::connect_async(node.ws()).await.unwrap();
    let rpc = |id: u64, method: &str, params: Value| {
        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
    };
    assert_eq!(code(&ask(&mut ws, "{".into()).await), -32700);
    assert_eq!(
        code(&ask(&mut ws, rpc(1, "getSlot", json!([]))).await),
        -32601,
        "subscriptions only"
    );
    let id = ask(&mut ws, rpc(2, "slotSubscribe", json!([]))).await["result"]
        .as_u64()
        .unwrap();
    let v = ask(&mut ws, rpc(3, "accountUnsubscribe", json!([id]))).await;
    assert!(
        code(&v) == -32602 && v["error"]["message"].as_str().unwrap().contains("`subscription`"),
        "{v}"
    );
    assert_eq!(
        ask(&mut ws, rpc(4, "slotUnsubscribe", json!([id]))).await["result"],
        true
    );
    assert_eq!(
        code(&ask(&mut ws, rpc(5, "slotUnsubscribe", json!([id]))).await),
        -32602,
        "already gone"
    );

    let after = (
        count().await,
        client.get_balance(&alice.pubkey()).await.unwrap(),
        token_amount(&client, &alice_usdc).await,
        client.get_account_data(&keys.pool).await.unwrap(),
    );
    assert_eq!(before, after, "the ledger is unchanged");
    assert_eq!(client.get_balance(&bob.pubkey()).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blockhash_lives_150_blocks_as_on_a_cluster() {
    let node = Node::start(&[]);
    let client = node.client();
    let alice = Keypair::new();
    let airdrop = client.request_airdrop(&alice.pubkey(), 10 * SOL).await.unwrap();
    assert!(client.confirm_transaction(&airdrop).await.unwrap());
    let bob = Keypair::new().pubkey();
    block_after(&client, &airdrop).await;
    let (hash, last_valid) = client
        .get_latest_blockhash_with_commitment(CommitmentConfig::confirmed())
        .await
        .unwrap();
    assert_eq!(last_valid, client.get_block_height().await.unwrap() + 150);
    let transfer = |lamports| {
        Transaction::new_signed_with_payer(
            &[solana_system_interface::instruction::transfer(
                &alice.pubkey(),
                &bob,
                lamports,
            )],
            Some(&alice.pubkey()),
            &[&alice],
            hash,
        )
    };
    let advance = || async { control(&client, "localnet_advanceClock", json!([60])).await };
    // idle, the ledger makes no block: the blockhash does not age while
    // more than a block's 400 ms pass (the live feed, republished every
    // clock second, shows the clock 2 s on)
    let (_, feed) = node.market(0);
    let published = || async {
        PriceUpdate::read(&client.get_account_data(&feed).await.unwrap())
            .unwrap()
            .publish_time
    };
    let (t0, deadline) = (published().await, Instant::now() + Duration::from_secs(10));
    while published().await < t0 + 2 {
        assert!(Instant::now() < deadline, "the feed is not republished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(client.get_latest_blockhash().await.unwrap(), hash);
    // 140 blocks later it still lands (a preflight simulation takes 144 at most, as agave's)
    for _ in 0..140 {
        advance().await;
    }
    assert!(client
        .is_blockhash_valid(&hash, CommitmentConfig::confirmed())
        .await
        .unwrap());
    assert!(client.get_block_height().await.unwrap() <= last_valid);
    client.send_and_confirm_transaction(&transfer(SOL)).await.unwrap();
    for _ in 0..11 {
        advance().await;
    }
    assert!(!client
        .is_blockhash_valid(&hash, CommitmentConfig::confirmed())
        .await
        .unwrap());
    assert!(client.get_block_height().await.unwrap() > last_valid);
    let err = client.send_transaction(&transfer(2 * SOL)).await.unwrap_err();
    let (code, message, _) = rpc_error(&err);
    assert_eq!(code, -32002, "{message}");
    assert!(message.contains("Blockhash not found"), "{message}");
    assert_eq!(client.get_balance(&bob).await.unwrap(), SOL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_series_drives_the_push_feed() {
    let csv = format!("{}/../../data/usdc-2023-03-svb.csv", env!("CARGO_MANIFEST_DIR"));
    let rows = coverage_sdk::pyth::parse_csv(&std::fs::read_to_string(&csv).unwrap()).unwrap();
    let node = Node::start(&["--prices", &csv, "--speed", "60"]);
    let client = node.client();
    let (_, feed) = node.market(0);
    let clock = node.info["clock"].as_i64().unwrap();
    assert!(
        (rows[0].publish_time..rows[0].publish_time + 60).contains(&clock),
        "the clock starts at the first row: {clock}"
    );
    assert_eq!(node.info["prices"][0]["rows"].as_u64().unwrap() as usize, rows.len());
    assert_eq!(node.info["prices"][0]["feed_account"], feed.to_string());
    let read = || async { PriceUpdate::read(&client.get_account_data(&feed).await.unwrap()).unwrap() };
    let first = read().await;
    assert_eq!((first.price, first.conf), (rows[0].price, rows[0].conf as u64));

    // into the depeg: the row in force is held, republished with the current time
    let target = 1_678_530_000;
    control(&client, "localnet_advanceClock", json!([target - rows[0].publish_time])).await;
    let held = read().await;
    let now = RpcTransport::new(&node.rpc(), Keypair::new()).now().await.unwrap();
    // a row just due carries its own time; a held one the current time
    let in_force = |t: i64| *rows.iter().rev().find(|r| r.publish_time <= t).unwrap();
    let row = in_force(held.publish_time);
    assert!(
        held.publish_time == row.publish_time || (target..=now).contains(&held.publish_time),
        "{target} {} {now}",
        held.publish_time
    );
    assert!(
        row.publish_time >= in_force(target).publish_time,
        "no row due is missed"
    );
    assert!(row.price < 95_000_000, "the SVB depeg: {}", row.price);
    assert_eq!((held.price, held.conf), (row.price, row.conf as u64));
    // the clock runs 60× faster: a minute of ledger time passes within 10 s of wall time
    let deadline = Instant::now() + Duration::from_secs(10);
    let later = loop {
        let later = RpcTransport::new(&node.rpc(), Keypair::new()).now().await.unwrap();
        if later - now >= 60 {
            break later;
        }
        assert!(Instant::now() < deadline, "{now} → {later} after 10 s at 60×");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        read().await.publish_time >= later - 60,
        "live: republished every clock second (a wall second is 60 here)"
    );
}

#[test]
fn sigint_stops_it_cleanly() {
    let mut node = Node::start(&[]);
    let port: u16 = node.rpc().rsplit(':').next().unwrap().parse().unwrap();
    signal(&node.child, libc::SIGINT);
    let status = exit_within(&mut node.child, 15);
    assert!(status.success(), "{status:?}; stderr: {}", node.stderr.lock().unwrap());
    // both ports are free again
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::net::TcpListener::bind(("127.0.0.1", port + 1)).unwrap();
}

/// The SDK's RPC transport sends the same instructions twice as two
/// transactions: the second, identical to the first within one blockhash
/// (which a cluster answers "already processed"), waits for the next one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rpc_transport_sends_the_same_instructions_twice() {
    let node = Node::start(&[]);
    let client = node.client();
    let alice = wallet(&client, 0).await;
    let bob = Keypair::new().pubkey();
    let mut t = RpcTransport::new(&node.rpc(), alice.insecure_clone());
    let transfer = solana_system_interface::instruction::transfer(&alice.pubkey(), &bob, SOL);
    let mode = coverage_sdk::transport::SendMode::Send;
    let first = t.send(std::slice::from_ref(&transfer), &[], mode).await.unwrap();
    let second = t.send(std::slice::from_ref(&transfer), &[], mode).await.unwrap();
    assert_ne!(first, second);
    assert_eq!(client.get_balance(&bob).await.unwrap(), 2 * SOL);
}
