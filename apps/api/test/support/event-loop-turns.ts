/**
 * Waiting by event-loop turns, for code that starts work on `setImmediate` (the batchers'
 * BatchGate): no timers, so a test waits exactly as long as the code under test does.
 */

/** One event-loop turn later: after every `setImmediate` queued before this call. */
export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * After a batch's statement settled: one turn for its promise chain to run out (the gate frees
 * the slot and queues the next start), one for that start.
 */
export const afterSettle = async () => {
  await nextTurn();
  await nextTurn();
};
