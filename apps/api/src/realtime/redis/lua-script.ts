/**
 * A Lua script run by its SHA1 (EVALSHA), so the script text crosses the wire only the first
 * time a Redis server sees it (and again after a restart or SCRIPT FLUSH: NOSCRIPT → load once).
 * Hot paths (every routed publish) must not send kilobytes of Lua per call.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisClient } from './clients.ts';
import { sendEncoded } from './encoded-command.ts';

type LuaArg = string | Buffer;

export class LuaScript {
  readonly #source: string;
  /** The script's SHA1, hex (what EVALSHA names it by). */
  readonly sha: string;

  constructor(source: string) {
    this.#source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** Runs with `keys` as KEYS (they route the call in a cluster) and `args` as ARGV. */
  async run(client: RedisClient, keys: readonly string[], args: readonly LuaArg[]): Promise<unknown> {
    try {
      return await client.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      // EVAL also loads the script into the server's cache, so the next call is an EVALSHA again.
      return client.eval(this.#source, keys.length, ...keys, ...args);
    }
  }

  /**
   * Runs an EVALSHA of this script whose whole RESP command the caller has already encoded
   * (`bytes`, see redis-route-batch.ts): ioredis writes those bytes as they are instead of
   * copying every argument (encoded-command.ts). Standalone Redis only.
   *
   * After NOSCRIPT the same call is sent again as an EVAL, which loads the script as it runs.
   * One command, not SCRIPT LOAD and then EVALSHA: a batch of ours sent between those two
   * would find the script and run before the one being repeated (publish order).
   */
  async runEncoded(client: Redis, bytes: Buffer): Promise<unknown> {
    try {
      return await sendEncoded(client, 'evalsha', bytes);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      return sendEncoded(client, 'eval', this.#asEval(bytes));
    }
  }

  /** SCRIPT LOAD, written at once (ioredis never auto-pipelines SCRIPT): an EVALSHA sent after it on the same connection finds the script. */
  load(client: Redis): Promise<unknown> {
    return client.script('LOAD', this.#source);
  }

  /** `bytes` (`*N EVALSHA <sha> …`) with its first two arguments replaced by `EVAL <source>`. */
  #asEval(bytes: Buffer): Buffer {
    const count = bytes.subarray(0, bytes.indexOf('\r\n') + 2);
    const evalsha = `$7\r\nEVALSHA\r\n$40\r\n${this.sha}\r\n`;
    const rest = count.length + evalsha.length;
    if (bytes.toString('latin1', count.length, rest) !== evalsha) {
      throw new Error('LuaScript.runEncoded: the command is not an EVALSHA of this script');
    }
    const head = `$4\r\nEVAL\r\n$${Buffer.byteLength(this.#source)}\r\n${this.#source}\r\n`;
    return Buffer.concat([count, Buffer.from(head), bytes.subarray(rest)]);
  }
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}
