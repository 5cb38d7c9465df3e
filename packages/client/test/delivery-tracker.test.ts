/** Positions, duplicates, gap repair and reload, on frames built with the protocol's serverFrame(). */
import { type ResumeFrame, type ServerFrame, serverFrame } from '@anmei/protocol';
import { describe, expect, it } from 'vitest';
import { DeliveryTracker, type ReloadNotice } from '../src/delivery-tracker.ts';
import { systemTimers } from '../src/timers.ts';
import { C, message } from './support/frames.ts';

function readReceipt(eventSeq: number): ServerFrame {
  return serverFrame('read_status', {
    conversation_id: C,
    user_id: 'u2',
    message_ids: [],
    last_read_seq: 1,
    event_seq: eventSeq,
    event_id: `e-${eventSeq}`,
  });
}

function skipped(eventSeq: number): ServerFrame {
  return serverFrame('event_skipped', { conversation_id: C, event_seq: eventSeq });
}

function make() {
  const resumes: ResumeFrame['data'][] = [];
  const reloads: ReloadNotice[] = [];
  const tracker = new DeliveryTracker({
    sendResume: (data) => {
      resumes.push(data);
      return true;
    },
    onReload: (notice) => reloads.push(notice),
    timers: systemTimers,
  });
  const seqs = (frames: ServerFrame[]) => frames.map((f) => (f.action === 'new_message' ? f.data.seq : f.action));
  return { tracker, resumes, reloads, seqs };
}

describe('DeliveryTracker', () => {
  it('delivers in order, and drops a frame at or below the position already delivered', () => {
    const { tracker, seqs } = make();
    tracker.track(C, { lastSeq: 4 });
    expect(seqs(tracker.accept(message(5)))).toEqual([5]);
    expect(seqs(tracker.accept(message(5)))).toEqual([]);
    expect(seqs(tracker.accept(message(3)))).toEqual([]);
    expect(tracker.stats()).toMatchObject({ delivered: 1, duplicates: 2 });
  });

  it('never moves a position backwards when the app tracks from an older history page', () => {
    const { tracker, seqs } = make();
    tracker.track(C, { lastSeq: 4, lastEventSeq: 3 });
    expect(seqs(tracker.accept(message(5)))).toEqual([5]);
    // A history page fetched before message 5 was stored, answered after it was delivered.
    tracker.track(C, { lastSeq: 4, lastEventSeq: 1 });
    expect(tracker.positions(C)).toEqual({ lastSeq: 5, lastEventSeq: 3 });
    expect(seqs(tracker.accept(message(6)))).toEqual([6]);
    // A newer page moves it forward.
    tracker.track(C, { lastSeq: 9 });
    expect(tracker.positions(C)).toEqual({ lastSeq: 9, lastEventSeq: 3 });
  });

  it('holds frames after a gap, asks the server to replay the gap once, then delivers everything in order', () => {
    const { tracker, resumes, seqs } = make();
    tracker.track(C, { lastSeq: 1, lastEventSeq: 2 });
    expect(seqs(tracker.accept(message(4)))).toEqual([]);
    expect(seqs(tracker.accept(message(5)))).toEqual([]);
    expect(resumes).toEqual([{ conversations: [{ conversation_id: C, last_seq: 1, last_event_seq: 2 }] }]);
    // The replay fills 2 and 3; the held 4 and 5 follow.
    expect(seqs(tracker.accept(message(2)))).toEqual([2]);
    expect(seqs(tracker.accept(message(3)))).toEqual([3, 4, 5]);
    expect(tracker.positions(C)).toEqual({ lastSeq: 5, lastEventSeq: 2 });
    expect(tracker.stats()).toMatchObject({ delivered: 4, gapRepairs: 1, duplicates: 0 });
  });

  it('moves the event position on event_skipped without handing it on, so a skipped event is no hole', () => {
    const { tracker, resumes, seqs } = make();
    tracker.track(C, { lastSeq: 10, lastEventSeq: 0 });
    expect(seqs(tracker.accept(readReceipt(1)))).toEqual(['read_status']);
    // Event 2 was this user's own read receipt: the server sends its position only.
    expect(tracker.accept(skipped(2))).toEqual([]);
    expect(seqs(tracker.accept(readReceipt(3)))).toEqual(['read_status']);
    expect(tracker.accept(readReceipt(3))).toEqual([]);
    expect(resumes).toEqual([]);
    expect(tracker.positions(C)).toEqual({ lastSeq: 10, lastEventSeq: 3 });
    expect(tracker.stats()).toMatchObject({ delivered: 2, gapRepairs: 0 });
  });

  it('holds an event past a real hole, asks for that stream once, and hands it over after the replay', () => {
    const { tracker, resumes, seqs } = make();
    tracker.track(C, { lastSeq: 10, lastEventSeq: 1 });
    expect(tracker.accept(readReceipt(4))).toEqual([]);
    expect(resumes).toEqual([{ conversations: [{ conversation_id: C, last_seq: 10, last_event_seq: 1 }] }]);
    // The replay: event 2 was not for this socket, 3 was lost.
    expect(tracker.accept(skipped(2))).toEqual([]);
    expect(seqs(tracker.accept(readReceipt(3)))).toEqual(['read_status', 'read_status']);
    expect(tracker.positions(C).lastEventSeq).toBe(4);
    expect(tracker.stats()).toMatchObject({ gapRepairs: 1, delivered: 2 });
  });

  it('on a positions frame resumes, in one frame, exactly the tracked streams it is behind on', () => {
    const { tracker, resumes } = make();
    tracker.connected({ userSeq: 2, globalSeq: 5 });
    tracker.track(C, { lastSeq: 10, lastEventSeq: 3 });
    tracker.track('conv-2', { lastSeq: 7, lastEventSeq: 0 });
    resumes.length = 0;
    const positions = (c1: [number, number], c2: [number, number], userSeq: number, globalSeq: number) =>
      serverFrame('positions', {
        reason: 'bus_recovered',
        conversations: [
          { conversation_id: C, last_seq: c1[0], last_event_seq: c1[1] },
          { conversation_id: 'conv-2', last_seq: c2[0], last_event_seq: c2[1] },
          { conversation_id: 'untracked', last_seq: 99, last_event_seq: 9 },
        ],
        user_seq: userSeq,
        global_seq: globalSeq,
      });
    expect(tracker.accept(positions([10, 3], [7, 0], 2, 5))).toHaveLength(1);
    expect(resumes).toEqual([]);
    tracker.accept(positions([12, 3], [7, 0], 3, 5));
    expect(resumes).toEqual([
      { conversations: [{ conversation_id: C, last_seq: 10, last_event_seq: 3 }], user_seq: 2 },
    ]);
    // Asked already and not answered yet: not again.
    tracker.accept(positions([12, 3], [7, 0], 3, 5));
    expect(resumes).toHaveLength(1);
    expect(tracker.stats().gapRepairs).toBe(2);
  });

  it('after a reload answer hands over what it held and reports the conversation', () => {
    const { tracker, reloads, seqs } = make();
    tracker.track(C, { lastSeq: 1 });
    tracker.accept(message(900));
    const resumed = serverFrame('resumed', {
      request_id: null,
      conversations: [{ conversation_id: C, status: 'reload', replayed_messages: 0, replayed_events: 0 }],
    });
    expect(seqs(tracker.accept(resumed))).toEqual([900, 'resumed']);
    expect(reloads).toEqual([{ conversationId: C, stream: 'conversation' }]);
    expect(seqs(tracker.accept(message(901)))).toEqual([901]);
  });

  it('on connect adopts the server stream ends the first time and resumes from its own positions after', () => {
    const { tracker, resumes } = make();
    tracker.connected({ userSeq: 7, globalSeq: 3 });
    tracker.track(C, { lastSeq: 12, lastEventSeq: 4 });
    tracker.connected({ userSeq: 9, globalSeq: 5 });
    expect(resumes).toEqual([
      { conversations: [], user_seq: 7, global_seq: 3 },
      { conversations: [{ conversation_id: C, last_seq: 12, last_event_seq: 4 }], user_seq: 7, global_seq: 3 },
    ]);
  });

  it('starts an untracked conversation at its first frame, and never waits on global notices (they may skip numbers)', () => {
    const { tracker, resumes, seqs } = make();
    expect(seqs(tracker.accept(message(40, 'other')))).toEqual([40]);
    expect(seqs(tracker.accept(message(41, 'other')))).toEqual([41]);
    const notice = (seq: number) =>
      serverFrame('system_notification', {
        conversation_id: null,
        title: 't',
        message: 'm',
        type: 'x',
        global_seq: seq,
        event_id: `g-${seq}`,
      });
    tracker.connected({ userSeq: 0, globalSeq: 10 });
    expect(tracker.accept(notice(13))).toHaveLength(1);
    expect(tracker.accept(notice(13))).toEqual([]);
    expect(resumes).toHaveLength(1); // only the connect's own resume, no gap repair
  });

  it('passes ephemeral frames through untouched', () => {
    const { tracker } = make();
    const typing = serverFrame('typing_status', { conversation_id: C, user_id: 'u2', is_typing: true });
    expect(tracker.accept(typing)).toEqual([typing]);
    expect(tracker.accept(typing)).toEqual([typing]);
  });
});

describe('DeliveryTracker and our own sends', () => {
  const ack = (seq: number) =>
    serverFrame('ack', {
      request_id: null,
      message_id: `own-${seq}`,
      conversation_id: C,
      seq,
      client_message_id: `c-${seq}`,
      duplicate: false,
      created_at: new Date(0).toISOString(),
    });

  it('takes the seq of an acked own message as delivered, so the next message from others is not a gap', () => {
    const { tracker, resumes, seqs } = make();
    tracker.track(C, { lastSeq: 3 });
    expect(seqs(tracker.accept(ack(4)))).toEqual(['ack']);
    expect(seqs(tracker.accept(message(5)))).toEqual([5]);
    expect(resumes).toEqual([]);
    // The same message replayed later (it is ours) is a duplicate, not new.
    expect(seqs(tracker.accept(message(4)))).toEqual([]);
  });

  it('fills a held gap with an own message that was acked late', () => {
    const { tracker, seqs } = make();
    tracker.track(C, { lastSeq: 3 });
    expect(seqs(tracker.accept(message(5)))).toEqual([]);
    expect(seqs(tracker.accept(ack(4)))).toEqual(['ack', 5]);
  });
});
