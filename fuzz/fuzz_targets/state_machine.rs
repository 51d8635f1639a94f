//! Fuzz target over the pure core's state machine (`coverage_core::model`):
//! random operation sequences on a pool with 1–4 tranches and 1–3 markets,
//! invariants 1–6 of PROTOCOL.md checked after every step (and the model's
//! own: no eligible policy is ever closed unpaid).
//!
//! Short run (CI): `cargo fuzz run state_machine -s none -- -max_total_time=60`
//! Long run: see SECURITY.md.
#![no_main]

use arbitrary::Arbitrary;
use coverage_core::model::{MarketParams, Model, PoolParams};
use coverage_core::policy::day_of;
use coverage_core::price::UnitPrice;
use coverage_core::pricing::Curve;
use coverage_core::settlement::Shape;
use coverage_core::trigger::{Observation, TriggerTerms};
use libfuzzer_sys::fuzz_target;

const ONE: u64 = 1_000_000;
const USD: u64 = 100_000_000;

#[derive(Arbitrary, Debug)]
enum Op {
    Deposit { user: u8, tranche: u8, amount: u32 },
    Request { user: u8, tranche: u8, shares_pct: u8 },
    Cancel { user: u8, tranche: u8 },
    Withdraw { user: u8, tranche: u8, price_bp: u16 },
    Buy { user: u8, market: u8, amount: u32, days: u16 },
    Accrue,
    Observe { market: u8, price_bp: u16, conf_bp: u8, back: u16 },
    Settle { market: u8, first: u8, count: u8 },
    Release { market: u8 },
    Reopen { market: u8 },
    Advance { secs: u32 },
    ClosePolicy { id: u16 },
    CloseMarket { market: u8 },
}

#[derive(Arbitrary, Debug)]
struct Input {
    tranches: u8,
    markets: u8,
    linear: bool,
    ops: Vec<Op>,
}

fn share_prices(m: &Model) -> Vec<Option<(u64, u64)>> {
    m.tranches.iter().map(|t| (t.total_shares() > 0).then_some((t.assets, t.total_shares()))).collect()
}

fuzz_target!(|input: Input| {
    let n = 1 + (input.tranches % 4) as usize;
    let weights: Vec<u64> = match n {
        1 => vec![10_000],
        2 => vec![7_000, 3_000],
        3 => vec![5_000, 3_000, 2_000],
        _ => vec![4_000, 3_000, 2_000, 1_000],
    };
    let params = PoolParams {
        weights_bps: weights,
        cooldown: 7 * 86_400,
        withdraw_window: 2 * 86_400,
        max_leverage_bps: 20_000,
        protocol_fee_bps: 1_000,
        min_cover: ONE,
        claim_window: 30 * 86_400,
    };
    // markets are created at genesis and open after the governance delay
    let mut m = Model::new(1_677_628_800 - 10 * 86_400, params);
    let markets = 1 + (input.markets % 3) as usize;
    for i in 0..markets {
        m.add_market(MarketParams {
            terms: TriggerTerms { strike: 95 * USD / 100, recovery: 97 * USD / 100, duration: 3_600, max_gap: 3_600, max_price_age: 60, max_conf_bps: 500 },
            shape: if input.linear && i == 0 { Shape::Linear { floor_price: 80 * USD / 100 } } else { Shape::Binary },
            curve: Curve { base_rate_bps: 200, slope_below_kink_bps: 800, slope_above_kink_bps: 4_000, kink_utilization_bps: 8_000 },
            allocation_bps: 10_000 / markets as u64 * 2,
            activation_delay: 120,
        });
    }
    m.advance(m.governance_delay());
    for u in 0..4 {
        m.fund(u, 10_000_000 * ONE);
    }
    for (step, op) in input.ops.iter().take(64).enumerate() {
        let before = m.clone();
        let prices = share_prices(&m);
        let mut triggered = false;
        let ok = match *op {
            Op::Deposit { user, tranche, amount } => m.deposit(u32::from(user % 4), tranche as usize % n, u64::from(amount) * 1_000, 0).is_ok(),
            Op::Request { user, tranche, shares_pct } => {
                let (u, t) = (u32::from(user % 4), tranche as usize % n);
                let held = m.shares.get(&(u, t)).copied().unwrap_or(0);
                m.request_withdrawal(u, t, held * u64::from(shares_pct % 101) / 100).is_ok()
            }
            Op::Cancel { user, tranche } => m.cancel_withdrawal(u32::from(user % 4), tranche as usize % n).is_ok(),
            Op::Withdraw { user, tranche, price_bp } => {
                // one price for every market's feed: healthy, or anywhere down to 0.80
                let price = USD - u64::from(price_bp % 2_001) * USD / 10_000;
                let obs: Vec<Observation> = m.markets.iter().map(|mk| Observation { price: UnitPrice { price, conf: 10_000 }, publish_time: m.now.max(mk.streak.last_publish_time) }).collect();
                let r = m.withdraw(u32::from(user % 4), tranche as usize % n, &obs);
                if r.is_ok() {
                    let required = m.required_capital().unwrap();
                    assert!(required <= m.capital(), "step {step}: invariant 5: capital below required after a withdrawal");
                }
                r.is_ok()
            }
            Op::Buy { user, market, amount, days } => {
                let k = market as usize % markets;
                let now = m.now;
                let r = m.buy_cover(u32::from(user % 4), k, u64::from(amount) * 100 + ONE, u64::from(days % 400), u64::MAX, UnitPrice { price: USD, conf: 10_000 }, now);
                if r.is_ok() {
                    let cap = m.capital() * m.markets[k].params.allocation_bps / 10_000;
                    let active = m.markets[k].active_cover_on(day_of(m.now)).unwrap();
                    assert!(active <= cap, "step {step}: invariant 5: active cover {active} over capacity {cap}");
                }
                r.is_ok()
            }
            Op::Accrue => m.accrue_premium().is_ok(),
            Op::Observe { market, price_bp, conf_bp, back } => {
                let k = market as usize % markets;
                let price = u64::from(price_bp % 12_000) * USD / 10_000;
                let obs = Observation { price: UnitPrice { price: price.max(1), conf: u64::from(conf_bp) * USD / 10_000 }, publish_time: m.now - i64::from(back % 90) };
                let r = m.check_trigger(k, obs);
                triggered = matches!(r, Ok(true));
                r.is_ok()
            }
            Op::Settle { market, first, count } => {
                let k = market as usize % markets;
                if m.policies.is_empty() {
                    false
                } else {
                    let ids: Vec<usize> = (0..usize::from(count % 5) + 1).map(|i| (usize::from(first) + i) % m.policies.len()).collect();
                    let r = m.settle_policies(k, &ids);
                    if r.is_ok() {
                        let s = m.markets[k].settlement;
                        for &id in &ids {
                            let p = m.policies[id];
                            assert!(p.payout <= p.amount, "step {step}: invariant 2: payout over the amount");
                            if s.liability > 0 {
                                let owed = p.amount as u128 * s.fraction_num as u128 / s.fraction_den as u128;
                                assert!(p.payout as u128 * s.liability as u128 <= owed * s.reserve as u128, "step {step}: invariant 4: unequal haircut");
                            }
                        }
                    }
                    r.is_ok()
                }
            }
            Op::Release { market } => m.release_reserve(market as usize % markets).is_ok(),
            Op::Reopen { market } => m.reopen_market(market as usize % markets).is_ok(),
            Op::ClosePolicy { id } => !m.policies.is_empty() && m.close_policy(usize::from(id) % m.policies.len()).is_ok(),
            Op::CloseMarket { market } => m.close_market(market as usize % markets).is_ok(),
            Op::Advance { secs } => {
                m.advance(i64::from(secs % (10 * 86_400)));
                true
            }
        };
        if !ok {
            assert_eq!(m, before, "step {step}: a refused operation changed the state");
        }
        if let Err(e) = m.check_invariants() {
            panic!("step {step}: {e}");
        }
        // invariant 3: share prices fall only through a claim event
        if !triggered {
            for (t, p) in prices.iter().enumerate() {
                if let Some((a0, s0)) = p {
                    let (a1, s1) = (m.tranches[t].assets, m.tranches[t].total_shares());
                    assert!(a1 as u128 * *s0 as u128 >= *a0 as u128 * s1 as u128, "step {step}: invariant 3: tranche {t} price fell without a claim");
                }
            }
        }
    }
});
