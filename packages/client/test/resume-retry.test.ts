/**
 * The tracker's own `resume` frames and the server's refusals of them (resume-requests.ts):
 * every frame carries a request id, a refused one is asked for again after `retry_after_ms` or a
 * backoff, and no stream waits on an answer that will not come. Time is Vitest's fake clock.
 */
import { type ErrorCode, type ResumeFrame, type ServerFrame, serverFrame } from '@anmei/protocol';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeliveryTracker, type ReloadNotice } from '../src/delivery-tracker.ts';
import { systemTimers } from '../src/timers.ts';
import { C, message } from './support/frames.ts';

function refusal(requestId: string | null, code: ErrorCode, retryAfterMs?: number): ServerFrame {
  return serverFrame('error', {
    code,
    message: `refused: ${code}`,
    request_id: requestId,
    ...(retryAfterMs === undefined ? {} : { retry_after_ms: retryAfterMs }),
  });
}

function recovered(requestId: string | null, conversationIds: string[]): ServerFrame {
  return serverFrame('resumed', {
    request_id: requestId,
    conversations: conversationIds.map((conversation_id) => ({
      conversation_id,
      status: 'recovered' as const,
      replayed_messages: 0,
      replayed_events: 0,
    })),
  });
}

function make() {
  const sent: Array<{ requestId: string; data: ResumeFrame['data'] }> = [];
  const reloads: ReloadNotice[] = [];
  const tracker = new DeliveryTracker({
    sendResume: (data, requestId) => {
      sent.push({ requestId, data });
      return true;
    },
    onReload: (notice) => reloads.push(notice),
    timers: systemTimers,
  });
  const seqs = (frames: ServerFrame[]) => frames.map((f) => (f.action === 'new_message' ? f.data.seq : f.action));
  const last = () => sent.at(-1)!;
  return { tracker, sent, reloads, seqs, last };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('a refused gap repair', () => {
  it('is asked for again after the retry_after_ms of a RATE_LIMITED answer, quietly, and the held frames follow the replay', () => {
    const { tracker, sent, seqs, last } = make();
    tracker.track(C, { lastSeq: 1 });
    expect(tracker.accept(message(4))).toEqual([]);
    const first = last();
    expect(first.requestId).toMatch(/^resume-\d+$/);
    // The refusal is the tracker's own business: nothing for the app.
    expect(tracker.accept(refusal(first.requestId, 'RATE_LIMITED', 400))).toEqual([]);
    // Held meanwhile, and no second resume for the same stream before the retry.
    expect(tracker.accept(message(5))).toEqual([]);
    vi.advanceTimersByTime(399);
    expect(sent).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(sent).toHaveLength(2);
    const retry = last();
    expect(retry.requestId).not.toBe(first.requestId);
    expect(retry.data).toEqual({ conversations: [{ conversation_id: C, last_seq: 1, last_event_seq: 0 }] });
    expect(seqs(tracker.accept(message(2)))).toEqual([2]);
    expect(seqs(tracker.accept(message(3)))).toEqual([3, 4, 5]);
    expect(seqs(tracker.accept(recovered(retry.requestId, [C])))).toEqual(['resumed']);
    expect(tracker.stats()).toMatchObject({ delivered: 4, gapRepairs: 1, resumeRetries: 1, duplicates: 0 });
  });

  it('backs off 1 s, 2 s, 4 s, 8 s, then every 10 s while the database stays away, and from 1 s again after an answer', () => {
    const { tracker, sent, last } = make();
    tracker.track(C, { lastSeq: 1 });
    tracker.accept(message(3));
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      tracker.accept(refusal(last().requestId, 'DATABASE_UNAVAILABLE'));
      const before = sent.length;
      let waited = 0;
      while (sent.length === before) {
        vi.advanceTimersByTime(100);
        waited += 100;
      }
      delays.push(waited);
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 10_000, 10_000]);
    // Answered at last (the replay filled the gap), then a new gap is refused: 1 s again.
    tracker.accept(message(2));
    tracker.accept(recovered(last().requestId, [C]));
    tracker.accept(message(5));
    tracker.accept(refusal(last().requestId, 'SERVICE_UNAVAILABLE'));
    const before = sent.length;
    vi.advanceTimersByTime(1_000);
    expect(sent).toHaveLength(before + 1);
  });

  it('is not retried on the old socket once a new one opened: connected() resumes everything, once', () => {
    const { tracker, sent, last } = make();
    tracker.track(C, { lastSeq: 1 });
    tracker.accept(message(3));
    tracker.accept(refusal(last().requestId, 'RATE_LIMITED', 500));
    tracker.detach();
    tracker.connected({ userSeq: 0, globalSeq: 0 });
    expect(last().data).toEqual({
      conversations: [{ conversation_id: C, last_seq: 1, last_event_seq: 0 }],
      user_seq: 0,
      global_seq: 0,
    });
    const count = sent.length;
    vi.advanceTimersByTime(60_000);
    expect(sent).toHaveLength(count);
    // A late refusal naming the old socket's frame is not ours any more: the app sees it.
    const stale = refusal(sent[0]!.requestId, 'RATE_LIMITED', 1);
    expect(tracker.accept(stale)).toEqual([stale]);
  });

  it('leaves no timer behind after detach() (dispose)', () => {
    const { tracker, last } = make();
    tracker.track(C, { lastSeq: 1 });
    tracker.accept(message(3));
    tracker.accept(refusal(last().requestId, 'DATABASE_UNAVAILABLE'));
    expect(vi.getTimerCount()).toBe(1);
    tracker.detach();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('that will not pass (INVALID_FRAME) is given up as a reload: held frames handed over, the app told, the error passed on', () => {
    const { tracker, reloads, seqs, last } = make();
    tracker.track(C, { lastSeq: 1 });
    tracker.accept(message(3));
    tracker.accept(message(4));
    expect(seqs(tracker.accept(refusal(last().requestId, 'INVALID_FRAME')))).toEqual([3, 4, 'error']);
    expect(reloads).toEqual([{ conversationId: C, stream: 'conversation' }]);
    expect(vi.getTimerCount()).toBe(0);
    expect(seqs(tracker.accept(message(5)))).toEqual([5]);
  });
});

describe('answers to the tracker’s resume frames', () => {
  it('asks again for a conversation a resumed answer left out, and not for the one it answered', () => {
    const { tracker, sent, seqs, last } = make();
    tracker.track(C, { lastSeq: 1 });
    tracker.track('conv-2', { lastSeq: 1 });
    tracker.accept(
      serverFrame('positions', {
        reason: 'periodic',
        conversations: [
          { conversation_id: C, last_seq: 2, last_event_seq: 0 },
          { conversation_id: 'conv-2', last_seq: 2, last_event_seq: 0 },
        ],
        user_seq: 0,
        global_seq: 0,
      }),
    );
    const asked = last();
    expect(asked.data.conversations.map((c) => c.conversation_id)).toEqual([C, 'conv-2']);
    expect(seqs(tracker.accept(message(2)))).toEqual([2]);
    expect(seqs(tracker.accept(recovered(asked.requestId, [C])))).toEqual(['resumed']);
    vi.advanceTimersByTime(1_000);
    expect(sent).toHaveLength(2);
    expect(last().data.conversations.map((c) => c.conversation_id)).toEqual(['conv-2']);
  });

  it('resume more than 200 conversations in frames of at most 200, each with its own request id', () => {
    const { tracker, sent } = make();
    for (let i = 0; i < 450; i++) tracker.track(`c-${i}`, { lastSeq: i });
    tracker.connected({ userSeq: 4, globalSeq: 9 });
    expect(sent.map((s) => s.data.conversations.length)).toEqual([200, 200, 50]);
    expect(new Set(sent.map((s) => s.requestId)).size).toBe(3);
    expect(sent.map((s) => [s.data.user_seq, s.data.global_seq])).toEqual([
      [4, 9],
      [undefined, undefined],
      [undefined, undefined],
    ]);
    expect(sent.flatMap((s) => s.data.conversations.map((c) => c.conversation_id)).at(-1)).toBe('c-449');
  });

  it('passes on an error frame that answers none of its resume frames', () => {
    const { tracker } = make();
    const other = refusal('r1', 'RATE_LIMITED', 50);
    expect(tracker.accept(other)).toEqual([other]);
  });

  it('hands over what it held for a conversation the user is no longer in (forbidden)', () => {
    const { tracker, seqs, last } = make();
    tracker.track(C, { lastSeq: 1 });
    tracker.accept(message(3));
    const forbidden = serverFrame('resumed', {
      request_id: last().requestId,
      conversations: [{ conversation_id: C, status: 'forbidden', replayed_messages: 0, replayed_events: 0 }],
    });
    expect(seqs(tracker.accept(forbidden))).toEqual([3, 'resumed']);
    expect(vi.getTimerCount()).toBe(0);
  });
});
