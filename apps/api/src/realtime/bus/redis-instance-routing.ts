/**
 * Per-instance routing (standalone Redis, classic pub/sub): each instance subscribes ONE
 * channel, `ws:instance:<id>`, and registers in Redis which users it holds. A publish goes
 * to Redis once, as a Lua script that looks up the recipients' instances and PUBLISHes the
 * records to each target instance (the Lua half, at the end of this file). A record lists every recipient;
 * the receiving instance delivers to those it holds.
 *
 * Why: per-user channels cost one PUBLISH (with the whole frame) per recipient, and the
 * publisher received its own copies back. Here a message for a room of 10 split over two
 * instances is one script call and one PUBLISH; an instance holding no recipient still gets
 * nothing, and the publisher gets no echo.
 *
 * Batching: publishes of one event-loop turn (until `setImmediate`) share one script call,
 * whose bytes are encoded as the publishes arrive (redis-route-batch.ts); an instance that
 * needs all of the records gets the blob in one PUBLISH. Order per publisher is kept: batches
 * go out on one connection in order and records keep their order inside a batch.
 */
import type { Redis } from 'ioredis';
import { LuaScript } from '../redis/lua-script.ts';
import type { Envelope } from '../types.ts';
import { decodeRecords, encodeRecordMeta } from './redis-codec.ts';
import { RouteBatch, routeCommandHead } from './redis-route-batch.ts';
import type { BusRouting, RoutingContext } from './redis-routing.ts';

/** A batch is sent early at this many envelopes (keeps one script call short for Redis). */
const MAX_BATCH_ENVELOPES = 256;
/** …or at this many record bytes (1 MiB)… */
const MAX_BATCH_BYTES = 1024 * 1024;
/** …or at this many recipients over all its envelopes (each is one lookup in the script). */
const MAX_BATCH_RECIPIENTS = 20_000;

interface Batch {
  records: RouteBatch;
  sent: boolean;
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export class PerInstanceRouting implements BusRouting {
  readonly kind = 'per-instance';
  readonly #c: RoutingContext;
  readonly #channel: string;
  /** The constant start of every batch's script call. */
  readonly #commandHead: Buffer;
  #batch: Batch | null = null;
  /** The last batch's size in bytes: the next one starts with room for as much. */
  #lastBatchBytes = 0;

  constructor(context: RoutingContext) {
    this.#c = context;
    this.#channel = context.names.instanceChannelPrefix + context.busId;
    this.#commandHead = routeCommandHead(
      ROUTE_PUBLISH.sha,
      context.names.routeBase,
      context.names.instanceChannelPrefix,
      context.busId,
    );
  }

  /** Subscribes our channel and forgets routes a previous process with our id left behind. */
  async start(): Promise<void> {
    await this.#c.subscriber.subscribe(this.#channel);
    await this.forgetInstance(this.#c.busId);
  }

  async update(added: readonly string[], removed: readonly string[]): Promise<void> {
    await ROUTES_UPDATE.run(
      this.#c.publisher,
      [],
      [this.#c.names.routeBase, this.#c.busId, String(added.length), ...added, ...removed],
    );
  }

  publish(userIds: readonly string[], envelope: Envelope, frame: Buffer): Promise<void> {
    const batch = this.#batch ?? this.#open();
    const records = batch.records;
    try {
      records.append(userIds, encodeRecordMeta(this.#c.busId, envelope, frame.length), frame);
    } catch (error) {
      return Promise.reject(error);
    }
    if (
      records.envelopes >= MAX_BATCH_ENVELOPES ||
      records.bytes >= MAX_BATCH_BYTES ||
      records.recipients >= MAX_BATCH_RECIPIENTS
    ) {
      this.#send(batch);
    }
    return batch.promise;
  }

  receive(channel: string, message: Buffer): boolean {
    if (channel !== this.#channel) return false;
    const { records, malformed } = decodeRecords(message);
    if (malformed) this.#c.logger.warn({ channel }, 'ignoring a malformed record on the instance channel');
    const wanted = this.#c.wanted;
    for (const record of records) {
      if (record.busId === this.#c.busId) {
        this.#c.stats.echoes++;
        continue;
      }
      // Records list every recipient; ours are those with a socket here. A user whose last
      // socket closed after the publisher's lookup is no longer among them.
      const targets = record.targets.filter((u) => wanted.has(u));
      if (targets.length === 0) continue;
      this.#c.stats.received++;
      this.#c.deliver(record.envelope, targets);
    }
    return true;
  }

  /** Redis may have lost our registrations (restart, failover): register what we hold again. */
  async reconnected(): Promise<void> {
    await ROUTES_REPLACE.run(this.#c.publisher, [], [this.#c.names.routeBase, this.#c.busId, ...this.#c.wanted]);
  }

  /** Graceful shutdown: peers stop publishing to us at once. */
  async close(): Promise<void> {
    await this.forgetInstance(this.#c.busId);
  }

  /** Drops every route of an instance (ours at start/close, or a dead peer's when presence reaps it). */
  async forgetInstance(instanceId: string): Promise<number> {
    return Number(await ROUTES_REPLACE.run(this.#c.publisher, [], [this.#c.names.routeBase, instanceId]));
  }

  #open(): Batch {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers await this promise; this handler only keeps a caller that did not from crashing the process.
    promise.catch(() => undefined);
    const batch: Batch = {
      records: new RouteBatch(this.#commandHead, this.#lastBatchBytes),
      sent: false,
      promise,
      resolve,
      reject,
    };
    this.#batch = batch;
    setImmediate(() => this.#send(batch));
    return batch;
  }

  #send(batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.#batch === batch) this.#batch = null;
    this.#lastBatchBytes = batch.records.bytes;
    // Every publish of this batch was refused (a bad user id): there is nothing to route.
    if (batch.records.envelopes === 0) {
      batch.resolve();
      return;
    }
    // Per-instance routing runs on a standalone Redis only (redis-routing.ts), so this is a Redis.
    ROUTE_PUBLISH.runEncoded(this.#c.publisher as Redis, batch.records.finish()).then(
      (published) => {
        this.#c.stats.published += Number(published);
        batch.resolve();
      },
      (error: unknown) => {
        this.#c.publishFailed();
        batch.reject(error);
      },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// The Lua half, run inside Redis. Keys, built from the route base passed as ARGV[1] (standalone
// Redis only; see redis/keys.ts):
//   <base>:routes            HASH user id → ids of the instances holding a socket of the user,
//                            space-separated (instance ids never contain spaces: config.ts)
//   <base>:routes_of:<iid>   SET  user ids an instance registered (to forget them in one go)
//
// Routing runs inside Redis, in the same serial order as the registrations. So once an
// instance's registration has returned, every publish that Redis executes afterwards sees it:
// no window in which a peer's stale copy of the routes would miss the new socket.
//
// Why one hash rather than a SET per user: a batch's lookup is then ONE `HMGET` for every
// recipient of every envelope, instead of one `SMEMBERS` call from Lua per distinct recipient
// (measured in docs/benchmarks.md: the script's cost per envelope fell ~4×).

/** Lua helpers that add/remove one instance id in a user's route (the space-separated list). */
const ROUTE_HELPERS = `
local function route_add(routes, uid, iid)
  local cur = redis.call('HGET', routes, uid)
  if not cur then
    redis.call('HSET', routes, uid, iid)
  elseif not string.find(' ' .. cur .. ' ', ' ' .. iid .. ' ', 1, true) then
    redis.call('HSET', routes, uid, cur .. ' ' .. iid)
  end
end
local function route_remove(routes, uid, iid)
  local cur = redis.call('HGET', routes, uid)
  if not cur then return end
  local kept = {}
  for other in string.gmatch(cur, '[^ ]+') do
    if other ~= iid then kept[#kept + 1] = other end
  end
  if #kept == 0 then
    redis.call('HDEL', routes, uid)
  else
    redis.call('HSET', routes, uid, table.concat(kept, ' '))
  end
end
`;

/**
 * Publish a batch of records, each to the instances (other than the publisher) that hold at
 * least one of its recipients.
 *
 * ARGV: base, channelPrefix, selfInstanceId, blob, index. The blob is every record back to
 * back, already encoded by the publisher (redis-codec.ts); each record starts with its
 * recipients, space-separated, on a line of their own. The index is a JSON array with two
 * numbers per record: its byte length in the blob and the byte length of that recipients line.
 * (The publisher writes this call's bytes itself, redis-route-batch.ts.)
 * An instance that needs every record gets the blob as is; one that needs some gets one
 * PUBLISH per run of consecutive records (a substring each: Lua's table.concat of many large
 * strings costs more than the PUBLISHes it would save). Records keep their order per instance.
 * Returns the number of PUBLISHes.
 */
const ROUTE_PUBLISH = new LuaScript(`
local base, chan, self, blob = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local index = cjson.decode(ARGV[5])
local count = #index / 2
local starts, firsts, uids = {}, {}, {}
local offset, n = 1, 0
for m = 1, count do
  starts[m] = offset
  firsts[m] = n + 1
  local targetsBytes = index[2 * m]
  if targetsBytes > 0 then
    for uid in string.gmatch(string.sub(blob, offset, offset + targetsBytes - 1), '[^ ]+') do
      n = n + 1
      uids[n] = uid
    end
  end
  offset = offset + index[2 * m - 1]
end
starts[count + 1] = offset
firsts[count + 1] = n + 1
-- unpack() is limited by Lua's C stack (8000 values): look up in slices.
local where = {}
for from = 1, n, 4000 do
  local part = redis.call('HMGET', base .. ':routes', unpack(uids, from, math.min(from + 3999, n)))
  for k = 1, #part do where[from + k - 1] = part[k] end
end
local peersOf, stamp, wanted, order = {}, {}, {}, {}
for m = 1, count do
  for k = firsts[m], firsts[m + 1] - 1 do
    local route = where[k]
    if route then
      local peers = peersOf[route]
      if not peers then
        peers = {}
        for iid in string.gmatch(route, '[^ ]+') do
          if iid ~= self then peers[#peers + 1] = iid end
        end
        peersOf[route] = peers
      end
      for j = 1, #peers do
        local iid = peers[j]
        if stamp[iid] ~= m then
          stamp[iid] = m
          local records = wanted[iid]
          if not records then
            records = {}
            wanted[iid] = records
            order[#order + 1] = iid
          end
          records[#records + 1] = m
        end
      end
    end
  end
end
local published = 0
for _, iid in ipairs(order) do
  local records = wanted[iid]
  if #records == count then
    redis.call('PUBLISH', chan .. iid, blob)
    published = published + 1
  else
    local r = 1
    while r <= #records do
      local e = r
      while e < #records and records[e + 1] == records[e] + 1 do e = e + 1 end
      redis.call('PUBLISH', chan .. iid, string.sub(blob, starts[records[r]], starts[records[e] + 1] - 1))
      published = published + 1
      r = e + 1
    end
  end
end
return published
`);

/** ARGV: base, selfInstanceId, addCount, added user ids…, removed user ids…. */
const ROUTES_UPDATE = new LuaScript(`${ROUTE_HELPERS}
local base, self, added = ARGV[1], ARGV[2], tonumber(ARGV[3])
local routes, mine = base .. ':routes', base .. ':routes_of:' .. self
for k = 4, 3 + added do
  route_add(routes, ARGV[k], self)
  redis.call('SADD', mine, ARGV[k])
end
for k = 4 + added, #ARGV do
  route_remove(routes, ARGV[k], self)
  redis.call('SREM', mine, ARGV[k])
end
return 1
`);

/**
 * Forget every route of an instance, then register the given users for it (none: just forget).
 * ARGV: base, instanceId, user ids…. Returns how many routes were forgotten.
 */
const ROUTES_REPLACE = new LuaScript(`${ROUTE_HELPERS}
local base, iid = ARGV[1], ARGV[2]
local routes, mine = base .. ':routes', base .. ':routes_of:' .. iid
local old = redis.call('SMEMBERS', mine)
for _, uid in ipairs(old) do
  route_remove(routes, uid, iid)
end
redis.call('DEL', mine)
for k = 3, #ARGV do
  route_add(routes, ARGV[k], iid)
  redis.call('SADD', mine, ARGV[k])
end
return #old
`);
