/**
 * A push provider double for in-process tests (it stands in for FCM/APNs, which we cannot
 * reach): every call is recorded, and answered by a script chosen by the push's content, so a
 * test decides per push whether it succeeds, fails (retryable or not) or never answers.
 */
import type { NotificationProvider, PushNotification, PushResult } from '../../src/notifications/types.ts';
import { Changes } from './changes.ts';

export type Scripted = PushResult | 'hang';

export interface RecordedCall {
  notification: PushNotification;
  /** Settled once the double answered (never, for a hanging call until `release`). */
  answered: boolean;
}

export class PushProviderDouble implements NotificationProvider {
  readonly name = 'double';
  readonly calls: RecordedCall[] = [];
  readonly #scripts = new Map<string, Scripted[]>();
  readonly #hanging = new Set<(result: PushResult) => void>();
  readonly #changes = new Changes();

  /** Pushes whose content is `content` get these answers in order; after the last, `{ok: true}`. */
  script(content: string, ...answers: Scripted[]): void {
    this.#scripts.set(content, answers);
  }

  send(notification: PushNotification): Promise<PushResult> {
    const call: RecordedCall = { notification, answered: false };
    this.calls.push(call);
    this.#changes.changed();
    const next = this.#scripts.get(notification.content)?.shift() ?? { ok: true };
    if (next === 'hang') {
      return new Promise((resolve) => {
        const answer = (result: PushResult) => {
          call.answered = true;
          resolve(result);
        };
        this.#hanging.add(answer);
      });
    }
    call.answered = true;
    return Promise.resolve(next);
  }

  callsFor(content: string): RecordedCall[] {
    return this.calls.filter((c) => c.notification.content === content);
  }

  /** Resolves once `count` calls for `content` were made; rejects after `timeoutMs` naming them. */
  async waitForCalls(content: string, count: number, timeoutMs = 10_000): Promise<RecordedCall[]> {
    await this.#changes.until(
      () => this.callsFor(content).length >= count,
      `${count} push call(s) for "${content}"`,
      timeoutMs,
    );
    return this.callsFor(content);
  }

  /** Answers every hanging call with `result`. */
  release(result: PushResult = { ok: true }): void {
    for (const answer of this.#hanging) answer(result);
    this.#hanging.clear();
  }

  async close(): Promise<void> {
    this.release({ ok: false, error: 'provider closed', retryable: true });
  }
}
