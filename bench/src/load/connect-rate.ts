/**
 * Scenario 8's connections in one worker thread. A phase is prepared untimed (ours' upgrade
 * alone: a ticket per connection; ours' resume phase: the `resume_ticket`s kept from the
 * previous phase's `connected` frames), then run: every prepared connection is opened with a
 * bounded number of attempts in flight, each timed until its first application handshake
 * completes. The connections stay open until the generator's `close`.
 */
import { nowMicros } from '../common/marker.ts';
import type { ClientSpec, ConnectPath, ConnectRateReport, ConnectTiming } from '../common/types.ts';
import { connectClient, fetchTicket, openOurs, oursSocketUrl } from './clients.ts';

/** Ticket requests in flight per worker while preparing (untimed): short set-up, no burst of thousands. */
const PREPARE_CONCURRENCY = 32;

interface Prepared {
  spec: ClientSpec;
  /** ours: the upgrade URL with its credential already in it; absent = the full path fetches a ticket first. */
  url?: string;
}

let prepared: Prepared[] = [];
const open: Array<{ close(): void }> = [];
/** ours: `resume_ticket`s from the last run's `connected` frames, by user id. */
let resumeTickets = new Map<string, string>();

const ignore = () => undefined;

async function lanes<T>(items: T[], concurrency: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await each(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
}

/** Holds `specs` for the next run; returns how many are ready and how many lack what `path` needs. */
export async function prepareConnectRate(
  specs: ClientSpec[],
  path: ConnectPath,
): Promise<{ prepared: number; missing: number }> {
  prepared = [];
  let missing = 0;
  if (path === 'resume') {
    for (const spec of specs) {
      const ticket = spec.userId === undefined ? undefined : resumeTickets.get(spec.userId);
      if (ticket === undefined) missing++;
      else prepared.push({ spec, url: oursSocketUrl(spec, ticket) });
    }
    return { prepared: prepared.length, missing };
  }
  if (path === 'full' || specs.every((s) => s.kind !== 'ours')) {
    prepared = specs.map((spec) => ({ spec }));
    return { prepared: prepared.length, missing };
  }
  // ours, upgrade alone: the tickets are fetched now, outside the timed run.
  const ready: Prepared[] = new Array(specs.length);
  await lanes(
    specs.map((spec, i) => ({ spec, i })),
    PREPARE_CONCURRENCY,
    async ({ spec, i }) => {
      ready[i] = spec.kind === 'ours' ? { spec, url: oursSocketUrl(spec, await fetchTicket(spec)) } : { spec };
    },
  );
  prepared = ready;
  return { prepared: prepared.length, missing };
}

/** Opens every prepared connection, `concurrency` attempts at a time, and times each one. */
export async function runConnectRate(concurrency: number): Promise<ConnectRateReport> {
  const timings: ConnectTiming[] = [];
  const nextResume = new Map<string, string>();
  let failed = 0;
  let firstError: string | undefined;
  await lanes(prepared, concurrency, async (item) => {
    try {
      timings.push(await openOne(item, nextResume));
    } catch (error) {
      failed++;
      firstError ??= error instanceof Error ? error.message : String(error);
    }
  });
  prepared = [];
  resumeTickets = nextResume;
  return { timings, failed, ...(firstError ? { firstError } : {}), resumeTickets: nextResume.size };
}

async function openOne({ spec, url }: Prepared, nextResume: Map<string, string>): Promise<ConnectTiming> {
  const start = nowMicros();
  if (spec.kind !== 'ours') {
    // Raw ws resolves at `open` (it has no application handshake), Socket.IO at its `connect` event.
    const client = await connectClient(spec, ignore, ignore);
    const accepted = nowMicros();
    open.push(client);
    return { start, accepted };
  }
  let ticket: number | undefined;
  let socketUrl = url;
  if (socketUrl === undefined) {
    socketUrl = oursSocketUrl(spec, await fetchTicket(spec));
    ticket = nowMicros();
  }
  let opened = 0;
  const { ws, connected } = await openOurs(socketUrl, () => {
    opened = nowMicros();
  });
  const accepted = nowMicros();
  ws.on('error', ignore);
  open.push(ws);
  if (connected.resumeTicket !== undefined && spec.userId !== undefined) {
    nextResume.set(spec.userId, connected.resumeTicket);
  }
  return { start, ...(ticket !== undefined ? { ticket } : {}), open: opened, accepted };
}

/** Closes this worker's connections; the resume tickets they got stay for the next phase. */
export function closeConnectRate(): void {
  for (const connection of open) connection.close();
  open.length = 0;
  prepared = [];
}
