import { eq } from 'drizzle-orm';
import type { Db } from './db-common.ts';
import { attachments } from './schema.ts';
import type { Store } from './store-types.ts';

export function createAttachmentsRepo(db: Db): Store['attachments'] {
  return {
    async create(input) {
      const [row] = await db.insert(attachments).values(input).returning();
      return row!;
    },
    async findById(id) {
      const [row] = await db.select().from(attachments).where(eq(attachments.id, id)).limit(1);
      return row ?? null;
    },
    async delete(id) {
      await db.delete(attachments).where(eq(attachments.id, id));
    },
  };
}
