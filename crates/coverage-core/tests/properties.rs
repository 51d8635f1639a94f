//! Property tests of the pure core.
//!
//! * Share math (PROTOCOL.md 3.1; invariants 2 and 3 of section 4): deposits
//!   and redemptions round in the pool's favour, never pay out more than went
//!   in, and never move the share price except by rounding dust that stays
//!   with the pool. Overflow is an error, never a panic.
//! * Trigger rule (PROTOCOL.md 3.4; invariant 6): `observe` agrees, one
//!   observation at a time, with a reference model written straight from the
//!   spec text that replays the whole accepted history from scratch; depegs
//!   that were not watched for `duration` never trigger, watched ones always
//!   do, at the first observation that completes `duration`.
//!
//! Every property runs in well under a second in a debug build. Failure
//! persistence is off so a failing run leaves no file in the repository;
//! proptest prints the minimal failing input and its seed instead.

use coverage_core::math::{mul_div_ceil, mul_div_floor, SafeMath};
use coverage_core::price::UnitPrice;
use coverage_core::shares::{assets_for_shares, share_price_scaled, shares_for_deposit, DepositShares, DEAD_SHARES};
use coverage_core::staking::redemption_value;
use coverage_core::trigger::{observe, Observation, ObserveOutcome, StreakState, TriggerTerms};
use coverage_core::{CoreError, BPS};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------
// Shares
// ---------------------------------------------------------------------------

/// Largest "realistic" amount or share count: 10^15 base units (10^9 USDC).
const MAX_AMOUNT: u64 = 1_000_000_000_000_000;

/// An amount in `1..=MAX_AMOUNT`, spread over magnitudes (a uniform draw would
/// almost never be small, and small amounts are where rounding bites).
fn amount() -> impl Strategy<Value = u64> {
    prop_oneof![
        1..=1_000u64,
        1..=1_000_000u64,
        1..=1_000_000_000u64,
        1..=1_000_000_000_000u64,
        1..=MAX_AMOUNT,
    ]
}

/// A tranche's books: `assets` and `total` shares (mint supply + dead shares).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tranche {
    assets: u64,
    total: u64,
}

/// Something that happens to a tranche.
#[derive(Clone, Copy, Debug)]
enum Event {
    /// Someone deposits this amount (refused deposits change nothing).
    Deposit(u64),
    /// Premium earned by the tranche.
    Gain(u64),
    /// A claim takes this many bps of the tranche's assets.
    Loss(u64),
    /// Holders redeem this many bps of the live (non-dead) shares.
    Redeem(u64),
}

fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        3 => amount().prop_map(Event::Deposit),
        2 => amount().prop_map(Event::Gain),
        2 => (0..=9_000u64).prop_map(Event::Loss),
        1 => Just(Event::Loss(BPS)),
        2 => (0..=BPS).prop_map(Event::Redeem),
    ]
}

impl Tranche {
    fn apply(&mut self, event: Event) {
        match event {
            Event::Deposit(amount) => {
                if let Ok(d) = shares_for_deposit(amount, self.assets, self.total) {
                    self.assets += amount;
                    self.total += d.shares + d.dead_shares;
                }
            }
            // premium only flows into a tranche that has stakers
            Event::Gain(gain) if self.total > 0 => self.assets += gain,
            Event::Gain(_) => {}
            Event::Loss(bps) => self.assets -= mul_div_floor(self.assets, bps, BPS).unwrap(),
            Event::Redeem(bps) => {
                let live = self.total.saturating_sub(DEAD_SHARES);
                let shares = mul_div_floor(live, bps, BPS).unwrap();
                let paid = assets_for_shares(shares, self.assets, self.total).unwrap();
                self.assets -= paid;
                self.total -= shares;
            }
        }
    }
}

/// A tranche state reachable in practice: an empty tranche, a first deposit,
/// then any mix of deposits, premium gains, claim losses and redemptions.
fn reachable_tranche() -> impl Strategy<Value = Tranche> {
    (DEAD_SHARES + 1..=MAX_AMOUNT, vec(event(), 0..12)).prop_map(|(first, events)| {
        let mut t = Tranche::default();
        t.apply(Event::Deposit(first));
        for e in events {
            t.apply(e);
        }
        t
    })
}

/// Any tranche state with realistic magnitudes, reachable or not (rounding
/// must favour the pool for every state, not just for those we can reach).
fn any_tranche() -> impl Strategy<Value = Tranche> {
    prop_oneof![
        reachable_tranche(),
        (prop_oneof![Just(0u64), amount()], amount()).prop_map(|(assets, total)| Tranche { assets, total }),
    ]
}

/// `shares_for_deposit` computed exactly in `u128`: the spec of its result and
/// of every refusal, for any `u64` inputs.
fn exact_deposit(amount: u64, assets: u64, total: u64) -> Result<DepositShares, CoreError> {
    if amount == 0 {
        return Err(CoreError::ZeroAmount);
    }
    if total == 0 {
        if amount <= DEAD_SHARES {
            return Err(CoreError::ZeroShares);
        }
        return Ok(DepositShares {
            shares: amount - DEAD_SHARES,
            dead_shares: DEAD_SHARES,
        });
    }
    if assets == 0 {
        return Err(CoreError::TrancheWipedOut);
    }
    let q = amount as u128 * total as u128 / assets as u128;
    if q == 0 {
        return Err(CoreError::ZeroShares);
    }
    if total as u128 + q > u64::MAX as u128 {
        // the minted amount itself, or the new supply, does not fit a token amount
        return Err(CoreError::MathOverflow);
    }
    Ok(DepositShares {
        shares: q as u64,
        dead_shares: 0,
    })
}

fn wide(x: u64) -> u128 {
    x as u128
}

proptest! {
    #![proptest_config(config(2_000))]

    /// Property 1: a deposit redeemed right away never returns more than was
    /// put in, and loses at most one pre-deposit share's worth plus one unit
    /// (the rounding a depositor can suffer; the inflation attack's lever).
    #[test]
    fn deposit_then_redeem_never_returns_more(tr in reachable_tranche(), amount in amount()) {
        let got = shares_for_deposit(amount, tr.assets, tr.total);
        prop_assert_eq!(got, exact_deposit(amount, tr.assets, tr.total));
        if let Ok(d) = got {
            prop_assert_eq!(d.dead_shares, 0);
            let assets = tr.assets + amount;
            let total = tr.total + d.shares;
            let back = assets_for_shares(d.shares, assets, total).unwrap();
            prop_assert!(back <= amount, "paid {} back for {}", back, amount);
            // back > shares * new price - 1 >= shares * old price - 1 = amount - r/T - 1
            // with r = amount*T - shares*A < A, so (amount - back - 1) * T < A.
            if back < amount {
                prop_assert!(wide(amount - back - 1) * wide(tr.total) < wide(tr.assets));
            }
        }
    }

    /// Property 1, first deposit: it pays for the dead shares and gets the rest back.
    #[test]
    fn first_deposit_then_redeem_returns_all_but_dead_shares(amount in amount()) {
        match shares_for_deposit(amount, 0, 0) {
            Ok(d) => {
                prop_assert_eq!(d, DepositShares { shares: amount - DEAD_SHARES, dead_shares: DEAD_SHARES });
                let back = assets_for_shares(d.shares, amount, amount).unwrap();
                prop_assert_eq!(back, amount - DEAD_SHARES);
            }
            Err(e) => {
                prop_assert_eq!(e, CoreError::ZeroShares);
                prop_assert!(amount <= DEAD_SHARES);
            }
        }
    }

    /// Property 2: rounding always favours the pool, and by less than one unit
    /// (both conversions are exact floors: the pool never takes more than the
    /// rounding needs).
    #[test]
    fn rounding_always_favours_the_pool(
        tr in any_tranche(),
        amount in amount(),
        redeem_bps in 0..=BPS,
    ) {
        let (a, t) = (wide(tr.assets), wide(tr.total));
        if let Ok(d) = shares_for_deposit(amount, tr.assets, tr.total) {
            let s = wide(d.shares);
            prop_assert!(s * a <= wide(amount) * t, "minted shares are worth more than paid");
            prop_assert!((s + 1) * a > wide(amount) * t, "minted a whole share less than owed");
        }
        let shares = mul_div_floor(tr.total, redeem_bps, BPS).unwrap();
        let paid = wide(assets_for_shares(shares, tr.assets, tr.total).unwrap());
        prop_assert!(paid * t <= wide(shares) * a, "paid more than the shares are worth");
        prop_assert!((paid + 1) * t > wide(shares) * a, "paid a whole unit less than owed");
        // the displayed price rounds down too
        let scale = 1_000_000_000u64;
        match share_price_scaled(tr.assets, tr.total, scale) {
            Ok(price) => prop_assert!(wide(price) * t <= wide(scale) * a),
            // a price above 1.8e10 per share unit does not fit at this scale
            Err(e) => {
                prop_assert_eq!(e, CoreError::MathOverflow);
                prop_assert!(wide(scale) * a / t > wide(u64::MAX));
            }
        }
    }

    /// Property 3: deposits and redemptions never lower the share price, and
    /// raise it only by the rounding dust they leave behind.
    ///
    /// With `A, T` the books before and `A', T'` after, `D = A'·T − A·T'` is
    /// `T·T'` times the price change. Exactly:
    /// * deposit of `a` minting `s = ⌊a·T/A⌋`: `D = a·T − s·A`, the remainder
    ///   of that floor, so `0 ≤ D < A`: the price rises by less than
    ///   `(A/T)/T'`, one pre-deposit share's worth spread over all shares;
    /// * redemption of `s` paying `p = ⌊s·A/T⌋`: `D = s·A − p·T`, so
    ///   `0 ≤ D < T`: the price rises by less than `1/T'`, one asset unit
    ///   spread over the remaining shares.
    #[test]
    fn share_price_never_falls_on_deposit_or_redemption(
        tr in reachable_tranche(),
        amount in amount(),
        redeem_bps in 0..=BPS,
    ) {
        let (a, t) = (wide(tr.assets), wide(tr.total));
        if let Ok(d) = shares_for_deposit(amount, tr.assets, tr.total) {
            let (a2, t2) = (a + wide(amount), t + wide(d.shares));
            prop_assert!(a2 * t >= a * t2, "deposit lowered the share price");
            prop_assert!(a2 * t - a * t2 < a, "deposit raised the price by more than its dust");
        }
        let live = tr.total - DEAD_SHARES;
        let shares = mul_div_floor(live, redeem_bps, BPS).unwrap();
        let paid = assets_for_shares(shares, tr.assets, tr.total).unwrap();
        let (a2, t2) = (a - wide(paid), t - wide(shares));
        prop_assert!(t2 >= wide(DEAD_SHARES));
        prop_assert!(a2 * t >= a * t2, "redemption lowered the share price");
        prop_assert!(a2 * t - a * t2 < t, "redemption raised the price by more than its dust");
    }

    /// Overflow is an error, never a panic: for any `u64` inputs at all the
    /// conversions equal their exact `u128` value or fail with a named error.
    #[test]
    fn any_inputs_give_exact_results_or_named_errors(
        amount in huge_or_small(),
        assets in huge_or_small(),
        total in huge_or_small(),
        c in huge_or_small(),
    ) {
        prop_assert_eq!(shares_for_deposit(amount, assets, total), exact_deposit(amount, assets, total));
        let expected = if amount > total {
            Err(CoreError::InsufficientShares)
        } else if amount == 0 {
            Ok(0)
        } else {
            // amount <= total, so the result is at most `assets`: it always fits
            Ok((wide(amount) * wide(assets) / wide(total)) as u64)
        };
        prop_assert_eq!(assets_for_shares(amount, assets, total), expected);
        let p = wide(amount) * wide(assets);
        let fit = |q: u128| u64::try_from(q).map_err(|_| CoreError::MathOverflow);
        let (floor, ceil) = if c == 0 {
            (Err(CoreError::MathOverflow), Err(CoreError::MathOverflow))
        } else {
            (fit(p / wide(c)), fit(p.div_ceil(wide(c))))
        };
        prop_assert_eq!(mul_div_floor(amount, assets, c), floor);
        prop_assert_eq!(mul_div_ceil(amount, assets, c), ceil);
        prop_assert_eq!(amount.safe_add(assets).ok(), amount.checked_add(assets));
        prop_assert_eq!(amount.safe_sub(assets).ok(), amount.checked_sub(assets));
        prop_assert_eq!(amount.safe_mul(assets).ok(), amount.checked_mul(assets));
    }

    /// Overflow is an error, never a panic: deposits whose share count, or the
    /// resulting supply, does not fit a `u64` return `MathOverflow`.
    #[test]
    fn huge_deposits_return_math_overflow(
        amount in (1u64 << 40)..=u64::MAX,
        total in (1u64 << 40)..=u64::MAX,
        assets in 1..=(1u64 << 16),
        room in 0..=(1u64 << 40),
    ) {
        // amount * total / assets >= 2^80 / 2^16 = 2^64
        prop_assert_eq!(shares_for_deposit(amount, assets, total), Err(CoreError::MathOverflow));
        // price one: the shares fit, the new supply does not
        let total = u64::MAX - room;
        let amount = room + 1;
        prop_assert_eq!(shares_for_deposit(amount, total, total), Err(CoreError::MathOverflow));
        if room > 0 {
            prop_assert_eq!(shares_for_deposit(room, total, total).map(|d| d.shares), Ok(room));
        }
    }
}

/// Any `u64`, biased to the edges where overflow lives.
fn huge_or_small() -> impl Strategy<Value = u64> {
    prop_oneof![any::<u64>(), (u64::MAX - 1_000)..=u64::MAX, 0..=1_000u64, amount(),]
}

/// One step of several stakers' life in a tranche.
#[derive(Clone, Copy, Debug)]
enum Act {
    /// Holder deposits an amount.
    Deposit(usize, u64),
    /// Holder redeems bps of their free shares at once, for `assets_for_shares`.
    Redeem(usize, u64),
    /// Holder requests withdrawal of bps of their free shares (they stay at risk).
    Request(usize, u64),
    /// Holder redeems their pending request, for `redemption_value`.
    Claim(usize),
    /// Premium earned.
    Gain(u64),
    /// A claim takes bps of the tranche's assets.
    Loss(u64),
}

fn act(holders: usize) -> impl Strategy<Value = Act> {
    let who = 0..holders;
    prop_oneof![
        4 => (who.clone(), prop_oneof![DEAD_SHARES + 1..=10_000u64, amount()])
            .prop_map(|(w, a)| Act::Deposit(w, a)),
        2 => (who.clone(), 0..=BPS).prop_map(|(w, b)| Act::Redeem(w, b)),
        2 => (who.clone(), 0..=BPS).prop_map(|(w, b)| Act::Request(w, b)),
        2 => who.prop_map(Act::Claim),
        2 => amount().prop_map(Act::Gain),
        1 => (0..=9_000u64).prop_map(Act::Loss),
    ]
}

#[derive(Clone, Copy, Debug, Default)]
struct Holder {
    free: u64,
    /// Locked shares of a pending request and their value at request.
    locked: u64,
    value_at_request: u64,
}

proptest! {
    #![proptest_config(config(1_000))]

    /// Property 4: several holders deposit, redeem (at once or through a
    /// withdrawal request) while premiums and claims hit the tranche. After
    /// every step: the books balance exactly (deposited + gains = paid out +
    /// losses + assets), so everything paid out never exceeds deposits plus
    /// gains; assets never go negative (every payout is a checked
    /// subtraction that must succeed); the live holders' claims never exceed
    /// the assets; dead shares never leave.
    #[test]
    fn many_holders_never_take_out_more_than_went_in(
        acts in (2usize..=5).prop_flat_map(|n| vec(act(n), 1..40)),
    ) {
        let mut tr = Tranche::default();
        let mut holders = [Holder::default(); 5];
        let (mut deposited, mut gains, mut losses, mut paid) = (0u128, 0u128, 0u128, 0u128);
        for act in acts {
            match act {
                Act::Deposit(w, amount) => {
                    if let Ok(d) = shares_for_deposit(amount, tr.assets, tr.total) {
                        tr.assets = tr.assets.safe_add(amount).unwrap();
                        tr.total = tr.total.safe_add(d.shares + d.dead_shares).unwrap();
                        holders[w].free += d.shares;
                        deposited += wide(amount);
                    }
                }
                Act::Redeem(w, bps) => {
                    let shares = mul_div_floor(holders[w].free, bps, BPS).unwrap();
                    let out = assets_for_shares(shares, tr.assets, tr.total).unwrap();
                    tr.assets = tr.assets.safe_sub(out).expect("payout exceeds assets");
                    tr.total = tr.total.safe_sub(shares).unwrap();
                    holders[w].free -= shares;
                    paid += wide(out);
                }
                Act::Request(w, bps) if holders[w].locked == 0 => {
                    let shares = mul_div_floor(holders[w].free, bps, BPS).unwrap();
                    let h = &mut holders[w];
                    h.value_at_request = assets_for_shares(shares, tr.assets, tr.total).unwrap();
                    h.free -= shares;
                    h.locked = shares;
                }
                Act::Request(..) => {}
                Act::Claim(w) => {
                    let h = &mut holders[w];
                    let now = assets_for_shares(h.locked, tr.assets, tr.total).unwrap();
                    let out = redemption_value(h.locked, h.value_at_request, tr.assets, tr.total).unwrap();
                    prop_assert_eq!(out, now.min(h.value_at_request));
                    tr.assets = tr.assets.safe_sub(out).expect("payout exceeds assets");
                    tr.total = tr.total.safe_sub(h.locked).unwrap();
                    *h = Holder { free: h.free, ..Holder::default() };
                    paid += wide(out);
                }
                Act::Gain(g) if tr.total > 0 => {
                    tr.assets += g;
                    gains += wide(g);
                }
                Act::Gain(_) => {}
                Act::Loss(bps) => {
                    let lost = mul_div_floor(tr.assets, bps, BPS).unwrap();
                    tr.assets -= lost;
                    losses += wide(lost);
                }
            }
            prop_assert_eq!(deposited + gains, paid + losses + wide(tr.assets));
            prop_assert!(paid <= deposited + gains);
            let live: u64 = holders.iter().map(|h| h.free + h.locked).sum();
            if tr.total > 0 {
                prop_assert_eq!(live + DEAD_SHARES, tr.total, "dead shares left the supply");
            } else {
                prop_assert_eq!(live, 0);
            }
            let claims: u128 = holders
                .iter()
                .map(|h| wide(assets_for_shares(h.free + h.locked, tr.assets, tr.total).unwrap()))
                .sum();
            prop_assert!(claims <= wide(tr.assets), "holders are owed more than the tranche holds");
        }
        // everyone leaves: the books still balance and nobody was paid too much
        for h in holders {
            let out = assets_for_shares(h.free + h.locked, tr.assets, tr.total).unwrap();
            tr.assets = tr.assets.safe_sub(out).expect("payout exceeds assets");
            tr.total -= h.free + h.locked;
            paid += wide(out);
        }
        prop_assert!(paid <= deposited + gains);
        prop_assert_eq!(deposited + gains, paid + losses + wide(tr.assets));
        prop_assert!(tr.total == 0 || tr.total == DEAD_SHARES);
    }
}

// ---------------------------------------------------------------------------
// Trigger: reference model of PROTOCOL.md 3.4
// ---------------------------------------------------------------------------

/// An observation as the spec talks about it.
#[derive(Clone, Copy, Debug)]
struct Tick {
    price: u64,
    conf: u64,
    t: i64,
}

impl Tick {
    /// The top of the confidence interval, exact.
    fn top(&self) -> u128 {
        wide(self.price) + wide(self.conf)
    }

    fn obs(&self) -> Observation {
        Observation {
            price: UnitPrice {
                price: self.price,
                conf: self.conf,
            },
            publish_time: self.t,
        }
    }
}

/// What the spec says a market looks like after exactly these accepted
/// observations, recomputed from scratch.
#[derive(Clone, Copy, Debug, Default)]
struct SpecView {
    /// Index of the observation that opened the streak open now, if any.
    open_since: Option<usize>,
    /// Lowest `price + conf` in that streak.
    low: u128,
    /// Index of the observation at which the market triggered, if any.
    triggered_at: Option<usize>,
}

/// Replays rules 2–5 over the accepted history `seen`.
fn spec_replay(terms: &TriggerTerms, seen: &[Tick]) -> SpecView {
    // streak[i]: which observation opened the streak open right after observation i
    let mut streak: Vec<Option<usize>> = Vec::with_capacity(seen.len());
    for (i, o) in seen.iter().enumerate() {
        // rule 2: a streak survives only if the previous observation is at most max_gap older
        let carried = match i {
            0 => None,
            _ if o.t - seen[i - 1].t > terms.max_gap => None,
            _ => streak[i - 1],
        };
        streak.push(match carried {
            // rule 4: an open streak closes at the recovery price, else stays open
            Some(start) => (o.price < terms.recovery).then_some(start),
            // rule 3: with none open, one opens if even the top is below the strike
            None => (o.top() < wide(terms.strike)).then_some(i),
        });
    }
    // rule 5: the first observation at which its streak has lasted `duration`
    let triggered_at =
        (0..seen.len()).find(|&i| streak[i].is_some_and(|start| seen[i].t - seen[start].t >= terms.duration));
    let open_since = streak.last().copied().flatten();
    let low = match open_since {
        Some(start) => seen[start..].iter().map(Tick::top).min().unwrap(),
        None => 0,
    };
    SpecView {
        open_since,
        low,
        triggered_at,
    }
}

/// Rule 1: whether the spec accepts `o` at clock `now` after history `seen`.
/// The spec names the checks but not their order; when several fail, the core
/// reports the first of: triggered market, stale price, wide confidence,
/// non-increasing publish time.
fn spec_accepts(terms: &TriggerTerms, seen: &[Tick], view: &SpecView, o: &Tick, now: i64) -> Result<(), CoreError> {
    let failures = [
        (view.triggered_at.is_some(), CoreError::MarketAlreadyTriggered),
        (
            now as i128 - o.t as i128 > terms.max_price_age as i128,
            CoreError::StalePrice,
        ),
        (
            wide(o.conf) * wide(BPS) > wide(o.price) * wide(terms.max_conf_bps),
            CoreError::ConfidenceTooWide,
        ),
        (
            seen.last().is_some_and(|last| o.t <= last.t),
            CoreError::PublishTimeNotIncreasing,
        ),
    ];
    match failures.iter().find(|(failed, _)| *failed) {
        Some(&(_, e)) => Err(e),
        None => Ok(()),
    }
}

/// Feeds `o` to both the core and the model; checks they agree and that a
/// rejection changes nothing. Returns whether it was accepted.
fn step(
    terms: &TriggerTerms,
    state: &mut StreakState,
    seen: &mut Vec<Tick>,
    o: Tick,
    now: i64,
) -> Result<bool, TestCaseError> {
    let before = spec_replay(terms, seen);
    let expected = spec_accepts(terms, seen, &before, &o, now);
    let old = *state;
    let got = observe(terms, state, &o.obs(), now);
    let out = match (got, expected) {
        (Err(e), Err(want)) => {
            prop_assert_eq!(e, want, "wrong rejection of {:?} at {}", o, now);
            prop_assert_eq!(*state, old, "a rejected observation changed the state");
            return Ok(false);
        }
        (Ok(out), Ok(())) => out,
        (got, want) => {
            return Err(TestCaseError::fail(format!(
                "{o:?} at {now}: core says {got:?}, spec says {want:?}"
            )))
        }
    };
    seen.push(o);
    let last = seen.len() - 1;
    let view = spec_replay(terms, seen);
    prop_assert!(view.triggered_at.is_none_or(|i| i == last));
    prop_assert_eq!(state.last_publish_time, o.t);
    prop_assert_eq!(state.streak_open, view.open_since.is_some());
    // a closed streak's start and low are leftovers with no meaning: compared only while open
    if let Some(start) = view.open_since {
        prop_assert_eq!(state.streak_start, seen[start].t);
        prop_assert_eq!(wide(state.streak_low), view.low);
    }
    prop_assert_eq!(state.triggered, view.triggered_at.is_some());
    let trigger_time = view.triggered_at.map_or(0, |i| seen[i].t);
    prop_assert_eq!(state.trigger_time, trigger_time);
    let gap = last > 0 && o.t - seen[last - 1].t > terms.max_gap;
    let dropped = before.open_since.is_some() && gap;
    prop_assert_eq!(
        out,
        ObserveOutcome {
            dropped,
            opened: view.open_since == Some(last),
            closed: before.open_since.is_some() && !dropped && view.open_since.is_none(),
            triggered: view.triggered_at == Some(last),
        }
    );
    Ok(true)
}

/// Publish time of the first observation of every path.
const T0: i64 = 1_700_000_000;

/// Trigger terms around a $0.95–$0.999 strike; `duration` is drawn as
/// `min_duration + x mod (duration_gaps · max_gap + 1)`.
fn terms(min_duration: i64, duration_gaps: i64) -> impl Strategy<Value = TriggerTerms> {
    (
        90_000_000u64..=99_900_000,
        prop_oneof![Just(0u64), 1..=2_000_000u64],
        prop_oneof![1i64..=10, 1i64..=900],
        any::<u32>(),
        prop_oneof![Just(0i64), 0i64..=120],
        prop_oneof![Just(0u64), 1..=1_000u64],
    )
        .prop_map(move |(strike, extra, max_gap, d, age, bps)| TriggerTerms {
            strike,
            recovery: strike + extra,
            duration: min_duration + i64::from(d) % (duration_gaps * max_gap + 1),
            max_gap,
            max_price_age: age,
            max_conf_bps: bps,
        })
}

/// The widest confidence `terms` accept for `price`.
fn conf_limit(terms: &TriggerTerms, price: u64) -> u64 {
    mul_div_floor(price, terms.max_conf_bps, BPS).unwrap()
}

/// Dice for one observation of a random path: (selector, value) pairs for the
/// time step, the price, the confidence and the clock's lag.
type Dice = ((u8, u32), (u8, u32), (u8, u32), (u8, u32));

/// Builds one observation of a random path from its dice; `depeg` is the
/// path's current regime (prices stay below recovery while it lasts).
fn random_tick(terms: &TriggerTerms, prev_t: Option<i64>, depeg: bool, d: Dice) -> (Tick, i64) {
    let ((dt_sel, dt_raw), (p_sel, p_raw), (c_sel, c_raw), (a_sel, a_raw)) = d;
    let (dt_raw, p_raw, c_raw, a_raw) = (i64::from(dt_raw), u64::from(p_raw), u64::from(c_raw), i64::from(a_raw));
    let g = terms.max_gap;
    let t = match prev_t {
        None => T0,
        Some(prev) => {
            prev + match dt_sel % 20 {
                0 => -(dt_raw % 3), // replay or reorder
                1 => g,
                2 => g + 1,
                3 => g + 1 + dt_raw % (3 * g),
                _ => 1 + dt_raw % g,
            }
        }
    };
    let (s, r) = (terms.strike, terms.recovery);
    let kinds = if depeg { 6 } else { 10 };
    let price = match p_sel % kinds {
        0..=2 => s - 1 - p_raw % (s / 10),
        3 => s - 1,
        4 => s + p_raw % (r - s + 1),
        5 => r.max(1) - 1,
        6 => s,
        7 => r,
        _ => r + 1 + p_raw % 10_000_000,
    };
    let limit = conf_limit(terms, price);
    let conf = match c_sel % 12 {
        0 => 0,
        1 => limit,
        2 => limit + 1,
        3 if price < s => s - price,
        4 if price < s => s - 1 - price,
        _ => c_raw % (limit + 1),
    };
    let age = terms.max_price_age;
    let lag = match a_sel % 12 {
        0 => age + 1 + a_raw % 1_000,
        1 => age + 1,
        2 => age,
        3 => 0,
        _ => a_raw % (age + 1),
    };
    (Tick { price, conf, t }, t + lag)
}

proptest! {
    #![proptest_config(config(1_500))]

    /// Property 5: `observe` agrees with the spec model observation by
    /// observation over random price paths: same acceptance, same error,
    /// same streak, same trigger, same outcome flags; rejections change nothing.
    #[test]
    fn observe_agrees_with_the_spec_model(
        terms in terms(0, 4),
        path in vec((any::<Dice>(), any::<u8>()), 1..80),
    ) {
        let mut state = StreakState::default();
        let mut seen = Vec::new();
        let mut prev_t = None;
        let mut depeg = false;
        for (dice, flip) in path {
            if flip.is_multiple_of(8) {
                depeg = !depeg;
            }
            let (tick, now) = random_tick(&terms, prev_t, depeg, dice);
            prev_t = Some(tick.t);
            step(&terms, &mut state, &mut seen, tick, now)?;
        }
    }

    /// Any input at all: `observe` never panics, and a rejection changes nothing.
    #[test]
    fn observe_never_panics_and_rejections_change_nothing(
        terms in (any::<u64>(), any::<u64>(), any::<i64>(), any::<i64>(), any::<i64>(), any::<u64>())
            .prop_map(|(strike, recovery, duration, max_gap, max_price_age, max_conf_bps)| {
                TriggerTerms { strike, recovery, duration, max_gap, max_price_age, max_conf_bps }
            }),
        path in vec((any::<u64>(), any::<u64>(), any::<i64>(), any::<i64>()), 1..20),
    ) {
        let mut state = StreakState::default();
        for (price, conf, t, now) in path {
            let old = state;
            let obs = Observation { price: UnitPrice { price, conf }, publish_time: t };
            if observe(&terms, &mut state, &obs, now).is_err() {
                prop_assert_eq!(state, old);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Trigger: invariant 6
// ---------------------------------------------------------------------------

/// Dice for one observation of a constructed path: time step, price,
/// confidence, clock lag.
type Raw = (u32, u32, u32, u32);

/// Builds paths of observations that all pass rule 1 (fresh, tight enough,
/// increasing): only the prices and the gaps between them vary.
struct PathBuilder<'a> {
    terms: &'a TriggerTerms,
    t: i64,
    path: Vec<(Tick, i64)>,
}

impl<'a> PathBuilder<'a> {
    fn new(terms: &'a TriggerTerms) -> Self {
        Self {
            terms,
            t: T0 - 1,
            path: Vec::new(),
        }
    }

    /// Adds an observation at `t` (after the last one), with a confidence
    /// drawn from `c_raw` up to `cap` and the accepted limit.
    fn push(&mut self, t: i64, price: u64, cap: u64, c_raw: u32, a_raw: u32) {
        assert!(t > self.t);
        let conf = u64::from(c_raw) % (conf_limit(self.terms, price).min(cap) + 1);
        let lag = i64::from(a_raw) % (self.terms.max_price_age + 1);
        self.t = t;
        self.path.push((Tick { price, conf, t }, t + lag));
    }

    /// A depeg observation: even the top of its interval is below the strike.
    fn push_depeg(&mut self, t: i64, raw: Raw) {
        let s = self.terms.strike;
        let price = s - 1 - u64::from(raw.1) % (s / 10);
        self.push(t, price, s - 1 - price, raw.2, raw.3);
    }

    /// A price below recovery that may straddle the strike: it opens no
    /// streak but keeps an open one open (hysteresis).
    fn push_sticky(&mut self, t: i64, raw: Raw) {
        let (s, r) = (self.terms.strike, self.terms.recovery);
        let low = s - s / 20;
        self.push(t, low + u64::from(raw.1) % (r - low), u64::MAX, raw.2, raw.3);
    }

    /// A healthy price at or above recovery: closes any streak, opens none.
    fn push_healthy(&mut self, t: i64, raw: Raw) {
        let price = self.terms.recovery + u64::from(raw.1) % 5_000_000;
        self.push(t, price, u64::MAX, raw.2, raw.3);
    }

    /// Ends whatever streak may be open before the next observation: either a
    /// healthy observation or a silence longer than `max_gap`. Returns the
    /// earliest publish time for the next observation.
    fn reset(&mut self, kind: u8, raw: Raw) -> i64 {
        let g = self.terms.max_gap;
        if kind.is_multiple_of(2) {
            self.push_healthy(self.t + 1 + i64::from(raw.0) % (2 * g), raw);
            self.t + 1 + i64::from(raw.1) % (2 * g)
        } else {
            self.t + g + 1 + i64::from(raw.0) % 1_000
        }
    }

    /// Segments of below-recovery observations, each watched (gaps within
    /// `max_gap`) for less than `duration`, separated by resets. No streak
    /// can last `duration` (needs `duration >= 1`).
    fn quiet(&mut self, segments: &[(u8, Raw, Vec<Raw>)]) {
        let g = self.terms.max_gap;
        for (k, (kind, reset_raw, obs)) in segments.iter().enumerate() {
            let start = if k == 0 {
                self.t + 1
            } else {
                self.reset(*kind, *reset_raw)
            };
            for (j, &raw) in obs.iter().enumerate() {
                let t = if j == 0 {
                    start
                } else {
                    self.t + 1 + i64::from(raw.0) % g
                };
                if t - start >= self.terms.duration {
                    break;
                }
                if raw.1.is_multiple_of(4) {
                    self.push_sticky(t, raw);
                } else {
                    self.push_depeg(t, raw);
                }
            }
        }
    }
}

/// Longest time any run of consecutive observations priced below recovery,
/// each within `max_gap` of the previous, was watched (computed from the path
/// alone, to check the generator).
fn longest_watched_run(terms: &TriggerTerms, path: &[(Tick, i64)]) -> i64 {
    let mut longest = 0;
    let mut run_start: Option<i64> = None;
    let mut prev_t: Option<i64> = None;
    for (o, _) in path {
        let joined = prev_t.is_some_and(|prev| o.t - prev <= terms.max_gap);
        run_start = match (o.price < terms.recovery, run_start) {
            (true, Some(start)) if joined => Some(start),
            (true, _) => Some(o.t),
            (false, _) => None,
        };
        if let Some(start) = run_start {
            longest = longest.max(o.t - start);
        }
        prev_t = Some(o.t);
    }
    longest
}

fn raw() -> impl Strategy<Value = Raw> {
    any::<Raw>()
}

fn segments() -> impl Strategy<Value = Vec<(u8, Raw, Vec<Raw>)>> {
    vec((any::<u8>(), raw(), vec(raw(), 0..25)), 0..6)
}

proptest! {
    #![proptest_config(config(1_000))]

    /// Invariant 6, first half: a depeg never watched for `duration` without
    /// a recovery or a gap over `max_gap` never triggers (even if it lasts far
    /// longer than `duration` in between the gaps).
    #[test]
    fn unwatched_or_short_depegs_never_trigger(terms in terms(1, 20), segments in segments()) {
        let mut b = PathBuilder::new(&terms);
        b.quiet(&segments);
        prop_assert!(longest_watched_run(&terms, &b.path) < terms.duration);
        let mut state = StreakState::default();
        let mut seen = Vec::new();
        for &(o, now) in &b.path {
            prop_assert!(step(&terms, &mut state, &mut seen, o, now)?, "{:?} refused", o);
            prop_assert!(!state.triggered);
        }
    }

    /// Invariant 6, second half: after any quiet history and a reset, a run of
    /// observations with `price + conf < strike` (or, with `hysteresis`, a
    /// first one below the strike and then prices below recovery), each within
    /// `max_gap` of the previous and lasting `duration`, triggers exactly at
    /// the first observation with `publish_time - start >= duration`,
    /// recording the run's start and its lowest `price + conf`. Nothing is
    /// accepted afterwards.
    #[test]
    fn watched_depegs_always_trigger_on_time(
        terms in terms(0, 20),
        prefix in segments(),
        (reset_kind, reset_raw) in (any::<u8>(), raw()),
        run in vec(raw(), 1..64),
        hysteresis in any::<bool>(),
        tail in vec(raw(), 0..4),
    ) {
        let mut b = PathBuilder::new(&terms);
        if terms.duration > 0 {
            b.quiet(&prefix);
        }
        let start = if b.path.is_empty() { T0 } else { b.reset(reset_kind, reset_raw) };
        let run_from = b.path.len();
        b.push_depeg(start, run[0]);
        let mut j = 1;
        while b.t - start < terms.duration {
            let raw = run[j % run.len()];
            // once the dice run out, the longest gap still watched
            let dt = if j < run.len() { 1 + i64::from(raw.0) % terms.max_gap } else { terms.max_gap };
            if hysteresis && raw.1.is_multiple_of(3) {
                b.push_sticky(b.t + dt, raw);
            } else {
                b.push_depeg(b.t + dt, raw);
            }
            j += 1;
        }
        let trigger_at = b.path.len() - 1;
        let low = b.path[run_from..].iter().map(|(o, _)| o.top()).min().unwrap();
        for raw in tail {
            b.push_depeg(b.t + 1 + i64::from(raw.0) % terms.max_gap, raw);
        }

        let mut state = StreakState::default();
        let mut seen = Vec::new();
        for (i, &(o, now)) in b.path.iter().enumerate() {
            if i > trigger_at {
                let old = state;
                prop_assert_eq!(
                    observe(&terms, &mut state, &o.obs(), now),
                    Err(CoreError::MarketAlreadyTriggered)
                );
                prop_assert_eq!(state, old);
                continue;
            }
            prop_assert!(step(&terms, &mut state, &mut seen, o, now)?, "{:?} refused", o);
            prop_assert_eq!(state.triggered, i == trigger_at, "trigger at {} instead of {}", i, trigger_at);
        }
        prop_assert_eq!(state.trigger_time, b.path[trigger_at].0.t);
        prop_assert_eq!(state.streak_start, start);
        prop_assert_eq!(wide(state.streak_low), low);
    }
}
