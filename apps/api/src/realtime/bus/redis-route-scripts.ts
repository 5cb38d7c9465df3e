/**
 * The Lua half of per-instance routing (redis-instance-routing.ts), run inside Redis. Keys,
 * built from the route base passed as ARGV[1] (standalone Redis only; see redis/keys.ts):
 *   <base>:routes            HASH user id → ids of the instances holding a socket of the user,
 *                            space-separated (instance ids never contain spaces: config.ts)
 *   <base>:routes_of:<iid>   SET  user ids an instance registered (to forget them in one go)
 *   <base>:routes_version    STRING an integer bumped by every change of the routes, so a
 *                            publisher that caches routes knows when its copy is stale; it
 *                            starts from Redis's clock in µs (`TIME`) when absent, so after
 *                            Redis lost its data it never repeats a value seen before
 *
 * Look-ups run inside Redis, in the same serial order as the registrations. So once an
 * instance's registration has returned, every publish whose look-up Redis executes afterwards
 * sees it: no window in which a peer's stale copy of the routes would miss the new socket.
 * (A publish whose look-up ran before the registration is one sent before the socket was
 * there: the gateway reads the socket's heads only after its route is live, so an event
 * stored before that is among the heads; see ws/gateway.ts.)
 *
 * Why one hash rather than a SET per user: a batch's look-up is then ONE `HMGET` for every
 * recipient of every envelope, instead of one `SMEMBERS` call from Lua per distinct recipient
 * (measured in docs/benchmarks.md: the script's cost per envelope fell ~4×).
 */
import { LuaScript } from '../redis/lua-script.ts';

/** Lua helpers that add/remove one instance id in a user's route (the space-separated list). */
const ROUTE_HELPERS = `
local function routes_changed(base)
  local key = base .. ':routes_version'
  if redis.call('INCR', key) == 1 then
    local now = redis.call('TIME')
    redis.call('SET', key, now[1] .. string.format('%06d', tonumber(now[2])))
  end
end
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
export const ROUTE_PUBLISH = new LuaScript(`
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
export const ROUTES_UPDATE = new LuaScript(`${ROUTE_HELPERS}
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
routes_changed(base)
return 1
`);

/**
 * Forget every route of an instance, then register the given users for it (none: just forget).
 * ARGV: base, instanceId, user ids…. Returns how many routes were forgotten.
 */
export const ROUTES_REPLACE = new LuaScript(`${ROUTE_HELPERS}
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
routes_changed(base)
return #old
`);
