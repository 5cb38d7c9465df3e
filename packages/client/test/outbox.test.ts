/** The outbox (messageQueue): bounds, overflow policy, TTL, in-flight window, resend after reconnect. */
import type { ServerDataOf } from '@anmei/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OUTBOX_DEFAULTS, Outbox, type OutboxOptions, SendError } from '../src/index.ts';

type Written = { id: string; requestId: string; content: string };

let written: Written[];

beforeEach(() => {
  vi.useFakeTimers();
  written = [];
});
afterEach(() => {
  vi.useRealTimers();
});

function outbox(options: Partial<OutboxOptions> = {}): Outbox {
  return new Outbox(
    { ...OUTBOX_DEFAULTS, ...options },
    { timers: { setTimeout, clearTimeout }, clock: { now: Date.now } },
  );
}

function writer(result: boolean | ((id: string) => boolean | SendError) = true) {
  return (message: { clientMessageId: string; content: string }, requestId: string) => {
    const r = typeof result === 'function' ? result(message.clientMessageId) : result;
    if (r === true) written.push({ id: message.clientMessageId, requestId, content: message.content });
    return r;
  };
}

function ack(id: string, duplicate = false): ServerDataOf<'ack'> {
  return {
    request_id: null,
    message_id: `msg-${id}`,
    conversation_id: 'c1',
    seq: 1,
    client_message_id: id,
    duplicate,
    created_at: new Date().toISOString(),
  };
}

const msg = (id: string, content = `text ${id}`) => ({ conversationId: 'c1', clientMessageId: id, content });

describe('outbox', () => {
  it('holds messages while detached and writes them in order once attached; an ack resolves its send', async () => {
    const box = outbox();
    const a = box.enqueue(msg('a'));
    const b = box.enqueue(msg('b'));
    expect(written).toEqual([]);
    box.attach(writer());
    expect(written.map((w) => w.id)).toEqual(['a', 'b']);
    expect(box.acknowledge(ack('b', true))).toBe(true);
    expect(box.acknowledge(ack('a'))).toBe(true);
    await expect(a).resolves.toMatchObject({ client_message_id: 'a', duplicate: false });
    await expect(b).resolves.toMatchObject({ client_message_id: 'b', duplicate: true });
    expect(box.size).toBe(0);
    expect(box.acknowledge(ack('zzz'))).toBe(false);
  });

  it('keeps at most maxInFlight unacked writes; each ack lets the next one go', () => {
    const box = outbox({ maxInFlight: 2 });
    box.attach(writer());
    for (const id of ['a', 'b', 'c']) void box.enqueue(msg(id));
    expect(written.map((w) => w.id)).toEqual(['a', 'b']);
    box.acknowledge(ack('a'));
    expect(written.map((w) => w.id)).toEqual(['a', 'b', 'c']);
  });

  it('after detach, unacked messages are written again with the same client message id and a new request id', () => {
    const box = outbox();
    box.attach(writer());
    void box.enqueue(msg('a'));
    box.detach();
    box.attach(writer());
    expect(written.map((w) => w.id)).toEqual(['a', 'a']);
    expect(written[0]!.requestId).not.toBe(written[1]!.requestId);
  });

  it('reject-new (default): refuses a message beyond maxMessages with OUTBOX_FULL', async () => {
    const box = outbox({ maxMessages: 2 });
    void box.enqueue(msg('a'));
    void box.enqueue(msg('b'));
    const error = await box.enqueue(msg('c')).catch((e: SendError) => e);
    expect(error).toBeInstanceOf(SendError);
    expect(error).toMatchObject({ code: 'OUTBOX_FULL', clientMessageId: 'c' });
    expect((error as SendError).message).toContain('outbox.maxMessages=2');
  });

  it('drop-oldest: evicts the oldest message still waiting (never one in flight) with DROPPED', async () => {
    const box = outbox({ maxMessages: 2, overflow: 'drop-oldest', maxInFlight: 1 });
    box.attach(writer());
    const a = box.enqueue(msg('a'));
    const b = box.enqueue(msg('b'));
    const c = box.enqueue(msg('c'));
    await expect(b).rejects.toMatchObject({ code: 'DROPPED', clientMessageId: 'b' });
    box.acknowledge(ack('a'));
    await expect(a).resolves.toMatchObject({ client_message_id: 'a' });
    expect(written.map((w) => w.id)).toEqual(['a', 'c']);
    box.acknowledge(ack('c'));
    await expect(c).resolves.toBeDefined();
  });

  it('bounds bytes as UTF-8: a message over maxBytes is TOO_LARGE, a full budget is OUTBOX_FULL', async () => {
    const box = outbox({ maxBytes: 12 });
    await expect(box.enqueue(msg('big', '你好你好你'))).rejects.toMatchObject({ code: 'TOO_LARGE' });
    void box.enqueue(msg('a', '你好你好'));
    expect(box.bytes).toBe(12);
    await expect(box.enqueue(msg('b', 'x'))).rejects.toMatchObject({ code: 'OUTBOX_FULL' });
  });

  it('rejects with EXPIRED when no ack arrives within the TTL (default 5 min, or per message)', async () => {
    const box = outbox();
    const slow = box.enqueue(msg('a'));
    const quick = box.enqueue(msg('b'), 1_000);
    const quickResult = quick.catch((e: SendError) => e.code);
    const slowResult = slow.catch((e: SendError) => e.code);
    vi.advanceTimersByTime(1_000);
    expect(await quickResult).toBe('EXPIRED');
    expect(box.size).toBe(1);
    vi.advanceTimersByTime(OUTBOX_DEFAULTS.ttlMs - 1_000);
    expect(await slowResult).toBe('EXPIRED');
    expect(box.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('an error frame for a write rejects it with SERVER_REJECTED and the protocol code', async () => {
    const box = outbox();
    box.attach(writer());
    const a = box.enqueue(msg('a'));
    expect(box.fail(written[0]!.requestId, 'NOT_PARTICIPANT', 'You are not a participant')).toBe(true);
    await expect(a).rejects.toMatchObject({ code: 'SERVER_REJECTED', serverCode: 'NOT_PARTICIPANT' });
    expect(box.fail('r-unknown', 'INTERNAL', 'x')).toBe(false);
  });

  it('RATE_LIMITED is not the message’s fault: it is written again a second later', () => {
    const box = outbox();
    box.attach(writer());
    void box.enqueue(msg('a'));
    box.fail(written[0]!.requestId, 'RATE_LIMITED', 'slow down');
    expect(written).toHaveLength(1);
    vi.advanceTimersByTime(1_000);
    expect(written.map((w) => w.id)).toEqual(['a', 'a']);
  });

  it('RATE_LIMITED with retry_after_ms waits at least that long, and an ack meanwhile writes nothing', () => {
    const box = outbox();
    box.attach(writer());
    for (const id of ['a', 'b']) void box.enqueue(msg(id));
    box.fail(written[1]!.requestId, 'RATE_LIMITED', 'Too many frames', 2_500);
    // The ack of `a` would normally write what waits; the server said not before 2.5 s.
    expect(box.acknowledge(ack('a'))).toBe(true);
    void box.enqueue(msg('c'));
    vi.advanceTimersByTime(2_499);
    expect(written.map((w) => w.id)).toEqual(['a', 'b']);
    vi.advanceTimersByTime(1);
    // Kept, never dropped, and rewritten in send order.
    expect(written.map((w) => w.id)).toEqual(['a', 'b', 'b', 'c']);
    expect(box.size).toBe(2);
  });

  it('a short retry_after_ms does not shorten the 1 s backoff; a longer one in the same round moves it later', () => {
    const box = outbox();
    box.attach(writer());
    for (const id of ['a', 'b']) void box.enqueue(msg(id));
    box.fail(written[0]!.requestId, 'RATE_LIMITED', 'Too many frames', 50);
    box.fail(written[1]!.requestId, 'RATE_LIMITED', 'Too many frames', 1_800);
    vi.advanceTimersByTime(1_000);
    expect(written).toHaveLength(2);
    vi.advanceTimersByTime(800);
    expect(written.map((w) => w.id)).toEqual(['a', 'b', 'a', 'b']);
  });

  it('INTERNAL is retried with the same id, waiting 1, 2, 4 … at most 30 s; an ack resets the wait', async () => {
    const box = outbox();
    box.attach(writer());
    const a = box.enqueue(msg('a'));
    const waits: number[] = [];
    for (let attempt = 1; attempt <= 7; attempt++) {
      box.fail(written.at(-1)!.requestId, 'INTERNAL', 'database unreachable');
      let waited = 0;
      while (written.length === attempt) {
        vi.advanceTimersByTime(1_000);
        waited += 1_000;
      }
      waits.push(waited);
    }
    expect(waits).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(new Set(written.map((w) => w.id))).toEqual(new Set(['a']));
    expect(box.acknowledge(ack('a'))).toBe(true);
    await expect(a).resolves.toMatchObject({ client_message_id: 'a' });

    const b = box.enqueue(msg('b'));
    box.fail(written.at(-1)!.requestId, 'INTERNAL', 'database unreachable');
    vi.advanceTimersByTime(1_000);
    expect(written.at(-1)!.id).toBe('b');
    box.acknowledge(ack('b'));
    await expect(b).resolves.toMatchObject({ client_message_id: 'b' });
  });

  it('a whole window failing with INTERNAL at once is one retry round: all are written again after 1 s', () => {
    const box = outbox();
    box.attach(writer());
    for (const id of ['a', 'b', 'c']) void box.enqueue(msg(id));
    for (const w of [...written]) box.fail(w.requestId, 'INTERNAL', 'database unreachable');
    vi.advanceTimersByTime(1_000);
    expect(written.map((w) => w.id)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
  });

  it('a message retried until its TTL expires names the server’s last answer', async () => {
    const box = outbox();
    box.attach(writer());
    const a = box.enqueue(msg('a'), 5_000);
    box.fail(written[0]!.requestId, 'INTERNAL', 'database unreachable');
    vi.advanceTimersByTime(5_000);
    await expect(a).rejects.toMatchObject({
      code: 'EXPIRED',
      serverCode: 'INTERNAL',
      message: expect.stringContaining('the server last answered INTERNAL'),
    });
    expect(box.size).toBe(0);
  });

  it('a writer that cannot take a message yet keeps it; one that can never send it rejects it', async () => {
    const box = outbox();
    box.attach(writer(false));
    const a = box.enqueue(msg('a'));
    expect(box.size).toBe(1);
    box.attach(writer((id) => new SendError('TOO_LARGE', 'over max_payload_bytes', id)));
    await expect(a).rejects.toMatchObject({ code: 'TOO_LARGE' });
  });

  it('refuses a second message with a client message id that is still waiting', async () => {
    const box = outbox();
    void box.enqueue(msg('a'));
    await expect(box.enqueue(msg('a'))).rejects.toMatchObject({ code: 'INVALID' });
  });

  it('clear() rejects everything and leaves no timer', async () => {
    const box = outbox();
    const a = box.enqueue(msg('a'));
    box.clear((id) => new SendError('DISPOSED', 'gone', id));
    await expect(a).rejects.toMatchObject({ code: 'DISPOSED' });
    expect(vi.getTimerCount()).toBe(0);
  });
});
