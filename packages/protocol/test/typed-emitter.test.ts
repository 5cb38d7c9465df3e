/**
 * The shared TypedEmitter's own guarantees beyond apps/api/test/events.test.ts (which runs it as
 * the API's TypedEvents) and packages/client/test/handlers.test.ts (as the client's registry).
 */
import { describe, expect, it } from 'vitest';
import { TypedEmitter } from '../src/typed-emitter.ts';

interface Map {
  ping: number;
  pong: string;
}

describe('TypedEmitter', () => {
  it('counts the listeners of one event, or of all events when none is named', () => {
    const emitter = new TypedEmitter<Map>({ onListenerError: () => {} });
    const offPing = emitter.on('ping', () => {});
    emitter.on('ping', () => {});
    emitter.once('pong', () => {});
    expect([emitter.listenerCount('ping'), emitter.listenerCount('pong'), emitter.listenerCount()]).toEqual([2, 1, 3]);
    offPing();
    emitter.emit('pong', 'x');
    expect(emitter.listenerCount()).toBe(1);
  });

  it('hands a throwing reporter to onReporterError with the listener error, and keeps calling the others', () => {
    const seen: unknown[] = [];
    const listenerError = new Error('listener broken');
    const reporterError = new Error('reporter broken');
    const emitter = new TypedEmitter<Map>({
      onListenerError: () => {
        throw reporterError;
      },
      onReporterError: (reporter, listener, event) => seen.push(reporter, listener, event),
    });
    const after: number[] = [];
    emitter.on('ping', () => {
      throw listenerError;
    });
    emitter.on('ping', (n) => after.push(n));
    expect(() => emitter.emit('ping', 7)).not.toThrow();
    expect(seen).toEqual([reporterError, listenerError, 'ping']);
    expect(after).toEqual([7]);
  });

  it('keeps two registrations of one function apart: removing one leaves the other', () => {
    const emitter = new TypedEmitter<Map>({ onListenerError: () => {} });
    const calls: number[] = [];
    const listener = (n: number) => {
      calls.push(n);
    };
    const off = emitter.on('ping', listener);
    emitter.on('ping', listener);
    off();
    emitter.emit('ping', 1);
    expect(calls).toEqual([1]);
  });
});
