/** Push devices (see Store['devices']): one row per token, upserted, moved between users. */
import { and, asc, eq, getTableColumns, inArray, sql } from 'drizzle-orm';
import type { Db } from './db-common.ts';
import { pushDevices } from './schema.ts';
import type { PushDeviceRow, Store } from './store-types.ts';

type Row = typeof pushDevices.$inferSelect;

const toDevice = (row: Row): PushDeviceRow => ({ ...row, subscription: row.subscription ?? null });

export function createDevicesRepo(db: Db): Store['devices'] {
  return {
    async register(input) {
      const values = {
        userId: input.userId,
        platform: input.platform,
        deviceType: input.deviceType,
        provider: input.provider,
        token: input.token,
        subscription: input.subscription ?? null,
      };
      const [row] = await db
        .insert(pushDevices)
        .values(values)
        .onConflictDoUpdate({
          target: pushDevices.token,
          set: {
            userId: values.userId,
            platform: values.platform,
            deviceType: values.deviceType,
            provider: values.provider,
            subscription: values.subscription,
            updatedAt: sql`now()`,
          },
        })
        // xmax = 0 only on a row this statement inserted (an update sets it): tells created from updated.
        .returning({ ...getTableColumns(pushDevices), created: sql<boolean>`(xmax = 0)` });
      if (!row) throw new Error('device upsert returned no row');
      const { created, ...device } = row;
      return { device: toDevice(device), created: Boolean(created) };
    },

    async listForUser(userId) {
      const rows = await db
        .select()
        .from(pushDevices)
        .where(eq(pushDevices.userId, userId))
        .orderBy(asc(pushDevices.createdAt));
      return rows.map(toDevice);
    },

    async listForUsers(userIds) {
      if (userIds.length === 0) return [];
      const rows = await db
        .select()
        .from(pushDevices)
        .where(inArray(pushDevices.userId, [...userIds]))
        .orderBy(asc(pushDevices.createdAt));
      return rows.map(toDevice);
    },

    async find(id) {
      const [row] = await db.select().from(pushDevices).where(eq(pushDevices.id, id)).limit(1);
      return row ? toDevice(row) : null;
    },

    async delete(id, userId) {
      const rows = await db
        .delete(pushDevices)
        .where(
          userId === undefined ? eq(pushDevices.id, id) : and(eq(pushDevices.id, id), eq(pushDevices.userId, userId)),
        )
        .returning({ id: pushDevices.id });
      return rows.length > 0;
    },
  };
}
