// The page's refresh loop (src/coalesce.ts), without a browser.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { coalesced } from '../src/coalesce';

/** A run that waits until released, recording when it started. */
function gate() {
  const started: number[] = [];
  const releases: (() => void)[] = [];
  let clock = 0;
  const run = () => {
    started.push(++clock);
    return new Promise<void>((resolve) => releases.push(resolve));
  };
  return { run, started, release: () => releases.shift()!() };
}

test('a call during a run is answered by a run started after it; calls during one run share one', async () => {
  const g = gate();
  const refresh = coalesced(g.run);
  let firstDone = false;
  const first = refresh().then(() => (firstDone = true));
  let laterDone = 0;
  const later = [refresh(), refresh(), refresh()].map((p) => p.then(() => laterDone++));
  assert.deepEqual(g.started, [1], 'one run at a time');
  g.release();
  await first;
  assert.ok(firstDone);
  assert.equal(laterDone, 0, 'the calls made during the first run wait for a second one');
  assert.deepEqual(g.started, [1, 2], 'one run for the three calls');
  g.release();
  await Promise.all(later);
  assert.equal(laterDone, 3);
  // idle again: the next call starts at once
  const next = refresh();
  assert.deepEqual(g.started, [1, 2, 3]);
  g.release();
  await next;
});

test('a failed run does not stop the one queued after it', async () => {
  let calls = 0;
  let fail: ((e: Error) => void) | null = null;
  const refresh = coalesced(() => {
    calls++;
    return calls === 1 ? new Promise<void>((_, reject) => (fail = reject)) : Promise.resolve();
  });
  const first = refresh();
  const second = refresh();
  fail!(new Error('the RPC is down'));
  await assert.rejects(first, /the RPC is down/);
  await second;
  assert.equal(calls, 2);
});
