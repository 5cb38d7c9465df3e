/**
 * The Presence contract (see src/realtime/presence/presence.ts), run against every
 * implementation: memory now, Redis later. Uses only the Presence interface. The factory
 * must return two presences sharing one EMPTY backend (two simulated instances); stats are
 * asserted exactly, so a Redis fixture needs its own key prefix.
 */
import { DEVICE_TYPES, type DeviceType, ROLES, type Role } from '@anmei/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Presence, PresenceChange } from '../../src/realtime/presence/presence.ts';
import type { ConnectionInfo } from '../../src/realtime/types.ts';

export interface PresenceFixture {
  presences: [Presence, Presence];
  cleanup(): Promise<void>;
}

const T0 = Date.UTC(2025, 0, 1, 8, 0, 0);

function connection(connectionId: string, overrides: Partial<ConnectionInfo> = {}): ConnectionInfo {
  return {
    connectionId,
    userId: 'customer_456',
    role: 'customer',
    deviceType: 'mobile',
    connectionType: 'chat',
    instanceId: 'instance-1',
    connectedAt: new Date(T0),
    ...overrides,
  };
}

/** `seconds` after T0, so tests control "oldest first" without relying on the clock. */
function at(seconds: number): Date {
  return new Date(T0 + seconds * 1000);
}

function counts<K extends string>(keys: readonly K[], nonZero: Partial<Record<K, number>>): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, nonZero[key] ?? 0])) as Record<K, number>;
}

/** Every change one listener heard, and a wait for the marker user's arrival (changes come in order). */
async function listenTo(
  presence: Presence,
): Promise<{ heard: PresenceChange[]; untilOnline(userId: string): Promise<void>; stop(): void }> {
  const heard: PresenceChange[] = [];
  const waiters: Array<() => void> = [];
  const stop = await presence.onChange((change) => {
    heard.push(change);
    for (const wake of waiters.splice(0)) wake();
  });
  return {
    heard,
    stop,
    async untilOnline(userId) {
      const deadline = Date.now() + 5_000;
      while (!heard.some((c) => c.userId === userId && c.online)) {
        if (Date.now() > deadline)
          throw new Error(`no "${userId} came online" change within 5 s; heard ${JSON.stringify(heard)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
      }
    },
  };
}

const up = (userId: string): PresenceChange => ({ userId, online: true });
const down = (userId: string): PresenceChange => ({ userId, online: false });

export function describePresenceContract(name: string, factory: () => Promise<PresenceFixture>): void {
  describe(`Presence contract: ${name}`, () => {
    let fixture: PresenceFixture;
    let p1: Presence;
    let p2: Presence;

    beforeEach(async () => {
      fixture = await factory();
      [p1, p2] = fixture.presences;
    });

    afterEach(async () => {
      await fixture.cleanup();
    });

    it('lists a connection added on one instance from the other, with every field intact', async () => {
      const c1 = connection('c1', { connectedAt: new Date(T0 + 123) });
      await p1.add(c1);
      expect(await p2.devicesOf('customer_456')).toEqual([c1]);
      expect(await p1.devicesOf('customer_456')).toEqual([c1]);
    });

    it('returns no devices for an unknown user', async () => {
      expect(await p1.devicesOf('nobody')).toEqual([]);
    });

    it('removes a connection, and treats removing an unknown id as a no-op', async () => {
      await p1.add(connection('c1'));
      await p1.add(connection('c2', { deviceType: 'desktop', connectedAt: at(1) }));
      await p2.remove('c1');
      await p2.remove('never-added');
      const devices = await p1.devicesOf('customer_456');
      expect(devices.map((d) => d.connectionId)).toEqual(['c2']);
    });

    it('lists devices oldest first whatever the order they were added in', async () => {
      await p1.add(connection('newest', { connectedAt: at(30) }));
      await p2.add(connection('oldest', { connectedAt: at(10), instanceId: 'instance-2' }));
      await p1.add(connection('middle', { connectedAt: at(20), deviceType: 'tablet' }));
      const devices = await p2.devicesOf('customer_456');
      expect(devices.map((d) => d.connectionId)).toEqual(['oldest', 'middle', 'newest']);
    });

    it('keeps a user online while any connection remains and offline after the last one goes', async () => {
      await p1.add(connection('c1'));
      await p2.add(connection('c2', { instanceId: 'instance-2', connectedAt: at(1) }));
      expect(await p1.isOnline('customer_456')).toBe(true);
      await p1.remove('c1');
      expect(await p2.isOnline('customer_456')).toBe(true);
      await p2.remove('c2');
      expect(await p1.isOnline('customer_456')).toBe(false);
      expect(await p1.isOnline('never-seen')).toBe(false);
    });

    it('answers onlineAmong for many users at once, ignoring unknown and repeated ids', async () => {
      const users = Array.from({ length: 60 }, (_, i) => `user-${i}`);
      const online = users.filter((_, i) => i % 3 === 0);
      await Promise.all(
        online.map((userId, i) =>
          (i % 2 === 0 ? p1 : p2).add(connection(`conn-${userId}`, { userId, instanceId: `instance-${(i % 2) + 1}` })),
        ),
      );
      const asked = [...users, 'ghost', 'user-0', 'user-0'];
      expect(await p1.onlineAmong(asked)).toEqual(new Set(online));
      expect(await p2.onlineAmong([])).toEqual(new Set());
    });

    it('reports zero counts for every device type and role when nobody is connected', async () => {
      expect(await p1.stats()).toEqual({
        connections: 0,
        users: 0,
        byDeviceType: counts<DeviceType>(DEVICE_TYPES, {}),
        byRole: counts<Role>(ROLES, {}),
        byInstance: {},
      });
    });

    it('counts connections by device type, role and instance, and distinct users', async () => {
      await p1.add(connection('c1', { userId: 'cust', role: 'customer', deviceType: 'mobile' }));
      await p1.add(connection('c2', { userId: 'cust', role: 'customer', deviceType: 'desktop', connectedAt: at(1) }));
      await p2.add(
        connection('c3', { userId: 'doc', role: 'doctor', deviceType: 'desktop', instanceId: 'instance-2' }),
      );
      await p2.add(
        connection('c4', {
          userId: 'adm',
          role: 'admin',
          deviceType: 'desktop',
          connectionType: 'admin',
          instanceId: 'instance-2',
        }),
      );
      expect(await p2.stats()).toEqual({
        connections: 4,
        users: 3,
        byDeviceType: counts<DeviceType>(DEVICE_TYPES, { mobile: 1, desktop: 3 }),
        byRole: counts<Role>(ROLES, { customer: 2, doctor: 1, admin: 1 }),
        byInstance: { 'instance-1': 2, 'instance-2': 2 },
      });
    });

    it("removeInstance removes only that instance's connections and returns how many", async () => {
      await p1.add(connection('a1', { userId: 'both', instanceId: 'instance-1' }));
      await p1.add(connection('a2', { userId: 'only-on-1', instanceId: 'instance-1' }));
      await p2.add(connection('b1', { userId: 'both', instanceId: 'instance-2', connectedAt: at(5) }));
      expect(await p2.removeInstance('instance-1')).toBe(2);
      expect(await p2.removeInstance('instance-1')).toBe(0);
      expect(await p1.onlineAmong(['both', 'only-on-1'])).toEqual(new Set(['both']));
      expect((await p1.devicesOf('both')).map((d) => d.connectionId)).toEqual(['b1']);
      const stats = await p1.stats();
      expect(stats.byInstance).toEqual({ 'instance-2': 1 });
      expect(stats.connections).toBe(1);
    });

    it('tracks one user on two devices connected to two instances', async () => {
      const phone = connection('phone', { instanceId: 'instance-1', deviceType: 'mobile', connectedAt: at(1) });
      const laptop = connection('laptop', { instanceId: 'instance-2', deviceType: 'desktop', connectedAt: at(2) });
      await p1.add(phone);
      await p2.add(laptop);
      expect(await p1.devicesOf('customer_456')).toEqual([phone, laptop]);
      expect(await p2.devicesOf('customer_456')).toEqual([phone, laptop]);
      const stats = await p1.stats();
      expect(stats.users).toBe(1);
      expect(stats.connections).toBe(2);
      await p2.remove('laptop');
      expect(await p1.devicesOf('customer_456')).toEqual([phone]);
      expect(await p2.isOnline('customer_456')).toBe(true);
    });

    it("reports a user's first connection as online and their last one's removal as offline, to every instance", async () => {
      const [heard1, heard2] = [await listenTo(p1), await listenTo(p2)];
      await p1.add(connection('phone', { instanceId: 'instance-1' }));
      await p2.add(connection('laptop', { instanceId: 'instance-2' }));
      await p1.remove('phone');
      await p2.remove('laptop');
      await p1.add(connection('marker', { userId: 'marker' }));
      await Promise.all([heard1.untilOnline('marker'), heard2.untilOnline('marker')]);
      const expected = [up('customer_456'), down('customer_456'), up('marker')];
      expect(heard1.heard).toEqual(expected);
      expect(heard2.heard).toEqual(expected);
    });

    it('reports the users removeInstance took offline, and a re-registered connection as no change', async () => {
      const heard = await listenTo(p1);
      await p1.add(connection('gone', { userId: 'on_dead_instance', instanceId: 'instance-1' }));
      await p1.add(connection('stays', { userId: 'on_live_instance', instanceId: 'instance-2' }));
      await p1.add(connection('stays', { userId: 'on_live_instance', instanceId: 'instance-2' }));
      await p2.removeInstance('instance-1');
      await p2.add(connection('marker', { userId: 'marker' }));
      await heard.untilOnline('marker');
      expect(heard.heard).toEqual([
        up('on_dead_instance'),
        up('on_live_instance'),
        down('on_dead_instance'),
        up('marker'),
      ]);
    });

    it('registers many connections added in one turn exactly, with one `up` per user in call order', async () => {
      // More connections than one Redis script call carries (RedisPresence batches a turn's adds).
      const heard = await listenTo(p2);
      const users = Array.from({ length: 300 }, (_, u) => `batch_user_${u}`);
      await Promise.all(
        users.flatMap((userId, u) => [
          p1.add(connection(`${userId}_phone`, { userId, connectedAt: at(u) })),
          p1.add(
            connection(`${userId}_laptop`, {
              userId,
              deviceType: 'desktop',
              role: u % 2 === 0 ? 'customer' : 'doctor',
              connectedAt: at(u + 1000),
            }),
          ),
        ]),
      );
      await p1.add(connection('marker', { userId: 'marker', instanceId: 'instance-2' }));
      await heard.untilOnline('marker');
      expect(heard.heard).toEqual([...users.map(up), up('marker')]);
      expect((await p2.devicesOf('batch_user_7')).map((d) => d.connectionId)).toEqual([
        'batch_user_7_phone',
        'batch_user_7_laptop',
      ]);
      expect(await p2.stats()).toEqual({
        connections: 601,
        users: 301,
        byDeviceType: counts(DEVICE_TYPES, { mobile: 301, desktop: 300 }),
        byRole: counts(ROLES, { customer: 451, doctor: 150 }),
        byInstance: { 'instance-1': 600, 'instance-2': 1 },
      });
    });

    it('applies the adds and removes of one turn in call order, a reused id moving to another user included', async () => {
      const heard = await listenTo(p2);
      await Promise.all([
        p1.add(connection('a')),
        p1.remove('a'),
        p1.add(connection('b', { connectedAt: at(1) })),
        p1.add(connection('x', { userId: 'first_owner' })),
        p1.add(connection('x', { userId: 'second_owner', deviceType: 'desktop' })),
      ]);
      await p1.add(connection('marker', { userId: 'marker' }));
      await heard.untilOnline('marker');
      expect(heard.heard).toEqual([
        up('customer_456'),
        down('customer_456'),
        up('customer_456'),
        up('first_owner'),
        down('first_owner'),
        up('second_owner'),
        up('marker'),
      ]);
      expect((await p2.devicesOf('customer_456')).map((d) => d.connectionId)).toEqual(['b']);
      expect(await p2.devicesOf('first_owner')).toEqual([]);
      expect((await p2.devicesOf('second_owner')).map((d) => d.deviceType)).toEqual(['desktop']);
      expect((await p2.stats()).connections).toBe(3);
    });

    it("answers many devicesOf of one turn each with its own user's connections, a repeated and an unknown user included", async () => {
      // More users than one Redis script call carries (RedisPresence batches a turn's reads).
      const users = Array.from({ length: 300 }, (_, u) => `reader_${u}`);
      await Promise.all(
        users.flatMap((userId, u) => [
          p1.add(connection(`${userId}_laptop`, { userId, deviceType: 'desktop', connectedAt: at(u + 1000) })),
          p1.add(connection(`${userId}_phone`, { userId, instanceId: 'instance-2', connectedAt: at(u) })),
        ]),
      );
      const asked = [...users, 'nobody', 'reader_7'];
      const answers = await Promise.all(asked.map((userId) => p2.devicesOf(userId)));
      answers.forEach((devices, i) => {
        const userId = asked[i]!;
        expect(devices.map((d) => d.connectionId)).toEqual(
          userId === 'nobody' ? [] : [`${userId}_phone`, `${userId}_laptop`],
        );
        for (const d of devices) expect(d.userId).toBe(userId);
      });
      expect(answers.at(-1)).toEqual(answers[7]);
    });

    it('shows a devicesOf asked right after an add and a remove of the same turn what they did', async () => {
      await p1.add(connection('old'));
      const [, , devices] = await Promise.all([
        p1.add(connection('new', { connectedAt: at(5) })),
        p1.remove('old'),
        p1.devicesOf('customer_456'),
      ]);
      expect(devices.map((d) => d.connectionId)).toEqual(['new']);
    });

    it('a stopped listener hears nothing more while another one still does', async () => {
      const stopped = await listenTo(p2);
      const still = await listenTo(p2);
      stopped.stop();
      await p1.add(connection('phone'));
      await p1.add(connection('marker', { userId: 'marker' }));
      await still.untilOnline('marker');
      expect(still.heard).toEqual([up('customer_456'), up('marker')]);
      expect(stopped.heard).toEqual([]);
    });
  });
}
