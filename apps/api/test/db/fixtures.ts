/** Test data builders: every test creates its own users (random usernames) so tests share one database. */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MessageType, Role } from '@anmei/protocol';
import { MIGRATIONS_FOLDER } from '../../src/db/open-database.ts';
import type { ConversationRow, Store, UserRow } from '../../src/db/store-types.ts';

export const uniqueName = (prefix: string) => `${prefix}_${randomBytes(6).toString('hex')}`;

export function fixtures(getStore: () => Store) {
  const store = () => getStore();
  return {
    async user(role: Role = 'customer', displayName = `User ${role}`): Promise<UserRow> {
      return store().users.create({ username: uniqueName(role), displayName, role, passwordHash: 'hash' });
    },
    async conversation(creator: UserRow, ...others: UserRow[]): Promise<ConversationRow> {
      return store().conversations.create({
        title: uniqueName('conv'),
        createdBy: creator.id,
        participants: [creator, ...others].map((u) => ({ userId: u.id, role: u.role })),
      });
    },
    /** Appends and asserts it was created; returns the stored message. */
    async send(conversation: ConversationRow, sender: UserRow, content = 'hi', clientMessageId: string | null = null) {
      const messageType: MessageType = 'text';
      const result = await store().messages.append({
        conversationId: conversation.id,
        senderId: sender.id,
        clientMessageId,
        messageType,
        content,
      });
      if (result.status !== 'created') throw new Error(`expected created, got ${result.status}`);
      return result.message;
    },
  };
}

/** Number of migrations drizzle-kit has generated (entries in meta/_journal.json). */
export async function migrationCount(): Promise<number> {
  const journal = JSON.parse(await readFile(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: unknown[];
  };
  return journal.entries.length;
}
