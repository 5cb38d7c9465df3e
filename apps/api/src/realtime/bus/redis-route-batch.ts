/**
 * One event-loop turn's routed publishes, encoded as they arrive straight into the bytes of
 * the script call that carries them (RESP):
 *
 *   EVALSHA <sha> 0 <routeBase> <channelPrefix> <selfInstanceId> <blob> <index>
 *
 * The blob is the records back to back (format in redis-codec.ts: recipients line, header
 * line, frame). The index is a JSON array of two numbers per record: its length in bytes and
 * the length of its recipients line, which starts the record; the script reads the recipients
 * from the blob itself, so they cross the wire once.
 *
 * Why encode the command ourselves: handing ioredis the blob as an argument cost three copies
 * per batch (ours, its command buffer, its auto-pipeline's concatenation) and kept the turn's
 * header strings alive on the heap until the batch was sent. Here each record is copied once,
 * when it is published, and its strings die young. Its buffer comes from, and goes back to, the
 * routing's BatchBuffers (batch-buffers.ts says why).
 */
import { publishHead } from '../redis/encoded-command.ts';
import type { BatchBuffers } from './batch-buffers.ts';

const NEWLINE = 0x0a;
/** Room for `$<blob length>\r\n` in front of the blob: `$`, up to 10 digits, CRLF. */
const LENGTH_LINE_ROOM = 13;
/** The least room a batch asks for when nothing is known yet (16 KiB); it doubles as needed. */
const MIN_CAPACITY = 16 * 1024;

function bulk(value: string): string {
  return `$${Buffer.byteLength(value)}\r\n${value}\r\n`;
}

/** The constant start of every batch's command for one publisher and script (ASCII). */
export function routeCommandHead(sha: string, routeBase: string, channelPrefix: string, selfId: string): Buffer {
  return Buffer.from(
    `*8\r\n${bulk('EVALSHA')}${bulk(sha)}${bulk('0')}${bulk(routeBase)}${bulk(channelPrefix)}${bulk(selfId)}`,
  );
}

export class RouteBatch {
  readonly #head: Buffer;
  /** Where the blob starts: the head and the blob's length line are written in front of it at the end. */
  readonly #blobStart: number;
  #buffer: Buffer;
  #end: number;
  /** Two numbers per record: its byte length and its recipients line's. */
  readonly #index: number[] = [];
  /** Each record's recipients (the caller's arrays), for a batch whose routes the publisher looks up. */
  readonly targets: (readonly string[])[] = [];
  envelopes = 0;
  recipients = 0;

  readonly #buffers: BatchBuffers;

  /** `expectedBytes`: a guess of the blob's size (the previous batch's), to avoid regrowing. */
  constructor(head: Buffer, expectedBytes: number, buffers: BatchBuffers) {
    this.#head = head;
    this.#buffers = buffers;
    this.#blobStart = head.length + LENGTH_LINE_ROOM;
    this.#buffer = buffers.take(this.#blobStart + Math.max(MIN_CAPACITY, expectedBytes));
    this.#end = this.#blobStart;
  }

  /**
   * Gives the batch's buffer back for later batches. Only once every command that carries its
   * bytes has been answered (batch-buffers.ts); the batch must not be used afterwards.
   */
  release(): void {
    this.#buffers.give(this.#buffer);
  }

  /** Bytes of records so far. */
  get bytes(): number {
    return this.#end - this.#blobStart;
  }

  /**
   * Appends one record. `targets` is its recipients line, `userIds` joined (RecipientsLineEncoder),
   * and `meta` its header line, both without the newline (redis-codec.ts).
   */
  append(userIds: readonly string[], targets: string, meta: string, frame: Buffer): void {
    // UTF-16 code units take at most 3 bytes in UTF-8: a safe bound without measuring first.
    this.#reserve(3 * (targets.length + meta.length) + 2 + frame.length);
    const start = this.#end;
    const buffer = this.#buffer;
    let at = start + buffer.write(targets, start);
    const targetsBytes = at - start;
    buffer[at++] = NEWLINE;
    at += buffer.write(meta, at);
    buffer[at++] = NEWLINE;
    at += frame.copy(buffer, at);
    this.#end = at;
    this.#index.push(at - start, targetsBytes);
    this.targets.push(userIds);
    this.envelopes++;
    this.recipients += userIds.length;
  }

  /**
   * The records alone, back to back (what an instance channel carries), and where each one ends
   * in it: for publishing them without the script. Like `finish`, it ends the batch.
   */
  records(): { blob: Buffer; ends: number[] } {
    // Room for the line end `publishAll` writes after the records.
    this.#reserve(2);
    const ends: number[] = [];
    let end = 0;
    for (let k = 0; k < this.#index.length; k += 2) {
      end += this.#index[k]!;
      ends.push(end);
    }
    return { blob: this.#buffer.subarray(this.#blobStart, this.#end), ends };
  }

  /**
   * `PUBLISH <channel> <every record>` written around the records where they lie, in the room
   * kept in front of them for the script's head: no copy of the records. Null when the head does
   * not fit there (an instance id far longer than ours). Once per batch, after `records`.
   */
  publishAll(channel: string): Buffer | null {
    const head = publishHead(channel, this.bytes);
    const headBytes = Buffer.byteLength(head);
    if (headBytes > this.#blobStart) return null;
    const start = this.#blobStart - headBytes;
    this.#buffer.write(head, start);
    this.#buffer[this.#end] = 0x0d;
    this.#buffer[this.#end + 1] = 0x0a;
    return this.#buffer.subarray(start, this.#end + 2);
  }

  /** The complete command: head, blob, index. The batch must not be appended to afterwards. */
  finish(): Buffer {
    const blobBytes = this.bytes;
    const index = `[${this.#index.join(',')}]`;
    const tail = `\r\n${bulk(index)}`;
    this.#reserve(tail.length);
    this.#buffer.write(tail, this.#end, 'latin1');
    const lengthLine = `$${blobBytes}\r\n`;
    const start = this.#blobStart - lengthLine.length - this.#head.length;
    this.#head.copy(this.#buffer, start);
    this.#buffer.write(lengthLine, this.#blobStart - lengthLine.length, 'latin1');
    return this.#buffer.subarray(start, this.#end + tail.length);
  }

  #reserve(bytes: number): void {
    const needed = this.#end + bytes;
    if (needed <= this.#buffer.length) return;
    const grown = this.#buffers.take(Math.max(needed, 2 * this.#buffer.length));
    this.#buffer.copy(grown, 0, 0, this.#end);
    // Nothing was sent from the old one: only this batch wrote to it.
    this.#buffers.give(this.#buffer);
    this.#buffer = grown;
  }
}
