/** Builds the `Store` from a drizzle handle; works unchanged over PGlite and node-postgres. */
import { sql } from 'drizzle-orm';
import { createAttachmentsRepo } from './attachments-repo.ts';
import { createConversationsRepo } from './conversations-repo.ts';
import type { Db } from './db-common.ts';
import { createDevicesRepo } from './devices-repo.ts';
import { createEventsRepo } from './events-repo.ts';
import { createMessagesRepo } from './messages-repo.ts';
import { createPushJobsRepo } from './push-jobs-repo.ts';
import type { Store } from './store-types.ts';
import { createUsersRepo } from './users-repo.ts';

export type { Db } from './db-common.ts';
export { UsernameTakenError } from './db-common.ts';

export interface StoreOptions {
  /** Each append statement's size and seconds (metrics; see AppendBatcherOptions.onBatch). */
  onAppendBatch?: (size: number, seconds: number) => void;
  /**
   * ms between the starts of two append statements, and of two read statements of one lane, while
   * requests keep coming (BatchGate `spacingMs`); after a longer pause one starts at once. Default 0.
   */
  batchWindowMs?: number;
}

/** `close` releases the underlying client (PGlite instance or pg Pool); it is called once by `Store.close`. */
export function createStore(db: Db, close: () => Promise<void>, options: StoreOptions = {}): Store {
  let closing: Promise<void> | undefined;
  return {
    users: createUsersRepo(db),
    conversations: createConversationsRepo(db),
    messages: createMessagesRepo(db, options),
    events: createEventsRepo(db),
    pushJobs: createPushJobsRepo(db),
    devices: createDevicesRepo(db),
    attachments: createAttachmentsRepo(db),
    async ping() {
      await db.execute(sql`select 1`);
    },
    // Idempotent: a second close (e.g. shutdown hook + test teardown) waits for the first.
    close() {
      closing ??= close();
      return closing;
    },
  };
}
