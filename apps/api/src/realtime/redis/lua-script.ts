/**
 * A Lua script run by its SHA1 (EVALSHA), so the script text crosses the wire only the first
 * time a Redis server sees it (and again after a restart or SCRIPT FLUSH: NOSCRIPT → load once).
 * Hot paths (every routed publish) must not send kilobytes of Lua per call.
 */
import { createHash } from 'node:crypto';
import { Command, type Redis } from 'ioredis';
import type { RedisClient } from './clients.ts';

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
   * copying every argument into a command buffer of its own (and again into an auto-pipeline).
   * Standalone Redis only: nothing here picks a cluster node. After NOSCRIPT the script is
   * loaded and the same bytes are sent again.
   */
  async runEncoded(client: Redis, bytes: Buffer): Promise<unknown> {
    try {
      return await sendEncoded(client, bytes);
    } catch (error) {
      if (!isNoScript(error)) throw error;
      await client.script('LOAD', this.#source);
      return sendEncoded(client, bytes);
    }
  }
}

function sendEncoded(client: Redis, bytes: Buffer): Promise<unknown> {
  const command = new EncodedCommand(bytes);
  client.sendCommand(command);
  return command.promise;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * An EVALSHA whose RESP bytes are already complete. ioredis's `Command` is public API; its
 * `toWritable` is what `sendCommand` writes to the socket (also when it resends the command
 * from its offline queue), so returning our bytes there is all it takes.
 */
class EncodedCommand extends Command {
  readonly #bytes: Buffer;

  constructor(bytes: Buffer) {
    super('evalsha', []);
    this.#bytes = bytes;
  }

  override toWritable(): Buffer {
    return this.#bytes;
  }
}
