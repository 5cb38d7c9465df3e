/**
 * Every Redis key and channel name in one place.
 *
 * Standalone: the seed's names (`ws:online_users`, `ws:presence`, `ws:broadcast`) plus ours,
 * under REDIS_KEY_PREFIX. Cluster: presence keys share the hash tag `{ws}` so the Lua scripts
 * that touch several of them run on one node; per-user channels carry the user id as their
 * hash tag (`ws:user:{<id>}`) so sharded pub/sub spreads users over all shards.
 * Standalone with classic pub/sub routes per instance instead (see bus/redis-instance-routing.ts):
 * `ws:bus:routes` (HASH: user → the instances holding them) and the channel `ws:instance:<iid>`.
 * Each instance probes its pub/sub latency on its own `ws:probe:{<iid>}` (never delivered to sockets).
 */
export interface RedisNames {
  /** Per-user delivery channel. */
  userChannel(userId: string): string;
  /** User id from a per-user channel name, or null for any other channel. */
  userOfChannel(channel: string): string | null;
  /** Instance-wide notices (seed: ws:broadcast). */
  broadcastChannel: string;
  /** User online/offline events (seed: ws:presence). */
  presenceChannel: string;
  /** Prefix of every presence key; Lua scripts build the rest from it. */
  presenceBase: string;
  /** Prefix of the bus's routing keys (`<base>:routes`, `<base>:routes_of:<iid>`, `<base>:routes_version`); standalone only. */
  routeBase: string;
  /** Prefix of the per-instance delivery channels (`<prefix><instance id>`); standalone only. */
  instanceChannelPrefix: string;
  onlineUsers: string;
  ticket(jti: string): string;
  /** Prefix of the rate-limit counters (http/rate-limits.ts, ws/connection-limits.ts). */
  rateLimitPrefix: string;
  /**
   * The channel an instance's bus probes its own Redis pub/sub latency on (metrics; bus/redis.ts
   * `probe`). The instance id is the hash tag, so a sharded SPUBLISH lands on one shard.
   */
  probeChannel(instanceId: string): string;
}

export function redisNames(prefix: string, cluster: boolean): RedisNames {
  const userPrefix = `${prefix}ws:user:{`;
  const presenceBase = cluster ? `${prefix}{ws}` : `${prefix}ws`;
  return {
    userChannel: (userId) => `${userPrefix}${userId}}`,
    userOfChannel: (channel) =>
      channel.startsWith(userPrefix) && channel.endsWith('}') ? channel.slice(userPrefix.length, -1) : null,
    broadcastChannel: `${prefix}ws:broadcast`,
    presenceChannel: `${prefix}ws:presence`,
    presenceBase,
    routeBase: `${presenceBase}:bus`,
    instanceChannelPrefix: `${prefix}ws:instance:`,
    onlineUsers: `${presenceBase}:online_users`,
    ticket: (jti) => `${presenceBase}:ticket:${jti}`,
    rateLimitPrefix: `${prefix}ratelimit:`,
    probeChannel: (instanceId) => `${prefix}ws:probe:{${instanceId}}`,
  };
}
