/**
 * Client heartbeat under fake timers with a separate, hand-moved wall clock, so a test can
 * make timers fire late the way a throttled background tab or a sleeping laptop does.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Heartbeat } from '../src/index.ts';

const INTERVAL = 45_000;
const TIMEOUT = 10_000;
let now = 0;
let pings: number[];
let timeouts: number;
let rtts: number[];

function heartbeat(): Heartbeat {
  return new Heartbeat({
    intervalMs: INTERVAL,
    timeoutMs: TIMEOUT,
    clock: { now: () => now },
    timers: { setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h) },
    sendPing: (ts) => {
      pings.push(ts);
      return true;
    },
    onTimeout: () => {
      timeouts += 1;
    },
    onRtt: (ms) => {
      rtts.push(ms);
    },
  });
}

/** Moves the wall clock and the timers together (a foreground tab). */
function elapse(ms: number): void {
  now += ms;
  vi.advanceTimersByTime(ms);
}

beforeEach(() => {
  vi.useFakeTimers();
  now = 1_000_000;
  pings = [];
  timeouts = 0;
  rtts = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe('heartbeat', () => {
  it('pings after heartbeatInterval (45 s) of silence, not before', () => {
    const hb = heartbeat();
    hb.start();
    elapse(INTERVAL - 1);
    expect(pings).toEqual([]);
    elapse(1);
    expect(pings).toEqual([now]);
  });

  it('any inbound frame proves liveness and postpones the ping', () => {
    const hb = heartbeat();
    hb.start();
    elapse(30_000);
    hb.received();
    elapse(30_000);
    expect(pings).toEqual([]);
    elapse(15_000);
    expect(pings).toHaveLength(1);
  });

  it('times out when nothing arrives within heartbeatTimeout of a ping', () => {
    const hb = heartbeat();
    hb.start();
    elapse(INTERVAL);
    elapse(TIMEOUT - 1);
    expect(timeouts).toBe(0);
    elapse(1);
    expect(timeouts).toBe(1);
    expect(hb.running).toBe(false);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('a pong echoing the ping gives the RTT, and the next ping is an interval later', () => {
    const hb = heartbeat();
    hb.start();
    elapse(INTERVAL);
    const ts = pings[0]!;
    elapse(120);
    hb.received(ts);
    expect(rtts).toEqual([120]);
    elapse(INTERVAL - 1);
    expect(pings).toHaveLength(1);
    elapse(1);
    expect(pings).toHaveLength(2);
    expect(timeouts).toBe(0);
  });

  it('a timer that fires long after it was due (throttled or suspended page) pings again instead of timing out', () => {
    const hb = heartbeat();
    hb.start();
    elapse(INTERVAL);
    expect(pings).toHaveLength(1);
    // The page sleeps for 10 minutes: the wall clock jumps, the timeout timer fires only now.
    now += 10 * 60_000;
    vi.advanceTimersByTime(TIMEOUT);
    expect(timeouts).toBe(0);
    expect(pings).toHaveLength(2);
    // A fresh timeout for the new ping: the answer arrives and all is well.
    elapse(500);
    hb.received(pings[1]);
    elapse(TIMEOUT);
    expect(timeouts).toBe(0);
  });

  it('a late timer still times out if the peer stays silent after the fresh ping', () => {
    const hb = heartbeat();
    hb.start();
    elapse(INTERVAL);
    now += 5 * 60_000;
    vi.advanceTimersByTime(TIMEOUT);
    elapse(TIMEOUT);
    expect(timeouts).toBe(1);
  });

  it('probe() pings at once; stop() leaves no timer', () => {
    const hb = heartbeat();
    hb.start();
    hb.probe();
    expect(pings).toEqual([now]);
    hb.stop();
    expect(vi.getTimerCount()).toBe(0);
    elapse(10 * INTERVAL);
    expect(timeouts).toBe(0);
  });
});
