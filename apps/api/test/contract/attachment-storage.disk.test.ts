import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { LocalDiskStorage } from '../../src/attachments/disk-storage.ts';
import { describeAttachmentStorageContract, type StorageFixture } from './attachment-storage-contract.ts';

async function files(root: string): Promise<Array<{ name: string; size: number }>> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true }).catch(() => []);
  const found: Array<{ name: string; size: number }> = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    found.push({ name: relative(root, path), size: (await stat(path)).size });
  }
  return found;
}

/** A folder per test, inside a parent the test also watches: nothing may appear beside the root. */
async function diskFixture(): Promise<StorageFixture> {
  const parent = await mkdtemp(join(tmpdir(), 'anmei-disk-contract-'));
  const root = join(parent, 'attachments');
  const blocker = join(parent, 'a-file');
  await writeFile(blocker, 'not a folder');
  return {
    storage: new LocalDiskStorage(root),
    other: new LocalDiskStorage(root),
    broken: new LocalDiskStorage(join(blocker, 'attachments')),
    // Relative to the parent, so a file written outside the root shows up too.
    leftovers: async () => (await files(parent)).map((f) => f.name).filter((n) => n !== 'a-file'),
    receivedBytes: async () => (await files(root)).reduce((sum, f) => sum + f.size, 0),
    // A file write stream's buffer (16 KiB) and the source's own; 1 MiB is generous.
    maxBufferedBytes: 1024 * 1024,
    async cleanup() {
      await rm(parent, { recursive: true, force: true });
    },
  };
}

describeAttachmentStorageContract('local disk', diskFixture);

it('keeps each object as one file under <root>/<key>, with nothing else left', async () => {
  const fixture = await diskFixture();
  try {
    await fixture.storage.write('conversation-1/attachment-1', Readable.from([Buffer.from('hello')]));
    expect(await fixture.leftovers()).toEqual([join('attachments', 'conversation-1', 'attachment-1')]);
  } finally {
    await fixture.cleanup();
  }
});
