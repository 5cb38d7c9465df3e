/**
 * BatchGate's start policy, driven by a statement function the test controls (the gate's input):
 * each statement runs until the test settles or fails it, and answers every request with its
 * input doubled. The two users' own tests (append-batcher.test.ts, heads-batcher.test.ts) pin
 * what their statements do with a batch.
 */
import { describe, expect, it } from 'vitest';
import { BatchGate, type BatchGateOptions, type PendingRequest } from '../../src/db/batch-gate.ts';
import { afterSettle, nextTurn } from '../support/event-loop-turns.ts';
import { eventually } from '../support/wait.ts';

interface Statement {
  inputs: number[];
  /** performance.now() when the gate started it, ms. */
  startedAt: number;
  settle(): void;
  fail(error: Error): void;
}

/** A gate over statements that run until the test settles them; `running` counts the unsettled. */
function manualGate(options: Partial<BatchGateOptions> = {}) {
  const statements: Statement[] = [];
  let running = 0;
  let mostRunning = 0;
  const gate = new BatchGate<number, number>(
    (batch: PendingRequest<number, number>[]) =>
      new Promise<void>((done) => {
        running++;
        mostRunning = Math.max(mostRunning, running);
        const finish = () => {
          running--;
          done();
        };
        statements.push({
          inputs: batch.map((p) => p.input),
          startedAt: performance.now(),
          settle: () => {
            for (const p of batch) p.resolve(p.input * 2);
            finish();
          },
          fail: (error) => {
            for (const p of batch) p.reject(error);
            finish();
          },
        });
      }),
    { maxBatch: 100, ...options },
  );
  return { gate, statements, mostRunning: () => mostRunning };
}

describe('BatchGate', () => {
  it('starts a lone request one turn later, not in the turn it was made', async () => {
    const { gate, statements } = manualGate();
    const answer = gate.request(1);
    expect(statements).toHaveLength(0);
    await nextTurn();
    expect(statements.map((s) => s.inputs)).toEqual([[1]]);
    statements[0]!.settle();
    expect(await answer).toBe(2);
  });

  it('puts the requests of one turn in one statement, in arrival order', async () => {
    const { gate, statements } = manualGate();
    const answers = [gate.request(1), gate.request(2), gate.request(3)];
    await nextTurn();
    expect(statements.map((s) => s.inputs)).toEqual([[1, 2, 3]]);
    statements[0]!.settle();
    expect(await Promise.all(answers)).toEqual([2, 4, 6]);
  });

  it('holds requests made while a statement runs and sends them together once it settled', async () => {
    const { gate, statements } = manualGate({ busyBatch: 8 });
    const first = gate.request(1);
    await nextTurn();
    const rest: Promise<number>[] = [];
    for (const input of [2, 3, 4]) {
      rest.push(gate.request(input));
      await nextTurn();
    }
    expect(statements.map((s) => s.inputs)).toEqual([[1]]);
    statements[0]!.settle();
    expect(await first).toBe(2);
    await afterSettle();
    expect(statements.map((s) => s.inputs)).toEqual([[1], [2, 3, 4]]);
    statements[1]!.settle();
    expect(await Promise.all(rest)).toEqual([4, 6, 8]);
  });

  it('starts a second statement beside a running one once busyBatch requests wait', async () => {
    const { gate, statements } = manualGate({ busyBatch: 3 });
    const all = [gate.request(1)];
    await nextTurn();
    all.push(gate.request(2), gate.request(3));
    await nextTurn();
    expect(statements).toHaveLength(1);
    all.push(gate.request(4));
    await nextTurn();
    expect(statements.map((s) => s.inputs)).toEqual([[1], [2, 3, 4]]);
    for (const s of statements) s.settle();
    expect(await Promise.all(all)).toEqual([2, 4, 6, 8]);
  });

  it('never runs more than maxInFlight statements, however many requests wait', async () => {
    const { gate, statements, mostRunning } = manualGate({ busyBatch: 1, maxInFlight: 2 });
    const all: Promise<number>[] = [];
    for (const input of [1, 2, 3, 4, 5]) {
      all.push(gate.request(input));
      await nextTurn();
    }
    expect(statements.map((s) => s.inputs)).toEqual([[1], [2]]);
    statements[0]!.settle();
    await afterSettle();
    // The freed slot takes everything that waited, as one statement.
    expect(statements.map((s) => s.inputs)).toEqual([[1], [2], [3, 4, 5]]);
    statements[1]!.settle();
    statements[2]!.settle();
    expect(await Promise.all(all)).toEqual([2, 4, 6, 8, 10]);
    expect(mostRunning()).toBe(2);
  });

  it('splits waiting requests into statements of at most maxBatch, in arrival order', async () => {
    const { gate, statements } = manualGate({ maxBatch: 2, maxInFlight: 4, busyBatch: 1 });
    const all = [1, 2, 3, 4, 5].map((input) => gate.request(input));
    await nextTurn();
    expect(statements.map((s) => s.inputs)).toEqual([[1, 2], [3, 4], [5]]);
    for (const s of statements) s.settle();
    expect(await Promise.all(all)).toEqual([2, 4, 6, 8, 10]);
  });

  it('rejects exactly the callers of a failed statement and keeps starting statements after it', async () => {
    const { gate, statements } = manualGate({ busyBatch: 2 });
    const first = gate.request(1);
    await nextTurn();
    const [a, b] = [gate.request(2), gate.request(3)];
    await nextTurn();
    const [c, d] = [gate.request(4), gate.request(5)];
    await nextTurn();
    expect(statements.map((s) => s.inputs)).toEqual([[1], [2, 3], [4, 5]]);
    const outage = new Error('statement failed');
    statements[1]!.fail(outage);
    await expect(a).rejects.toBe(outage);
    await expect(b).rejects.toBe(outage);
    statements[0]!.settle();
    statements[2]!.settle();
    expect(await Promise.all([first, c, d])).toEqual([2, 8, 10]);
    await afterSettle();
    const later = gate.request(7);
    await nextTurn();
    expect(statements.map((s) => s.inputs).at(-1)).toEqual([7]);
    statements.at(-1)!.settle();
    expect(await later).toBe(14);
  });

  it('hands back the requests still waiting, and starts none of them afterwards', async () => {
    const { gate, statements } = manualGate();
    const first = gate.request(1);
    await nextTurn();
    const waiting = [gate.request(2), gate.request(3)];
    const taken = gate.takeWaiting();
    expect(taken.map((p) => p.input)).toEqual([2, 3]);
    const outage = new Error('database unavailable');
    for (const p of taken) p.reject(outage);
    for (const answer of waiting) await expect(answer).rejects.toBe(outage);
    statements[0]!.settle();
    expect(await first).toBe(2);
    await afterSettle();
    expect(statements).toHaveLength(1);
  });

  it('with spacingMs, starts no sooner than that after the last start, even when its timer comes due early', async () => {
    // Node's timers count libuv's whole milliseconds, so one can come due up to about a
    // millisecond early as performance.now() counts it.
    // One spaced start lands early only now and then, so the test takes fifteen.
    const spacingMs = 10;
    const { gate, statements } = manualGate({ spacingMs });
    const gaps: number[] = [];
    for (let round = 0; round < 15; round++) {
      // Idle for longer than the spacing, so the first request's statement starts at or after `before`.
      await new Promise((resolve) => setTimeout(resolve, spacingMs + 5));
      const count = statements.length;
      const before = performance.now();
      const first = gate.request(1);
      // Turn by turn, not polled: the next request must come well within the spacing.
      for (let turns = 0; turns < 10 && statements.length === count; turns++) await nextTurn();
      expect(statements).toHaveLength(count + 1);
      statements.at(-1)!.settle();
      await first;
      const second = gate.request(2);
      await eventually(
        async () => statements.length,
        (n) => n === count + 2,
        'the spaced statement',
        2_000,
      );
      statements.at(-1)!.settle();
      expect(await second).toBe(4);
      gaps.push(statements.at(-1)!.startedAt - before);
    }
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(spacingMs);
  });

  it('reports each settled batch with its size and its seconds to onBatch', async () => {
    const batches: Array<[number, number]> = [];
    const { gate, statements } = manualGate({ onBatch: (size, seconds) => batches.push([size, seconds]) });
    const answers = [gate.request(1), gate.request(2)];
    await nextTurn();
    expect(batches).toEqual([]);
    statements[0]!.settle();
    await Promise.all(answers);
    await nextTurn();
    expect(batches).toHaveLength(1);
    expect(batches[0]![0]).toBe(2);
    expect(batches[0]![1]).toBeGreaterThanOrEqual(0);
  });
});
