/**
 * Read receipts: `Store.messages.recordRead`. A `read` frame (or `POST …/read`) names messages;
 * one statement finds them in the conversation, moves the reader's position forward to the newest
 * of them, and stores the `read_status` event the others get, numbered by the conversation's
 * `last_event_seq`. Like message appends (append-batcher.ts), the reads of one event-loop turn,
 * and those arriving while a statement runs, share one statement (BatchGate's policy), so under
 * load many reads share a round trip, a transaction and a WAL flush:
 *
 *   with b        as (the batch: ord, conversation_id, reader_id, event_id, message_ids, from one JSON parameter),
 *        found    as (per read: the named messages of its conversation by seq, max(seq) as up_to),
 *        eligible as (reads that found something by a participant, numbered k of n per conversation),
 *        bumped   as (insert into conversation_event_heads … on conflict: last_event_seq + n),
 *        moved    as (update participants set last_read_seq = greatest(last_read_seq, max up_to)
 *                     per (conversation, reader) … joined to bumped),
 *        recorded as (insert into conversation_events: event_seq = last_event_seq - n + k)
 *   select per read: ids, the reader's position (moved, else as stored), its event (if any)
 *
 * Before, a read was three statements in six round trips: the look-up, the position's UPDATE
 * (a commit), and the event's transaction (BEGIN, bump, INSERT, COMMIT) holding the
 * conversation's row lock, which every message append to that conversation also takes, across
 * four round trips. The web app sends a read for every message it shows, so in a clinic's chat
 * reads are as many as deliveries (docs/benchmarks.md, round 6, "Tenth pass"). The event counter
 * now has a row of its own (conversation_event_heads), so reads never wait for appends.
 *
 * Locks: a batch takes its conversations' head rows in id order, then the readers' participant
 * rows (`moved` joins `bumped`); a notice (events-repo.ts) takes one head row. The conversations
 * are split into lanes (ReadBatcher), and a lane runs one statement at a time: batches that share
 * conversations would queue behind each other's head rows while holding others (measured: with
 * four statements of any reads at once, reads fell further behind than with one). The reads
 * waiting meanwhile go together in the lane's next statement. An event's number depends on the
 * bump alone, so every bumped `event_seq` gets its event (no gap).
 * Two reads by one reader in one batch (two devices) both report the reader's final position as
 * `last_read_seq`.
 */
import { ServerAction } from '@anmei/protocol';
import { sql } from 'drizzle-orm';
import { BatchGate, type BatchGateOptions, type PendingRequest } from './batch-gate.ts';
import { type Db, isDatabaseUnavailable } from './db-common.ts';
import { conversationEventHeads, conversationEvents, messages, participants } from './schema.ts';
import type { ReadRecord } from './store-types.ts';

/** pg caches a named statement per connection; PGlite ignores the name (it is in-process). */
const RECORD_READS_STATEMENT_NAME = 'anmei_messages_record_reads';
/** Most reads in one statement: at one statement at a time, a backlog is worked off in few. */
const MAX_BATCH = 500;

export interface ReadInput {
  conversationId: string;
  readerId: string;
  messageIds: readonly string[];
}

function prepareRecordReads(db: Db): RecordReads {
  const batch = db.$with('b', { ord: sql<number>`ord` }).as(
    sql`select r.ord, r.conversation_id, r.reader_id, r.event_id, r.message_ids
        from json_to_recordset(${sql.placeholder('reads')}::json)
             as r(ord int, conversation_id text, reader_id text, event_id text, message_ids json)`,
  );
  // The named ids are probed through the primary key alone: `offset 0` keeps the conversation's
  // test outside the subquery. Without it Postgres hashed the whole `messages` table per batch
  // (no statistics: autovacuum is off on our machines), or combined the id probe with a scan of the
  // conversation's every message; measured in docs/benchmarks.md, round 6, tenth pass.
  const found = db.$with('found', { ord: sql<number>`ord` }).as(
    sql`select b.ord, coalesce(array_agg(m.id order by m.seq) filter (where m.id is not null), '{}') as ids,
               max(m.seq) as up_to
        from b left join lateral (
          select m.id, m.seq, m.conversation_id from ${messages} m
          where m.id = any (array(select json_array_elements_text(b.message_ids)))
          offset 0
        ) m on m.conversation_id = b.conversation_id
        group by b.ord`,
  );
  const eligible = db.$with('eligible', { ord: sql<number>`ord` }).as(
    sql`select b.ord, b.conversation_id, b.reader_id, b.event_id, f.ids, f.up_to,
               row_number() over (partition by b.conversation_id order by b.ord) as k,
               count(*) over (partition by b.conversation_id) as n
        from b join found f on f.ord = b.ord
        where f.up_to is not null
          and exists (select 1 from ${participants} p where p.conversation_id = b.conversation_id and p.user_id = b.reader_id)`,
  );
  // Each conversation's event head moves by its count (the row is made by its first event).
  const bumped = db.$with('bumped', { id: conversationEventHeads.conversationId }).as(
    sql`insert into ${conversationEventHeads} as h (conversation_id, last_event_seq)
        select conversation_id, n from (select distinct conversation_id, n from eligible) x order by conversation_id
        on conflict (conversation_id) do update set last_event_seq = h.last_event_seq + excluded.last_event_seq
        returning h.conversation_id as id, h.last_event_seq`,
  );
  const moved = db.$with('moved', { lastReadSeq: participants.lastReadSeq }).as(
    sql`update ${participants} p set last_read_seq = greatest(p.last_read_seq, y.up_to)
        from (select e.conversation_id, e.reader_id, max(e.up_to) as up_to
              from eligible e join bumped on bumped.id = e.conversation_id
              group by e.conversation_id, e.reader_id) y
        where p.conversation_id = y.conversation_id and p.user_id = y.reader_id
        returning p.conversation_id, p.user_id, p.last_read_seq`,
  );
  const recorded = db.$with('recorded', { id: conversationEvents.id }).as(
    sql`insert into ${conversationEvents} (id, conversation_id, event_seq, kind, payload, exclude_user_id)
        select e.event_id, e.conversation_id, bumped.last_event_seq - e.n + e.k, ${ServerAction.readStatus}::text,
               jsonb_build_object('conversation_id', e.conversation_id, 'user_id', e.reader_id,
                                  'message_ids', to_jsonb(e.ids), 'last_read_seq', coalesce(mv.last_read_seq, e.up_to),
                                  'event_seq', bumped.last_event_seq - e.n + e.k, 'event_id', e.event_id),
               e.reader_id
        from eligible e join bumped on bumped.id = e.conversation_id
        left join moved mv on mv.conversation_id = e.conversation_id and mv.user_id = e.reader_id
        returning id, event_seq, payload, created_at`,
  );
  const statement = db
    .with(batch, found, eligible, bumped, moved, recorded)
    .select({
      messageIds: sql<string[]>`to_json(found.ids)`,
      lastReadSeq: sql<number>`coalesce(mv.last_read_seq,
        (select p.last_read_seq from ${participants} p where p.conversation_id = b.conversation_id and p.user_id = b.reader_id),
        0)`,
      eventId: sql<string | null>`recorded.id`,
      eventSeq: sql<number | null>`recorded.event_seq`,
      payload: sql<Record<string, unknown> | null>`recorded.payload`.mapWith(conversationEvents.payload),
      createdAt: sql<Date | null>`recorded.created_at`.mapWith(conversationEvents.createdAt),
    })
    .from(batch)
    .innerJoin(found, sql`found.ord = b.ord`)
    .leftJoin(sql`moved mv`, sql`mv.conversation_id = b.conversation_id and mv.user_id = b.reader_id`)
    .leftJoin(recorded, sql`recorded.id = b.event_id`)
    .orderBy(sql`b.ord`)
    .prepare(RECORD_READS_STATEMENT_NAME);

  return async (inputs) => {
    const reads = inputs.map((input, ord) => ({
      ord,
      conversation_id: input.conversationId,
      reader_id: input.readerId,
      event_id: crypto.randomUUID(),
      message_ids: input.messageIds,
    }));
    const rows = await statement.execute({ reads: JSON.stringify(reads) });
    if (rows.length !== inputs.length)
      throw new Error(`the read statement answered ${rows.length} of ${inputs.length} reads`);
    return rows.map((row, i) => ({
      messageIds: row.messageIds,
      lastReadSeq: row.lastReadSeq,
      event:
        row.eventId === null || row.eventSeq === null || row.payload === null || row.createdAt === null
          ? null
          : {
              id: row.eventId,
              kind: ServerAction.readStatus,
              position: row.eventSeq,
              payload: row.payload,
              createdAt: row.createdAt,
              deviceTypes: null,
              excludeUserId: inputs[i]!.readerId,
            },
    }));
  };
}

/** Stores reads with one statement: record i answers input i. */
export type RecordReads = (inputs: readonly ReadInput[]) => Promise<ReadRecord[]>;

type WaitingRead = PendingRequest<ReadInput, ReadRecord>;

export interface ReadBatcherOptions extends Partial<BatchGateOptions> {
  /**
   * Statements that may run at once, each for its own share of the conversations (by the last
   * character of the id), so two never wait for each other's head and participant rows. Default 2.
   * Within a lane one statement runs at a time (BatchGate `maxInFlight` 1 unless given).
   */
  lanes?: number;
}

/**
 * The reads of a turn, and those waiting for their lane's running statement, share one
 * (BatchGate's policy, one gate per lane).
 */
export class ReadBatcher {
  readonly #recordReads: RecordReads;
  readonly #lanes: BatchGate<ReadInput, ReadRecord>[];

  constructor(recordReads: RecordReads, options: ReadBatcherOptions = {}) {
    this.#recordReads = recordReads;
    const { lanes = 2, ...gate } = options;
    this.#lanes = Array.from(
      { length: Math.max(1, lanes) },
      () =>
        new BatchGate<ReadInput, ReadRecord>((batch) => this.#run(batch), {
          maxInFlight: 1,
          ...gate,
          maxBatch: gate.maxBatch ?? MAX_BATCH,
        }),
    );
  }

  record(input: ReadInput): Promise<ReadRecord> {
    const id = input.conversationId;
    const lane = this.#lanes.length === 1 ? 0 : (id.charCodeAt(id.length - 1) || 0) % this.#lanes.length;
    return this.#lanes[lane]!.request(input);
  }

  async #run(batch: WaitingRead[]): Promise<void> {
    try {
      const records = await this.#recordReads(batch.map((w) => w.input));
      for (const [i, waiting] of batch.entries()) waiting.resolve(records[i]!);
      return;
    } catch (error) {
      if (isDatabaseUnavailable(error)) {
        // Every read waiting for a slot would wait out the same timeout: they fail at once too.
        for (const waiting of [...batch, ...this.#lanes.flatMap((lane) => lane.takeWaiting())]) waiting.reject(error);
        return;
      }
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
    }
    // Nothing was stored (one statement), e.g. a deadlock detected by Postgres: each read
    // goes alone, in order, and fails alone.
    for (const waiting of batch) {
      try {
        waiting.resolve((await this.#recordReads([waiting.input]))[0]!);
      } catch (error) {
        waiting.reject(error);
      }
    }
  }
}

/** `Store.messages.recordRead` over the prepared statement of `db`. */
export function createReadRecorder(
  db: Db,
  options: ReadBatcherOptions = {},
): (conversationId: string, readerId: string, messageIds: readonly string[]) => Promise<ReadRecord> {
  const batcher = new ReadBatcher(prepareRecordReads(db), options);
  return (conversationId, readerId, messageIds) => batcher.record({ conversationId, readerId, messageIds });
}
