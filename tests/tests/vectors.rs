//! Golden vectors for the TypeScript client (`app/ts`): what the Rust side
//! builds, decodes and computes, written to `app/ts/test/golden.json`, which
//! the TS tests replay and must equal exactly.
//!
//! * every instruction of the IDL: inputs → the bytes `coverage_sdk::ix` builds;
//! * every account type of the IDL: bytes from a bank story → the fields Rust decodes;
//! * PDAs, Pyth push-feed addresses and `PriceUpdateV2` accounts;
//! * the core's numbers: premiums (`pricing::Curve`), full quotes
//!   (`coverage_sdk::quote::premium` on real accounts), share values, required capital,
//!   payouts with haircuts, policy terms;
//! * premium accrual (`Pool::accrue_premium`) on real pools and ledgers: each
//!   tranche's assets, the fees owed and the ledger after it, an ineligible
//!   tranche and the ring jump of a long-idle ledger included;
//! * oracle prices in price units (`price::from_oracle`) and whether a market
//!   sells cover (`buy_cover`'s `check_sale`) for prices, states and clocks,
//!   and whether `withdraw` accepts its price (`check_withdraw_price`);
//! * the Anchor framework's error codes the client names;
//! * the cover a withdrawal must still back per market (`policy::claimable_cover_day`);
//! * real refusals from the bank: the transaction error → the named error.
//!
//! The file is committed; this test fails when it is stale. After a program
//! or SDK change: `UPDATE_GOLDEN=1 cargo test -p coverage-pool-tests --test vectors`.
//! Deterministic: keys from seeds (`TestEnv::seeded`), numbers from a seeded generator.

use anchor_lang::prelude::Pubkey;
use anchor_lang::solana_program::instruction::Instruction;
use coverage_core::pricing::Curve;
use coverage_core::settlement::{self, Fraction, Shape};
use coverage_core::{policy, shares, staking, CoreError};
use coverage_pool::error::ErrorCode;
use coverage_pool::instructions::{CreateMarketArgs, InitializePoolArgs};
use coverage_pool::state::{
    CoverBook, Market, MarketParamsChange, MarketStatus, PayoutShape, Policy, PolicyStatus, Pool, PoolParamsChange,
    PremiumLedger, PricingCurve, Settlement, Tranche, TriggerEvent, WithdrawalRequest,
};
use coverage_pool_tests::*;
use coverage_sdk::ix::{self, BuyCoverKeys, PoolKeys};
use coverage_sdk::{pda, pyth};
use serde_json::{json, Map, Value};
use solana_program_test::BanksClientError;
use solana_signer::Signer;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/ts/test/golden.json");
const IDL: &str = include_str!("../../idl/coverage_pool.json");
const SEED: u64 = 15;
const USD: i64 = 100_000_000;

// ------------------------------------------------------------------ JSON helpers

/// Integers that may pass 2^53 are decimal strings (BigInt on the TS side).
fn n64(x: impl Into<i128>) -> Value {
    Value::String(x.into().to_string())
}

fn key(p: &Pubkey) -> Value {
    Value::String(p.to_string())
}

fn hex(bytes: &[u8]) -> Value {
    Value::String(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn u64s(xs: &[u64]) -> Value {
    Value::Array(xs.iter().map(|x| n64(*x)).collect())
}

fn i64s(xs: &[i64]) -> Value {
    Value::Array(xs.iter().map(|x| n64(*x)).collect())
}

/// A core result: `{"ok": …}` or `{"error": "<name>"}` (the program's error name).
fn core<T>(r: Result<T, CoreError>, ok: impl FnOnce(T) -> Value) -> Value {
    match r {
        Ok(x) => json!({ "ok": ok(x) }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

/// splitmix64: a small seeded generator, so the vectors never change between runs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            return lo;
        }
        lo + self.next() % (hi - lo + 1)
    }
    /// Magnitudes spread over many orders: 10^k × something.
    fn magnitude(&mut self, max_digits: u32) -> u64 {
        let digits = self.range(0, u64::from(max_digits)) as u32;
        self.range(1, 10u64.saturating_pow(digits))
    }
    fn key(&mut self) -> Pubkey {
        let mut b = [0u8; 32];
        for chunk in b.chunks_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        Pubkey::new_from_array(b)
    }
}

// ------------------------------------------------------------------ accounts → fields
// Each destructures its struct without `..`: a field added to or removed from
// an account makes this file fail to compile until its vector says it.

fn curve_json(c: &PricingCurve) -> Value {
    let PricingCurve {
        base_rate_bps,
        slope_below_kink_bps,
        slope_above_kink_bps,
        kink_utilization_bps,
    } = *c;
    json!({
        "base_rate_bps": base_rate_bps,
        "slope_below_kink_bps": slope_below_kink_bps,
        "slope_above_kink_bps": slope_above_kink_bps,
        "kink_utilization_bps": kink_utilization_bps,
    })
}

fn payout_json(p: &PayoutShape) -> Value {
    match p {
        PayoutShape::Binary => json!({ "kind": "Binary" }),
        PayoutShape::Linear { floor_price } => json!({ "kind": "Linear", "floor_price": n64(*floor_price) }),
    }
}

fn pool_params_json(c: &PoolParamsChange) -> Value {
    let PoolParamsChange {
        protocol_fee_bps,
        max_leverage_bps,
        cooldown,
        withdraw_window,
        weights_bps,
    } = *c;
    json!({
        "protocol_fee_bps": protocol_fee_bps,
        "max_leverage_bps": max_leverage_bps,
        "cooldown": cooldown,
        "withdraw_window": withdraw_window,
        "weights_bps": weights_bps,
    })
}

fn market_params_json(c: &MarketParamsChange) -> Value {
    let MarketParamsChange {
        curve,
        allocation_bps,
        activation_delay,
    } = c;
    json!({ "curve": curve_json(curve), "allocation_bps": allocation_bps, "activation_delay": activation_delay })
}

fn tranche_json(t: &Tranche) -> Value {
    let Tranche {
        share_mint,
        share_escrow,
        share_mint_bump,
        share_escrow_bump,
        premium_weight_bps,
        assets,
        dead_shares,
        reserved,
    } = t;
    json!({
        "share_mint": key(share_mint),
        "share_escrow": key(share_escrow),
        "share_mint_bump": share_mint_bump,
        "share_escrow_bump": share_escrow_bump,
        "premium_weight_bps": premium_weight_bps,
        "assets": n64(*assets),
        "dead_shares": n64(*dead_shares),
        "reserved": hex(reserved),
    })
}

fn pool_json(p: &Pool) -> Value {
    let Pool {
        version,
        bump,
        vault_bump,
        paused,
        creator,
        pool_id,
        authority,
        pending_authority,
        collateral_mint,
        token_program,
        collateral_decimals,
        vault,
        treasury,
        ledger,
        cooldown,
        withdraw_window,
        max_leverage_bps,
        protocol_fee_bps,
        tranche_count,
        tranches_initialized,
        market_count,
        total_allocation_bps,
        open_streaks,
        fees_owed,
        premiums_paid,
        reserves_total,
        payouts_paid,
        tranches,
        pending_change,
        pending_change_eta,
        reserved,
    } = p;
    json!({
        "version": version,
        "bump": bump,
        "vault_bump": vault_bump,
        "paused": paused,
        "creator": key(creator),
        "pool_id": n64(*pool_id),
        "authority": key(authority),
        "pending_authority": key(pending_authority),
        "collateral_mint": key(collateral_mint),
        "token_program": key(token_program),
        "collateral_decimals": collateral_decimals,
        "vault": key(vault),
        "treasury": key(treasury),
        "ledger": key(ledger),
        "cooldown": cooldown,
        "withdraw_window": withdraw_window,
        "max_leverage_bps": max_leverage_bps,
        "protocol_fee_bps": protocol_fee_bps,
        "tranche_count": tranche_count,
        "tranches_initialized": tranches_initialized,
        "market_count": market_count,
        "total_allocation_bps": total_allocation_bps,
        "open_streaks": open_streaks,
        "fees_owed": n64(*fees_owed),
        "premiums_paid": n64(*premiums_paid),
        "reserves_total": n64(*reserves_total),
        "payouts_paid": n64(*payouts_paid),
        "tranches": tranches.iter().map(tranche_json).collect::<Vec<_>>(),
        "pending_change": pool_params_json(pending_change),
        "pending_change_eta": n64(*pending_change_eta),
        "reserved": hex(reserved),
    })
}

fn status_name(s: MarketStatus) -> &'static str {
    match s {
        MarketStatus::Active => "Active",
        MarketStatus::StreakOpen => "StreakOpen",
        MarketStatus::Triggered => "Triggered",
        MarketStatus::Closed => "Closed",
    }
}

fn event_json(e: &TriggerEvent) -> Value {
    let TriggerEvent {
        epoch,
        streak_start,
        trigger_time,
        lowest_price,
    } = *e;
    json!({
        "epoch": epoch,
        "streak_start": n64(streak_start),
        "trigger_time": n64(trigger_time),
        "lowest_price": n64(lowest_price),
    })
}

fn settlement_json(s: &Settlement) -> Value {
    let Settlement {
        eligible_cover,
        liability,
        reserve,
        reserve_left,
        paid,
        settled_cover,
        settled_policies,
        fraction_num,
        fraction_den,
        taken,
        claim_deadline,
        released,
    } = *s;
    json!({
        "eligible_cover": n64(eligible_cover),
        "liability": n64(liability),
        "reserve": n64(reserve),
        "reserve_left": n64(reserve_left),
        "paid": n64(paid),
        "settled_cover": n64(settled_cover),
        "settled_policies": n64(settled_policies),
        "fraction_num": n64(fraction_num),
        "fraction_den": n64(fraction_den),
        "taken": u64s(&taken),
        "claim_deadline": n64(claim_deadline),
        "released": released,
    })
}

fn market_json(m: &Market) -> Value {
    let Market {
        version,
        bump,
        paused,
        status,
        pool,
        book,
        policy_count,
        cover_sold,
        index,
        epoch,
        feed_id,
        strike,
        recovery,
        duration,
        max_gap,
        max_price_age,
        max_conf_bps,
        payout,
        curve,
        allocation_bps,
        activation_delay,
        last_publish_time,
        last_price,
        last_conf,
        observations,
        streak_start,
        streak_low,
        event,
        settlement,
        pending_change,
        pending_change_eta,
        sales_open_at,
        reserved,
    } = m;
    json!({
        "version": version,
        "bump": bump,
        "paused": paused,
        "status": status_name(*status),
        "pool": key(pool),
        "book": key(book),
        "policy_count": n64(*policy_count),
        "cover_sold": n64(*cover_sold),
        "index": index,
        "epoch": epoch,
        "feed_id": hex(feed_id),
        "strike": n64(*strike),
        "recovery": n64(*recovery),
        "duration": duration,
        "max_gap": max_gap,
        "max_price_age": max_price_age,
        "max_conf_bps": max_conf_bps,
        "payout": payout_json(payout),
        "curve": curve_json(curve),
        "allocation_bps": allocation_bps,
        "activation_delay": activation_delay,
        "last_publish_time": n64(*last_publish_time),
        "last_price": n64(*last_price),
        "last_conf": n64(*last_conf),
        "observations": n64(*observations),
        "streak_start": n64(*streak_start),
        "streak_low": n64(*streak_low),
        "event": event_json(event),
        "settlement": settlement_json(settlement),
        "pending_change": pending_change.as_ref().map(market_params_json),
        "pending_change_eta": n64(*pending_change_eta),
        "sales_open_at": n64(*sales_open_at),
        "reserved": hex(reserved),
    })
}

fn policy_json(p: &Policy) -> Value {
    let Policy {
        version,
        bump,
        status,
        market,
        owner,
        id,
        epoch,
        amount,
        premium,
        purchased_at,
        activation_time,
        end_time,
        payout,
    } = p;
    json!({
        "version": version,
        "bump": bump,
        "status": match status { PolicyStatus::Active => "Active", PolicyStatus::Settled => "Settled" },
        "market": key(market),
        "owner": key(owner),
        "id": n64(*id),
        "epoch": epoch,
        "amount": n64(*amount),
        "premium": n64(*premium),
        "purchased_at": n64(*purchased_at),
        "activation_time": n64(*activation_time),
        "end_time": n64(*end_time),
        "payout": n64(*payout),
    })
}

fn request_json(r: &WithdrawalRequest) -> Value {
    let WithdrawalRequest {
        version,
        bump,
        tranche,
        pool,
        staker,
        shares,
        value_at_request,
        requested_at,
        cooldown,
        withdraw_window,
        reserved,
    } = r;
    json!({
        "version": version,
        "bump": bump,
        "tranche": tranche,
        "pool": key(pool),
        "staker": key(staker),
        "shares": n64(*shares),
        "value_at_request": n64(*value_at_request),
        "requested_at": n64(*requested_at),
        "cooldown": cooldown,
        "withdraw_window": withdraw_window,
        "reserved": hex(reserved),
    })
}

fn book_json(b: &CoverBook) -> Value {
    let CoverBook {
        active_cover,
        processed_day,
        by_end_day,
        pending_minute,
        pending_amount,
        market,
        pool,
        index,
        version,
        bump,
        reserved,
    } = b;
    json!({
        "active_cover": n64(*active_cover),
        "processed_day": n64(*processed_day),
        "by_end_day": u64s(by_end_day),
        "pending_minute": i64s(pending_minute),
        "pending_amount": u64s(pending_amount),
        "market": key(market),
        "pool": key(pool),
        "index": index,
        "version": version,
        "bump": bump,
        "reserved": hex(reserved),
    })
}

fn ledger_json(l: &PremiumLedger) -> Value {
    let PremiumLedger {
        current_day,
        last_accrual,
        today_unearned,
        unearned_total,
        by_day,
        pool,
        version,
        bump,
        reserved,
    } = l;
    json!({
        "current_day": n64(*current_day),
        "last_accrual": n64(*last_accrual),
        "today_unearned": n64(*today_unearned),
        "unearned_total": n64(*unearned_total),
        "by_day": u64s(by_day),
        "pool": key(pool),
        "version": version,
        "bump": bump,
        "reserved": hex(reserved),
    })
}

// ------------------------------------------------------------------ instructions

fn ix_json(name: &str, inputs: Value, ix: &Instruction, idl: &Value) -> Value {
    let idl_ix = idl["instructions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("{name} is not an instruction of the IDL"));
    let names: Vec<&str> = idl_ix["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    let accounts: Vec<Value> = ix
        .accounts
        .iter()
        .enumerate()
        .map(|(i, m)| {
            json!({
                // accounts past the IDL's list are remaining accounts
                "name": names.get(i),
                "address": key(&m.pubkey),
                "signer": m.is_signer,
                "writable": m.is_writable,
            })
        })
        .collect();
    json!({
        "name": name,
        "inputs": inputs,
        "program_id": key(&ix.program_id),
        "accounts": accounts,
        "data": hex(&ix.data),
    })
}

fn keys_json(k: &PoolKeys) -> Value {
    json!({ "pool": key(&k.pool), "collateral_mint": key(&k.collateral_mint), "token_program": key(&k.token_program) })
}

fn instruction_vectors(idl: &Value) -> Vec<Value> {
    let mut r = Rng(SEED);
    let mut out = Vec::new();
    let mut push = |name: &str, inputs: Value, ix: Instruction| out.push(ix_json(name, inputs, &ix, idl));
    for (case, token_program) in [anchor_spl::token::ID, anchor_spl::token_2022::ID]
        .into_iter()
        .enumerate()
    {
        let keys = PoolKeys {
            pool: r.key(),
            collateral_mint: r.key(),
            token_program,
        };
        let kj = keys_json(&keys);
        let (a, b, c, d) = (r.key(), r.key(), r.key(), r.key());
        let tranche = (case * 3) as u8;

        let weights: Vec<u16> = if case == 0 {
            vec![10_000]
        } else {
            vec![4_000, 3_000, 2_000, 1_000]
        };
        let args = InitializePoolArgs {
            pool_id: if case == 0 { 0 } else { u64::MAX - 7 },
            authority: b,
            tranche_weights_bps: weights.clone(),
            cooldown: 7 * 86_400,
            withdraw_window: 2 * 86_400 + case as u32,
            max_leverage_bps: 20_000,
            protocol_fee_bps: 1_000 + case as u16,
        };
        let inputs = json!({
            "creator": key(&a), "collateral_mint": key(&keys.collateral_mint), "treasury": key(&c),
            "token_program": key(&token_program),
            "args": {
                "pool_id": n64(args.pool_id), "authority": key(&b), "tranche_weights_bps": weights,
                "cooldown": args.cooldown, "withdraw_window": args.withdraw_window,
                "max_leverage_bps": args.max_leverage_bps, "protocol_fee_bps": args.protocol_fee_bps,
            },
        });
        push(
            "initialize_pool",
            inputs,
            ix::initialize_pool(&a, &keys.collateral_mint, &c, &token_program, args),
        );
        push(
            "initialize_tranche",
            json!({ "payer": key(&a), "keys": kj, "tranche": tranche }),
            ix::initialize_tranche(&a, &keys, tranche),
        );

        let index = if case == 0 { 0 } else { 15 };
        let payout = if case == 0 {
            PayoutShape::Binary
        } else {
            PayoutShape::Linear {
                floor_price: 80_000_000,
            }
        };
        let mut feed_id = [0u8; 32];
        feed_id.copy_from_slice(&r.key().to_bytes());
        let curve = PricingCurve {
            base_rate_bps: 200,
            slope_below_kink_bps: 800 + case as u32,
            slope_above_kink_bps: 4_000,
            kink_utilization_bps: 8_000,
        };
        let margs = CreateMarketArgs {
            feed_id,
            strike: 95_000_000,
            recovery: 97_000_000 + case as u64,
            duration: 3_600,
            max_gap: 3_600,
            max_price_age: 60,
            max_conf_bps: 500,
            payout,
            curve,
            allocation_bps: 10_000 - case as u32,
            activation_delay: 120,
        };
        let inputs = json!({
            "authority": key(&a), "payer": key(&b), "pool": key(&keys.pool), "index": index,
            "args": {
                "feed_id": hex(&feed_id), "strike": n64(margs.strike), "recovery": n64(margs.recovery),
                "duration": margs.duration, "max_gap": margs.max_gap, "max_price_age": margs.max_price_age,
                "max_conf_bps": margs.max_conf_bps, "payout": payout_json(&payout), "curve": curve_json(&curve),
                "allocation_bps": margs.allocation_bps, "activation_delay": margs.activation_delay,
            },
        });
        push(
            "create_market",
            inputs,
            ix::create_market(&a, &b, &keys.pool, index, margs),
        );

        let market = pda::market(&keys.pool, index).0;
        push(
            "collect_fees",
            json!({ "authority": key(&a), "keys": kj, "treasury": key(&c) }),
            ix::collect_fees(&a, &keys, &c),
        );
        let paused = case == 0;
        push(
            "set_pool_paused",
            json!({ "authority": key(&a), "pool": key(&keys.pool), "paused": paused }),
            ix::set_pool_paused(&a, &keys.pool, paused),
        );
        push(
            "set_market_paused",
            json!({ "authority": key(&a), "pool": key(&keys.pool), "market": key(&market), "paused": !paused }),
            ix::set_market_paused(&a, &keys.pool, &market, !paused),
        );
        let am = json!({ "authority": key(&a), "pool": key(&keys.pool), "market": key(&market) });
        push("reopen_market", am.clone(), ix::reopen_market(&a, &keys.pool, &market));
        push("close_market", am.clone(), ix::close_market(&a, &keys.pool, &market));
        push(
            "propose_authority",
            json!({ "authority": key(&a), "pool": key(&keys.pool), "new_authority": key(&d) }),
            ix::propose_authority(&a, &keys.pool, &d),
        );
        push(
            "accept_authority",
            json!({ "new_authority": key(&d), "pool": key(&keys.pool) }),
            ix::accept_authority(&d, &keys.pool),
        );
        let change = PoolParamsChange {
            protocol_fee_bps: 500,
            max_leverage_bps: 30_000,
            cooldown: 3 * 86_400,
            withdraw_window: 86_400,
            weights_bps: [6_000, 4_000 - case as u16, case as u16, 0],
        };
        push(
            "queue_pool_params",
            json!({ "authority": key(&a), "pool": key(&keys.pool), "change": pool_params_json(&change) }),
            ix::queue_pool_params(&a, &keys.pool, change),
        );
        push(
            "cancel_pool_params",
            json!({ "authority": key(&a), "pool": key(&keys.pool) }),
            ix::cancel_pool_params(&a, &keys.pool),
        );
        push(
            "apply_pool_params",
            json!({ "pool": key(&keys.pool) }),
            ix::apply_pool_params(&keys.pool),
        );
        let mchange = MarketParamsChange {
            curve: PricingCurve {
                base_rate_bps: 300,
                slope_below_kink_bps: 700,
                slope_above_kink_bps: 5_000 + case as u32,
                kink_utilization_bps: 9_000,
            },
            allocation_bps: 5_000,
            activation_delay: 300,
        };
        push(
            "queue_market_params",
            json!({ "authority": key(&a), "pool": key(&keys.pool), "market": key(&market), "change": market_params_json(&mchange) }),
            ix::queue_market_params(&a, &keys.pool, &market, mchange),
        );
        push(
            "cancel_market_params",
            am.clone(),
            ix::cancel_market_params(&a, &keys.pool, &market),
        );
        push(
            "apply_market_params",
            json!({ "pool": key(&keys.pool), "market": key(&market) }),
            ix::apply_market_params(&keys.pool, &market),
        );

        let policy_id = if case == 0 { 0 } else { r.next() };
        let bk = BuyCoverKeys {
            keys,
            market,
            policy_id,
            payer_collateral: c,
            price_update: d,
        };
        let (amount, days, max_premium) = if case == 0 {
            (1_000_000, 1u16, u64::MAX)
        } else {
            (r.magnitude(15), 365u16, r.next())
        };
        let same_payer = case == 0;
        let payer = if same_payer { a } else { b };
        push(
            "buy_cover",
            json!({
                "buyer": key(&a), "payer": key(&payer), "keys": kj, "market": key(&market),
                "policy_id": n64(policy_id), "payer_collateral": key(&c), "price_update": key(&d),
                "amount": n64(amount), "days": days, "max_premium": n64(max_premium),
            }),
            ix::buy_cover(&a, &payer, &bk, amount, days, max_premium),
        );
        let policy = pda::policy(&market, policy_id).0;
        push(
            "transfer_policy",
            json!({ "owner": key(&a), "policy": key(&policy), "new_owner": key(&b) }),
            ix::transfer_policy(&a, &policy, &b),
        );
        push(
            "close_policy",
            json!({ "owner": key(&a), "policy": key(&policy), "market": key(&market) }),
            ix::close_policy(&a, &policy, &market),
        );

        let (amount, min_shares) = (r.magnitude(18), r.magnitude(12));
        push(
            "deposit",
            json!({
                "staker": key(&a), "keys": kj, "tranche": tranche, "staker_collateral": key(&c),
                "staker_shares": key(&d), "amount": n64(amount), "min_shares": n64(min_shares),
            }),
            ix::deposit(&a, &keys, tranche, &c, &d, amount, min_shares),
        );
        let shares = r.magnitude(18);
        push(
            "request_withdrawal",
            json!({ "staker": key(&a), "keys": kj, "tranche": tranche, "staker_shares": key(&d), "shares": n64(shares) }),
            ix::request_withdrawal(&a, &keys, tranche, &d, shares),
        );
        let request = pda::withdrawal_request(&keys.pool, tranche, &a).0;
        push(
            "cancel_withdrawal",
            json!({ "staker": key(&a), "keys": kj, "tranche": tranche, "request": key(&request), "staker_shares": key(&d) }),
            ix::cancel_withdrawal(&a, &keys, tranche, &request, &d),
        );
        // one price update per market (markets may share a feed's account)
        let price_updates: Vec<Pubkey> = if case == 0 {
            (0..3).map(|_| r.key()).collect()
        } else {
            vec![d; 2]
        };
        push(
            "withdraw",
            json!({
                "staker": key(&a), "keys": kj, "tranche": tranche, "request": key(&request),
                "staker_collateral": key(&c),
                "price_updates": price_updates.iter().map(key).collect::<Vec<_>>(),
            }),
            ix::withdraw(&a, &keys, tranche, &request, &c, &price_updates),
        );
        push(
            "check_trigger",
            json!({ "market": key(&market), "pool": key(&keys.pool), "price_update": key(&d) }),
            ix::check_trigger(&market, &keys.pool, &d),
        );
        push(
            "accrue_premium",
            json!({ "pool": key(&keys.pool) }),
            ix::accrue_premium(&keys.pool),
        );
        let pairs: Vec<(Pubkey, Pubkey)> = (0..1 + case * 2).map(|_| (r.key(), r.key())).collect();
        push(
            "settle_policies",
            json!({
                "keys": kj, "market": key(&market),
                "pairs": pairs.iter().map(|(p, t)| json!([key(p), key(t)])).collect::<Vec<_>>(),
            }),
            ix::settle_policies(&keys, &market, &pairs),
        );
        push(
            "release_reserve",
            json!({ "pool": key(&keys.pool), "market": key(&market) }),
            ix::release_reserve(&keys.pool, &market),
        );
    }
    out
}

// ------------------------------------------------------------------ PDAs

fn pda_vectors() -> Vec<Value> {
    let mut r = Rng(SEED + 1);
    let mut out = Vec::new();
    let mut add = |kind: &str, seeds: Value, (address, bump): (Pubkey, u8)| {
        out.push(json!({ "kind": kind, "seeds": seeds, "address": key(&address), "bump": bump }));
    };
    for pool_id in [0, 1, 42, u64::MAX] {
        let creator = r.key();
        add(
            "pool",
            json!({ "creator": key(&creator), "pool_id": n64(pool_id) }),
            pda::pool(&creator, pool_id),
        );
    }
    for _ in 0..3 {
        let pool = r.key();
        let p = json!({ "pool": key(&pool) });
        add("vault", p.clone(), pda::vault(&pool));
        add("ledger", p, pda::ledger(&pool));
        for tranche in [0u8, 1, 3] {
            let s = json!({ "pool": key(&pool), "tranche": tranche });
            add("share_mint", s.clone(), pda::share_mint(&pool, tranche));
            add("share_escrow", s, pda::share_escrow(&pool, tranche));
            let staker = r.key();
            add(
                "withdrawal_request",
                json!({ "pool": key(&pool), "tranche": tranche, "staker": key(&staker) }),
                pda::withdrawal_request(&pool, tranche, &staker),
            );
        }
        for index in [0u32, 1, 15, u32::MAX] {
            let market = pda::market(&pool, index);
            add("market", json!({ "pool": key(&pool), "index": index }), market);
            add("book", json!({ "market": key(&market.0) }), pda::book(&market.0));
            for id in [0u64, 7, u64::MAX] {
                add(
                    "policy",
                    json!({ "market": key(&market.0), "id": n64(id) }),
                    pda::policy(&market.0, id),
                );
            }
        }
    }
    out
}

fn push_feed_vectors() -> Vec<Value> {
    let mut r = Rng(SEED + 2);
    let mut feeds = vec![
        pyth::parse_feed_id("0xeaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a").unwrap(),
        pyth::parse_feed_id("2b89b9dc8fdf9f34709a5b106b472f0f39bb6ca9ce04b0fd7f2e971688e2e53b").unwrap(),
        oracle::TEST_FEED,
    ];
    feeds.push(r.key().to_bytes());
    let mut out = Vec::new();
    for feed in feeds {
        for shard in [0u16, 1, 513] {
            out.push(json!({
                "feed_id": pyth::feed_id_hex(&feed),
                "shard": shard,
                "address": key(&pyth::push_feed_address(&feed, shard)),
            }));
        }
    }
    out
}

/// `PriceUpdateV2` accounts as the receiver writes them (either verification
/// level, any exponent and sign) and as localnet and the demo write them
/// (`pyth::PriceUpdate`) → the fields the receiver SDK decodes.
fn price_update_vectors() -> Vec<Value> {
    use anchor_lang::{AccountDeserialize, AccountSerialize};
    use pyth_solana_receiver_sdk::price_update::{PriceFeedMessage, PriceUpdateV2, VerificationLevel};
    let mut r = Rng(SEED + 7);
    let cases: [(VerificationLevel, i64, i32); 6] = [
        (VerificationLevel::Full, 100_000_000, -8),
        (VerificationLevel::Full, 90_882_699, -8),
        (VerificationLevel::Partial { num_signatures: 5 }, 99_950_000, -8),
        (VerificationLevel::Full, 1, 8),
        (VerificationLevel::Full, -42, -10),
        (VerificationLevel::Partial { num_signatures: 255 }, i64::MAX, 0),
    ];
    let mut accounts: Vec<Vec<u8>> = cases
        .into_iter()
        .map(|(level, price, exponent)| {
            let publish_time = 1_678_338_000 + r.range(0, 1_000_000) as i64;
            let update = PriceUpdateV2 {
                write_authority: r.key(),
                verification_level: level,
                price_message: PriceFeedMessage {
                    feed_id: r.key().to_bytes(),
                    price,
                    conf: r.magnitude(12),
                    exponent,
                    publish_time,
                    prev_publish_time: publish_time - r.range(1, 60) as i64,
                    ema_price: price / 2,
                    ema_conf: r.magnitude(10),
                },
                posted_slot: r.range(0, 1 << 40),
            };
            let mut data = Vec::new();
            update.try_serialize(&mut data).unwrap();
            data.resize(PriceUpdateV2::LEN, 0);
            data
        })
        .collect();
    let usdc = pyth::parse_feed_id("0xeaa020c61cc479712813461ce153894a96a6c00b21ed0cfc2798d1f9a9e9c94a").unwrap();
    accounts.push(pyth::PriceUpdate::new(usdc, 99_701_310, 300_586, 1_678_338_900).data());
    accounts
        .iter()
        .map(|data| {
            let u = PriceUpdateV2::try_deserialize(&mut &data[..]).unwrap();
            let m = u.price_message;
            json!({
                "data": hex(data),
                "write_authority": key(&u.write_authority),
                "verification_level": match u.verification_level {
                    VerificationLevel::Partial { num_signatures } => json!({ "kind": "Partial", "num_signatures": num_signatures }),
                    VerificationLevel::Full => json!({ "kind": "Full" }),
                },
                "feed_id": pyth::feed_id_hex(&m.feed_id),
                "price": n64(m.price),
                "conf": n64(m.conf),
                "exponent": m.exponent,
                "publish_time": n64(m.publish_time),
                "prev_publish_time": n64(m.prev_publish_time),
                "ema_price": n64(m.ema_price),
                "ema_conf": n64(m.ema_conf),
                "posted_slot": n64(u.posted_slot),
            })
        })
        .collect()
}

// ------------------------------------------------------------------ the core's numbers

fn core_curve_json(c: &Curve) -> Value {
    json!({
        "base_rate_bps": c.base_rate_bps,
        "slope_below_kink_bps": c.slope_below_kink_bps,
        "slope_above_kink_bps": c.slope_above_kink_bps,
        "kink_utilization_bps": c.kink_utilization_bps,
    })
}

fn random_curve(r: &mut Rng) -> Curve {
    // within the program's bounds: base ≥ 1, kink in (0, 10 000), steep ≥ gentle, sum ≤ 10 000
    let base = r.range(1, 2_000);
    let gentle = r.range(0, 3_000);
    let steep = r.range(gentle, 10_000 - base - gentle);
    Curve {
        base_rate_bps: base,
        slope_below_kink_bps: gentle,
        slope_above_kink_bps: steep,
        kink_utilization_bps: r.range(1, 9_999),
    }
}

/// `Curve::premium` across curves, utilizations, amounts and terms, with the edges.
fn curve_quote_vectors() -> Vec<Value> {
    let mut r = Rng(SEED + 3);
    let demo = Curve {
        base_rate_bps: 200,
        slope_below_kink_bps: 800,
        slope_above_kink_bps: 4_000,
        kink_utilization_bps: 8_000,
    };
    let k = 1_000_000_000_000u64;
    let mut cases: Vec<(Curve, u64, u64, u64, u64)> = vec![
        // (curve, amount, days, active, capacity): the README's worked examples
        (demo, 100_000_000_000, 30, 0, k),
        (demo, 1_000_000_000, 365, 800_000_000_000, k),
        (demo, 100_000_000_000, 365, 900_000_000_000, k),
        (demo, k, 73, 0, k),
        // one unit, one day; at the start, at the kink, at the last unit
        (demo, 1, 1, 0, k),
        (demo, 1, 1, 800_000_000_000, k),
        (demo, 1, 1, k - 1, k),
        // ending exactly at the kink, starting exactly at it, straddling it
        (demo, 800_000_000_000, 30, 0, k),
        (demo, 1, 30, 799_999_999_999, k),
        (demo, 2, 30, 799_999_999_999, k),
        (demo, 200_000_000_000, 30, 800_000_000_000, k),
        // full capacity, one past it, nothing left
        (demo, k, 365, 0, k),
        (demo, k + 1, 365, 0, k),
        (demo, 1, 1, k, k),
        // zero amount, zero days, past the longest term (the core does not bound days)
        (demo, 0, 30, 0, k),
        (demo, 1_000_000, 0, 0, k),
        (demo, 1_000_000, 366, 0, k),
        // tiny capacities: the kink rounds down to zero cover
        (demo, 1, 1, 0, 1),
        (demo, 1, 30, 0, 2),
        (demo, 3, 30, 0, 3),
        // huge numbers: u128 intermediates, overflow refused
        (demo, u64::MAX / 2, 365, 0, u64::MAX),
        (demo, u64::MAX, 365, 0, u64::MAX),
        (demo, 1_000_000, 365, u64::MAX - 1_000_000, u64::MAX),
        (demo, 1, 365, u64::MAX - 1, u64::MAX),
    ];
    for _ in 0..320 {
        let curve = random_curve(&mut r);
        let capacity = match r.range(0, 9) {
            0 => r.range(1, 100),
            9 => r.range(1 << 60, u64::MAX),
            _ => r.magnitude(16),
        };
        let kink = curve.kink_cover(capacity).unwrap();
        let active = match r.range(0, 5) {
            0 => 0,
            1 => kink,
            2 => kink.saturating_sub(r.range(0, 3)),
            _ => r.range(0, capacity),
        };
        let left = capacity - active;
        let amount = match r.range(0, 7) {
            0 => 1,
            1 => left,
            2 => left.saturating_add(1),
            3 => kink.saturating_sub(active).max(1),
            _ => r.range(1, left.max(1)),
        };
        let days = match r.range(0, 4) {
            0 => 1,
            1 => 365,
            _ => r.range(1, 365),
        };
        cases.push((curve, amount, days, active, capacity));
    }
    cases
        .into_iter()
        .map(|(curve, amount, days, active, capacity)| {
            json!({
                "curve": core_curve_json(&curve),
                "amount": n64(amount), "days": n64(days), "active": n64(active), "capacity": n64(capacity),
                "premium": core(curve.premium(amount, days, active, capacity), n64),
                "kink_cover": core(curve.kink_cover(capacity), n64),
            })
        })
        .collect()
}

/// `Curve::rate_at` (the chart of the curve with today's point).
fn rate_vectors() -> Vec<Value> {
    let mut r = Rng(SEED + 4);
    let mut out = Vec::new();
    for i in 0..60 {
        let curve = random_curve(&mut r);
        let capacity = if i % 10 == 0 { r.range(0, 3) } else { r.magnitude(15) };
        let kink = curve.kink_cover(capacity).unwrap();
        let cover = match i % 4 {
            0 => kink,
            1 => capacity,
            2 => 0,
            _ => r.range(0, capacity),
        };
        out.push(json!({
            "curve": core_curve_json(&curve), "cover": n64(cover), "capacity": n64(capacity),
            "rate_bps": core(curve.rate_at(cover, capacity), n64),
        }));
    }
    out
}

fn share_vectors() -> Value {
    let mut r = Rng(SEED + 5);
    let mut deposits = Vec::new();
    let mut values = Vec::new();
    let mut prices = Vec::new();
    let mut redemptions = Vec::new();
    let mut fixed = vec![
        (5_000u64, 0u64, 0u64),
        (shares::DEAD_SHARES, 0, 0),
        (shares::DEAD_SHARES + 1, 0, 0),
        (0, 10, 10),
        (1, 3_000, 2_000),
        (3, 3_000, 2_000),
        (10, 0, 5),
        (u64::MAX, 1, u64::MAX),
        (u64::MAX, u64::MAX, u64::MAX),
    ];
    for _ in 0..60 {
        let total = r.magnitude(15) + shares::DEAD_SHARES;
        let assets = match r.range(0, 5) {
            0 => 0,
            1 => total,
            _ => r.magnitude(15),
        };
        fixed.push((r.magnitude(13), assets, total));
    }
    for (amount, assets, total) in fixed {
        deposits.push(json!({
            "amount": n64(amount), "assets": n64(assets), "total_shares": n64(total),
            "result": core(shares::shares_for_deposit(amount, assets, total), |d| json!({ "shares": n64(d.shares), "dead_shares": n64(d.dead_shares) })),
        }));
        let s = match amount % 3 {
            0 => total,
            1 => total.saturating_add(1),
            _ => amount.min(total),
        };
        values.push(json!({
            "shares": n64(s), "assets": n64(assets), "total_shares": n64(total),
            "value": core(shares::assets_for_shares(s, assets, total), n64),
        }));
        for scale in [1_000_000_000u64, 1_000_000] {
            prices.push(json!({
                "assets": n64(assets), "total_shares": n64(total), "scale": n64(scale),
                "price": core(shares::share_price_scaled(assets, total, scale), n64),
            }));
        }
        let at_request = r.magnitude(14);
        redemptions.push(json!({
            "shares": n64(s), "value_at_request": n64(at_request), "assets": n64(assets), "total_shares": n64(total),
            "value": core(staking::redemption_value(s, at_request, assets, total), n64),
        }));
    }
    let mut timings = Vec::new();
    for _ in 0..20 {
        let t = staking::WithdrawalTiming {
            cooldown: r.range(3_600, 90 * 86_400) as i64,
            withdraw_window: r.range(3_600, 30 * 86_400) as i64,
        };
        let requested_at = 1_677_628_800 + r.range(0, 1 << 26) as i64;
        let opens = t.opens_at(requested_at).unwrap();
        let lapses = t.lapses_at(requested_at).unwrap();
        for now in [opens - 1, opens, lapses, lapses + 1, requested_at] {
            timings.push(json!({
                "cooldown": n64(t.cooldown), "withdraw_window": n64(t.withdraw_window),
                "requested_at": n64(requested_at), "now": n64(now),
                "opens_at": n64(opens), "lapses_at": n64(lapses),
                "redeemable": core(t.check_redeemable(requested_at, now), |_| Value::Null),
            }));
        }
    }
    json!({ "deposits": deposits, "values": values, "prices": prices, "redemptions": redemptions, "withdrawal_timing": timings })
}

fn fraction_json(f: &Fraction) -> Value {
    json!({ "num": n64(f.num), "den": n64(f.den) })
}

fn payout_vectors() -> Value {
    let mut r = Rng(SEED + 6);
    let mut fractions = Vec::new();
    let mut payouts = Vec::new();
    let strike = 95_000_000u64;
    let mut shapes = vec![
        (Shape::Binary, strike, 90_000_000u64),
        (
            Shape::Linear {
                floor_price: 80_000_000,
            },
            strike,
            90_000_000,
        ),
        (
            Shape::Linear {
                floor_price: 80_000_000,
            },
            strike,
            80_000_000,
        ),
        (
            Shape::Linear {
                floor_price: 80_000_000,
            },
            strike,
            70_000_000,
        ),
        (
            Shape::Linear {
                floor_price: 80_000_000,
            },
            strike,
            strike,
        ),
        (
            Shape::Linear {
                floor_price: 80_000_000,
            },
            strike,
            strike + 1,
        ),
        (Shape::Linear { floor_price: strike }, strike, 1),
    ];
    for _ in 0..30 {
        let floor = r.range(1, strike - 1);
        shapes.push((
            Shape::Linear { floor_price: floor },
            strike,
            r.range(0, strike + 1_000_000),
        ));
    }
    for (shape, strike, lowest) in shapes {
        let f = settlement::payout_fraction(shape, strike, lowest);
        let shape_json = match shape {
            Shape::Binary => json!({ "kind": "Binary" }),
            Shape::Linear { floor_price } => json!({ "kind": "Linear", "floor_price": n64(floor_price) }),
        };
        fractions.push(json!({
            "shape": shape_json, "strike": n64(strike), "lowest": n64(lowest),
            "fraction": core(f, |f| fraction_json(&f)),
        }));
    }
    for i in 0..80 {
        let f = if i % 3 == 0 {
            Fraction::ONE
        } else {
            let den = r.range(1, 20_000_000);
            Fraction {
                num: r.range(0, den),
                den,
            }
        };
        let eligible = r.magnitude(14);
        let liability = settlement::liability(eligible, f).unwrap();
        let reserve = match i % 4 {
            0 => liability,
            1 => liability + r.range(0, 1_000),
            _ => r.range(0, liability),
        };
        let amount = r.range(1, eligible);
        payouts.push(json!({
            "fraction": fraction_json(&f), "eligible_cover": n64(eligible), "amount": n64(amount),
            "liability": core(settlement::liability(eligible, f), n64),
            "reserve": n64(reserve),
            "payout": core(settlement::policy_payout(amount, f, reserve, liability), n64),
            "haircut_bps": core(settlement::haircut_bps(reserve, liability), n64),
        }));
    }
    payouts.push(json!({
        "fraction": fraction_json(&Fraction::ONE), "eligible_cover": "0", "amount": "5",
        "liability": core(settlement::liability(0, Fraction::ONE), n64), "reserve": "0",
        "payout": core(settlement::policy_payout(5, Fraction::ONE, 0, 0), n64),
        "haircut_bps": core(settlement::haircut_bps(0, 0), n64),
    }));
    let mut eligibility = Vec::new();
    for (activation, end, start) in [(100, 200, 100), (100, 200, 199), (100, 200, 99), (100, 200, 200)] {
        eligibility.push(json!({
            "activation_time": n64(activation), "end_time": n64(end), "streak_start": n64(start),
            "eligible": policy::is_eligible(activation, end, start),
        }));
    }
    let mut terms = Vec::new();
    for i in 0..40u64 {
        let now = 1_677_628_800 + r.range(0, 1 << 27) as i64 - if i % 5 == 0 { 100 } else { 0 };
        let delay = r.range(5, 86_400) as i64;
        let days = match i % 8 {
            0 => 0,
            1 => 366,
            2 => 1,
            3 => 365,
            _ => r.range(1, 365),
        };
        terms.push(json!({
            "now": n64(now), "activation_delay": n64(delay), "days": n64(days),
            "term": core(policy::policy_term(now, delay, days), |t| json!({
                "activation_time": n64(t.activation_time), "end_time": n64(t.end_time),
            })),
        }));
    }
    json!({ "fractions": fractions, "payouts": payouts, "eligibility": eligibility, "policy_terms": terms })
}

// ------------------------------------------------------------------ accounts ↔ bytes

/// An Anchor (borsh) account's bytes, padded to the `len` the program allocated.
fn account_bytes<T: anchor_lang::AccountSerialize>(account: &T, len: usize) -> Vec<u8> {
    let mut data = Vec::new();
    account.try_serialize(&mut data).unwrap();
    assert!(data.len() <= len, "{} bytes in an account of {len}", data.len());
    data.resize(len, 0);
    data
}

/// A zero-copy account's bytes: discriminator, then the struct as it lies in memory.
fn zero_copy_bytes<T: bytemuck::Pod + anchor_lang::Discriminator>(account: &T) -> Vec<u8> {
    let mut data = T::DISCRIMINATOR.to_vec();
    data.extend_from_slice(bytemuck::bytes_of(account));
    data
}

// ------------------------------------------------------------------ premium accrual

/// The pool and ledger after `Pool::accrue_premium(ledger, now)` — the
/// program's own path: the ledger earns what is due (`streaming::accrue`),
/// `split_by_weight` shares it among the tranches that have shares, and what
/// none can take is owed to the treasury.
fn accrual(label: &str, pool: &Pool, ledger: &PremiumLedger, pool_len: usize, now: i64) -> Value {
    let (mut p, mut l) = (pool.clone(), *ledger);
    p.accrue_premium(&mut l, now).unwrap();
    let n = p.tranche_count as usize;
    json!({
        "label": label,
        "pool": hex(&account_bytes(pool, pool_len)),
        "ledger": hex(&zero_copy_bytes(ledger)),
        "now": n64(now),
        "eligible": pool.tranches[..n].iter().map(|t| t.dead_shares > 0).collect::<Vec<_>>(),
        "earned": n64(ledger.unearned_total - l.unearned_total),
        "assets": u64s(&p.tranche_assets()[..n]),
        "fees_owed": n64(p.fees_owed),
        "pool_after": hex(&account_bytes(&p, pool_len)),
        "ledger_after": hex(&zero_copy_bytes(&l)),
    })
}

/// Accruals of a snapshot's pool and ledger at `now + later` for each `later`.
fn accruals_on(label: &str, s: &Snapshot, now: i64, laters: &[(i64, &str)]) -> Vec<Value> {
    let pool: Pool = coverage_sdk::decode(&s.pool).unwrap();
    let ledger: PremiumLedger = coverage_sdk::quote::decode_zero_copy(&s.ledger).unwrap();
    // the bytes these vectors give for the inputs are the accounts' own
    assert_eq!(account_bytes(&pool, s.pool.len()), s.pool);
    assert_eq!(zero_copy_bytes(&ledger), s.ledger);
    laters
        .iter()
        .map(|&(later, what)| accrual(&format!("{label}: {what}"), &pool, &ledger, s.pool.len(), now + later))
        .collect()
}

// ------------------------------------------------------------------ oracle prices and sales

/// Oracle `(price, conf, exponent)` → price units (`price::from_oracle`), or the error.
fn price_unit_vectors() -> Vec<Value> {
    use coverage_core::price::from_oracle;
    let mut cases: Vec<(i64, u64, i32)> = vec![
        (99_950_000, 20_000, -8),
        (99_950, 20, -5),
        (1, 0, 0),
        (1, 0, 8),
        (0, 0, -8),
        (-5, 0, -8),
        (1, 0, -9),
        (1, 0, 9),
        (i64::MAX, 0, 0),
        (i64::MAX, 0, -8),
        (1, u64::MAX, -7),
        (1, u64::MAX, -8),
        (184_467_440_737, 0, 0),
        (184_467_440_738, 0, 0),
        (1_844, 0, 8),
        (1_845, 0, 8),
    ];
    let mut r = Rng(SEED + 11);
    for _ in 0..60 {
        let exponent = r.range(0, 20) as i32 - 10;
        let price = r.magnitude(18) as i64 - if r.range(0, 9) == 0 { 1 << 40 } else { 0 };
        cases.push((price, r.magnitude(16), exponent));
    }
    cases
        .into_iter()
        .map(|(price, conf, exponent)| {
            json!({
                "price": n64(price), "conf": n64(conf), "exponent": exponent,
                "result": core(from_oracle(price, conf, exponent), |u| json!({ "price": n64(u.price), "conf": n64(u.conf) })),
            })
        })
        .collect()
}

/// The cover each market's book must still back when a staker withdraws:
/// cover a streak not yet reported could find in force, from
/// `policy::claimable_cover_day` (what `close_market` uses and, since the
/// late-report fix, `withdraw`), then `book::active_cover_on` that day. Books
/// are sparse here (`ending`: day → cover ending at its midnight) to keep the
/// file small; the TS side rebuilds the ring.
fn claimable_cover_vectors() -> Vec<Value> {
    use coverage_core::book::{active_cover_on, BOOK_DAYS};
    const D: i64 = 86_400;
    let day = 20_000i64;
    let midnight = day * D;
    // processed up to yesterday: 1 000 ended at 00:00 today, 300 ends at 00:00 tomorrow, 50 in 5 days
    let ending = vec![(day, 1_000u64), (day + 1, 300), (day + 5, 50)];
    // label, processed day, last publish time, max price age, now, cover ending by day
    type Case = (&'static str, i64, i64, i64, i64, Vec<(i64, u64)>);
    let mut cases: Vec<Case> = vec![
        (
            "last publish before midnight, 10 s after it",
            day - 1,
            midnight - 30,
            60,
            midnight + 10,
            ending.clone(),
        ),
        (
            "last publish after midnight",
            day - 1,
            midnight + 5,
            60,
            midnight + 10,
            ending.clone(),
        ),
        (
            "stale publish, max age spanning midnight",
            day - 1,
            midnight - 3_600,
            60,
            midnight + 30,
            ending.clone(),
        ),
        (
            "stale publish, max age just reaching midnight",
            day - 1,
            midnight - 3_600,
            60,
            midnight + 60,
            ending.clone(),
        ),
        (
            "stale publish, max age past midnight",
            day - 1,
            midnight - 3_600,
            60,
            midnight + 61,
            ending.clone(),
        ),
        (
            "publish exactly at midnight",
            day - 1,
            midnight,
            60,
            midnight + 10,
            ending.clone(),
        ),
        (
            "publish one second before midnight",
            day - 1,
            midnight - 1,
            60,
            midnight + 10,
            ending.clone(),
        ),
        (
            "never published, long max age",
            day - 1,
            0,
            7_200,
            midnight + 3_599,
            ending.clone(),
        ),
        (
            "book already processed today",
            day,
            midnight - 30,
            60,
            midnight + 10,
            vec![(day + 1, 300), (day + 5, 50)],
        ),
        (
            "midday, fresh publish",
            day - 1,
            midnight + 43_000,
            60,
            midnight + 43_200,
            ending.clone(),
        ),
        ("empty book", day - 1, midnight - 30, 60, midnight + 10, vec![]),
    ];
    let mut r = Rng(SEED + 12);
    for _ in 0..30 {
        let processed = day - r.range(0, 3) as i64;
        let now = midnight + r.range(0, 2 * D as u64) as i64 - D / 2;
        let age = r.range(1, 4_000) as i64;
        let last = now - r.range(0, 8_000) as i64;
        let ending = (0..r.range(0, 6))
            .map(|_| (processed + r.range(1, 40) as i64, r.magnitude(12)))
            .collect();
        cases.push(("random", processed, last, age, now, ending));
    }
    cases
        .into_iter()
        .map(|(label, processed, last, age, now, ending)| {
            let mut by_end_day = vec![0u64; BOOK_DAYS];
            let mut active = 0u64;
            for &(d, a) in &ending {
                by_end_day[d.rem_euclid(BOOK_DAYS as i64) as usize] += a;
                active += a;
            }
            let claim_day = policy::claimable_cover_day(last, age, now);
            let cover = active_cover_on(active, processed, &by_end_day, claim_day).unwrap();
            json!({
                "label": label,
                "active_cover": n64(active), "processed_day": n64(processed),
                "ending": ending.iter().map(|&(d, a)| json!([n64(d), n64(a)])).collect::<Vec<_>>(),
                "last_publish_time": n64(last), "max_price_age": age, "now": n64(now),
                "day": n64(claim_day), "cover": n64(cover),
            })
        })
        .collect()
}

/// Whether a market sells cover (`buy_cover`'s `check_sale`, the program's own
/// function) for states of the pool and market, price update accounts and clocks.
fn sale_check_vectors(pool: &Pool, pool_len: usize, market: &Market, market_len: usize, now: i64) -> Vec<Value> {
    use coverage_pool::instructions::buyer::buy_cover::check_sale;
    use coverage_pool::instructions::staker::withdraw::check_withdraw_price;
    use coverage_pool::state::MarketStatus as S;
    use pyth_solana_receiver_sdk::price_update::VerificationLevel;
    let feed = market.feed_id;
    let receiver = pyth_solana_receiver_sdk::ID;
    let healthy = || pyth::PriceUpdate::new(feed, USD, USD as u64 / 1_000, now - 10);
    let with = |f: &dyn Fn(&mut pyth::PriceUpdate)| {
        let mut u = healthy();
        f(&mut u);
        u.data()
    };
    type Case = (
        &'static str,
        Option<fn(&mut Pool)>,
        Option<fn(&mut Market, i64)>,
        Pubkey,
        Vec<u8>,
        i64,
    );
    let cases: Vec<Case> = vec![
        ("a fresh healthy price", None, None, receiver, healthy().data(), now),
        (
            "the pool paused",
            Some(|p| p.paused = true),
            None,
            receiver,
            healthy().data(),
            now,
        ),
        (
            "the market paused",
            None,
            Some(|m, _| m.paused = true),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "a streak open",
            None,
            Some(|m, _| m.status = S::StreakOpen),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "triggered",
            None,
            Some(|m, _| m.status = S::Triggered),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "closed",
            None,
            Some(|m, _| m.status = S::Closed),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "paused and triggered: paused first",
            None,
            Some(|m, _| {
                m.paused = true;
                m.status = S::Triggered
            }),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "not open yet",
            None,
            Some(|m, now| m.sales_open_at = now + 1),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "open this second",
            None,
            Some(|m, now| m.sales_open_at = now),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "the price account of another owner",
            None,
            None,
            anchor_lang::system_program::ID,
            healthy().data(),
            now,
        ),
        (
            "no price account",
            None,
            None,
            anchor_lang::system_program::ID,
            vec![],
            now,
        ),
        ("not a PriceUpdateV2", None, None, receiver, vec![0; 134], now),
        (
            "partially verified",
            None,
            None,
            receiver,
            with(&|u| u.level = VerificationLevel::Partial { num_signatures: 5 }),
            now,
        ),
        (
            "another feed",
            None,
            None,
            receiver,
            with(&|u| u.feed_id = [9; 32]),
            now,
        ),
        ("a price of zero", None, None, receiver, with(&|u| u.price = 0), now),
        ("a negative price", None, None, receiver, with(&|u| u.price = -1), now),
        ("exponent -9", None, None, receiver, with(&|u| u.exponent = -9), now),
        (
            "exponent 9",
            None,
            None,
            receiver,
            with(&|u| {
                u.exponent = 9;
                u.price = 1;
                u.conf = 0
            }),
            now,
        ),
        (
            "exponent 8, too large",
            None,
            None,
            receiver,
            with(&|u| {
                u.exponent = 8;
                u.price = 1_845;
                u.conf = 0
            }),
            now,
        ),
        (
            "exponent -5, healthy",
            None,
            None,
            receiver,
            with(&|u| {
                u.exponent = -5;
                u.price = 99_950;
                u.conf = 10
            }),
            now,
        ),
        (
            "exponent -5, below the strike",
            None,
            None,
            receiver,
            with(&|u| {
                u.exponent = -5;
                u.price = 95_000;
                u.conf = 1
            }),
            now,
        ),
        (
            "exponent 0, one dollar",
            None,
            None,
            receiver,
            with(&|u| {
                u.exponent = 0;
                u.price = 1;
                u.conf = 0
            }),
            now,
        ),
        (
            "published max_price_age ago",
            None,
            None,
            receiver,
            with(&|u| u.publish_time -= 50),
            now,
        ),
        (
            "published a second too long ago",
            None,
            None,
            receiver,
            with(&|u| u.publish_time -= 51),
            now,
        ),
        (
            "published after the clock",
            None,
            None,
            receiver,
            with(&|u| u.publish_time += 20),
            now,
        ),
        (
            "older than the last accepted price",
            None,
            Some(|m, now| m.last_publish_time = now - 5),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "as old as the last accepted price",
            None,
            Some(|m, now| m.last_publish_time = now - 10),
            receiver,
            healthy().data(),
            now,
        ),
        (
            "confidence at the bound",
            None,
            None,
            receiver,
            with(&|u| u.conf = u.price as u64 / 20),
            now,
        ),
        (
            "confidence past the bound",
            None,
            None,
            receiver,
            with(&|u| u.conf = u.price as u64 / 20 + 1),
            now,
        ),
        (
            "price − conf at the strike",
            None,
            None,
            receiver,
            with(&|u| {
                u.price = 95_100_000;
                u.conf = 100_000
            }),
            now,
        ),
        (
            "price − conf under the strike",
            None,
            None,
            receiver,
            with(&|u| {
                u.price = 95_100_000;
                u.conf = 100_001
            }),
            now,
        ),
        (
            "price under the strike",
            None,
            None,
            receiver,
            with(&|u| {
                u.price = 94_000_000;
                u.conf = 0
            }),
            now,
        ),
        (
            "conf above the price",
            None,
            None,
            receiver,
            with(&|u| {
                u.price = 1;
                u.conf = 2
            }),
            now,
        ),
    ];
    assert_eq!(market.max_price_age, 60, "the ages above assume a 60 s max age");
    cases
        .into_iter()
        .map(|(label, pool_change, market_change, owner, mut data, at)| {
            let (mut p, mut m) = (pool.clone(), market.clone());
            if let Some(f) = pool_change {
                f(&mut p);
            }
            if let Some(f) = market_change {
                f(&mut m, at);
            }
            let address = Pubkey::new_unique();
            let mut lamports = 1_000_000u64;
            let data_hex = hex(&data);
            let info =
                anchor_lang::prelude::AccountInfo::new(&address, false, false, &mut lamports, &mut data, &owner, false);
            let named = |r: anchor_lang::Result<()>| match r {
                Ok(()) => json!({ "ok": null }),
                Err(anchor_lang::error::Error::AnchorError(e)) => json!({ "error": e.error_name }),
                Err(e) => panic!("{label}: {e:?}"),
            };
            let result = named(check_sale(&p, &m, &info, at));
            // the same market and price as withdraw checks them
            let withdraw = named(check_withdraw_price(&m, &info, at));
            json!({
                "label": label,
                "pool": hex(&account_bytes(&p, pool_len)),
                "market": hex(&account_bytes(&m, market_len)),
                "price_update": { "owner": key(&owner), "data": data_hex },
                "now": n64(at),
                "result": result,
                "withdraw": withdraw,
            })
        })
        .collect()
}

/// The Anchor framework's errors (codes 100–5000) the TypeScript client names.
fn anchor_error_vectors() -> Vec<Value> {
    use anchor_lang::error::ErrorCode as A;
    [
        A::InstructionMissing,
        A::InstructionFallbackNotFound,
        A::InstructionDidNotDeserialize,
        A::InstructionDidNotSerialize,
        A::ConstraintMut,
        A::ConstraintHasOne,
        A::ConstraintSigner,
        A::ConstraintRaw,
        A::ConstraintOwner,
        A::ConstraintSeeds,
        A::ConstraintAddress,
        A::ConstraintTokenMint,
        A::ConstraintTokenOwner,
        A::ConstraintTokenTokenProgram,
        A::ConstraintMintTokenProgram,
        A::ConstraintDuplicateMutableAccount,
        A::RequireViolated,
        A::RequireKeysEqViolated,
        A::AccountDiscriminatorAlreadySet,
        A::AccountDiscriminatorNotFound,
        A::AccountDiscriminatorMismatch,
        A::AccountDidNotDeserialize,
        A::AccountDidNotSerialize,
        A::AccountNotEnoughKeys,
        A::AccountNotMutable,
        A::AccountOwnedByWrongProgram,
        A::InvalidProgramId,
        A::InvalidProgramExecutable,
        A::AccountNotSigner,
        A::AccountNotSystemOwned,
        A::AccountNotInitialized,
        A::AccountNotProgramData,
        A::AccountNotAssociatedTokenAccount,
        A::AccountSysvarMismatch,
        A::DeclaredProgramIdMismatch,
        A::TryingToInitPayerAsProgramAccount,
    ]
    .into_iter()
    .map(|e| json!({ "code": u32::from(e), "name": e.name(), "message": e.to_string() }))
    .collect()
}

// ------------------------------------------------------------------ the bank story

/// Raw bytes of an account.
async fn raw(env: &mut TestEnv, address: &Pubkey) -> Vec<u8> {
    env.ctx
        .banks_client
        .get_account(*address)
        .await
        .unwrap()
        .expect("account exists")
        .data
}

fn account_json(kind: &str, label: &str, address: &Pubkey, data: &[u8], fields: Value) -> Value {
    json!({ "type": kind, "label": label, "address": key(address), "data": hex(data), "fields": fields })
}

/// The transaction error of a refused transaction as the RPC reports it
/// (serde's form of `TransactionError`, e.g. `{"InstructionError":[0,{"Custom":6052}]}`),
/// with the program's named error it must decode to.
fn refusal(label: &str, res: Result<impl std::fmt::Debug, BanksClientError>, expected: ErrorCode) -> Value {
    let err = res.expect_err(label);
    assert_eq!(custom_code(&err), Some(code(expected)), "{label}: {err:?}");
    let tx_err = match err {
        BanksClientError::TransactionError(e) | BanksClientError::SimulationError { err: e, .. } => e,
        other => panic!("{label}: {other:?}"),
    };
    json!({
        "label": label,
        "transaction_error": serde_json::to_value(&tx_err).unwrap(),
        "code": code(expected),
        "name": format!("{expected:?}"),
        "message": expected.to_string(),
    })
}

/// Accounts of the pool as `quote::premium` reads them, and quotes on them.
struct Snapshot {
    pool: Vec<u8>,
    ledger: Vec<u8>,
    market: Vec<u8>,
    book: Vec<u8>,
}

async fn snapshot(env: &mut TestEnv, market: &Pubkey) -> Snapshot {
    let (pool, ledger) = (env.keys.pool, env.keys.ledger());
    Snapshot {
        pool: raw(env, &pool).await,
        ledger: raw(env, &ledger).await,
        market: raw(env, market).await,
        book: raw(env, &pda::book(market).0).await,
    }
}

fn quotes_on(label: &str, s: &Snapshot, now: i64, cases: &[(u64, u16, i64)]) -> Value {
    let pool: Pool = coverage_sdk::decode(&s.pool).unwrap();
    let ledger: PremiumLedger = coverage_sdk::quote::decode_zero_copy(&s.ledger).unwrap();
    let market: Market = coverage_sdk::decode(&s.market).unwrap();
    let book: CoverBook = coverage_sdk::quote::decode_zero_copy(&s.book).unwrap();
    let quotes: Vec<Value> = cases
        .iter()
        .map(|&(amount, days, later)| {
            let at = now + later;
            let premium = coverage_sdk::quote::premium(&pool, &ledger, &market, &book, amount, days, at);
            let capacity = coverage_sdk::quote::capacity(&pool, &ledger, &market, at).unwrap();
            let result = match premium {
                Ok(p) => json!({ "ok": n64(p) }),
                Err(anchor_lang::error::Error::AnchorError(e)) => json!({ "error": e.error_name }),
                Err(e) => panic!("{e:?}"),
            };
            json!({ "amount": n64(amount), "days": days, "now": n64(at), "premium": result, "capacity": n64(capacity) })
        })
        .collect();
    json!({
        "label": label,
        "pool": hex(&s.pool), "ledger": hex(&s.ledger), "market": hex(&s.market), "book": hex(&s.book),
        "quotes": quotes,
    })
}

struct Story {
    accounts: Vec<Value>,
    snapshots: Vec<Value>,
    share_values: Vec<Value>,
    required_capital: Vec<Value>,
    settled: Vec<Value>,
    refusals: Vec<Value>,
    accruals: Vec<Value>,
    sale_checks: Vec<Value>,
}

/// A pool's life in the bank: deposits, two markets, purchases, a withdrawal
/// request, a queued change, refusals, two triggers (the second short of
/// capital: a haircut) and settlement.
async fn bank_story() -> Story {
    let mut env = TestEnv::seeded(PoolConfig::default(), SEED).await;
    let mut accounts = Vec::new();
    let mut refusals = Vec::new();
    let alice = env.new_staker_seeded(60_000 * ONE, SEED, 1).await;
    let bob = env.new_staker_seeded(40_000 * ONE, SEED, 2).await;
    env.deposit(&alice, 0, 60_000 * ONE, 0).await.unwrap();
    let binary = env.create_market(market_args()).await.unwrap();
    let linear = env
        .create_market(CreateMarketArgs {
            payout: PayoutShape::Linear {
                floor_price: 80_000_000,
            },
            curve: PricingCurve {
                base_rate_bps: 100,
                slope_below_kink_bps: 1_500,
                slope_above_kink_bps: 6_000,
                kink_utilization_bps: 7_000,
            },
            ..market_args()
        })
        .await
        .unwrap();
    let carol = env.new_staker_seeded(20_000 * ONE, SEED, 3).await;
    let dave = env.new_staker_seeded(20_000 * ONE, SEED, 4).await;

    // an empty book, then purchases hour by hour
    let (empty, now) = (snapshot(&mut env, &binary).await, env.now().await);
    let mut accruals = accruals_on(
        "an empty ledger",
        &empty,
        now,
        &[(86_400, "a day later, nothing to earn")],
    );
    let mut snapshots = vec![quotes_on(
        "empty book",
        &empty,
        now,
        &[
            (ONE, 1, 0),
            (1_000 * ONE, 30, 0),
            (100_000 * ONE, 365, 0),
            (100_001 * ONE, 365, 0),
        ],
    )];
    let p_binary = env
        .buy_cover(&carol, &binary, 50_000 * ONE, 30, u64::MAX)
        .await
        .unwrap();
    // one day of cover: ended before the trigger, settled with nothing
    let p_short = env.buy_cover(&carol, &binary, 1_000 * ONE, 1, u64::MAX).await.unwrap();
    env.warp_by(3_600).await;
    // premium earned while only the junior tranche has shares: all of it goes there
    let now = env.now().await;
    let junior_only = snapshot(&mut env, &binary).await;
    snapshots.push(quotes_on(
        "the senior tranche still empty",
        &junior_only,
        now,
        &[(ONE, 1, 0), (1_000 * ONE, 30, 3 * 3_600)],
    ));
    // the senior tranche has no shares: not eligible, all the premium goes to the junior
    accruals.extend(accruals_on(
        "the senior tranche without shares",
        &junior_only,
        now,
        &[
            (0, "now"),
            (600, "10 minutes later"),
            (3 * 3_600 + 1, "3 hours later"),
            (2 * 86_400, "two days later"),
        ],
    ));
    env.deposit(&bob, 1, 40_000 * ONE, 0).await.unwrap();
    let p_linear = env.buy_cover(&dave, &linear, 80_000 * ONE, 90, u64::MAX).await.unwrap();
    env.warp_by(5 * 3_600 + 17).await;
    let p_binary_2 = env
        .buy_cover(&dave, &binary, 20_000 * ONE, 365, u64::MAX)
        .await
        .unwrap();
    env.warp_by(86_400 + 123).await;

    // quotes on real accounts: now, later (premium earned → capital, capacity move), after expiries
    let now = env.now().await;
    let s = snapshot(&mut env, &binary).await;
    snapshots.push(quotes_on(
        "three policies on the book, one ended",
        &s,
        now,
        &[
            (ONE, 1, 0),
            (1_000 * ONE, 30, 0),
            (12_345_678_901, 97, 0),
            (10_000 * ONE, 365, 3_600),
            (1_000 * ONE, 30, 2 * 86_400 + 1),
            (1_000 * ONE, 30, 31 * 86_400),
            (1_000 * ONE, 30, 400 * 86_400),
            (30_000 * ONE, 30, 0),
            (100_000 * ONE, 30, 0),
            (0, 30, 0),
        ],
    ));

    // accruals on a pool with two tranches, from a ledger streaming three policies
    let ledger_now: PremiumLedger = coverage_sdk::quote::decode_zero_copy(&s.ledger).unwrap();
    assert!(
        coverage_core::policy::day_of(now + 400 * 86_400) - ledger_now.current_day
            > coverage_core::streaming::LEDGER_DAYS as i64,
        "400 days on, the ledger jumps the rest of its ring"
    );
    accruals.extend(accruals_on(
        "two tranches with shares",
        &s,
        now,
        &[
            (0, "now"),
            (1, "a second later"),
            (3_600, "an hour later"),
            (86_400 + 7, "a day later"),
            (30 * 86_400, "30 days later"),
            (400 * 86_400, "400 days later: the ring jump"),
        ],
    ));
    // no tranche has shares: everything earned is owed to the treasury
    let mut unowned: Pool = coverage_sdk::decode(&s.pool).unwrap();
    for t in unowned.tranches.iter_mut() {
        t.dead_shares = 0;
    }
    let no_shares = Snapshot {
        pool: account_bytes(&unowned, s.pool.len()),
        ledger: s.ledger.clone(),
        market: s.market.clone(),
        book: s.book.clone(),
    };
    accruals.extend(accruals_on(
        "no tranche with shares",
        &no_shares,
        now,
        &[(86_400, "a day later: all to fees")],
    ));

    // whether the binary market sells cover, for prices, states and clocks
    let market_raw = raw(&mut env, &binary).await;
    let sale_checks = sale_check_vectors(
        &coverage_sdk::decode(&s.pool).unwrap(),
        s.pool.len(),
        &coverage_sdk::decode(&market_raw).unwrap(),
        market_raw.len(),
        now,
    );

    // refusals, each a real transaction the program rejects
    let (pool, ledger, market, now) = (
        env.pool().await,
        env.ledger().await,
        env.market(&binary).await,
        env.now().await,
    );
    // the whole capacity: more than is left, with cover already sold
    let capacity = coverage_sdk::quote::capacity(&pool, &ledger, &market, now).unwrap();
    refusals.push(refusal(
        "a purchase past the market's capacity",
        env.buy_cover(&carol, &binary, capacity, 30, u64::MAX).await,
        ErrorCode::CapacityExceeded,
    ));
    refusals.push(refusal(
        "cover below one whole token",
        env.buy_cover(&carol, &binary, ONE - 1, 30, u64::MAX).await,
        ErrorCode::InvalidCoverAmount,
    ));
    refusals.push(refusal(
        "a term of 366 days",
        env.buy_cover(&carol, &binary, ONE, 366, u64::MAX).await,
        ErrorCode::InvalidCoverTerm,
    ));
    refusals.push(refusal(
        "a premium above the buyer's bound",
        env.buy_cover(&carol, &binary, 1_000 * ONE, 30, 1).await,
        ErrorCode::PremiumAboveMax,
    ));
    refusals.push(refusal(
        "a deposit of zero",
        env.deposit(&alice, 0, 0, 0).await,
        ErrorCode::ZeroAmount,
    ));
    refusals.push(refusal(
        "a deposit minting fewer shares than asked",
        env.deposit(&alice, 0, ONE, u64::MAX).await,
        ErrorCode::SlippageExceeded,
    ));

    // bob asks to leave with half his shares; a market change is queued
    let bob_shares = env.balance(&bob.shares[1]).await;
    env.request_withdrawal(&bob, 1, bob_shares / 2).await.unwrap();
    refusals.push(refusal(
        "a withdrawal before the cooldown",
        env.withdraw(&bob, 1).await,
        ErrorCode::CooldownNotElapsed,
    ));
    let auth = env.authority.insecure_clone();
    let change = MarketParamsChange {
        curve: PricingCurve {
            base_rate_bps: 300,
            slope_below_kink_bps: 900,
            slope_above_kink_bps: 5_000,
            kink_utilization_bps: 8_500,
        },
        allocation_bps: 9_000,
        activation_delay: 180,
    };
    let queue = ix::queue_market_params(&auth.pubkey(), &env.keys.pool, &linear, change);
    env.send(&[queue], &[&auth]).await.unwrap();

    // share values of real tranches
    let mut share_values = Vec::new();
    let pool_key = env.keys.pool;
    let pool_bytes = raw(&mut env, &pool_key).await;
    for t in 0..2u8 {
        let mint = env.keys.share_mint(t);
        let supply = env.supply(&mint).await;
        for shares in [0, 1, ONE, supply / 3, supply] {
            share_values.push(json!({
                "pool": hex(&pool_bytes), "tranche": t, "supply": n64(supply), "shares": n64(shares),
                "value": n64(env.share_value(t, shares).await),
            }));
        }
    }

    // required capital (PROTOCOL.md 3.3) as `withdraw` computes it from the
    // markets' active cover: `Pool::required_capital`, on this pool's account
    let mut required_capital = Vec::new();
    let mut rp = env.pool().await;
    let mut rng = Rng(SEED + 8);
    let mut cases: Vec<(u32, Vec<u64>)> = vec![
        (20_000, vec![]),
        (20_000, vec![500, 700]),
        (20_000, vec![800, 400]),
        (10_000, vec![3, 0, 3]),
        (30_000, vec![1, 1, 1, 1]),
        (15_000, vec![7]),
        (40_000, vec![u64::MAX, 0]),
        (20_000, vec![u64::MAX, 1]),
    ];
    for _ in 0..40 {
        let covers = (0..rng.range(1, 8)).map(|_| rng.magnitude(14)).collect();
        cases.push((rng.range(10_000, 100_000) as u32, covers));
    }
    for (leverage, covers) in cases {
        rp.max_leverage_bps = leverage;
        let result = match rp.required_capital(covers.iter().copied()) {
            Ok(x) => json!({ "ok": n64(x) }),
            Err(anchor_lang::error::Error::AnchorError(e)) => json!({ "error": e.error_name }),
            Err(e) => panic!("{e:?}"),
        };
        required_capital.push(json!({ "max_leverage_bps": leverage, "active_cover": u64s(&covers), "result": result }));
    }

    // every account type, before any trigger
    let ledger_key = env.keys.ledger();
    let request_key = env.request_address(&bob, 1);
    let book_key = pda::book(&binary).0;
    let pool = env.pool().await;
    accounts.push(account_json(
        "Pool",
        "two tranches, two markets",
        &pool_key,
        &pool_bytes,
        pool_json(&pool),
    ));
    let ledger = env.ledger().await;
    accounts.push(account_json(
        "PremiumLedger",
        "streaming three policies",
        &ledger_key,
        &raw(&mut env, &ledger_key).await,
        ledger_json(&ledger),
    ));
    for (label, m) in [("binary, active", binary), ("linear, a change queued", linear)] {
        let market = env.market(&m).await;
        accounts.push(account_json(
            "Market",
            label,
            &m,
            &raw(&mut env, &m).await,
            market_json(&market),
        ));
    }
    let book = env.book(&binary).await;
    accounts.push(account_json(
        "CoverBook",
        "two purchases",
        &book_key,
        &raw(&mut env, &book_key).await,
        book_json(&book),
    ));
    let policy = env.policy(&p_binary).await.unwrap();
    accounts.push(account_json(
        "Policy",
        "active",
        &p_binary,
        &raw(&mut env, &p_binary).await,
        policy_json(&policy),
    ));
    let request = env.request(&bob, 1).await.unwrap();
    accounts.push(account_json(
        "WithdrawalRequest",
        "half of bob's shares",
        &request_key,
        &raw(&mut env, &request_key).await,
        request_json(&request),
    ));

    // the linear market triggers at 0.85 (2/3 paid), then the binary one finds capital short
    env.trigger(&linear, 85 * USD / 100).await;
    env.trigger(&binary, 90 * USD / 100).await;
    let mk = env.market(&binary).await;
    assert!(
        mk.settlement.reserve < mk.settlement.liability,
        "capital is short: a haircut"
    );

    let mut settled = Vec::new();
    for (m, p, owner, label) in [
        (binary, p_binary, &carol, "binary, with a haircut"),
        (binary, p_binary_2, &dave, "binary, with a haircut, bought later"),
        (binary, p_short, &carol, "ended before the streak: not eligible"),
        (linear, p_linear, &dave, "linear, 2/3 at the lowest price"),
    ] {
        let market_before = raw(&mut env, &m).await;
        let policy_before = raw(&mut env, &p).await;
        env.settle(&m, &[(p, owner.collateral)]).await.unwrap();
        let after = env.policy(&p).await.unwrap();
        assert_eq!(after.status, PolicyStatus::Settled);
        settled.push(json!({
            "label": label, "market": hex(&market_before), "policy": hex(&policy_before),
            "payout": n64(after.payout),
        }));
    }
    let market = env.market(&binary).await;
    accounts.push(account_json(
        "Market",
        "binary, triggered and settled, capital short",
        &binary,
        &raw(&mut env, &binary).await,
        market_json(&market),
    ));
    let policy = env.policy(&p_binary).await.unwrap();
    accounts.push(account_json(
        "Policy",
        "settled, paid with a haircut",
        &p_binary,
        &raw(&mut env, &p_binary).await,
        policy_json(&policy),
    ));
    let policy = env.policy(&p_short).await.unwrap();
    accounts.push(account_json(
        "Policy",
        "settled, not eligible: paid zero",
        &p_short,
        &raw(&mut env, &p_short).await,
        policy_json(&policy),
    ));
    let pool = env.pool().await;
    accounts.push(account_json(
        "Pool",
        "after two triggers",
        &pool_key,
        &raw(&mut env, &pool_key).await,
        pool_json(&pool),
    ));
    let book = env.book(&binary).await;
    accounts.push(account_json(
        "CoverBook",
        "cleared by the trigger",
        &book_key,
        &raw(&mut env, &book_key).await,
        book_json(&book),
    ));
    Story {
        accounts,
        snapshots,
        share_values,
        required_capital,
        settled,
        refusals,
        accruals,
        sale_checks,
    }
}

// ------------------------------------------------------------------ the file

fn names(v: &Value, field: &str) -> std::collections::BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn golden_vectors_for_the_typescript_client() {
    let idl: Value = serde_json::from_str(IDL).unwrap();
    let story = bank_story().await;
    let mut v = Map::new();
    v.insert(
        "about".into(),
        json!("Written by tests/tests/vectors.rs (UPDATE_GOLDEN=1 cargo test -p coverage-pool-tests --test vectors); replayed by app/ts/test. Do not edit."),
    );
    v.insert("program_id".into(), key(&coverage_pool::ID));
    v.insert("instructions".into(), Value::Array(instruction_vectors(&idl)));
    v.insert("accounts".into(), Value::Array(story.accounts));
    v.insert("pdas".into(), Value::Array(pda_vectors()));
    v.insert("push_feeds".into(), Value::Array(push_feed_vectors()));
    v.insert("price_updates".into(), Value::Array(price_update_vectors()));
    v.insert("curve_quotes".into(), Value::Array(curve_quote_vectors()));
    v.insert("rates".into(), Value::Array(rate_vectors()));
    v.insert("quotes".into(), Value::Array(story.snapshots));
    v.insert("shares".into(), share_vectors());
    v.insert("share_values".into(), Value::Array(story.share_values));
    v.insert("required_capital".into(), Value::Array(story.required_capital));
    v.insert("payouts".into(), payout_vectors());
    v.insert("settled_policies".into(), Value::Array(story.settled));
    v.insert("refusals".into(), Value::Array(story.refusals));
    v.insert("accruals".into(), Value::Array(story.accruals));
    v.insert("price_units".into(), Value::Array(price_unit_vectors()));
    v.insert("sale_checks".into(), Value::Array(story.sale_checks));
    v.insert("anchor_errors".into(), Value::Array(anchor_error_vectors()));
    v.insert("claimable_cover".into(), Value::Array(claimable_cover_vectors()));
    let v = Value::Object(v);

    // every instruction and every account type of the IDL has vectors
    assert_eq!(
        names(&v["instructions"], "name"),
        names(&idl["instructions"], "name"),
        "instructions with vectors vs the IDL's"
    );
    assert_eq!(
        names(&v["accounts"], "type"),
        names(&idl["accounts"], "name"),
        "account types with vectors vs the IDL's"
    );
    assert!(v["curve_quotes"].as_array().unwrap().len() >= 200);

    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(GOLDEN, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(GOLDEN).unwrap_or_default();
    assert!(
        committed == text,
        "app/ts/test/golden.json is stale: UPDATE_GOLDEN=1 cargo test -p coverage-pool-tests --test vectors, \
         then run the TS tests (cd app/ts && npm test) and commit both"
    );
}
