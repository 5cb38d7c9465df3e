import { describe, expect, it } from 'vitest';
import { MemoryPresenceStore } from '../../src/realtime/presence/memory.ts';
import { type ConnectionInfo, FrozenConnectionInfo } from '../../src/realtime/types.ts';
import { describePresenceContract } from './presence-contract.ts';

describePresenceContract('memory', async () => {
  const store = new MemoryPresenceStore();
  const presences = [store.createPresence(), store.createPresence()] as const;
  return {
    presences: [presences[0], presences[1]],
    cleanup: async () => {
      await Promise.all(presences.map((p) => p.close()));
    },
  };
});

const phone: ConnectionInfo = {
  connectionId: 'c1',
  userId: 'u1',
  role: 'customer',
  deviceType: 'mobile',
  connectionType: 'chat',
  instanceId: 'i1',
  connectedAt: new Date(0),
};

describe('MemoryPresence specifics', () => {
  it('hands out copies, so mutating a returned connection does not change the store', async () => {
    const presence = new MemoryPresenceStore().createPresence();
    await presence.add(phone);
    const [listed] = await presence.devicesOf('u1');
    listed!.deviceType = 'desktop';
    listed!.connectedAt.setTime(999);
    expect(await presence.devicesOf('u1')).toEqual([phone]);
  });

  it("stores the gateway's frozen record, which nobody can change, and still hands out plain copies", async () => {
    const presence = new MemoryPresenceStore().createPresence();
    const { connectedAt, ...fields } = phone;
    const frozen = new FrozenConnectionInfo(fields, connectedAt.getTime());
    await presence.add(frozen);
    expect(() => {
      (frozen as { deviceType: string }).deviceType = 'desktop';
    }).toThrow(TypeError);
    frozen.connectedAt.setTime(999);
    const [listed] = await presence.devicesOf('u1');
    expect(listed).toEqual(phone);
    expect(listed).not.toBeInstanceOf(FrozenConnectionInfo);
    listed!.connectedAt.setTime(999);
    expect(await presence.devicesOf('u1')).toEqual([phone]);
  });

  it('tracks a user going from one connection to two and back to one, oldest first', async () => {
    const presence = new MemoryPresenceStore().createPresence();
    const laptop: ConnectionInfo = { ...phone, connectionId: 'c2', deviceType: 'desktop', connectedAt: new Date(5) };
    const tablet: ConnectionInfo = { ...phone, connectionId: 'c3', deviceType: 'tablet', connectedAt: new Date(9) };
    await presence.add(laptop);
    await presence.add(phone);
    expect(await presence.devicesOf('u1')).toEqual([phone, laptop]);
    await presence.remove('c2');
    expect(await presence.devicesOf('u1')).toEqual([phone]);
    await presence.add(tablet);
    await presence.remove('c1');
    expect(await presence.devicesOf('u1')).toEqual([tablet]);
    expect(await presence.stats()).toMatchObject({ connections: 1, users: 1 });
    await presence.remove('c3');
    expect(await presence.isOnline('u1')).toBe(false);
    expect(await presence.stats()).toMatchObject({ connections: 0, users: 0 });
  });

  it('re-adding a connection id replaces the old record, including a change of user', async () => {
    const presence = new MemoryPresenceStore().createPresence();
    await presence.add(phone);
    await presence.add({ ...phone, userId: 'u2' });
    expect(await presence.onlineAmong(['u1', 'u2'])).toEqual(new Set(['u2']));
    expect((await presence.stats()).connections).toBe(1);
  });

  it('rejects calls after close but leaves the shared state to the other instances', async () => {
    const store = new MemoryPresenceStore();
    const closing = store.createPresence();
    const survivor = store.createPresence();
    await closing.add(phone);
    await closing.close();
    await closing.close();
    await expect(closing.isOnline('u1')).rejects.toThrow('presence is closed');
    expect(await survivor.isOnline('u1')).toBe(true);
  });
});
