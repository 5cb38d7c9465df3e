/**
 * Lua scripts for RedisPresence. Each runs atomically, so a crash between "add to the
 * user's set" and "count it" cannot leave presence inconsistent. KEYS[1] is always the
 * online-users set (its hash tag routes the script in a cluster); ARGV[1] is the key base
 * from which the other keys are built:
 *   <base>:online_users              SET   user ids with >= 1 connection (seed: ws:online_users)
 *   <base>:conn:<cid>                HASH  u=user r=role d=device t=connection type i=instance at=ms
 *   <base>:user_conns:<uid>          ZSET  connection ids scored by connected-at ms (oldest first)
 *   <base>:instance_conns:<iid>      SET   connection ids held by an instance
 *   <base>:instance_stats:<iid>      HASH  connections, d:<device>, r:<role> counters
 *   <base>:instances                 SET   instance ids that registered
 *   <base>:instance_alive:<iid>      STRING with a TTL, refreshed by the live instance
 * User up/down events are PUBLISHed on the presence channel (seed: ws:presence) as JSON.
 * Run by SHA (LuaScript): a connect must not ship kilobytes of Lua to Redis.
 */

import { LuaScript } from '../redis/lua-script.ts';

const PRELUDE = `
local base = ARGV[1]
local online = KEYS[1]
local function remove_conn(cid)
  local ck = base .. ':conn:' .. cid
  local h = redis.call('HMGET', ck, 'u', 'r', 'd', 'i')
  if not h[1] then return false, nil end
  redis.call('DEL', ck)
  local uk = base .. ':user_conns:' .. h[1]
  redis.call('ZREM', uk, cid)
  redis.call('SREM', base .. ':instance_conns:' .. h[4], cid)
  local sk = base .. ':instance_stats:' .. h[4]
  redis.call('HINCRBY', sk, 'connections', -1)
  redis.call('HINCRBY', sk, 'd:' .. h[3], -1)
  redis.call('HINCRBY', sk, 'r:' .. h[2], -1)
  if redis.call('ZCARD', uk) == 0 then
    redis.call('SREM', online, h[1])
    return true, h[1]
  end
  return true, nil
end
local function publish(channel, kind, uid, iid)
  redis.call('PUBLISH', channel, cjson.encode({type = kind, user_id = uid, instance_id = iid}))
end
local function remove_instance(iid, channel)
  local cids = redis.call('SMEMBERS', base .. ':instance_conns:' .. iid)
  local removed = 0
  for _, cid in ipairs(cids) do
    local existed, offline = remove_conn(cid)
    if existed then removed = removed + 1 end
    if offline then publish(channel, 'down', offline, iid) end
  end
  redis.call('DEL', base .. ':instance_conns:' .. iid, base .. ':instance_stats:' .. iid, base .. ':instance_alive:' .. iid)
  redis.call('SREM', base .. ':instances', iid)
  return removed
end
`;

/**
 * Registers a batch of connections (one event-loop turn's, see RedisPresence.add), each exactly
 * as a lone ADD did: a connection id registered before is replaced, its user's `down` published
 * if it moved to another user, and a user with no connection before gets `up`. The per-instance
 * counters are added up in Lua and written once per batch (the script is atomic, so nobody sees
 * the batch half done). ARGV: base, presenceChannel, then 7 per connection: cid, uid, role,
 * device, connectionType, iid, connectedAtMs. Returns how many users came online.
 */
export const ADD_MANY = new LuaScript(`${PRELUDE}
local channel = ARGV[2]
local counts, order, came = {}, {}, 0
local function count(iid, field)
  local c = counts[iid]
  if not c then
    c = {}
    counts[iid] = c
    order[#order + 1] = iid
  end
  c[field] = (c[field] or 0) + 1
end
for k = 3, #ARGV - 6, 7 do
  local cid, uid, role, device, ctype, iid, at = ARGV[k], ARGV[k + 1], ARGV[k + 2], ARGV[k + 3], ARGV[k + 4], ARGV[k + 5], ARGV[k + 6]
  local existed, offline = remove_conn(cid)
  if offline and offline ~= uid then publish(channel, 'down', offline, iid) end
  redis.call('HSET', base .. ':conn:' .. cid, 'u', uid, 'r', role, 'd', device, 't', ctype, 'i', iid, 'at', at)
  redis.call('ZADD', base .. ':user_conns:' .. uid, at, cid)
  redis.call('SADD', base .. ':instance_conns:' .. iid, cid)
  count(iid, 'connections')
  count(iid, 'd:' .. device)
  count(iid, 'r:' .. role)
  if redis.call('SADD', online, uid) == 1 then
    came = came + 1
    if offline ~= uid then publish(channel, 'up', uid, iid) end
  end
end
for _, iid in ipairs(order) do
  local sk = base .. ':instance_stats:' .. iid
  for field, n in pairs(counts[iid]) do redis.call('HINCRBY', sk, field, n) end
  redis.call('SADD', base .. ':instances', iid)
end
return came
`);

/** ARGV: base, cid, presenceChannel. Returns 0 unknown, 1 removed, 2 removed and the user went offline. */
export const REMOVE = new LuaScript(`${PRELUDE}
local existed, offline = remove_conn(ARGV[2])
if not existed then return 0 end
if offline then publish(ARGV[3], 'down', offline, '') return 2 end
return 1
`);

/** ARGV: base, iid, presenceChannel. Returns how many connections were removed. */
export const REMOVE_INSTANCE = new LuaScript(`${PRELUDE}
return remove_instance(ARGV[2], ARGV[3])
`);

/** ARGV: base, presenceChannel. Removes every registered instance whose liveness key expired; returns {iid, count, ...}. */
export const REAP = new LuaScript(`${PRELUDE}
local out = {}
for _, iid in ipairs(redis.call('SMEMBERS', base .. ':instances')) do
  if redis.call('EXISTS', base .. ':instance_alive:' .. iid) == 0 then
    table.insert(out, iid)
    table.insert(out, remove_instance(iid, ARGV[2]))
  end
end
return out
`);

/**
 * ARGV: base, uid, uid, ... Returns one list per uid, in ARGV order: {cid, role, device,
 * connectionType, iid, at, ...}, oldest first (an empty list for a user with no connection).
 */
export const DEVICES_MANY = new LuaScript(`${PRELUDE}
local out = {}
for a = 2, #ARGV do
  local list = {}
  for _, cid in ipairs(redis.call('ZRANGE', base .. ':user_conns:' .. ARGV[a], 0, -1)) do
    local h = redis.call('HMGET', base .. ':conn:' .. cid, 'r', 'd', 't', 'i', 'at')
    if h[1] then
      table.insert(list, cid)
      for i = 1, 5 do table.insert(list, h[i]) end
    end
  end
  out[a - 1] = list
end
return out
`);

/** ARGV: base. Returns {onlineUserCount, iid, {field, value, ...}, iid, {...}, ...}. */
export const STATS = new LuaScript(`${PRELUDE}
local out = { redis.call('SCARD', online) }
for _, iid in ipairs(redis.call('SMEMBERS', base .. ':instances')) do
  table.insert(out, iid)
  table.insert(out, redis.call('HGETALL', base .. ':instance_stats:' .. iid))
end
return out
`);
