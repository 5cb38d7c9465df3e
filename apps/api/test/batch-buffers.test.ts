/** The routed batches' buffers are kept and handed out again (realtime/bus/batch-buffers.ts). */
import { describe, expect, it } from 'vitest';
import { BatchBuffers } from '../src/realtime/bus/batch-buffers.ts';

describe('BatchBuffers', () => {
  it('hands out a new buffer of at least 64 KiB, rounded up to a power of two', () => {
    const buffers = new BatchBuffers(4 << 20);
    expect(buffers.take(10).length).toBe(64 * 1024);
    expect(buffers.take(100_000).length).toBe(128 * 1024);
  });

  it('hands a buffer given back to the next batch that fits in it, the smallest that fits first', () => {
    const buffers = new BatchBuffers(4 << 20);
    const small = buffers.take(64 * 1024);
    const large = buffers.take(512 * 1024);
    buffers.give(large);
    buffers.give(small);
    // Identity, compared as booleans: a failing toBe would print half a megabyte.
    expect(buffers.take(1_000) === small).toBe(true);
    expect(buffers.take(300 * 1024) === large).toBe(true);
    expect(buffers.size).toBe(0);
    expect(buffers.take(300 * 1024) === large).toBe(false);
  });

  it('keeps at most four, dropping the smallest, and none larger than its limit', () => {
    const buffers = new BatchBuffers(1 << 20);
    const kept = [64, 128, 256, 512].map((k) => buffers.take(k * 1024));
    for (const buffer of kept) buffers.give(buffer);
    const larger = buffers.take(1 << 20);
    buffers.give(larger);
    expect(buffers.size).toBe(4);
    expect(buffers.take(1) === kept[1]).toBe(true);
    buffers.give(Buffer.allocUnsafe(2 << 20));
    expect(buffers.size).toBe(3);
  });
});
