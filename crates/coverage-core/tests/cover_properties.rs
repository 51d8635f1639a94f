//! Property tests of cover: pricing, premium streaming and the cover book.
//!
//! * Pricing (PROTOCOL.md 3.2): `Curve::premium` against the exact integral
//!   of the kinked curve, computed here as an exact rational (a small bignum:
//!   the scaled numerator reaches ~2^175) by the trapezoid rule on each
//!   linear segment of the rate, not by the program's square differences.
//! * Streaming (PROTOCOL.md 3.2): `PremiumLedger` earns every unit exactly
//!   once, never in a jump, and close to linearly (bound derived below).
//! * Book (PROTOCOL.md 3.3, 3.5): `CoverBook` aggregates agree with a brute
//!   force walk over the sold policies.
//!
//! Failure persistence is off so a failing run leaves no file in the
//! repository; proptest prints the minimal failing input and its seed instead.

use std::cmp::Ordering;

use coverage_core::book::{CoverBook, BOOK_DAYS, PENDING_SLOTS};
use coverage_core::policy::{day_of, is_eligible, policy_term};
use coverage_core::pricing::{Curve, DAYS_PER_YEAR};
use coverage_core::streaming::{split_by_weight, PremiumLedger, LEDGER_DAYS};
use coverage_core::{CoreError, BPS, SECONDS_PER_DAY};
use proptest::collection::vec;
use proptest::prelude::*;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

const D: i64 = SECONDS_PER_DAY;
/// Largest capacity exercised: 10^15 base units (10^9 USDC).
const MAX_CAPACITY: u64 = 1_000_000_000_000_000;
/// A plausible "now": day 19 000 is in 2022.
const EPOCH_DAY: i64 = 19_000;

// ---------------------------------------------------------------------------
// A tiny unsigned bignum (exact rationals for the pricing integral)
// ---------------------------------------------------------------------------

/// Unsigned integer, little-endian base-2^32 limbs, no high zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn new(mut x: u128) -> Self {
        let mut limbs = Vec::new();
        while x > 0 {
            limbs.push(x as u32);
            x >>= 32;
        }
        Big(limbs)
    }

    fn trim(mut self) -> Self {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
        self
    }

    fn mul(&self, other: &Big) -> Big {
        let mut out = vec![0u32; self.0.len() + other.0.len() + 1];
        for (i, &a) in self.0.iter().enumerate() {
            let mut carry = 0u64;
            for (j, &b) in other.0.iter().enumerate() {
                // (2^32-1)^2 + 2 (2^32-1) = 2^64 - 1: never overflows
                let t = u64::from(a) * u64::from(b) + u64::from(out[i + j]) + carry;
                out[i + j] = t as u32;
                carry = t >> 32;
            }
            let mut k = i + other.0.len();
            while carry > 0 {
                let t = u64::from(out[k]) + carry;
                out[k] = t as u32;
                carry = t >> 32;
                k += 1;
            }
        }
        Big(out).trim()
    }

    fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let t = u64::from(*self.0.get(i).unwrap_or(&0)) + u64::from(*other.0.get(i).unwrap_or(&0)) + carry;
            out.push(t as u32);
            carry = t >> 32;
        }
        out.push(carry as u32);
        Big(out).trim()
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The product of `factors`, exact.
fn prod(factors: &[u128]) -> Big {
    factors.iter().fold(Big::new(1), |acc, f| acc.mul(&Big::new(*f)))
}

#[test]
fn bignum_agrees_with_u128() {
    let xs = [0u128, 1, 7, u32::MAX as u128, u64::MAX as u128, 1 << 100, u128::MAX / 3];
    for &a in &xs {
        for &b in &xs {
            if let Some(p) = a.checked_mul(b) {
                assert_eq!(Big::new(a).mul(&Big::new(b)), Big::new(p));
            }
            if let Some(s) = a.checked_add(b) {
                assert_eq!(Big::new(a).add(&Big::new(b)), Big::new(s));
            }
            assert_eq!(Big::new(a).cmp(&Big::new(b)), a.cmp(&b));
        }
    }
    // (2^128 - 1)^2 = 2^256 - 2^129 + 1 > 2^255
    let sq = Big::new(u128::MAX).mul(&Big::new(u128::MAX));
    assert_eq!(sq.0.len(), 8);
    assert!(sq > prod(&[1 << 127, 1 << 127, 2]).mul(&Big::new(1)));
}

// ---------------------------------------------------------------------------
// Pricing
// ---------------------------------------------------------------------------

/// The exact premium of a purchase as `num / den`, from the curve's definition
/// (module doc of `pricing`): with `k = ⌊K·kink/10 000⌋` and `q = K − k`, the
/// rate is linear on `[0, k]` (`base + s1·c/k`) and on `[k, K]`
/// (`base + s1 + s2·(c − k)/q`), so the integral over each segment `[a, b]`
/// of the purchase is its length times the mean of the end rates:
///
/// ```text
/// below: (b − a)(2·base·k + s1·(a + b)) / (2k)
/// above: (b − a)(2·(base + s1)·q + s2·(a + b − 2k)) / (2q)
/// premium = days / (365 × 10 000) × (below + above)
/// ```
///
/// Both are put over `2·max(k, 1)·q` (with `k = 0` there is no segment below).
fn exact_premium(curve: &Curve, amount: u64, days: u64, active: u64, capacity: u64) -> (Big, Big) {
    let cap = u128::from(capacity);
    let k = cap * u128::from(curve.kink_utilization_bps) / u128::from(BPS);
    let q = cap - k;
    let kf = k.max(1);
    let (base, s1, s2) = (
        u128::from(curve.base_rate_bps),
        u128::from(curve.slope_below_kink_bps),
        u128::from(curve.slope_above_kink_bps),
    );
    let (c, e) = (u128::from(active), u128::from(active) + u128::from(amount));
    let mut num = Big::new(0);
    if c < k {
        let (a, b) = (c, e.min(k));
        num = num.add(&prod(&[b - a, 2 * base * k + s1 * (a + b), q]));
    }
    if e > k {
        let (a, b) = (c.max(k), e);
        num = num.add(&prod(&[b - a, 2 * (base + s1) * q + s2 * (a + b - 2 * k), kf]));
    }
    let year = u128::from(DAYS_PER_YEAR * BPS);
    (num.mul(&Big::new(u128::from(days))), prod(&[2 * year, kf, q]))
}

/// How many of the four rounded-up parts of `premium` are non-zero for this
/// purchase: base always; `s1` below the kink; `s1` flat and `s2` above it.
fn nonzero_parts(curve: &Curve, amount: u64, active: u64, capacity: u64) -> u64 {
    let k = curve.kink_cover(capacity).unwrap();
    let end = active + amount;
    let below = active < k && curve.slope_below_kink_bps > 0;
    let above_flat = end > k && curve.slope_below_kink_bps > 0;
    let above_steep = end > k && curve.slope_above_kink_bps > 0;
    1 + u64::from(below) + u64::from(above_flat) + u64::from(above_steep)
}

/// A curve the program accepts: `base ≥ 1`, `0 < kink < 10 000`,
/// `s2 ≥ s1`, `base + s1 + s2 ≤ 10 000`.
fn curve() -> impl Strategy<Value = Curve> {
    let kink = prop_oneof![1..BPS, Just(1), Just(BPS - 1), Just(8_000)];
    let realistic =
        (1..=1_000u64, 0..=2_000u64, 0..=5_000u64, kink.clone()).prop_map(|(base, s1, extra, kink)| Curve {
            base_rate_bps: base,
            slope_below_kink_bps: s1,
            slope_above_kink_bps: s1 + extra,
            kink_utilization_bps: kink,
        });
    let any_valid = (1..=BPS)
        .prop_flat_map(|base| (Just(base), 0..=(BPS - base) / 2))
        .prop_flat_map(move |(base, s1)| (Just(base), Just(s1), s1..=BPS - base - s1, kink.clone()))
        .prop_map(|(base, s1, s2, kink)| Curve {
            base_rate_bps: base,
            slope_below_kink_bps: s1,
            slope_above_kink_bps: s2,
            kink_utilization_bps: kink,
        });
    prop_oneof![realistic, any_valid]
}

fn capacity() -> impl Strategy<Value = u64> {
    prop_oneof![
        1..=1_000u64,
        1..=1_000_000u64,
        1..=1_000_000_000u64,
        1..=1_000_000_000_000u64,
        1..=MAX_CAPACITY,
        Just(MAX_CAPACITY),
    ]
}

/// A value in `lo..=hi` biased to both ends (rounding bites at the edges).
fn in_range(lo: u64, hi: u64) -> BoxedStrategy<u64> {
    prop_oneof![
        lo..=hi,
        Just(lo),
        Just(hi),
        lo..=lo.saturating_add(1_000).min(hi),
        hi.saturating_sub(1_000).max(lo)..=hi,
    ]
    .boxed()
}

/// A purchase that fits: `amount ≥ 1`, `active + amount ≤ capacity`.
#[derive(Clone, Copy, Debug)]
struct Buy {
    curve: Curve,
    capacity: u64,
    active: u64,
    amount: u64,
    days: u64,
}

impl Buy {
    fn premium(&self) -> Result<u64, CoreError> {
        self.curve.premium(self.amount, self.days, self.active, self.capacity)
    }
}

fn buy() -> impl Strategy<Value = Buy> {
    (curve(), capacity(), prop_oneof![1..=365u64, 1..=3u64, Just(365)])
        .prop_flat_map(|(curve, capacity, days)| {
            let k = curve.kink_cover(capacity).unwrap();
            // start anywhere, or near the kink (either side)
            let near_kink = in_range(k.saturating_sub(2_000), (k + 2_000).min(capacity - 1));
            let active = prop_oneof![in_range(0, capacity - 1), near_kink];
            (Just(curve), Just(capacity), Just(days), active)
        })
        .prop_flat_map(|(curve, capacity, days, active)| {
            let k = curve.kink_cover(capacity).unwrap();
            let room = capacity - active;
            // any amount, or one that ends near (or crosses) the kink
            let to_kink = if k > active {
                in_range(1, (k - active).min(room))
            } else {
                in_range(1, room)
            };
            let amount = prop_oneof![in_range(1, room), to_kink];
            (Just(curve), Just(capacity), Just(days), Just(active), amount)
        })
        .prop_map(|(curve, capacity, days, active, amount)| Buy {
            curve,
            capacity,
            active,
            amount,
            days,
        })
}

/// `n − 1` cut points strictly inside `1..amount`: pieces of at least one unit.
fn pieces(amount: u64, cuts: &[u64]) -> Vec<u64> {
    if amount < 2 {
        return vec![amount];
    }
    let mut at: Vec<u64> = cuts.iter().map(|c| 1 + c % (amount - 1)).collect();
    at.sort_unstable();
    at.dedup();
    let mut out = Vec::new();
    let mut prev = 0;
    for c in at.into_iter().chain([amount]) {
        out.push(c - prev);
        prev = c;
    }
    out
}

proptest! {
    #![proptest_config(config(3_000))]

    /// Property 1: buying `A` in pieces (each at the active cover the earlier
    /// pieces left) never costs less than buying it at once, and costs at most
    /// a few units more.
    ///
    /// Bound: the premium is `Σ_j ⌈x_j⌉` over four parts (base; `s1` below the
    /// kink; `s1` flat and `s2` above it), and each part's exact value is
    /// additive over adjacent intervals (linear in the amount, or a telescoping
    /// difference of squares). If part `j` is non-zero for `m_j` pieces, then
    /// `Σ_i ⌈x_ij⌉ < X_j + m_j ≤ ⌈X_j⌉ + m_j`, an integer, so the split pays at most
    /// `m_j − 1` more on part `j` (and never less: `Σ ⌈x_ij⌉ ≥ X_j` is an integer).
    /// The base part is non-zero for all `n` pieces; `m_below + m_above ≤ n + 1`
    /// (one piece at most straddles the kink), and the two above-kink parts
    /// share `m_above`, so
    ///
    /// `split − whole ≤ (n − 1) + (m_below − 1)⁺ + 2·(m_above − 1)⁺ ≤ 3·(n − 1)`,
    ///
    /// tighter than `4n` (four rounded parts per piece).
    #[test]
    fn splitting_a_purchase_never_costs_less(b in buy(), cuts in vec(any::<u64>(), 1..=5)) {
        let whole = b.premium().unwrap();
        let parts = pieces(b.amount, &cuts);
        let n = parts.len() as u64;
        let k = b.curve.kink_cover(b.capacity).unwrap();
        let (mut split, mut active, mut m_below, mut m_above) = (0u64, b.active, 0u64, 0u64);
        for &p in &parts {
            split += b.curve.premium(p, b.days, active, b.capacity).unwrap();
            m_below += u64::from(active < k);
            m_above += u64::from(active + p > k);
            active += p;
        }
        prop_assert_eq!(active, b.active + b.amount);
        prop_assert!(split >= whole, "split {} < whole {} over {:?}", split, whole, parts);
        let bound = (n - 1) + m_below.saturating_sub(1) + 2 * m_above.saturating_sub(1);
        prop_assert!(bound <= 3 * (n - 1) && bound <= 4 * n);
        prop_assert!(split - whole <= bound, "split {} - whole {} > {} over {:?}", split, whole, bound, parts);
    }

    /// Property 2: the premium is never below the exact integral, and above it
    /// by less than one unit per non-zero rounded part (so by less than 4 units).
    #[test]
    fn premium_is_the_exact_integral_rounded_up(b in buy()) {
        let premium = b.premium().unwrap();
        let (num, den) = exact_premium(&b.curve, b.amount, b.days, b.active, b.capacity);
        let paid = den.mul(&Big::new(u128::from(premium)));
        prop_assert!(paid >= num, "premium {} below the exact integral", premium);
        let parts = nonzero_parts(&b.curve, b.amount, b.active, b.capacity);
        prop_assert!(parts <= 4);
        prop_assert!(paid < num.add(&den.mul(&Big::new(u128::from(parts)))), "premium {} exceeds exact + {}", premium, parts);
    }

    /// Property 3: any cover pays, and more cover, a longer term or a fuller
    /// market never costs less. Exception, found by this property: a higher
    /// starting utilization can cost **one unit less** when the purchase moves
    /// through the kink — the `s1` integral is rounded up in two parts (below
    /// the kink and flat above it), and shifting the interval up moves value from
    /// one part to the other, which can drop one ceiling while the exact integral
    /// rises (`⌈L'⌉ + ⌈F'⌉ ≥ L' + F' ≥ L + F > ⌈L⌉ + ⌈F⌉ − 2`, so never by more
    /// than one unit). E.g. the unit tests' curve (200 / 800 / 4 000 bps, kink
    /// 80 %), capacity 10^12, 8 units for 1 day: 4 units from active `k − 7`
    /// (four non-zero parts), 3 from active `k` (three). The exact integral is
    /// monotone (asserted), the rounded premium within one unit of it (asserted).
    #[test]
    fn premium_is_positive_and_monotone(
        b in buy(),
        more in any::<u64>(),
        more_days in 0..=365u64,
        shift in any::<u64>(),
    ) {
        let premium = b.premium().unwrap();
        prop_assert!(premium > 0);
        // more cover
        let room = b.capacity - b.active - b.amount;
        let more = if room == 0 { 0 } else { more % (room + 1) };
        let bigger = Buy { amount: b.amount + more, ..b }.premium().unwrap();
        prop_assert!(bigger >= premium, "{} more cover cost {} < {}", more, bigger, premium);
        // a longer term
        let longer = Buy { days: b.days + more_days, ..b }.premium().unwrap();
        prop_assert!(longer >= premium, "{} more days cost {} < {}", more_days, longer, premium);
        // a fuller market
        let shift = if room == 0 { 0 } else { shift % (room + 1) };
        let fuller = Buy { active: b.active + shift, ..b };
        let fuller_premium = fuller.premium().unwrap();
        let (n0, d0) = exact_premium(&b.curve, b.amount, b.days, b.active, b.capacity);
        let (n1, d1) = exact_premium(&b.curve, b.amount, b.days, fuller.active, b.capacity);
        prop_assert_eq!(&d0, &d1);
        prop_assert!(n1 >= n0, "exact integral fell with utilization");
        prop_assert!(
            fuller_premium + 1 >= premium,
            "starting {} higher cost {}, more than one unit below {}", shift, fuller_premium, premium
        );
    }

    /// Property 4: refusals are named errors; valid curves and capacities up to
    /// 10^15 never overflow and never panic.
    #[test]
    fn premium_bounds_and_no_overflow(b in buy(), over in 1..=MAX_CAPACITY, days in 1..=365u64) {
        let Buy { curve, capacity, active, amount, .. } = b;
        prop_assert_eq!(curve.premium(0, days, active, capacity), Err(CoreError::ZeroAmount));
        prop_assert_eq!(curve.premium(amount, 0, active, capacity), Err(CoreError::ZeroAmount));
        prop_assert_eq!(curve.premium(0, 0, active, capacity), Err(CoreError::ZeroAmount));
        // one unit (or more) past capacity
        let past = capacity - active + over.min(u64::MAX - capacity);
        prop_assert_eq!(curve.premium(past, days, active, capacity), Err(CoreError::CapacityExceeded));
        prop_assert_eq!(curve.premium(amount, days, capacity, capacity), Err(CoreError::CapacityExceeded));
        // everything that fits is priced: the whole capacity, from empty or the current point
        prop_assert!(curve.premium(capacity, days, 0, capacity).is_ok());
        prop_assert!(curve.premium(capacity - active, days, active, capacity).is_ok());
        prop_assert!(curve.premium(amount, days, active, capacity).is_ok());
        prop_assert!(curve.premium(amount, 365, active, capacity).is_ok());
    }
}

// ---------------------------------------------------------------------------
// Streaming
// ---------------------------------------------------------------------------

/// A premium ledger owning its fields (as the program's account does).
#[derive(Clone, Debug)]
struct Ledger {
    day: i64,
    last: i64,
    today: u64,
    total: u64,
    ring: Vec<u64>,
}

impl Ledger {
    fn new(now: i64) -> Self {
        Self {
            day: day_of(now),
            last: now,
            today: 0,
            total: 0,
            ring: vec![0; LEDGER_DAYS],
        }
    }

    fn view(&mut self) -> PremiumLedger<'_> {
        PremiumLedger {
            current_day: &mut self.day,
            last_accrual: &mut self.last,
            today_unearned: &mut self.today,
            unearned_total: &mut self.total,
            by_day: &mut self.ring,
        }
    }

    fn accrue(&mut self, now: i64) -> u64 {
        self.view().accrue(now).unwrap()
    }

    fn ring_sum(&self) -> u64 {
        self.ring.iter().sum()
    }
}

/// A premium amount, spread over magnitudes (zero included).
fn premium_amount() -> impl Strategy<Value = u64> {
    prop_oneof![0..=400u64, 0..=100_000u64, 0..=1_000_000_000u64, 0..=MAX_CAPACITY]
}

/// A point in a day: anywhere, or at / just around midnight.
fn day_offset() -> impl Strategy<Value = i64> {
    prop_oneof![0..D, Just(0), Just(1), Just(D - 1)]
}

/// Time passing between two ledger operations.
#[derive(Clone, Copy, Debug)]
enum Wait {
    Seconds(i64),
    /// To the next midnight, then this many seconds more (0 or 1).
    PastMidnight(i64),
}

fn wait() -> impl Strategy<Value = Wait> {
    prop_oneof![
        2 => (0..=120i64).prop_map(Wait::Seconds),
        3 => (1..=D).prop_map(Wait::Seconds),
        2 => (D..=20 * D).prop_map(Wait::Seconds),
        1 => (20 * D..=400 * D).prop_map(Wait::Seconds),
        2 => (0..=1i64).prop_map(Wait::PastMidnight),
    ]
}

fn after(now: i64, w: Wait) -> i64 {
    match w {
        Wait::Seconds(s) => now + s,
        Wait::PastMidnight(s) => (day_of(now) + 1) * D + s,
    }
}

/// Something done to the ledger.
#[derive(Clone, Copy, Debug)]
enum LedgerOp {
    /// Accrue, then add a policy of this premium ending this many midnights later.
    Add(u64, i64),
    /// Just accrue.
    Accrue,
}

fn ledger_op() -> impl Strategy<Value = LedgerOp> {
    let days = prop_oneof![1..=365i64, 1..=3i64, Just(365)];
    prop_oneof![
        3 => (premium_amount(), days).prop_map(|(p, d)| LedgerOp::Add(p, d)),
        2 => Just(LedgerOp::Accrue),
    ]
}

proptest! {
    #![proptest_config(config(600))]

    /// Property 5: every unit added is earned exactly once. At every step the
    /// amount earned so far plus `unearned_total` equals the amount added, and
    /// `unearned_total` is `today_unearned` plus the ring; once the last policy
    /// has ended everything is earned and the ledger is empty.
    /// Property 6 (no jump): accruing again at the time of an `add` earns nothing.
    #[test]
    fn ledger_earns_every_unit_exactly_once(
        start_day in EPOCH_DAY..EPOCH_DAY + 1_000,
        start_offset in day_offset(),
        steps in vec((wait(), ledger_op()), 1..40),
        tail in vec(wait(), 0..4),
    ) {
        let mut now = start_day * D + start_offset;
        let mut l = Ledger::new(now);
        let (mut added, mut earned, mut last_end) = (0u64, 0u64, now);
        for (w, op) in steps {
            now = after(now, w);
            earned += l.accrue(now);
            prop_assert_eq!(l.last, now);
            prop_assert_eq!(l.day, day_of(now));
            if let LedgerOp::Add(premium, days) = op {
                let end = (day_of(now) + days) * D;
                l.view().add(premium, now, end).unwrap();
                added += premium;
                last_end = last_end.max(end);
                prop_assert_eq!(l.accrue(now), 0, "earned at the time of purchase");
            }
            prop_assert_eq!(earned + l.total, added);
            prop_assert_eq!(l.total, l.today + l.ring_sum());
        }
        for w in tail {
            now = after(now, w);
            earned += l.accrue(now);
            prop_assert_eq!(earned + l.total, added);
            prop_assert_eq!(l.total, l.today + l.ring_sum());
        }
        // everything is earned by the last end (exactly at it, if it is still ahead)
        earned += l.accrue(last_end.max(now));
        prop_assert_eq!(earned, added);
        prop_assert_eq!(l.total, 0);
        prop_assert_eq!(l.today, 0);
        prop_assert!(l.ring.iter().all(|x| *x == 0), "ring not empty after the last end");
        prop_assert_eq!(l.accrue(last_end.max(now) + 1_000 * D), 0);
    }

    /// Property 6: premium is earned close to linearly. For one policy of net
    /// premium `P` from `s` to the midnight `e` (`T = e − s`), the amount earned
    /// over `[t1, t2]` (accrued at `t1`, then at any times up to `t2`) is
    ///
    /// `earned ≤ ⌈P·(t2 − t1)/T⌉ + 1 + n1`
    ///
    /// where `n1` counts the accruals in `(a, t1]` with `a = max(s, midnight
    /// before t1)`. Derivation:
    /// * day amounts: the first (partial) day gets `today = ⌊P·L0/T⌋ ≤` its
    ///   linear share, so the `F` whole days share `rest = P − today`, at most
    ///   `P·F·D/T + 1`; `add` spreads it as evenly as integers allow (day `d`
    ///   gets `⌊rest·d/F⌋ − ⌊rest·(d−1)/F⌋`), so any run of whole days holds
    ///   less than its share of `rest` plus 1, i.e. less than linear plus 2;
    /// * within a day holding `U` for the seconds `[a, E)`, an accrual at `t'`
    ///   after one at `t` leaves `u' = ⌈u·(E − t')/(E − t)⌉`: never below the
    ///   linear remainder `U·(E − t')/(E − a)`, so what is earned up to `t2` in
    ///   the day of `t2` is at most linear; but each accrual can leave up to one
    ///   unit more than linear, so after `n1` accruals in the day of `t1`
    ///   `u(t1) < linear + n1`, and all of it is earned by `t2` at the latest.
    ///
    /// Adding up: `earned < P·(t2 − t1)/T + 2 + n1`, an integer, hence the
    /// bound. (An earlier bound without the `+ 1` belonged to the first
    /// version of `add`, which piled the remainder on the last day; with the
    /// remainder spread, a run of days can hold one unit more than linear —
    /// found by this test, e.g. `P = 40 137` over 365 days from midnight.)
    #[test]
    fn ledger_earns_close_to_linearly(
        start_day in EPOCH_DAY..EPOCH_DAY + 1_000,
        start_offset in day_offset(),
        days in prop_oneof![1..=365i64, 1..=3i64, Just(365)],
        premium in premium_amount(),
        f1 in 0..=1_000_000i64,
        f2 in 0..=1_000_000i64,
        t1_at_midnight in any::<bool>(),
        dense in prop_oneof![Just(0usize), 1..=20usize, 1..=2_000usize],
        gap in prop_oneof![Just(1i64), 1..=600i64],
        between in vec(0..=1_000_000i64, 0..5),
    ) {
        let s = start_day * D + start_offset;
        let e = (start_day + days) * D;
        let t = e - s;
        let mut t1 = s + t * f1 / 1_000_000;
        if t1_at_midnight {
            t1 = (day_of(t1) * D).max(s);
        }
        let t2 = t1 + (e - t1) * f2 / 1_000_000;
        let mut l = Ledger::new(s);
        l.view().add(premium, s, e).unwrap();
        prop_assert_eq!(l.accrue(s), 0, "earned at the time of purchase");
        // accruals every `gap` seconds just before t1, then at t1
        let mut before: Vec<i64> = (1..=dense as i64).map(|i| t1 - i * gap).filter(|x| *x > s).collect();
        before.reverse();
        let mut earned_before = 0;
        for x in &before {
            earned_before += l.accrue(*x);
        }
        earned_before += l.accrue(t1);
        let a = s.max(day_of(t1) * D);
        let n1 = before.iter().chain([&t1]).filter(|x| **x > a).count() as u64;
        // accruals anywhere in between, then at t2
        let mut mid: Vec<i64> = between.iter().map(|f| t1 + (t2 - t1) * f / 1_000_000).collect();
        mid.sort_unstable();
        let mut earned = 0;
        for x in mid.into_iter().chain([t2]) {
            earned += l.accrue(x);
        }
        let linear = (u128::from(premium) * (t2 - t1) as u128).div_ceil(t as u128) as u64;
        prop_assert!(
            earned <= linear + 1 + n1,
            "earned {} over [{}, {}] > linear {} + 1 + n1 {}", earned, t1 - s, t2 - s, linear, n1
        );
        // and it all adds up
        earned += l.accrue(e);
        prop_assert_eq!(earned_before + earned, premium);
    }

    /// The ledger's even spread without a multiply or divide per day equals
    /// the floor differences `⌊total·d/days⌋ − ⌊total·(d−1)/days⌋` it replaced
    /// (u128 multiply and divide per day), for every day, and adds up to the total.
    #[test]
    fn spread_evenly_equals_the_floor_differences(
        total in prop_oneof![0..=1_000u64, any::<u64>()],
        days in prop_oneof![1..=366u64, 1..=5u64],
    ) {
        let parts: Vec<u64> = coverage_core::streaming::spread_evenly(total, days).collect();
        prop_assert_eq!(parts.len() as u64, days);
        let mut given = 0u64;
        for (d, part) in (1..=days).zip(&parts) {
            let upto = (u128::from(total) * u128::from(d) / u128::from(days)) as u64;
            prop_assert_eq!(*part, upto - given, "day {} of {}", d, days);
            given = upto;
        }
        prop_assert_eq!(parts.iter().map(|p| u128::from(*p)).sum::<u128>(), u128::from(total));
    }

    /// Property 7: `split_by_weight` hands out exactly what was earned: the
    /// parts sum to `earned`, ineligible tranches get nothing, each senior
    /// eligible part is its weight's share rounded down and the most junior
    /// eligible tranche the rest (its share plus less than one unit per other
    /// eligible tranche). With no eligible tranche (or eligible tranches of
    /// zero total weight) everything is unallocated.
    #[test]
    fn split_by_weight_hands_out_exactly_what_was_earned(
        earned in prop_oneof![0..=1_000u64, any::<u64>()],
        tranches in vec((0..=BPS, any::<bool>()), 1..=4),
    ) {
        let weights: Vec<u64> = tranches.iter().map(|t| t.0).collect();
        let eligible: Vec<bool> = tranches.iter().map(|t| t.1).collect();
        let (parts, unallocated) = split_by_weight(earned, &weights, &eligible).unwrap();
        let total_weight: u64 = tranches.iter().filter(|t| t.1).map(|t| t.0).sum();
        let junior = eligible.iter().position(|e| *e);
        for (i, part) in parts.iter().enumerate() {
            if i >= tranches.len() || !eligible[i] {
                prop_assert_eq!(*part, 0, "ineligible tranche {} got premium", i);
            }
        }
        match junior {
            Some(j) if total_weight > 0 => {
                prop_assert_eq!(unallocated, 0);
                prop_assert_eq!(parts.iter().map(|p| u128::from(*p)).sum::<u128>(), u128::from(earned));
                let share = |w: u64| (u128::from(earned) * u128::from(w) / u128::from(total_weight)) as u64;
                let seniors = eligible.iter().filter(|e| **e).count() as u64 - 1;
                for i in (0..tranches.len()).filter(|i| eligible[*i] && *i != j) {
                    prop_assert_eq!(parts[i], share(weights[i]));
                }
                prop_assert!(parts[j] >= share(weights[j]));
                prop_assert!(parts[j] - share(weights[j]) <= seniors);
            }
            _ => {
                prop_assert_eq!(parts, [0u64; 4]);
                prop_assert_eq!(unallocated, earned);
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Book
// ---------------------------------------------------------------------------

/// A cover book owning its fields.
#[derive(Clone, Debug)]
struct Book {
    active: u64,
    processed: i64,
    days: Vec<u64>,
    minutes: Vec<i64>,
    amounts: Vec<u64>,
}

impl Book {
    fn new(today: i64) -> Self {
        Self {
            active: 0,
            processed: today,
            days: vec![0; BOOK_DAYS],
            minutes: vec![0; PENDING_SLOTS],
            amounts: vec![0; PENDING_SLOTS],
        }
    }

    fn view(&mut self) -> CoverBook<'_> {
        CoverBook {
            active_cover: &mut self.active,
            processed_day: &mut self.processed,
            by_end_day: &mut self.days,
            pending_minute: &mut self.minutes,
            pending_amount: &mut self.amounts,
        }
    }

    fn active_cover_on(&mut self, today: i64) -> u64 {
        self.view().active_cover_on(today).unwrap()
    }
}

/// A sold policy.
#[derive(Clone, Copy, Debug)]
struct Sold {
    amount: u64,
    activation: i64,
    end: i64,
}

/// A sale: time since the previous one, amount, activation delay, days.
type Sale = (Wait, u64, i64, u64);

fn sale() -> impl Strategy<Value = Sale> {
    let wait = prop_oneof![
        3 => (0..=120i64).prop_map(Wait::Seconds),
        3 => (1..=D).prop_map(Wait::Seconds),
        1 => (D..=30 * D).prop_map(Wait::Seconds),
        1 => (0..=1i64).prop_map(Wait::PastMidnight),
        1 => (-3_700..=-1i64).prop_map(Wait::PastMidnight),
    ];
    let delay = prop_oneof![61..=3_600i64, Just(61), Just(3_600)];
    let days = prop_oneof![1..=365u64, 1..=3u64, Just(365)];
    (wait, premium_amount(), delay, days)
}

/// When a streak starts, relative to the sales.
#[derive(Clone, Copy, Debug)]
enum StreakAt {
    /// This long after the last sale.
    AfterLast(i64),
    /// Around the activation of the `i`-th sale from the last (modulo the number of sales).
    AroundActivation(usize, i64),
    /// Around the end of the `i`-th sale from the last.
    AroundEnd(usize, i64),
}

fn streak_at() -> impl Strategy<Value = StreakAt> {
    prop_oneof![
        (prop_oneof![0..=120i64, 0..=2 * D, 0..=400 * D]).prop_map(StreakAt::AfterLast),
        // recent sales are the ones still pending at the streak's start
        (prop_oneof![0..4usize, any::<usize>()], -61..=61i64).prop_map(|(i, d)| StreakAt::AroundActivation(i, d)),
        (any::<usize>(), -2..=1i64).prop_map(|(i, d)| StreakAt::AroundEnd(i, d)),
    ]
}

proptest! {
    #![proptest_config(config(600))]

    /// Property 8: the book's aggregates equal a brute-force walk over the
    /// policies sold: active cover on any day (read-only or after `expire`)
    /// is the cover ending after that day; cover in force at a streak start
    /// (at or after the last sale) is the cover eligible under `is_eligible`.
    #[test]
    fn book_agrees_with_brute_force(
        start_day in EPOCH_DAY..EPOCH_DAY + 1_000,
        start_offset in day_offset(),
        sales in vec(sale(), 1..40),
        query_days in vec(prop_oneof![0..=3i64, 0..=400i64], 1..6),
        streaks in vec(streak_at(), 1..8),
    ) {
        let mut now = start_day * D + start_offset;
        let mut book = Book::new(day_of(now));
        let mut sold: Vec<Sold> = Vec::new();
        let brute = |sold: &[Sold], today: i64| -> u64 {
            sold.iter().filter(|p| day_of(p.end) > today).map(|p| p.amount).sum()
        };
        for (w, amount, delay, days) in sales {
            // a wait back past a midnight already behind is no wait
            now = after(now, w).max(now);
            let today = day_of(now);
            book.view().expire(today).unwrap();
            prop_assert_eq!(book.active, brute(&sold, today));
            let term = policy_term(now, delay, days).unwrap();
            book.view().add(amount, term.activation_time, term.end_time).unwrap();
            sold.push(Sold { amount, activation: term.activation_time, end: term.end_time });
            prop_assert_eq!(book.active_cover_on(today), brute(&sold, today));
        }
        let last_sale = now;
        for q in query_days {
            let today = day_of(last_sale) + q;
            let expected = brute(&sold, today);
            prop_assert_eq!(book.active_cover_on(today), expected, "active cover read on day +{}", q);
            let mut expired = book.clone();
            expired.view().expire(today).unwrap();
            prop_assert_eq!(expired.active, expected, "active cover after expire(+{})", q);
            prop_assert_eq!(expired.days.iter().sum::<u64>(), expected);
        }
        for at in streaks {
            let pick = |i: usize| sold[sold.len() - 1 - i % sold.len()];
            let streak_start = match at {
                StreakAt::AfterLast(d) => last_sale + d,
                StreakAt::AroundActivation(i, d) => pick(i).activation + d,
                StreakAt::AroundEnd(i, d) => pick(i).end + d,
            }
            .max(last_sale);
            let expected: u64 = sold
                .iter()
                .filter(|p| is_eligible(p.activation, p.end, streak_start))
                .map(|p| p.amount)
                .sum();
            prop_assert_eq!(
                book.view().cover_in_force_at(streak_start),
                Ok(expected),
                "cover in force at last sale + {}", streak_start - last_sale
            );
        }
    }
}
