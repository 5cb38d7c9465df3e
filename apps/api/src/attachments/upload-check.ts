/**
 * The stream between an uploaded file and storage: passes the bytes on while counting them, and
 * fails (so storage discards what it kept, storage.ts) as soon as the file is known to be over
 * ATTACHMENT_MAX_BYTES, empty, or an image whose first bytes are not its format's.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../errors.ts';
import { baseMimeType, contentMatchesType } from './policy.ts';

/** Bytes enough for every magic-number check in policy.ts. */
const HEAD_BYTES = 16;

export class UploadCheck extends Transform {
  /** Bytes passed on so far. */
  bytes = 0;
  readonly #mimeType: string;
  readonly #maxBytes: number;
  readonly #truncated: () => boolean;
  #head: Buffer = Buffer.alloc(0);
  #headChecked = false;

  /**
   * `truncated`: true once the upload parser cut the file at the size limit (busboy ends the
   * stream there instead of failing it), read when the file ends.
   */
  constructor(options: { mimeType: string; maxBytes: number; truncated: () => boolean }) {
    super();
    this.#mimeType = options.mimeType;
    this.#maxBytes = options.maxBytes;
    this.#truncated = options.truncated;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const problem = this.bytes > this.#maxBytes ? tooLarge(this.#maxBytes) : this.#checkHeadOnce(chunk);
    if (problem) done(problem);
    else done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    if (this.#truncated()) done(tooLarge(this.#maxBytes));
    else if (this.bytes === 0) done(new AppError('UNSUPPORTED_MEDIA_TYPE', 'The file is empty.'));
    else done(this.#headChecked ? null : this.#checkHead());
  }

  /** Gathers the first HEAD_BYTES and checks them once they are all there. */
  #checkHeadOnce(chunk: Buffer): AppError | null {
    if (this.#headChecked) return null;
    this.#head = Buffer.concat([this.#head, chunk.subarray(0, HEAD_BYTES)]);
    return this.#head.length >= HEAD_BYTES ? this.#checkHead() : null;
  }

  #checkHead(): AppError | null {
    this.#headChecked = true;
    return contentMatchesType(this.#mimeType, this.#head.subarray(0, HEAD_BYTES))
      ? null
      : new AppError('UNSUPPORTED_MEDIA_TYPE', `The file's content is not a ${baseMimeType(this.#mimeType)} file.`);
  }
}

export function tooLarge(maxBytes: number): AppError {
  return new AppError('PAYLOAD_TOO_LARGE', `The file is larger than ATTACHMENT_MAX_BYTES (${maxBytes} bytes).`);
}
