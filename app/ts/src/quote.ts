/**
 * Quotes as `buy_cover` computes them, a port of `coverage_sdk::quote`: the
 * pool's premium due is first earned into the tranches (on copies of the pool
 * and its ledger, `Pool::accrue_premium`), capacity = capital × allocation,
 * cover that a sale may expire is dropped from the book, then the curve
 * prices the cover. Pass the accounts as fetched and the time the purchase
 * will run at; the result equals the program's premium to the unit.
 */
import type { CoverBook, Market, Pool, PremiumLedger } from './generated';
import { BPS, RuleError, dayOf, i64, mulDivCeil, mulDivFloor, SECONDS_PER_DAY, u64 } from './math';
import { curveOf, curvePremium } from './pricing';

/** The accounts a quote reads. */
export type QuoteAccounts = {
  pool: Pool;
  ledger: PremiumLedger;
  market: Market;
  book: CoverBook;
};

/**
 * Earns the ledger's premium due up to `now` (`streaming::PremiumLedger::accrue`)
 * on a copy; returns the amount earned and the ledger after it.
 */
export function accrueLedger(ledger: PremiumLedger, now: bigint): { earned: bigint; ledger: PremiumLedger } {
  const l = { ...ledger, byDay: [...ledger.byDay] };
  if (now <= l.lastAccrual) return { earned: 0n, ledger: l };
  const days = BigInt(l.byDay.length);
  const slot = (day: bigint) => Number(((day % days) + days) % days);
  const today = dayOf(now);
  let earned = 0n;
  let steps = 0n;
  while (l.currentDay < today) {
    earned = u64(earned + l.todayUnearned);
    l.currentDay += 1n;
    const s = slot(l.currentDay);
    l.todayUnearned = l.byDay[s]!;
    l.byDay[s] = 0n;
    l.lastAccrual = i64(l.currentDay * SECONDS_PER_DAY);
    steps += 1n;
    if (steps >= days && l.currentDay < today) {
      // the ring is empty from here on: jump
      earned = u64(earned + l.todayUnearned);
      l.todayUnearned = 0n;
      l.currentDay = today;
      l.lastAccrual = i64(today * SECONDS_PER_DAY);
    }
  }
  // linear within the day over the seconds left
  const dayEnd = i64(i64(today + 1n) * SECONDS_PER_DAY);
  const left = i64(dayEnd - l.lastAccrual);
  const elapsed = i64(now - l.lastAccrual);
  const part = mulDivFloor(l.todayUnearned, elapsed, left);
  l.todayUnearned -= part;
  earned = u64(earned + part);
  l.lastAccrual = now;
  l.unearnedTotal = u64(l.unearnedTotal - earned);
  return { earned, ledger: l };
}

/**
 * Splits `earned` by weight among eligible tranches, the most junior eligible
 * one taking the remainder (`streaming::split_by_weight`). Returns the parts
 * and what no tranche could take.
 */
export function splitByWeight(
  earned: bigint,
  weightsBps: readonly bigint[],
  eligible: readonly boolean[],
): { parts: bigint[]; unallocated: bigint } {
  const parts = weightsBps.map(() => 0n);
  const totalWeight = weightsBps.reduce((sum, w, i) => (eligible[i] ? sum + w : sum), 0n);
  const junior = eligible.findIndex((e) => e);
  if (junior < 0 || totalWeight === 0n) return { parts, unallocated: earned };
  let given = 0n;
  weightsBps.forEach((w, i) => {
    if (eligible[i] && i !== junior) {
      parts[i] = mulDivFloor(earned, w, totalWeight);
      given = u64(given + parts[i]!);
    }
  });
  parts[junior] = u64(earned - given);
  return { parts, unallocated: 0n };
}

/**
 * The pool and ledger after earning the premium due up to `now`
 * (`Pool::accrue_premium`): every instruction that reads a share price or
 * capital does this first. Returns copies; the inputs are not changed.
 */
export function accruePool(pool: Pool, ledger: PremiumLedger, now: bigint): { pool: Pool; ledger: PremiumLedger } {
  const accrued = accrueLedger(ledger, now);
  const p: Pool = { ...pool, tranches: pool.tranches.map((t) => ({ ...t })) };
  if (accrued.earned === 0n) return { pool: p, ledger: accrued.ledger };
  const live = p.tranches.slice(0, p.trancheCount);
  const { parts, unallocated } = splitByWeight(
    accrued.earned,
    live.map((t) => BigInt(t.premiumWeightBps)),
    live.map((t) => t.deadShares > 0n),
  );
  live.forEach((t, i) => {
    t.assets = u64(t.assets + parts[i]!);
  });
  p.feesOwed = u64(p.feesOwed + unallocated);
  return { pool: p, ledger: accrued.ledger };
}

/**
 * Premium each of the pool's tranches earns from `from` to `to` out of
 * premium already paid, if nothing else happens meanwhile: the pool accrued
 * to `from`, then from there to `to` (what `accrue_premium` at those two
 * times would add to each tranche). The page's "premium, next 7 days".
 */
export function scheduledEarnings(pool: Pool, ledger: PremiumLedger, from: bigint, to: bigint): bigint[] {
  const start = accruePool(pool, ledger, from);
  const end = accruePool(start.pool, start.ledger, to);
  return start.pool.tranches.slice(0, pool.trancheCount).map((t, i) => end.pool.tranches[i]!.assets - t.assets);
}

/** Pool capital: the sum of its tranches' assets (reserves excluded). */
export function poolCapital(pool: Pool): bigint {
  return pool.tranches.slice(0, pool.trancheCount).reduce((c, t) => u64(c + t.assets), 0n);
}

/**
 * Required capital (PROTOCOL.md 3.3) from each market's active cover:
 * `max(largest, ⌈total × 10 000 / maxLeverageBps⌉)` (`Pool::required_capital`).
 * A redemption may not leave pool capital below it.
 */
export function requiredCapital(activeCover: readonly bigint[], maxLeverageBps: number | bigint): bigint {
  let largest = 0n;
  let total = 0n;
  for (const a of activeCover) {
    if (a > largest) largest = a;
    total = u64(total + a);
  }
  const byLeverage = mulDivCeil(total, BPS, BigInt(maxLeverageBps));
  return largest > byLeverage ? largest : byLeverage;
}

/**
 * The day from which a market's book holds cover that a streak not yet
 * reported could find in force (`policy::claimable_cover_day`): the earliest
 * such streak starts at `max(last_publish_time + 1, now − max_price_age)`,
 * so cover that ended at midnight still counts until a price published after
 * midnight is reported or `max_price_age` has passed since it.
 */
export function claimableCoverDay(lastPublishTime: bigint, maxPriceAge: number | bigint, now: bigint): bigint {
  // saturating as the core's i64 arithmetic: a never-published market has 0 here
  const afterLast = lastPublishTime + 1n;
  const oldest = now - BigInt(maxPriceAge);
  return dayOf(afterLast > oldest ? afterLast : oldest);
}

/** Cover a market's book must still back at `now`: its active cover on {@link claimableCoverDay}. */
export function claimableCover(book: CoverBook, market: Market, now: bigint): bigint {
  return activeCoverOn(book, claimableCoverDay(market.lastPublishTime, market.maxPriceAge, now));
}

/**
 * The pool's required capital at `now` as `withdraw` computes it: from each
 * market's claimable cover (not only today's: a depeg that started before
 * midnight may still be reported), markets and books in market order.
 */
export function poolRequiredCapital(
  pool: Pool,
  markets: readonly Market[],
  books: readonly CoverBook[],
  now: bigint,
): bigint {
  if (markets.length !== books.length) throw new RuleError('WrongMarketBooks');
  return requiredCapital(
    books.map((b, i) => claimableCover(b, markets[i]!, now)),
    pool.maxLeverageBps,
  );
}

/**
 * Active cover of a book as of `today` without changing it
 * (`book::active_cover_on`): cover ending on or before `today` no longer counts.
 */
export function activeCoverOn(book: CoverBook, today: bigint): bigint {
  if (today <= book.processedDay) return book.activeCover;
  const days = BigInt(book.byEndDay.length);
  if (today - book.processedDay >= days) return 0n;
  let active = book.activeCover;
  for (let d = book.processedDay + 1n; d <= today; d += 1n) {
    active = u64(active - book.byEndDay[Number(d % days)]!);
  }
  return active;
}

/**
 * Active cover a sale at `now` counts (`CoverBook::expire_for_sale`): only cover
 * that ended before any still-acceptable price could have been published is
 * dropped. Expiring a book leaves exactly `activeCoverOn` that day.
 */
export function activeCoverForSale(book: CoverBook, market: Market, now: bigint): bigint {
  return activeCoverOn(book, dayOf(i64(now - BigInt(market.maxPriceAge))));
}

/** What a market can still sell at `now`. */
export type MarketCapacity = {
  /** Pool capital × the market's allocation. */
  capacity: bigint;
  /** Cover on the book that a sale at `now` counts. */
  activeCover: bigint;
  /** `capacity − activeCover`, or 0. */
  left: bigint;
};

/** Capacity of a market at `now` (`coverage_sdk::quote::capacity`), with its active cover and what is left. */
export function marketCapacity({ pool, ledger, market, book }: QuoteAccounts, now: bigint): MarketCapacity {
  const accrued = accruePool(pool, ledger, now);
  const capacity = mulDivFloor(poolCapital(accrued.pool), BigInt(market.allocationBps), BPS);
  const activeCover = activeCoverForSale(book, market, now);
  return { capacity, activeCover, left: capacity > activeCover ? capacity - activeCover : 0n };
}

/**
 * The premium `buy_cover(amount, days, _)` charges at `now`, given the
 * accounts as they are before the purchase (`coverage_sdk::quote::premium`).
 * Throws a {@link RuleError} named as the program's error (`CapacityExceeded`, …).
 */
export function quotePremium(accounts: QuoteAccounts, amount: bigint, days: number | bigint, now: bigint): bigint {
  const { capacity, activeCover } = marketCapacity(accounts, now);
  return curvePremium(curveOf(accounts.market.curve), amount, BigInt(days), activeCover, capacity);
}

