import { describe, expect, it } from 'vitest';
import { MemoryBusHub } from '../../src/realtime/bus/memory.ts';
import type { Envelope } from '../../src/realtime/types.ts';
import { describeBusContract } from './bus-contract.ts';
import { EnvelopeRecorder } from './envelope-recorder.ts';

describeBusContract('memory', async () => {
  const hub = new MemoryBusHub();
  const buses = [hub.createBus('instance-a'), hub.createBus('instance-b'), hub.createBus('instance-c')] as const;
  return {
    buses: [buses[0], buses[1], buses[2]],
    cleanup: async () => {
      await Promise.all(buses.map((bus) => bus.close()));
    },
  };
});

const env = (frame: string): Envelope => ({ frame, origin: 'instance-a' });

describe('MemoryBus specifics', () => {
  it('counts publishes and handler invocations per instance', async () => {
    const hub = new MemoryBusHub();
    const a = hub.createBus('a');
    const b = hub.createBus('b');
    const ra = new EnvelopeRecorder('a').attach(a);
    const rb = new EnvelopeRecorder('b').attach(b);
    await Promise.all([a.subscribeUser('u1'), a.subscribeUser('u2'), b.subscribeUser('u2')]);
    await a.publishToUsers(['u1', 'u2'], env('one'));
    await a.publishToUsers(['nobody'], env('lost'));
    await b.publishToAll(env('all'));
    await Promise.all([ra.waitForCount(2), rb.waitForCount(2)]);
    expect(a.stats()).toEqual({ published: 2, received: 2 });
    expect(b.stats()).toEqual({ published: 1, received: 2 });
  });

  it('drops a delivery already queued for an instance that closes before it runs', async () => {
    const hub = new MemoryBusHub();
    const a = hub.createBus('a');
    const c = hub.createBus('c');
    const ra = new EnvelopeRecorder('a').attach(a);
    const rc = new EnvelopeRecorder('c').attach(c);
    await Promise.all([a.subscribeUser('u1'), c.subscribeUser('u1')]);
    const publishing = a.publishToUsers(['u1'], env('in-flight'));
    const closing = c.close();
    await Promise.all([publishing, closing]);
    await ra.waitForFrame('in-flight');
    expect(rc.calls).toEqual([]);
    expect(c.stats().received).toBe(0);
  });

  it('drops a user listed twice within one publish but delivers them again on every later publish', async () => {
    const hub = new MemoryBusHub();
    const a = hub.createBus('a');
    const b = hub.createBus('b');
    const ra = new EnvelopeRecorder('a').attach(a);
    const rb = new EnvelopeRecorder('b').attach(b);
    await Promise.all([a.subscribeUser('u1'), a.subscribeUser('u2'), b.subscribeUser('u1')]);
    // Subscribing twice is harmless too (the caller reference-counts, but a repeat must not reset anything).
    await a.subscribeUser('u1');
    for (const frame of ['p1', 'p2', 'p3']) await a.publishToUsers(['u1', 'u2', 'u1', 'u2'], env(frame));
    await Promise.all([ra.waitForCount(3), rb.waitForCount(3)]);
    expect(ra.calls.map((c) => [c.envelope.frame, c.targets])).toEqual([
      ['p1', ['u1', 'u2']],
      ['p2', ['u1', 'u2']],
      ['p3', ['u1', 'u2']],
    ]);
    expect(rb.calls.map((c) => [c.envelope.frame, c.targets])).toEqual([
      ['p1', ['u1']],
      ['p2', ['u1']],
      ['p3', ['u1']],
    ]);
  });

  it('decides targets at publish time: a later change to the recipient list does not leak', async () => {
    const hub = new MemoryBusHub();
    const a = hub.createBus('a');
    const ra = new EnvelopeRecorder('a').attach(a);
    await Promise.all([a.subscribeUser('u1'), a.subscribeUser('u2')]);
    const userIds = ['u1'];
    const publishing = a.publishToUsers(userIds, env('f'));
    userIds.push('u2');
    await publishing;
    await ra.waitForCount(1);
    expect(ra.calls[0]?.targets).toEqual(['u1']);
  });

  it('snapshots the envelope at publish time so later mutation by the publisher does not leak', async () => {
    const hub = new MemoryBusHub();
    const a = hub.createBus('a');
    const ra = new EnvelopeRecorder('a').attach(a);
    await a.subscribeUser('u1');
    const deviceTypes: Envelope['deviceTypes'] & string[] = ['mobile'];
    const published: Envelope = { frame: 'f', origin: 'a', deviceTypes };
    const publishing = a.publishToUsers(['u1'], published);
    published.frame = 'mutated';
    deviceTypes.push('desktop');
    await publishing;
    await ra.waitForCount(1);
    expect(ra.calls[0]?.envelope).toEqual({ frame: 'f', origin: 'a', deviceTypes: ['mobile'] });
  });

  it('reports a throwing handler to onHandlerError and keeps delivering to other instances', async () => {
    const errors: Array<{ error: unknown; instanceId: string }> = [];
    const hub = new MemoryBusHub({ onHandlerError: (error, instanceId) => errors.push({ error, instanceId }) });
    const faulty = hub.createBus('faulty');
    const healthy = hub.createBus('healthy');
    faulty.onEnvelope(() => {
      throw new Error('handler bug');
    });
    const rh = new EnvelopeRecorder('healthy').attach(healthy);
    await faulty.publishToAll(env('x'));
    await faulty.publishToAll(env('y'));
    await rh.waitForCount(2);
    expect(errors.map((e) => [e.instanceId, (e.error as Error).message])).toEqual([
      ['faulty', 'handler bug'],
      ['faulty', 'handler bug'],
    ]);
  });

  it('refuses a second envelope handler with an explicit error', () => {
    const bus = new MemoryBusHub().createBus('a');
    bus.onEnvelope(() => {});
    expect(() => bus.onEnvelope(() => {})).toThrow(
      'bus a already has an envelope handler; register exactly one receiver',
    );
  });

  it('rejects subscribe and unsubscribe after close', async () => {
    const bus = new MemoryBusHub().createBus('a');
    await bus.close();
    await expect(bus.subscribeUser('u1')).rejects.toThrow('bus is closed');
    await expect(bus.unsubscribeUser('u1')).rejects.toThrow('bus is closed');
  });
});
