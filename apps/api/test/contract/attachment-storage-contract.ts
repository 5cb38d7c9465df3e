/**
 * The AttachmentStorage contract (src/attachments/storage.ts), run against every backend: the
 * local disk and an S3-compatible server. Uses only the interface, plus what the fixture can
 * see of the backend itself (what it holds, how many bytes reached it).
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AttachmentStorage } from '../../src/attachments/storage.ts';
import { eventually } from '../support/wait.ts';

export interface StorageFixture {
  storage: AttachmentStorage;
  /** Another instance's storage on the same backend (same folder; same bucket, another client). */
  other: AttachmentStorage;
  /** A storage on this backend that cannot store: its folder cannot be made, its bucket does not exist. */
  broken: AttachmentStorage;
  /** Everything the backend holds: stored objects, partial files, unfinished multipart uploads. */
  leftovers(): Promise<string[]>;
  /** Bytes that have reached the backend so far, writes under way included. */
  receivedBytes(): Promise<number>;
  /** The most bytes of a source this storage may hold before they reach the backend. */
  maxBufferedBytes: number;
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
/** ATTACHMENT_MAX_BYTES's default: the largest file a default installation stores. */
const DEFAULT_MAX_BYTES = 10 * MiB;

/** `length` bytes that differ at every offset a bug might shift (all 256 values, no period of a power of two). */
function pattern(length: number, seed = 0): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + seed + (i >> 8)) & 0xff;
  return bytes;
}

/** `bytes` as a stream of uneven chunks (never aligned with a part or buffer size). */
function chunked(bytes: Buffer, chunkBytes = 65_521): Readable {
  let offset = 0;
  return new Readable({
    highWaterMark: 16 * 1024,
    read() {
      if (offset >= bytes.length) return void this.push(null);
      this.push(bytes.subarray(offset, offset + chunkBytes));
      offset += chunkBytes;
    },
  });
}

async function bytesOf(stream: Readable | null): Promise<Buffer> {
  if (!stream) throw new Error('expected an object, read() resolved null');
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A source of `before` bytes that then fails with `error` (a client's body breaking off). Its
 * `error` listener stays on, so the failure never goes unhandled whatever the storage does.
 */
function failingAfter(before: number, error: Error): Readable {
  const data = pattern(before);
  let sent = false;
  const source = new Readable({
    read() {
      if (sent) return void this.destroy(error);
      sent = true;
      let offset = 0;
      while (offset < data.length) {
        this.push(data.subarray(offset, offset + 64 * 1024));
        offset += 64 * 1024;
      }
    },
  });
  source.on('error', () => undefined);
  return source;
}

const KEY = 'conversation-1/8d1c4a52-3f3e-4a8e-9a51-0c1f7f6f2b11';

export function describeAttachmentStorageContract(name: string, factory: () => Promise<StorageFixture>): void {
  describe(`AttachmentStorage contract: ${name}`, () => {
    let fixture: StorageFixture;
    let storage: AttachmentStorage;

    beforeEach(async () => {
      fixture = await factory();
      storage = fixture.storage;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it('stores and reads back binary objects byte for byte: empty, one byte, every byte value, a part boundary, the default size limit', async () => {
      const cases: Array<[string, Buffer]> = [
        ['c/empty', Buffer.alloc(0)],
        ['c/one-byte', Buffer.from([0x00])],
        ['c/every-byte-value', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131) & 0xff))],
        ['c/five-mib-and-one', pattern(5 * MiB + 1, 1)],
        ['c/ten-mib', pattern(DEFAULT_MAX_BYTES, 2)],
      ];
      for (const [key, bytes] of cases) {
        expect([key, await storage.write(key, chunked(bytes))]).toEqual([key, bytes.length]);
      }
      for (const [key, bytes] of cases) {
        const back = await bytesOf(await storage.read(key));
        expect([key, back.length, sha(back)]).toEqual([key, bytes.length, sha(bytes)]);
      }
    });

    it('reads an inclusive byte range: the first byte, the last byte, a middle slice, all of it', async () => {
      const bytes = pattern(100_000, 3);
      await storage.write(KEY, chunked(bytes));
      for (const [start, end] of [
        [0, 0],
        [99_999, 99_999],
        [12_345, 67_890],
        [0, 99_999],
      ] as const) {
        const slice = await bytesOf(await storage.read(KEY, { start, end }));
        expect([start, end, slice.equals(bytes.subarray(start, end + 1))]).toEqual([start, end, true]);
      }
    });

    it('serves what one instance wrote to another instance on the same backend', async () => {
      const bytes = pattern(300_000, 4);
      await storage.write(KEY, chunked(bytes));
      expect((await bytesOf(await fixture.other.read(KEY))).equals(bytes)).toBe(true);
      await fixture.other.remove(KEY);
      expect(await storage.read(KEY)).toBeNull();
    });

    it('streams: the backend receives bytes while the source is still producing, and no partial object is visible meanwhile', async () => {
      // The source holds back its rest until the backend has received something: a storage that
      // gathered the whole source before sending would wait forever (and the test says so).
      const total = fixture.maxBufferedBytes + 4 * MiB + 17;
      const gate = fixture.maxBufferedBytes + 2 * MiB;
      const bytes = pattern(total, 5);
      let produced = 0;
      let sawPartial: unknown = 'not checked';
      const source = new Readable({
        highWaterMark: 64 * 1024,
        read() {
          const next = bytes.subarray(produced, produced + 64 * 1024);
          if (produced === gate) {
            eventually(
              () => fixture.receivedBytes(),
              (n) => n >= MiB,
              `the backend to receive 1 MiB while the source holds back all but ${gate} of ${total} bytes (a storage that buffers whole uploads never sends it)`,
              20_000,
            )
              .then(async () => {
                sawPartial = await storage.read(KEY);
                produced += next.length;
                this.push(next);
              })
              .catch((error: unknown) => this.destroy(error as Error));
            return;
          }
          produced += next.length;
          this.push(next.length > 0 ? next : null);
        },
      });
      expect(await storage.write(KEY, source)).toBe(total);
      expect(sawPartial).toBeNull();
      const back = await storage.read(KEY);
      // The object comes back as a stream of chunks, not as one buffer.
      let chunks = 0;
      const hash = createHash('sha256');
      for await (const chunk of back as Readable) {
        chunks += 1;
        hash.update(chunk as Buffer);
      }
      expect(hash.digest('hex')).toBe(sha(bytes));
      expect(chunks).toBeGreaterThan(1);
    });

    it('answers null for a key never written, a removed key, and a key that only leads other keys', async () => {
      await storage.write(`${KEY}`, chunked(pattern(10)));
      expect(await storage.read('conversation-1/never-written')).toBeNull();
      expect(await storage.read('conversation-1')).toBeNull();
      await storage.remove(KEY);
      expect(await storage.read(KEY)).toBeNull();
    });

    it('removes idempotently: a missing key, the same key twice, a key that only leads other keys', async () => {
      await storage.write(KEY, chunked(pattern(10)));
      await storage.remove('conversation-1/never-written');
      await storage.remove('conversation-1');
      const still = await storage.read(KEY);
      expect(still).not.toBeNull();
      still?.destroy();
      await storage.remove(KEY);
      await storage.remove(KEY);
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('replaces the object when a key is written again', async () => {
      await storage.write(KEY, chunked(pattern(5000, 6)));
      await storage.write(KEY, chunked(pattern(3000, 7)));
      expect((await bytesOf(await storage.read(KEY))).equals(pattern(3000, 7))).toBe(true);
      expect(await fixture.leftovers()).toHaveLength(1);
    });

    it.each([
      '../escaped',
      'conversation-1/../../escaped',
      '/etc/passwd',
      'a//b',
      'a/',
      '',
      '..',
      'a/./b',
      'a\\b',
      'a b',
      'a%2F..%2Fb',
      'é',
      'x'.repeat(513),
    ])('refuses the key %j on write, read and remove, touching nothing', async (key) => {
      const message = /^invalid attachment storage key ".*": use segments of letters, digits, _ and - joined by \//;
      const source = chunked(pattern(1000));
      await expect(storage.write(key, source)).rejects.toThrow(message);
      expect(source.destroyed).toBe(true);
      await expect(storage.read(key)).rejects.toThrow(message);
      await expect(storage.remove(key)).rejects.toThrow(message);
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('a source that fails mid-stream fails the write with that same error and leaves nothing', async () => {
      for (const before of [1000, fixture.maxBufferedBytes + 3 * MiB]) {
        const broken = new Error(`client went away after ${before} bytes`);
        const source = failingAfter(before, broken);
        await expect(storage.write(KEY, source)).rejects.toBe(broken);
        expect(source.destroyed).toBe(true);
        expect(await storage.read(KEY)).toBeNull();
        expect([before, await fixture.leftovers()]).toEqual([before, []]);
      }
    });

    it('a source destroyed without an error (an aborted request) fails the write and leaves nothing', async () => {
      const bytes = pattern(fixture.maxBufferedBytes + 2 * MiB, 8);
      let offset = 0;
      const source = new Readable({
        read() {
          // Past what the storage may buffer, so an S3 multipart upload is under way by then.
          if (offset >= fixture.maxBufferedBytes + MiB) return void this.destroy();
          this.push(bytes.subarray(offset, offset + 64 * 1024));
          offset += 64 * 1024;
        },
      });
      await expect(storage.write(KEY, source)).rejects.toThrow();
      expect(await storage.read(KEY)).toBeNull();
      expect(await fixture.leftovers()).toEqual([]);
    });

    it('a backend that cannot store fails the write and destroys the source', async () => {
      const source = chunked(pattern(100_000));
      await expect(fixture.broken.write(KEY, source)).rejects.toThrow();
      expect(source.destroyed).toBe(true);
    });
  });
}
