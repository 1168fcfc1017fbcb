/**
 * Training is CPU-bound and synchronous between iterations; without yielding, an abort (a cancelled
 * Temporal activity, a closed request) could never be delivered. `pace()` throws if aborted and,
 * every ~20 ms, lets the event loop run (heartbeats, cancellation, other requests).
 */
export function pacer(signal: AbortSignal | undefined, everyMs = 20): () => Promise<void> {
  let last = performance.now();
  return async () => {
    signal?.throwIfAborted();
    if (performance.now() - last < everyMs) return;
    await new Promise<void>((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
    last = performance.now();
    signal?.throwIfAborted();
  };
}
