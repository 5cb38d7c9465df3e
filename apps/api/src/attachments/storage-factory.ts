/** ATTACHMENTS_STORAGE -> the one AttachmentStorage this process uses. */
import type { Config } from '../config.ts';
import { LocalDiskStorage } from './disk-storage.ts';
import { S3Storage } from './s3-storage.ts';
import type { AttachmentStorage } from './storage.ts';

export function createAttachmentStorage(settings: Config['attachments']): AttachmentStorage {
  return settings.s3 ? S3Storage.fromSettings(settings.s3) : new LocalDiskStorage(settings.dir);
}
