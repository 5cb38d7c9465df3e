/** Collects the app's pino JSON lines so tests can assert on what was logged, and wait for it. */
import { Writable } from 'node:stream';

export interface LogRecord {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 } as const;

export class LogCapture extends Writable {
  readonly records: LogRecord[] = [];
  readonly #waiters = new Set<{ test: (r: LogRecord) => boolean; resolve: (r: LogRecord) => void }>();
  #partial = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    const text = this.#partial + chunk.toString('utf8');
    const lines = text.split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      const record = JSON.parse(line) as LogRecord;
      this.records.push(record);
      for (const waiter of this.#waiters) {
        if (waiter.test(record)) {
          this.#waiters.delete(waiter);
          waiter.resolve(record);
        }
      }
    }
    callback();
  }

  find(test: (r: LogRecord) => boolean): LogRecord[] {
    return this.records.filter(test);
  }

  /** Resolves with the first record (already logged or future) matching `test`; rejects after timeoutMs. */
  waitFor(test: (r: LogRecord) => boolean, what: string, timeoutMs = 5_000): Promise<LogRecord> {
    const existing = this.records.find(test);
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (r: LogRecord) => {
          clearTimeout(timer);
          resolve(r);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for log: ${what}`));
      }, timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  /** Everything logged, as one string, for "this must never appear" assertions. */
  text(): string {
    return this.records.map((r) => JSON.stringify(r)).join('\n');
  }
}
