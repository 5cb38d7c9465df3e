/**
 * ReadReceipts' timing rule under Vitest fake timers: the first read of a conversation goes at
 * once, the ones within the interval after it go together at its end, kept reads go when a
 * connection opens, and a closing client writes what waits. What the server makes of the frames
 * is tested against the real API in read-receipts.real-server.test.ts.
 */
import { LIMITS } from '@anmei/protocol';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { ReadReceipts } from '../src/read-receipts.ts';
import { systemTimers } from '../src/timers.ts';

interface Written {
  conversationId: string;
  messageIds: string[];
}

let written: Written[];
let socketOpen: boolean;

beforeEach(() => {
  vi.useFakeTimers();
  written = [];
  socketOpen = true;
});
afterEach(() => vi.useRealTimers());

function receipts(intervalMs = 1000): ReadReceipts {
  return new ReadReceipts({
    send: (conversationId, messageIds) => {
      if (!socketOpen) return false;
      written.push({ conversationId, messageIds: [...messageIds] });
      return true;
    },
    timers: systemTimers,
    intervalMs,
  });
}

it('writes the first read of a conversation at once', () => {
  receipts().mark('c1', ['m1']);
  expect(written).toEqual([{ conversationId: 'c1', messageIds: ['m1'] }]);
});

it('sends the reads marked within the interval as one frame when it ends, each id once', () => {
  const reads = receipts(1000);
  reads.mark('c1', ['m1']);
  reads.mark('c1', ['m2']);
  reads.mark('c1', ['m3', 'm2']);
  vi.advanceTimersByTime(999);
  expect(written).toHaveLength(1);
  vi.advanceTimersByTime(1);
  expect(written).toEqual([
    { conversationId: 'c1', messageIds: ['m1'] },
    { conversationId: 'c1', messageIds: ['m2', 'm3'] },
  ]);
});

it('writes at most one read per conversation per interval while reads keep coming', () => {
  const reads = receipts(1000);
  // One read every 100 ms for 5 s: the first at once, then one at the end of each interval.
  for (let i = 0; i < 50; i++) {
    reads.mark('c1', [`m${i}`]);
    vi.advanceTimersByTime(100);
  }
  expect(written).toHaveLength(6);
  expect(written.flatMap((w) => w.messageIds)).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`));
});

it('does not hold one conversation’s read behind another’s interval', () => {
  const reads = receipts(1000);
  reads.mark('c1', ['m1']);
  reads.mark('c2', ['n1']);
  expect(written.map((w) => w.conversationId)).toEqual(['c1', 'c2']);
});

it('goes at once again after a quiet interval, and forgets a conversation with nothing waiting', () => {
  const reads = receipts(1000);
  reads.mark('c1', ['m1']);
  vi.advanceTimersByTime(1000);
  expect(vi.getTimerCount()).toBe(0);
  reads.mark('c1', ['m2']);
  expect(written.map((w) => w.messageIds)).toEqual([['m1'], ['m2']]);
});

it('keeps a read the socket could not take and writes it when flush is called on the next open', () => {
  const reads = receipts(1000);
  reads.mark('c1', ['m1']);
  reads.mark('c1', ['m2']);
  socketOpen = false;
  vi.advanceTimersByTime(1000);
  expect(written).toHaveLength(1);
  expect(reads.waiting).toBe(1);
  socketOpen = true;
  reads.flush();
  expect(written.map((w) => w.messageIds)).toEqual([['m1'], ['m2']]);
  expect(reads.waiting).toBe(0);
});

it('flush leaves a read whose interval still runs to that interval', () => {
  const reads = receipts(1000);
  reads.mark('c1', ['m1']);
  reads.mark('c1', ['m2']);
  reads.flush();
  expect(written).toHaveLength(1);
  vi.advanceTimersByTime(1000);
  expect(written.map((w) => w.messageIds)).toEqual([['m1'], ['m2']]);
});

it('flushNow writes every waiting read at once and leaves no timer', () => {
  const reads = receipts(1000);
  reads.mark('c1', ['m1']);
  reads.mark('c1', ['m2']);
  reads.mark('c2', ['n1']);
  reads.mark('c2', ['n2']);
  reads.flushNow();
  expect(written.map((w) => w.messageIds)).toEqual([['m1'], ['n1'], ['m2'], ['n2']]);
  expect(vi.getTimerCount()).toBe(0);
  expect(reads.waiting).toBe(0);
});

it('with interval 0 writes every read at once and keeps no timer', () => {
  const reads = receipts(0);
  reads.mark('c1', ['m1']);
  reads.mark('c1', ['m2']);
  expect(written.map((w) => w.messageIds)).toEqual([['m1'], ['m2']]);
  expect(vi.getTimerCount()).toBe(0);
});

it(`merges at most ${LIMITS.readReceiptMaxIds} ids into one frame, keeping the newest`, () => {
  const reads = receipts(1000);
  reads.mark('c1', ['first']);
  const many = Array.from({ length: LIMITS.readReceiptMaxIds + 20 }, (_, i) => `m${i}`);
  for (const id of many) reads.mark('c1', [id]);
  vi.advanceTimersByTime(1000);
  expect(written[1]!.messageIds).toEqual(many.slice(20));
});

it('clear forgets every waiting read and stops its timer', () => {
  const reads = receipts(1000);
  reads.mark('c1', ['m1']);
  reads.mark('c1', ['m2']);
  reads.clear();
  expect(vi.getTimerCount()).toBe(0);
  vi.advanceTimersByTime(5000);
  reads.flush();
  expect(written).toHaveLength(1);
});
