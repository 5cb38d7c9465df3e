/**
 * ATTACHMENTS_STORAGE=disk: one file per attachment under ATTACHMENTS_DIR. With several
 * instances the folder must be shared (e.g. NFS), or use ATTACHMENTS_STORAGE=s3 — see
 * docs/operations.md. Contract: storage.ts.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type AttachmentStorage, assertStorageKey, type ByteRange } from './storage.ts';

/** "No file at this key": the key names nothing, or a folder (a leading segment of other keys). */
const MISSING = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

export class LocalDiskStorage implements AttachmentStorage {
  readonly #root: string;

  constructor(root: string) {
    this.#root = resolve(root);
  }

  async write(key: string, source: Readable): Promise<number> {
    let path: string;
    try {
      path = this.#path(key);
    } catch (error) {
      source.destroy();
      throw error;
    }
    // Written beside its final name, then renamed: a reader never sees half a file, and a crash
    // mid-write leaves a `.partial` file no key can name (keys hold no dots).
    const partial = `${path}.${randomUUID()}.partial`;
    try {
      await mkdir(dirname(path), { recursive: true });
      await pipeline(source, createWriteStream(partial, { flags: 'wx' }));
      const { size } = await stat(partial);
      await rename(partial, path);
      return size;
    } catch (error) {
      source.destroy();
      await rm(partial, { force: true });
      throw error;
    }
  }

  async read(key: string, range?: ByteRange): Promise<Readable | null> {
    const path = this.#path(key);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (error) {
      if (MISSING.has((error as NodeJS.ErrnoException).code ?? '')) return null;
      throw error;
    }
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      return null;
    }
    // The stream closes the handle when it ends or is destroyed.
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async remove(key: string): Promise<void> {
    try {
      await unlink(this.#path(key));
    } catch (error) {
      if (!MISSING.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
    }
  }

  async close(): Promise<void> {}

  /** Keys cannot hold `..` (assertStorageKey); the prefix check stays as a second wall. */
  #path(key: string): string {
    assertStorageKey(key);
    const path = resolve(join(this.#root, key));
    if (!path.startsWith(this.#root + sep)) throw new TypeError(`attachment key escapes the storage root: ${key}`);
    return path;
  }
}
