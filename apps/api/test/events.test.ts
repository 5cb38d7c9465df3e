import { describe, expect, it } from 'vitest';
import { type AppEventMap, TypedEvents } from '../src/events.ts';
import type { ConnectionInfo } from '../src/realtime/types.ts';

interface TestMap {
  ping: { n: number };
  pong: { text: string };
}

type ReportedError = { error: unknown; event: string };

function setup() {
  const errors: ReportedError[] = [];
  const events = new TypedEvents<TestMap>({ onListenerError: (error, event) => errors.push({ error, event }) });
  return { events, errors };
}

describe('TypedEvents', () => {
  it('calls the listeners of an event in registration order with the payload', () => {
    const { events } = setup();
    const seen: string[] = [];
    events.on('ping', ({ n }) => seen.push(`first ${n}`));
    events.on('ping', ({ n }) => seen.push(`second ${n}`));
    events.on('pong', () => seen.push('pong listener'));
    events.emit('ping', { n: 1 });
    expect(seen).toEqual(['first 1', 'second 1']);
  });

  it('stops calling a listener after its unsubscribe function runs, and unsubscribing twice is harmless', () => {
    const { events } = setup();
    const seen: number[] = [];
    const off = events.on('ping', ({ n }) => seen.push(n));
    events.emit('ping', { n: 1 });
    off();
    off();
    events.emit('ping', { n: 2 });
    expect(seen).toEqual([1]);
    expect(events.listenerCount('ping')).toBe(0);
  });

  it('calls a once listener a single time, even when it re-emits the same event', () => {
    const { events } = setup();
    const seen: number[] = [];
    events.once('ping', ({ n }) => {
      seen.push(n);
      events.emit('ping', { n: n + 1 });
    });
    events.emit('ping', { n: 1 });
    events.emit('ping', { n: 10 });
    expect(seen).toEqual([1]);
    expect(events.listenerCount('ping')).toBe(0);
  });

  it('lets a once listener be cancelled before it fires', () => {
    const { events } = setup();
    const seen: number[] = [];
    const off = events.once('ping', ({ n }) => seen.push(n));
    off();
    events.emit('ping', { n: 1 });
    expect(seen).toEqual([]);
  });

  it('counts listeners per event, including the same function registered twice', () => {
    const { events } = setup();
    const listener = () => {};
    events.on('ping', listener);
    events.on('ping', listener);
    events.once('pong', () => {});
    expect(events.listenerCount('ping')).toBe(2);
    expect(events.listenerCount('pong')).toBe(1);
  });

  it('removeAll drops every listener of every event', () => {
    const { events } = setup();
    const seen: string[] = [];
    events.on('ping', () => seen.push('ping'));
    events.on('pong', () => seen.push('pong'));
    events.removeAll();
    events.emit('ping', { n: 1 });
    events.emit('pong', { text: 'x' });
    expect(seen).toEqual([]);
    expect(events.listenerCount('ping')).toBe(0);
  });

  it('keeps calling the other listeners when one throws, and reports the error with the event name', () => {
    const { events, errors } = setup();
    const seen: string[] = [];
    const boom = new Error('listener bug');
    events.on('ping', () => seen.push('before'));
    events.on('ping', () => {
      throw boom;
    });
    events.on('ping', () => seen.push('after'));
    expect(() => events.emit('ping', { n: 1 })).not.toThrow();
    expect(seen).toEqual(['before', 'after']);
    expect(errors).toEqual([{ error: boom, event: 'ping' }]);
  });

  it('reports the rejection of an async listener instead of leaving it unhandled', async () => {
    const rejection = new Error('async listener bug');
    let reported: (value: ReportedError) => void = () => {};
    const reportedOnce = new Promise<ReportedError>((resolve) => {
      reported = resolve;
    });
    const events = new TypedEvents<TestMap>({ onListenerError: (error, event) => reported({ error, event }) });
    events.on('pong', async () => {
      throw rejection;
    });
    events.emit('pong', { text: 'x' });
    await expect(reportedOnce).resolves.toEqual({ error: rejection, event: 'pong' });
  });

  it('does not call listeners added during an emit until the next emit, and skips ones removed during it', () => {
    const { events } = setup();
    const seen: string[] = [];
    let offSecond: () => void = () => {};
    events.on('ping', ({ n }) => {
      seen.push(`first ${n}`);
      offSecond();
      events.on('ping', ({ n: m }) => seen.push(`added ${m}`));
    });
    offSecond = events.on('ping', ({ n }) => seen.push(`second ${n}`));
    events.emit('ping', { n: 1 });
    expect(seen).toEqual(['first 1']);
  });

  it('types the application event map: names and payloads are checked at compile time', () => {
    const events = new TypedEvents<AppEventMap>({ onListenerError: () => {} });
    const connection: ConnectionInfo = {
      connectionId: 'c1',
      userId: 'u1',
      role: 'customer',
      deviceType: 'mobile',
      connectionType: 'chat',
      instanceId: 'i1',
      connectedAt: new Date(0),
    };
    const closed: Array<{ code: number; reason: string }> = [];
    events.on('connection.closed', ({ code, reason }) => closed.push({ code, reason }));
    events.emit('connection.closed', { connection, code: 1000, reason: 'bye' });
    // @ts-expect-error unknown event names are rejected
    events.emit('connection.lost', { connection });
    // @ts-expect-error payload must match the event
    events.emit('message.created', { id: 'm1' });
    expect(closed).toEqual([{ code: 1000, reason: 'bye' }]);
  });
});
