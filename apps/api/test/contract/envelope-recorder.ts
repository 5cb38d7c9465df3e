/**
 * Records what a Bus hands its handler and lets tests wait for a condition on the recorded
 * calls with a deadline that fails loudly (no sleeping).
 */
import type { Bus } from '../../src/realtime/bus/bus.ts';
import type { Envelope } from '../../src/realtime/types.ts';

export interface RecordedCall {
  envelope: Envelope;
  targets: readonly string[] | 'all';
}

interface Waiter {
  done: (calls: readonly RecordedCall[]) => boolean;
  resolve: () => void;
}

/** Generous because a Redis-backed bus runs the same suites on slow CI machines. */
const DEFAULT_DEADLINE_MS = 5_000;

export class EnvelopeRecorder {
  readonly calls: RecordedCall[] = [];
  readonly #waiters = new Set<Waiter>();

  constructor(readonly name: string) {}

  /** Registers this recorder as the bus's single envelope handler. */
  attach(bus: Bus): this {
    bus.onEnvelope((envelope, targets) => {
      // A Redis bus hands over the frame as bytes; compare as text.
      const frame = typeof envelope.frame === 'string' ? envelope.frame : Buffer.from(envelope.frame).toString('utf8');
      this.calls.push({ envelope: { ...envelope, frame }, targets });
      for (const waiter of this.#waiters) {
        if (waiter.done(this.calls)) {
          this.#waiters.delete(waiter);
          waiter.resolve();
        }
      }
    });
    return this;
  }

  frames(): string[] {
    return this.calls.map((call) => String(call.envelope.frame));
  }

  /** Distinct frames in arrival order (one per publish, whether targets came grouped or one by one). */
  distinctFrames(): string[] {
    return [...new Set(this.frames())];
  }

  /** Every target delivered with this frame, sorted (one entry per delivery, so duplicates show). */
  targetsOf(frame: string): string[] {
    return this.calls
      .filter((c) => c.envelope.frame === frame)
      .flatMap((c) => (c.targets === 'all' ? ['all'] : [...c.targets]))
      .sort();
  }

  /** Resolves once `done(calls)` holds; rejects after `deadlineMs` naming what was awaited. */
  waitFor(
    what: string,
    done: (calls: readonly RecordedCall[]) => boolean,
    deadlineMs = DEFAULT_DEADLINE_MS,
  ): Promise<void> {
    if (done(this.calls)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `${this.name}: timed out after ${deadlineMs} ms waiting for ${what}; received frames: ${JSON.stringify(this.frames())}`,
          ),
        );
      }, deadlineMs);
      const waiter: Waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Waits until an envelope with this frame has arrived. */
  waitForFrame(frame: string, deadlineMs?: number): Promise<void> {
    return this.waitFor(`frame ${frame}`, (calls) => calls.some((c) => c.envelope.frame === frame), deadlineMs);
  }

  /** Waits until `count` envelopes have arrived in total. */
  waitForCount(count: number, deadlineMs?: number): Promise<void> {
    return this.waitFor(`${count} envelopes`, (calls) => calls.length >= count, deadlineMs);
  }
}
