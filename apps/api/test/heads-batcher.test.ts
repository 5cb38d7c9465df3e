/**
 * The registrations' heads reads (HeadsBatcher): when a statement starts and which registrations
 * share it, with reads the test settles by hand. What a statement returns is the store contract's
 * (store-contract-events.ts, on PGlite and Postgres).
 */
import { describe, expect, it } from 'vitest';
import { HeadsBatcher, type HeadsReader } from '../src/resume/heads-batcher.ts';
import { afterSettle, nextTurn } from './support/event-loop-turns.ts';

interface Read {
  userIds: readonly string[];
  settle(): void;
  fail(error: Error): void;
}

/** Reads that run until the test settles them; user `u<n>` is at n, the global stream at 100. */
function manualReads(): { reads: Read[]; reader: HeadsReader } {
  const seqOf = (userId: string) => Number(userId.slice(1));
  const reads: Read[] = [];
  const reader: HeadsReader = {
    heads: (userId) =>
      new Promise((resolve, reject) =>
        reads.push({
          userIds: [userId],
          settle: () => resolve({ userSeq: seqOf(userId), globalSeq: 100 }),
          fail: reject,
        }),
      ),
    userHeads: (userIds) =>
      new Promise((resolve, reject) =>
        reads.push({
          userIds,
          settle: () => resolve({ globalSeq: 100, userSeqs: new Map(userIds.map((u) => [u, seqOf(u)])) }),
          fail: reject,
        }),
      ),
  };
  return { reads, reader };
}

describe('HeadsBatcher', () => {
  it('reads a lone registration at once; those arriving while it runs wait for it, then share one statement', async () => {
    const { reads, reader } = manualReads();
    const batcher = new HeadsBatcher(reader, { busyBatch: 8 });
    const first = batcher.heads('u1');
    await nextTurn();
    expect(reads.map((r) => r.userIds)).toEqual([['u1']]);
    // Three more, each in a turn of its own (a server reading one upgrade per turn).
    const rest: Promise<unknown>[] = [];
    for (const user of ['u2', 'u3', 'u4']) {
      rest.push(batcher.heads(user));
      await nextTurn();
    }
    expect(reads).toHaveLength(1);
    reads[0]?.settle();
    expect(await first).toEqual({ userSeq: 1, globalSeq: 100 });
    await afterSettle();
    expect(reads.map((r) => r.userIds)).toEqual([['u1'], ['u2', 'u3', 'u4']]);
    reads[1]?.settle();
    expect(await Promise.all(rest)).toEqual([
      { userSeq: 2, globalSeq: 100 },
      { userSeq: 3, globalSeq: 100 },
      { userSeq: 4, globalSeq: 100 },
    ]);
  });

  it('starts another statement while one runs once busyBatch registrations wait, at most maxInFlight at once', async () => {
    const { reads, reader } = manualReads();
    const batcher = new HeadsBatcher(reader, { busyBatch: 2, maxInFlight: 2 });
    const all = [batcher.heads('u1')];
    await nextTurn();
    all.push(batcher.heads('u2'), batcher.heads('u3'));
    await nextTurn();
    all.push(batcher.heads('u4'), batcher.heads('u5'));
    await nextTurn();
    // Two running; u4 and u5 wait although they are busyBatch.
    expect(reads.map((r) => r.userIds)).toEqual([['u1'], ['u2', 'u3']]);
    reads[0]?.settle();
    await afterSettle();
    expect(reads.map((r) => r.userIds)).toEqual([['u1'], ['u2', 'u3'], ['u4', 'u5']]);
    reads[1]?.settle();
    reads[2]?.settle();
    expect((await Promise.all(all)).map((h) => (h as { userSeq: number }).userSeq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('rejects every registration of a failed statement with its error, and reads the next ones afresh', async () => {
    const { reads, reader } = manualReads();
    const batcher = new HeadsBatcher(reader);
    const first = batcher.heads('u1');
    await nextTurn();
    const [a, b] = [batcher.heads('u2'), batcher.heads('u3')];
    await nextTurn();
    const outage = new Error('database unavailable');
    reads[0]?.fail(outage);
    await expect(first).rejects.toBe(outage);
    await afterSettle();
    reads[1]?.fail(outage);
    await expect(a).rejects.toBe(outage);
    await expect(b).rejects.toBe(outage);
    const later = batcher.heads('u7');
    await nextTurn();
    reads[2]?.settle();
    expect(await later).toEqual({ userSeq: 7, globalSeq: 100 });
  });
});
