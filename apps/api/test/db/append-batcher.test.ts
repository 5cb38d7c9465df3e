/**
 * The group commit's scheduling (AppendBatcher), with statements the test settles by hand: when a
 * statement starts, and which appends share it. What a statement stores is the store contract's
 * (store-contract-messages.ts, on PGlite and Postgres).
 */
import { describe, expect, it } from 'vitest';
import { AppendBatcher, type BatchStatements } from '../../src/db/append-batcher.ts';
import type { AppendMessageInput, AppendMessageResult, MessageRow } from '../../src/db/store-types.ts';
import { afterSettle, nextTurn } from '../support/event-loop-turns.ts';
import { eventually } from '../support/wait.ts';

interface Statement {
  inputs: readonly AppendMessageInput[];
  settle(): void;
}

/** Statements that run until the test settles them; each stores every input it got. */
function manualStatements(): { statements: Statement[]; impl: BatchStatements } {
  const statements: Statement[] = [];
  const stored = (input: AppendMessageInput) => ({ content: input.content }) as unknown as MessageRow;
  const impl: BatchStatements = {
    insertMany: (inputs) =>
      new Promise((resolve) => statements.push({ inputs, settle: () => resolve(inputs.map(stored)) })),
    appendOne: (input) =>
      new Promise<AppendMessageResult>((resolve) =>
        statements.push({ inputs: [input], settle: () => resolve({ status: 'created', message: stored(input) }) }),
      ),
  };
  return { statements, impl };
}

const input = (content: string): AppendMessageInput => ({
  conversationId: 'c',
  senderId: 's',
  clientMessageId: null,
  messageType: 'text',
  content,
});

describe('AppendBatcher scheduling', () => {
  it('starts a lone append at once and lets appends arriving while it runs wait for it, then go as one statement', async () => {
    const { statements, impl } = manualStatements();
    const batcher = new AppendBatcher(impl, { busyBatch: 8 });
    const first = batcher.append(input('a'));
    await nextTurn();
    expect(statements.map((s) => s.inputs.length)).toEqual([1]);
    // Three more, each in a turn of its own (a server reading one frame per turn).
    const rest: Promise<AppendMessageResult>[] = [];
    for (const content of ['b', 'c', 'd']) {
      rest.push(batcher.append(input(content)));
      await nextTurn();
    }
    expect(statements).toHaveLength(1);
    statements[0]!.settle();
    await first;
    await afterSettle();
    expect(statements.map((s) => s.inputs.map((i) => i.content))).toEqual([['a'], ['b', 'c', 'd']]);
    statements[1]!.settle();
    expect((await Promise.all(rest)).map((r) => r.status)).toEqual(['created', 'created', 'created']);
  });

  it('starts another statement beside a running one once busyBatch appends wait, up to maxInFlight', async () => {
    const { statements, impl } = manualStatements();
    const batcher = new AppendBatcher(impl, { busyBatch: 3, maxInFlight: 2 });
    const all = [batcher.append(input('a'))];
    await nextTurn();
    for (const content of ['b', 'c']) all.push(batcher.append(input(content)));
    await nextTurn();
    expect(statements).toHaveLength(1);
    all.push(batcher.append(input('d')));
    await nextTurn();
    expect(statements.map((s) => s.inputs.length)).toEqual([1, 3]);
    // Two in flight (maxInFlight): three more wait even though busyBatch of them do.
    for (const content of ['e', 'f', 'g']) all.push(batcher.append(input(content)));
    await nextTurn();
    expect(statements).toHaveLength(2);
    statements[0]!.settle();
    await afterSettle();
    expect(statements.map((s) => s.inputs.length)).toEqual([1, 3, 3]);
    statements[1]!.settle();
    statements[2]!.settle();
    expect(await Promise.all(all)).toHaveLength(7);
  });

  it('with busyBatch 1 starts a statement whenever a slot is free (the policy before busyBatch)', async () => {
    const { statements, impl } = manualStatements();
    const batcher = new AppendBatcher(impl, { busyBatch: 1 });
    const all: Promise<AppendMessageResult>[] = [];
    for (const content of ['a', 'b', 'c']) {
      all.push(batcher.append(input(content)));
      await nextTurn();
    }
    expect(statements.map((s) => s.inputs.length)).toEqual([1, 1, 1]);
    for (const s of statements) s.settle();
    expect(await Promise.all(all)).toHaveLength(3);
  });

  it('with a window, starts the next statement no sooner than the window after the last start, with every append made meanwhile', async () => {
    const windowMs = 60;
    const { statements, impl } = manualStatements();
    const batcher = new AppendBatcher(impl, { spacingMs: windowMs });
    // Taken before the first statement starts, so the second starts at least the window after it.
    const startedAt = performance.now();
    const first = batcher.append(input('a'));
    await nextTurn();
    statements[0]!.settle();
    await first;
    // The statement settled at once; without the window 'b' would start a statement of its own.
    const rest = [batcher.append(input('b'))];
    await afterSettle();
    rest.push(batcher.append(input('c')));
    await afterSettle();
    expect(statements).toHaveLength(1);
    await eventually(
      async () => statements.length,
      (n) => n === 2,
      'the second statement',
      2_000,
    );
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(windowMs);
    expect(statements[1]!.inputs.map((i) => i.content)).toEqual(['b', 'c']);
    statements[1]!.settle();
    expect((await Promise.all(rest)).map((r) => r.status)).toEqual(['created', 'created']);
  });
});
