/** Handler registry and typed emitter: typed by action, isolated from each other, unsubscribable. */
import { describe, expect, it } from 'vitest';
import { HandlerRegistry } from '../src/handler-registry.ts';
import type { UiFrame } from '../src/index.ts';

const pong = (ts: number): UiFrame => ({
  action: 'pong',
  data: { ts, serverTime: new Date(0) },
  timestamp: new Date(0),
});

describe('HandlerRegistry', () => {
  it('calls the handlers of the action and then the * handlers, in registration order', () => {
    const calls: string[] = [];
    const registry = new HandlerRegistry(() => undefined);
    registry.on('pong', (f) => {
      calls.push(`pong ${f.data.ts}`);
    });
    registry.on('new_message', () => {
      calls.push('wrong action');
    });
    registry.on('*', (f) => {
      calls.push(`* ${f.action}`);
    });
    registry.dispatch(pong(1));
    expect(calls).toEqual(['pong 1', '* pong']);
  });

  it('reports a throwing or rejecting handler and still runs the others', async () => {
    const reported: Array<[string, string]> = [];
    const registry = new HandlerRegistry((error, action) => reported.push([String(action), (error as Error).message]));
    let healthy = 0;
    registry.on('pong', () => {
      throw new Error('sync boom');
    });
    registry.on('pong', async () => {
      throw new Error('async boom');
    });
    registry.on('pong', () => {
      healthy += 1;
    });
    registry.dispatch(pong(1));
    registry.dispatch(pong(2));
    await Promise.resolve();
    expect(healthy).toBe(2);
    expect(reported).toEqual([
      ['pong', 'sync boom'],
      ['pong', 'sync boom'],
      ['pong', 'async boom'],
      ['pong', 'async boom'],
    ]);
  });

  it('unsubscribe is idempotent and registering one function twice gives two subscriptions', () => {
    const registry = new HandlerRegistry(() => undefined);
    let calls = 0;
    const handler = () => {
      calls += 1;
    };
    const off1 = registry.on('pong', handler);
    registry.on('pong', handler);
    registry.dispatch(pong(1));
    off1();
    off1();
    registry.dispatch(pong(2));
    expect(calls).toBe(3);
    expect(registry.count('pong')).toBe(1);
  });
});

describe('the shared TypedEmitter under the registry', () => {
  it('falls back to console.error when the error reporter itself throws', () => {
    const registry = new HandlerRegistry(() => {
      throw new Error('reporter broken');
    });
    const original = console.error;
    const logged: unknown[] = [];
    console.error = (...args: unknown[]) => logged.push(args[0]);
    try {
      registry.on('pong', () => {
        throw new Error('listener broken');
      });
      expect(() => registry.dispatch(pong(1))).not.toThrow();
    } finally {
      console.error = original;
    }
    expect(logged).toEqual(['@anmei/client: the error reporter itself threw']);
  });
});
