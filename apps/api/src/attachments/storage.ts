/**
 * Where attachment bytes live: one interface, one file per implementation (disk-storage.ts for
 * ATTACHMENTS_STORAGE=disk, s3-storage.ts for ATTACHMENTS_STORAGE=s3), one contract suite for
 * both (test/contract/attachment-storage-contract.ts).
 */
import type { Readable } from 'node:stream';

/** Inclusive byte offsets, as in `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Stores the bytes of each attachment under a key the caller chose (`<conversation>/<uuid>`).
 *
 * Contract for implementations:
 * - Keys: one or more segments of letters, digits, `_` and `-`, joined by `/` (at most 512
 *   characters; see `assertStorageKey`). Every method refuses any other key (with the TypeError
 *   `assertStorageKey` throws) before touching the store, so no key reaches outside the store's
 *   own place (the root folder; the bucket and prefix). The caller never stores one key that is a
 *   leading segment of another (`a` and `a/b`).
 * - `write(key, source)` consumes `source` and resolves with its length in bytes once the whole
 *   object is stored and readable by every instance sharing the store. It streams: it holds at
 *   most a bounded part of the source in memory at a time (disk: a stream buffer; S3: one part
 *   per upload slot), never the whole object. An object appears under `key` only complete: a
 *   `read` during a write finds nothing (or the previous object, which a write replaces).
 * - When `write` rejects, nothing is left behind: no object under `key`, no partial file, no
 *   unfinished multipart upload; and `source` has been destroyed (not left paused half-read).
 *   If `source` failed, `write` rejects with that same error object (callers tell a client's
 *   broken body from a storage fault by it); otherwise with the store's error (below).
 * - `read(key, range?)` resolves with a stream of the object's bytes (or of `range`, which the
 *   caller has checked: 0 <= start <= end < size), or with `null` when no object is stored under
 *   `key` (never written, removed, or its write failed). Faults of the store itself reject. The
 *   caller must consume or destroy the stream: on S3 it holds a pooled connection.
 * - `remove(key)` resolves once no object is stored under `key`; removing a missing key resolves.
 * - A fault of the store that passes with time (no connection, a timeout, a 5xx answer) rejects
 *   with `StorageUnavailableError` (its `cause`: the store's error), which HTTP answers 503
 *   SERVICE_UNAVAILABLE with Retry-After; any other fault (refused credentials, a missing bucket,
 *   a full disk) rejects with the store's own error, answered 500 INTERNAL and logged as ERROR.
 * - `close()` releases connections; no other method is called after it.
 */
export interface AttachmentStorage {
  write(key: string, source: Readable): Promise<number>;
  read(key: string, range?: ByteRange): Promise<Readable | null>;
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

/** The store did not answer, or answered that it cannot now (see the contract above). */
export class StorageUnavailableError extends Error {
  override name = 'StorageUnavailableError';
}

const KEY = /^[A-Za-z0-9_-]+(?:\/[A-Za-z0-9_-]+)*$/;

/** Throws unless `key` is a storage key as the contract above defines it. */
export function assertStorageKey(key: string): void {
  if (typeof key !== 'string' || key.length > 512 || !KEY.test(key)) {
    throw new TypeError(
      `invalid attachment storage key ${JSON.stringify(String(key).slice(0, 100))}: use segments of letters, digits, _ and - joined by / (at most 512 characters)`,
    );
  }
}
