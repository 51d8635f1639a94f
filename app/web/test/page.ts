/** Small page helpers for the browser tests. */
import type { Locator, Page } from 'playwright-core';

/** The element with `data-testid="id"`. */
export function byTestId(page: Page, id: string): Locator {
  return page.locator(`[data-testid="${id}"]`).first();
}

/** Waits (default 30 s) until the element `id` shows text matching `pattern`; returns the text. */
export async function until(page: Page, id: string, pattern: RegExp | string, timeout = 30_000): Promise<string> {
  const test = (text: string) => (typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text));
  const deadline = Date.now() + timeout;
  let last = '';
  for (;;) {
    last = ((await page.locator(`[data-testid="${id}"]`).first().textContent({ timeout: 5_000 }).catch(() => '')) ?? '').trim();
    if (test(last)) return last;
    if (Date.now() > deadline) throw new Error(`[data-testid="${id}"] never matched ${pattern}; it shows: ${JSON.stringify(last)}`);
    await page.waitForTimeout(200);
  }
}
