/**
 * ReadBatcher's failure handling, with a statement function the test controls: which reads share
 * a statement, and what each caller gets when a statement fails. What a statement stores is the
 * store contract's (store-contract-reads.ts, on PGlite and Postgres).
 */
import { describe, expect, it } from 'vitest';
import { ReadBatcher, type ReadInput } from '../../src/db/read-receipt.ts';
import type { ReadRecord } from '../../src/db/store-types.ts';

const read = (conversationId: string): ReadInput => ({ conversationId, readerId: 'r', messageIds: ['m'] });
const recordOf = (input: ReadInput): ReadRecord => ({
  messageIds: [input.conversationId],
  lastReadSeq: 1,
  event: null,
});

describe('ReadBatcher', () => {
  it('stores the reads of one turn with one statement and answers each caller with its own record', async () => {
    const statements: string[][] = [];
    const batcher = new ReadBatcher(async (inputs) => {
      statements.push(inputs.map((i) => i.conversationId));
      return inputs.map(recordOf);
    });
    const answers = await Promise.all(['a', 'b', 'c'].map((c) => batcher.record(read(c))));
    expect(statements).toEqual([['a', 'b', 'c']]);
    expect(answers.map((a) => a.messageIds)).toEqual([['a'], ['b'], ['c']]);
  });

  it('retries a failed batch one read at a time, so only the read that fails gets the error', async () => {
    const statements: string[][] = [];
    const batcher = new ReadBatcher(async (inputs) => {
      statements.push(inputs.map((i) => i.conversationId));
      if (inputs.some((i) => i.conversationId === 'bad')) throw new Error('deadlock detected');
      return inputs.map(recordOf);
    });
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
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        throw unavailable;
      },
      { maxInFlight: 1 },
    );
    const first = batcher.record(read('a'));
    await new Promise((resolve) => setImmediate(resolve));
    const later = [batcher.record(read('b')), batcher.record(read('c'))];
    const answers = await Promise.allSettled([first, ...later]);
    expect(answers.map((a) => (a as PromiseRejectedResult).reason)).toEqual([unavailable, unavailable, unavailable]);
    expect(calls).toBe(1);
  });
});
