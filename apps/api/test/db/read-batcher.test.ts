/**
 * ReadBatcher's failure handling, with a statement function the test controls: which reads share
 * a statement, and what each caller gets when a statement fails. What a statement stores is the
 * store contract's (store-contract-reads.ts, on PGlite and Postgres).
 */
import { describe, expect, it } from 'vitest';
import { ReadBatcher, type ReadInput } from '../../src/db/read-receipt.ts';
import type { ReadRecord } from '../../src/db/store-types.ts';
import { afterSettle, nextTurn } from '../support/event-loop-turns.ts';

const read = (conversationId: string): ReadInput => ({ conversationId, readerId: 'r', messageIds: ['m'] });
const recordOf = (input: ReadInput): ReadRecord => ({
  messageIds: [input.conversationId],
  lastReadSeq: 1,
  event: null,
});

describe('ReadBatcher', () => {
  it('stores the reads of one turn with one statement and answers each caller with its own record', async () => {
    const statements: string[][] = [];
    const batcher = new ReadBatcher(
      async (inputs) => {
        statements.push(inputs.map((i) => i.conversationId));
        return inputs.map(recordOf);
      },
      { lanes: 1 },
    );
    const answers = await Promise.all(['a', 'b', 'c'].map((c) => batcher.record(read(c))));
    expect(statements).toEqual([['a', 'b', 'c']]);
    expect(answers.map((a) => a.messageIds)).toEqual([['a'], ['b'], ['c']]);
  });

  it('retries a failed batch one read at a time, so only the read that fails gets the error', async () => {
    const statements: string[][] = [];
    const batcher = new ReadBatcher(
      async (inputs) => {
        statements.push(inputs.map((i) => i.conversationId));
        if (inputs.some((i) => i.conversationId === 'bad')) throw new Error('deadlock detected');
        return inputs.map(recordOf);
      },
      { lanes: 1 },
    );
    const answers = await Promise.allSettled(['a', 'bad', 'c'].map((c) => batcher.record(read(c))));
    expect(statements).toEqual([['a', 'bad', 'c'], ['a'], ['bad'], ['c']]);
    expect(answers.map((a) => a.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((answers[1] as PromiseRejectedResult).reason).toEqual(new Error('deadlock detected'));
  });

  it('fails the batch and every read waiting for a slot at once when the database does not answer', async () => {
    const unavailable = Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' });
    let calls = 0;
    const batcher = new ReadBatcher(
      async () => {
        calls++;
        // The first statement fails only after the second turn's reads queued behind it.
        await nextTurn();
        await nextTurn();
        throw unavailable;
      },
      { lanes: 1 },
    );
    const first = batcher.record(read('a'));
    await nextTurn();
    const later = [batcher.record(read('b')), batcher.record(read('c'))];
    const answers = await Promise.allSettled([first, ...later]);
    expect(answers.map((a) => (a as PromiseRejectedResult).reason)).toEqual([unavailable, unavailable, unavailable]);
    expect(calls).toBe(1);
  });

  it('runs one statement at a time per lane, lanes side by side, a conversation always in the same lane', async () => {
    const started: string[][] = [];
    const settle: Array<() => void> = [];
    const batcher = new ReadBatcher(
      (inputs) =>
        new Promise((resolve) => {
          const ids = inputs.map((i) => i.conversationId);
          started.push(ids);
          settle.push(() => resolve(inputs.map(recordOf)));
        }),
      { lanes: 2 },
    );
    // '0'…'3' end in characters 48…51: lanes 0, 1, 0, 1.
    const first = [batcher.record(read('c0')), batcher.record(read('c1'))];
    await nextTurn();
    expect(started).toEqual([['c0'], ['c1']]);
    const later = [batcher.record(read('c2')), batcher.record(read('c3')), batcher.record(read('d0'))];
    await nextTurn();
    expect(started).toHaveLength(2); // each lane waits for its running statement
    settle.shift()!(); // lane 0's statement ends: its waiting reads go together
    await first[0];
    await afterSettle();
    expect(started.at(-1)).toEqual(['c2', 'd0']);
    while (settle.length > 0) {
      settle.shift()!();
      await afterSettle();
    }
    expect((await Promise.all([...first, ...later])).map((r) => r.messageIds[0])).toEqual([
      'c0',
      'c1',
      'c2',
      'c3',
      'd0',
    ]);
    expect(started).toEqual([['c0'], ['c1'], ['c2', 'd0'], ['c3']]);
  });

  it('with a window, a lane starts its next statement no sooner than the window after its last start', async () => {
    const windowMs = 60;
    const statements: string[][] = [];
    const batcher = new ReadBatcher(
      async (inputs) => {
        statements.push(inputs.map((i) => i.conversationId));
        return inputs.map(recordOf);
      },
      { lanes: 1, spacingMs: windowMs },
    );
    const startedAt = performance.now();
    await batcher.record(read('a'));
    const rest = [batcher.record(read('b'))];
    await afterSettle();
    rest.push(batcher.record(read('c')));
    await afterSettle();
    expect(statements).toEqual([['a']]);
    await Promise.all(rest);
    // `startedAt` is no later than the first statement's start: the second waited the whole window.
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(windowMs);
    expect(statements).toEqual([['a'], ['b', 'c']]);
  });
});
