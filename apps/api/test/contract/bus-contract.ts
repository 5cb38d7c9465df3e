/**
 * The Bus contract (see src/realtime/bus/bus.ts), run against every implementation: memory
 * now, Redis later. Uses only the Bus interface. The factory must return three buses that
 * share one backend (three simulated instances) and nothing else subscribed.
 *
 * "Never delivered" is proven without sleeping: after the publish that must not arrive, the
 * same publisher sends a marker the instance DOES subscribe to; once the marker is there,
 * the first publish has been processed, and it must not be among what arrived.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Bus } from '../../src/realtime/bus/bus.ts';
import type { Envelope } from '../../src/realtime/types.ts';
import { EnvelopeRecorder } from './envelope-recorder.ts';

export interface BusFixture {
  buses: [Bus, Bus, Bus];
  cleanup(): Promise<void>;
}

function envelope(frame: string, extra: Partial<Envelope> = {}): Envelope {
  return { frame, origin: 'instance-a', ...extra };
}

export function describeBusContract(name: string, factory: () => Promise<BusFixture>): void {
  describe(`Bus contract: ${name}`, () => {
    let fixture: BusFixture;
    let a: Bus;
    let b: Bus;
    let c: Bus;
    let ra: EnvelopeRecorder;
    let rb: EnvelopeRecorder;
    let rc: EnvelopeRecorder;

    beforeEach(async () => {
      fixture = await factory();
      [a, b, c] = fixture.buses;
      ra = new EnvelopeRecorder('instance A').attach(a);
      rb = new EnvelopeRecorder('instance B').attach(b);
      rc = new EnvelopeRecorder('instance C').attach(c);
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('delivers to every instance that subscribed a recipient, including the publisher itself', async () => {
      await a.subscribeUser('u1');
      await b.subscribeUser('u1');
      await a.publishToUsers(['u1'], envelope('hello'));
      await Promise.all([ra.waitForFrame('hello'), rb.waitForFrame('hello')]);
      expect(ra.calls).toEqual([{ envelope: envelope('hello'), targets: ['u1'] }]);
      expect(rb.calls).toEqual([{ envelope: envelope('hello'), targets: ['u1'] }]);
    });

    it('never calls an instance that subscribed none of the recipients', async () => {
      await b.subscribeUser('u1');
      await c.subscribeUser('u2');
      await a.publishToUsers(['u1'], envelope('only-for-u1'));
      await a.publishToUsers(['u2'], envelope('marker-for-u2'));
      await Promise.all([rb.waitForFrame('only-for-u1'), rc.waitForFrame('marker-for-u2')]);
      expect(rc.frames()).toEqual(['marker-for-u2']);
      // A subscribed nobody: it must not have been called for either publish.
      await a.subscribeUser('u3');
      await b.publishToUsers(['u3'], envelope('marker-for-u3'));
      await ra.waitForFrame('marker-for-u3');
      expect(ra.frames()).toEqual(['marker-for-u3']);
    });

    it('delivers each publish once to each subscribed recipient of an instance, and nothing to others', async () => {
      await Promise.all([a.subscribeUser('u1'), a.subscribeUser('u2'), a.subscribeUser('u3')]);
      await Promise.all([b.subscribeUser('u3'), b.subscribeUser('u4')]);
      await c.publishToUsers(['u1', 'u2', 'u3', 'u4', 'u5', 'u1'], envelope('to-many'));
      // Same publisher, same users: the marker arrives after every copy of 'to-many'.
      await c.publishToUsers(['u1', 'u2', 'u3', 'u4'], envelope('marker'));
      await Promise.all([
        ra.waitFor('marker for u1-u3', () => ra.targetsOf('marker').length === 3),
        rb.waitFor('marker for u3-u4', () => rb.targetsOf('marker').length === 2),
      ]);

      expect(ra.distinctFrames()).toEqual(['to-many', 'marker']);
      expect(rb.distinctFrames()).toEqual(['to-many', 'marker']);
      // Grouped into one call (memory) or one call per target (Redis): each target exactly once.
      expect(ra.targetsOf('to-many')).toEqual(['u1', 'u2', 'u3']);
      expect(rb.targetsOf('to-many')).toEqual(['u3', 'u4']);
      expect(rc.calls).toEqual([]);
    });

    it('stops delivering to an instance once it has unsubscribed the user', async () => {
      await a.subscribeUser('u1');
      await b.subscribeUser('u1');
      await b.subscribeUser('u2');
      await b.unsubscribeUser('u1');
      await a.publishToUsers(['u1'], envelope('after-unsubscribe'));
      await a.publishToUsers(['u2'], envelope('marker-for-u2'));
      await Promise.all([ra.waitForFrame('after-unsubscribe'), rb.waitForFrame('marker-for-u2')]);
      expect(rb.frames()).toEqual(['marker-for-u2']);
    });

    it('keeps delivering a user to the other instances when one instance unsubscribes it', async () => {
      await a.subscribeUser('u1');
      await b.subscribeUser('u1');
      await a.unsubscribeUser('u1');
      await c.publishToUsers(['u1'], envelope('still-on-b'));
      await rb.waitForFrame('still-on-b');
      expect(rb.calls[0]?.targets).toEqual(['u1']);
    });

    it("publishToAll reaches every instance, including the publisher, with targets 'all'", async () => {
      await b.subscribeUser('u1');
      await a.publishToAll(envelope('maintenance'));
      await Promise.all([ra.waitForCount(1), rb.waitForCount(1), rc.waitForCount(1)]);
      for (const recorder of [ra, rb, rc]) {
        expect(recorder.calls).toEqual([{ envelope: envelope('maintenance'), targets: 'all' }]);
      }
    });

    it('preserves publish order for 100 publishes from one publisher to one user', async () => {
      await a.subscribeUser('u1');
      await b.subscribeUser('u1');
      const frames = Array.from({ length: 100 }, (_, i) => `msg-${i}`);
      // Not awaited one by one: order must hold even when publishes are in flight together.
      await Promise.all(frames.map((frame) => c.publishToUsers(['u1'], envelope(frame))));
      await Promise.all([ra.waitForCount(100), rb.waitForCount(100)]);
      expect(ra.frames()).toEqual(frames);
      expect(rb.frames()).toEqual(frames);
    });

    it("hands the publisher's own recipients over in a microtask: never inside the publish call, before any timer", async () => {
      await a.subscribeUser('u1');
      const toUser = a.publishToUsers(['u1'], envelope('own'));
      const toAll = a.publishToAll(envelope('own-all'));
      // Synchronous delivery would have recorded both by now.
      const afterTheCalls = ra.frames();
      // One microtask later (no timer and no I/O has run), both must be there, in publish order.
      await Promise.resolve();
      const oneMicrotaskLater = ra.frames();
      await Promise.all([toUser, toAll]);
      expect(afterTheCalls).toEqual([]);
      expect(oneMicrotaskLater).toEqual(['own', 'own-all']);
    });

    it('carries device and connection-type filters and the frame bytes intact', async () => {
      await b.subscribeUser('u1');
      const frame = JSON.stringify({ action: 'new_message', data: { content: '顾问回复 ✓ "quoted" \\ \n 😀' } });
      const filtered = envelope(frame, { deviceTypes: ['mobile', 'tablet'], connectionType: 'chat', origin: 'a-1' });
      const unfiltered = envelope('plain');
      await a.publishToUsers(['u1'], filtered);
      await a.publishToUsers(['u1'], unfiltered);
      await rb.waitForCount(2);
      expect(rb.calls[0]?.envelope).toEqual(filtered);
      expect(rb.calls[1]?.envelope).toEqual(unfiltered);
      expect(rb.calls[1]?.envelope.deviceTypes).toBeUndefined();
      expect(rb.calls[1]?.envelope.connectionType).toBeUndefined();
    });

    it('carries control messages to every instance with publishToAll', async () => {
      const control = { type: 'participants_changed' as const, conversationId: 'conv-1' };
      await a.publishToAll(envelope('', { control }));
      await Promise.all([ra.waitForCount(1), rb.waitForCount(1), rc.waitForCount(1)]);
      for (const recorder of [ra, rb, rc]) expect(recorder.calls[0]?.envelope.control).toEqual(control);
    });

    it('after close, the closed instance receives nothing and its own publishes reject', async () => {
      await Promise.all([a.subscribeUser('u1'), b.subscribeUser('u1'), c.subscribeUser('u1')]);
      await c.close();
      await a.publishToUsers(['u1'], envelope('after-close'));
      await a.publishToAll(envelope('all-after-close'));
      await Promise.all([rb.waitForFrame('after-close'), rb.waitForFrame('all-after-close')]);
      await ra.waitForFrame('all-after-close');
      expect(rc.calls).toEqual([]);

      await expect(c.publishToUsers(['u1'], envelope('from-closed'))).rejects.toThrow('bus is closed');
      await expect(c.publishToAll(envelope('from-closed'))).rejects.toThrow('bus is closed');
      // Closing twice is harmless (shutdown paths may overlap).
      await expect(c.close()).resolves.toBeUndefined();
    });
  });
}
