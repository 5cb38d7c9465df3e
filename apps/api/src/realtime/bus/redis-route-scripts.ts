/**
 * Lua scripts of the per-instance routing (redis-instance-routing.ts). Keys, built from the
 * route base passed as ARGV[1] (standalone Redis only; see redis/keys.ts):
 *   <base>:route:<uid>       SET  ids of the instances that hold a socket of the user
 *   <base>:routes_of:<iid>   SET  user ids an instance registered (to forget them in one go)
 *
 * Routing runs inside Redis, in the same serial order as the registrations. So once an
 * instance's registration has returned, every publish that Redis executes afterwards sees it:
 * no window in which a peer's stale copy of the routes would miss the new socket.
 */
import { LuaScript } from '../redis/lua-script.ts';

/**
 * Publish a batch of envelopes, one PUBLISH per target instance carrying every record for it.
 *
 * ARGV: base, channelPrefix, selfInstanceId, messageCount, then per message:
 *   headerPrefix (the record's JSON header without its closing brace), frame, userCount, userIds…
 * Each record sent is `headerPrefix,"t":[<that instance's user ids>],"n":<frame bytes>}\n<frame>`.
 * The publisher itself is skipped: it delivered its local recipients already.
 * Returns the number of PUBLISHes.
 */
export const ROUTE_PUBLISH = new LuaScript(`
local base, chan, self = ARGV[1], ARGV[2], ARGV[3]
local routes = {}
local out = {}
local order = {}
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  local prefix, frame, n = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
  i = i + 3
  local per = {}
  local perOrder = {}
  for k = i, i + n - 1 do
    local uid = ARGV[k]
    local instances = routes[uid]
    if not instances then
      instances = redis.call('SMEMBERS', base .. ':route:' .. uid)
      routes[uid] = instances
    end
    for _, iid in ipairs(instances) do
      if iid ~= self then
        local list = per[iid]
        if not list then
          list = {}
          per[iid] = list
          perOrder[#perOrder + 1] = iid
        end
        list[#list + 1] = cjson.encode(uid)
      end
    end
  end
  i = i + n
  for _, iid in ipairs(perOrder) do
    local records = out[iid]
    if not records then
      records = {}
      out[iid] = records
      order[#order + 1] = iid
    end
    records[#records + 1] = prefix .. ',"t":[' .. table.concat(per[iid], ',') .. '],"n":' .. #frame .. '}\\n' .. frame
  end
end
for _, iid in ipairs(order) do
  redis.call('PUBLISH', chan .. iid, table.concat(out[iid]))
end
return #order
`);

/** ARGV: base, selfInstanceId, addCount, added user ids…, removed user ids…. */
export const ROUTES_UPDATE = new LuaScript(`
local base, self, added = ARGV[1], ARGV[2], tonumber(ARGV[3])
local mine = base .. ':routes_of:' .. self
for k = 4, 3 + added do
  redis.call('SADD', base .. ':route:' .. ARGV[k], self)
  redis.call('SADD', mine, ARGV[k])
end
for k = 4 + added, #ARGV do
  redis.call('SREM', base .. ':route:' .. ARGV[k], self)
  redis.call('SREM', mine, ARGV[k])
end
return 1
`);

/**
 * Forget every route of an instance, then register the given users for it (none: just forget).
 * ARGV: base, instanceId, user ids…. Returns how many routes were forgotten.
 */
export const ROUTES_REPLACE = new LuaScript(`
local base, iid = ARGV[1], ARGV[2]
local mine = base .. ':routes_of:' .. iid
local old = redis.call('SMEMBERS', mine)
for _, uid in ipairs(old) do
  redis.call('SREM', base .. ':route:' .. uid, iid)
end
redis.call('DEL', mine)
for k = 3, #ARGV do
  redis.call('SADD', base .. ':route:' .. ARGV[k], iid)
  redis.call('SADD', mine, ARGV[k])
end
return #old
`);
