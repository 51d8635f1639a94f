/**
 * One run at a time of `run`, and none lost: a call while a run is under way
 * resolves after a run that started after the call (the page's refresh: a
 * view that refreshes after its transaction landed must see a read begun
 * after it, not the periodic read already in flight). Calls during one run
 * share the single run queued after it.
 */
export function coalesced(run: () => Promise<void>): () => Promise<void> {
  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const start = (): Promise<void> => {
    running = run().finally(() => (running = null));
    return running;
  };
  return () => {
    if (!running) return start();
    queued ??= running.then(
      () => ((queued = null), start()),
      () => ((queued = null), start()),
    );
    return queued;
  };
}
