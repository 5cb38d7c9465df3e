/**
 * When upgrades' checks start (UpgradeAdmission): one batch at a time, the upgrades that arrive
 * meanwhile together afterwards, and batches no closer than the spacing. The checks here are
 * settled by the test; what a real check does is upgrade-auth's (gateway-handshake,
 * rate-limits-ws and resume-ticket tests, on real sockets).
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { UpgradeAdmission } from '../src/ws/upgrade-admission.ts';
import { afterSettle, nextTurn } from './support/event-loop-turns.ts';

interface Check {
  upgrade: string;
  accept(): void;
  refuse(error: Error): void;
}

/**
 * An admission whose checks run until the test settles them; `started` lists them in start order
 * and `onStart` hears each. Spacing 0 unless given: those tests count turns, not milliseconds.
 */
function manualChecks(spacingMs = 0) {
  const started: Check[] = [];
  let onStart: (check: Check) => void = () => {};
  const admission = new UpgradeAdmission<string, string>(
    (upgrade) =>
      new Promise((resolve, reject) => {
        const check = { upgrade, accept: () => resolve(`identity of ${upgrade}`), refuse: reject };
        started.push(check);
        onStart(check);
      }),
    { spacingMs },
  );
  const find = (upgrade: string) => started.find((c) => c.upgrade === upgrade)!;
  /** Resolves when the next check starts, with the ms since `from`. */
  const nextStart = (from: number) =>
    new Promise<number>((resolve) => {
      onStart = () => resolve(performance.now() - from);
    });
  return { admission, started, find, nextStart };
}

describe('UpgradeAdmission', () => {
  it("starts a lone upgrade's checks at once and answers with their outcome", async () => {
    const { admission, started, find } = manualChecks();
    const identity = admission.admit('a');
    await nextTurn();
    expect(started.map((c) => c.upgrade)).toEqual(['a']);
    find('a').accept();
    await expect(identity).resolves.toBe('identity of a');
  });

  it("holds upgrades that arrive while a batch's checks run until all of them finished, then starts them together", async () => {
    const { admission, started, find } = manualChecks();
    const answers = [admission.admit('a')];
    await nextTurn();
    // Three upgrades in turns of their own while a's checks run (a busy server reads one per turn).
    for (const upgrade of ['b', 'c', 'd']) {
      answers.push(admission.admit(upgrade));
      await nextTurn();
    }
    expect(started.map((c) => c.upgrade)).toEqual(['a']);

    find('a').accept();
    await afterSettle();
    expect(started.map((c) => c.upgrade)).toEqual(['a', 'b', 'c', 'd']);

    // The batch is done only when its slowest check is: e waits for d.
    find('b').accept();
    find('c').accept();
    answers.push(admission.admit('e'));
    await afterSettle();
    expect(started.map((c) => c.upgrade)).toEqual(['a', 'b', 'c', 'd']);
    find('d').accept();
    await afterSettle();
    expect(started.map((c) => c.upgrade)).toEqual(['a', 'b', 'c', 'd', 'e']);
    find('e').accept();
    await expect(Promise.all(answers)).resolves.toEqual(['a', 'b', 'c', 'd', 'e'].map((u) => `identity of ${u}`));
  });

  it('refuses only the upgrade whose check failed; the others of its batch go on', async () => {
    const { admission, find } = manualChecks();
    const first = admission.admit('a');
    await nextTurn();
    const refused = admission.admit('b');
    const accepted = admission.admit('c');
    find('a').accept();
    await first;
    await afterSettle();
    find('b').refuse(new Error('ticket reused'));
    find('c').accept();
    await expect(refused).rejects.toThrow('ticket reused');
    await expect(accepted).resolves.toBe('identity of c');
    // The batch settled: a later upgrade starts at once.
    admission.admit('d');
    await afterSettle();
    expect(find('d')).toBeDefined();
  });

  it('starts the next batch no sooner than the spacing after the previous one started, and a lone one after a pause at once', async () => {
    const spacingMs = 40;
    const { admission, started, find, nextStart } = manualChecks(spacingMs);
    const firstStarted = performance.now();
    admission.admit('a');
    await nextTurn();
    find('a').accept();
    const waited = nextStart(firstStarted);
    admission.admit('b');
    // `firstStarted` is no later than the first start, and the gate waits out a timer that fires
    // early (batch-gate.ts), so the wait is at least the whole spacing.
    expect(await waited).toBeGreaterThanOrEqual(spacingMs);
    expect(started.map((c) => c.upgrade)).toEqual(['a', 'b']);
    find('b').accept();

    // A quiet spell longer than the spacing: the next upgrade does not wait for a timer.
    await new Promise((resolve) => setTimeout(resolve, spacingMs + 5));
    admission.admit('c');
    await nextTurn();
    expect(started.map((c) => c.upgrade)).toEqual(['a', 'b', 'c']);
  });
});
