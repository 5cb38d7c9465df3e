/**
 * Waiting on a double's state without polling: whatever changes that state (a request arrives,
 * a session closes) calls `changed()`, and `until` re-checks its condition then, with a deadline
 * whose error says what was awaited and, through `describe`, what was there instead.
 */
export class Changes {
  readonly #waiters = new Set<() => void>();

  changed(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  until(test: () => boolean, what: string, timeoutMs: number, describe: () => string = () => ''): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const wake = () => {
        if (!test()) return;
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(wake);
        const seen = describe();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}${seen ? `; ${seen}` : ''}`));
      }, timeoutMs);
      this.#waiters.add(wake);
    });
  }
}
