import type { Role } from '@anmei/protocol';
import { asc, eq } from 'drizzle-orm';
import { type Db, pgErrorCode, UNIQUE_VIOLATION, UsernameTakenError } from './db-common.ts';
import { users } from './schema.ts';
import type { Store, UserRow } from './store-types.ts';

export function createUsersRepo(db: Db): Store['users'] {
  return {
    async create(input): Promise<UserRow> {
      try {
        const [row] = await db.insert(users).values(input).returning();
        return row!;
      } catch (err) {
        // id is a fresh UUID, so the only unique constraint that can fire is the username.
        if (pgErrorCode(err) === UNIQUE_VIOLATION) throw new UsernameTakenError(input.username);
        throw err;
      }
    },

    async findById(id) {
      const [row] = await db.select().from(users).where(eq(users.id, id)).limit(1);
      return row ?? null;
    },

    async findByUsername(username) {
      const [row] = await db.select().from(users).where(eq(users.username, username)).limit(1);
      return row ?? null;
    },

    /** Oldest first (then by username), so the order is stable for admin screens and tests. */
    async list(filter?: { role?: Role }) {
      return db
        .select()
        .from(users)
        .where(filter?.role ? eq(users.role, filter.role) : undefined)
        .orderBy(asc(users.createdAt), asc(users.username));
    },

    async setPasswordHash(userId, passwordHash) {
      const rows = await db.update(users).set({ passwordHash }).where(eq(users.id, userId)).returning({ id: users.id });
      return rows.length > 0;
    },
  };
}
