/**
 * Sending a command whose RESP bytes we encoded ourselves (the routing script's batch, a routed
 * PUBLISH): ioredis writes those bytes as they are instead of copying every argument into a
 * command buffer of its own (and again into an auto-pipeline). Standalone Redis only: nothing
 * here picks a cluster node.
 *
 * Commands sent this way go to the socket at once, in call order, and so never overtake one
 * another; commands sent through ioredis's methods wait for its auto-pipeline (the next tick).
 */
import { Command, type Redis } from 'ioredis';

/**
 * `name` with string `args`, written to the socket at once (ioredis's own methods wait for its
 * auto-pipeline, which waits for the previous pipeline's answers); the reply's strings as UTF-8.
 */
export function sendNow(client: Redis, name: string, args: string[]): Promise<unknown> {
  const command = new Command(name, args, { replyEncoding: 'utf8' });
  client.sendCommand(command);
  return command.promise;
}

/** `name` is the command's name (what ioredis reports in errors); `bytes` its whole RESP form. */
export function sendEncoded(client: Redis, name: string, bytes: Buffer): Promise<unknown> {
  const command = new EncodedCommand(name, bytes);
  client.sendCommand(command);
  return command.promise;
}

/** RESP for `PUBLISH <channel> ` up to its payload (`payloadBytes` long, then CRLF, follow). */
export function publishHead(channel: string, payloadBytes: number): string {
  return `*3\r\n$7\r\nPUBLISH\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n$${payloadBytes}\r\n`;
}

/** RESP for `PUBLISH <channel> <payload>`, the payload being `parts` back to back (each copied once). */
export function encodePublish(channel: string, parts: readonly Buffer[]): Buffer {
  let payloadBytes = 0;
  for (const part of parts) payloadBytes += part.length;
  const head = publishHead(channel, payloadBytes);
  const bytes = Buffer.allocUnsafe(Buffer.byteLength(head) + payloadBytes + 2);
  let at = bytes.write(head, 0);
  for (const part of parts) at += part.copy(bytes, at);
  bytes[at] = 0x0d;
  bytes[at + 1] = 0x0a;
  return bytes;
}

/**
 * A command whose RESP bytes are already complete. ioredis's `Command` is public API; its
 * `toWritable` is what `sendCommand` writes to the socket (also when it resends the command
 * from its offline queue), so returning our bytes there is all it takes.
 */
class EncodedCommand extends Command {
  readonly #bytes: Buffer;

  constructor(name: string, bytes: Buffer) {
    super(name, []);
    this.#bytes = bytes;
  }

  override toWritable(): Buffer {
    return this.#bytes;
  }
}
