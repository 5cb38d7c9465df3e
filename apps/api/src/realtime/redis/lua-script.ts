/**
 * A Lua script run by its SHA1 (EVALSHA), so the script text crosses the wire only the first
 * time a Redis server sees it (and again after a restart or SCRIPT FLUSH: NOSCRIPT → EVAL once).
 * Hot paths (every routed publish) must not send kilobytes of Lua per call.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from './clients.ts';

export type LuaArg = string | Buffer;

export class LuaScript {
  readonly #source: string;
  readonly #sha: string;

  constructor(source: string) {
    this.#source = source;
    this.#sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs with `keys` as KEYS (they route the call in a cluster) and `args` as ARGV. */
  async run(client: RedisClient, keys: readonly string[], args: readonly LuaArg[]): Promise<unknown> {
    try {
      return await client.evalsha(this.#sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      // EVAL also loads the script into the server's cache, so the next call is an EVALSHA again.
      return client.eval(this.#source, keys.length, ...keys, ...args);
    }
  }
}
