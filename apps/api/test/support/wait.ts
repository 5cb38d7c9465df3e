/** Poll an async condition until it holds, with a deadline that names what was awaited. */
export async function eventually<T>(
  probe: () => Promise<T>,
  holds: (value: T) => boolean,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await probe();
      if (holds(last)) return last;
    } catch {
      // Not reachable yet (e.g. an instance restarting); keep trying until the deadline.
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
