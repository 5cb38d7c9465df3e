/**
 * Upload = authorize, stream to storage through the size and type checks (a failed check fails
 * the write, so storage keeps nothing), then send a message of type image / file / voice whose
 * metadata points at the attachment (idempotent by client_message_id like any send). Download =
 * authorize, then stream the bytes (or one range of them) back from storage.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ChatService, Sender, SendResult } from '../chat/chat-service.ts';
import type { AttachmentRow, Store } from '../db/store-types.ts';
import { AppError } from '../errors.ts';
import { baseMimeType, cleanFileName, messageTypeFor } from './policy.ts';
import type { AttachmentStorage, ByteRange } from './storage.ts';
import { tooLarge, UploadCheck } from './upload-check.ts';

export interface UploadInput {
  conversationId: string;
  fileName: string;
  mimeType: string;
  stream: Readable;
  /** true when the upload parser cut the stream at the size limit (it does not error). */
  truncated: () => boolean;
  clientMessageId: string | null;
  caption: string | null;
  /** Voice notes: length in ms, as measured by the recorder. */
  durationMs: number | null;
}

export class AttachmentService {
  readonly #store: Store;
  readonly #storage: AttachmentStorage;
  readonly #chat: ChatService;
  readonly #maxBytes: number;

  constructor(deps: { store: Store; storage: AttachmentStorage; chat: ChatService; maxBytes: number }) {
    this.#store = deps.store;
    this.#storage = deps.storage;
    this.#chat = deps.chat;
    this.#maxBytes = deps.maxBytes;
  }

  async upload(sender: Sender, input: UploadInput): Promise<SendResult> {
    await this.#chat.assertParticipant(input.conversationId, sender.userId);
    const messageType = messageTypeFor(input.mimeType);
    if (!messageType) {
      input.stream.resume(); // drain, so the client gets our answer instead of a reset
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        `Files of type ${baseMimeType(input.mimeType) || 'unknown'} cannot be uploaded.`,
      );
    }
    const id = randomUUID();
    const storageKey = `${input.conversationId}/${id}`;
    const check = new UploadCheck({ mimeType: input.mimeType, maxBytes: this.#maxBytes, truncated: input.truncated });
    // Errors travel both ways: a body that breaks off (or a failed check) fails the write, and a
    // failed write destroys the file stream. The write's rejection is the one reported.
    pipeline(input.stream, check).catch(() => undefined);
    let sizeBytes: number;
    try {
      sizeBytes = await this.#storage.write(storageKey, check);
    } catch (error) {
      if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') throw tooLarge(this.#maxBytes);
      throw error;
    }
    const fileName = cleanFileName(input.fileName);
    let row: AttachmentRow;
    try {
      row = await this.#store.attachments.create({
        id,
        conversationId: input.conversationId,
        uploaderId: sender.userId,
        fileName,
        mimeType: baseMimeType(input.mimeType),
        sizeBytes,
        storageKey,
      });
    } catch (error) {
      await this.#storage.remove(storageKey).catch(() => undefined); // no row points at it
      throw error;
    }
    const result = await this.#chat.send(sender, {
      conversationId: input.conversationId,
      clientMessageId: input.clientMessageId,
      content: input.caption ?? fileName,
      messageType,
      metadata: {
        attachment_id: row.id,
        file_name: fileName,
        mime_type: row.mimeType,
        size_bytes: sizeBytes,
        url: `/api/v1/chat/${input.conversationId}/attachments/${row.id}`,
        ...(input.durationMs !== null ? { duration_ms: input.durationMs } : {}),
      },
    });
    if (result.duplicate) {
      // A retried upload: the first copy is the one the message points at.
      await this.#store.attachments.delete(row.id);
      await this.#storage.remove(storageKey);
    }
    return result;
  }

  /**
   * The attachment's row and a stream of its bytes, or of the range `pickRange` chooses once the
   * size is known (undefined = all of it). The caller must consume or destroy the stream.
   */
  async open(
    reader: Sender,
    conversationId: string,
    attachmentId: string,
    pickRange: (sizeBytes: number) => ByteRange | undefined = () => undefined,
  ): Promise<{ row: AttachmentRow; range: ByteRange | undefined; stream: Readable }> {
    await this.#chat.assertParticipant(conversationId, reader.userId);
    const row = await this.#store.attachments.findById(attachmentId);
    if (!row || row.conversationId !== conversationId)
      throw new AppError('NOT_FOUND', 'No such attachment in this conversation.');
    const range = pickRange(row.sizeBytes);
    const stream = await this.#storage.read(row.storageKey, range);
    // The row outlived its file (deleted from the folder or bucket by hand, or a restore without it).
    if (!stream) throw new AppError('NOT_FOUND', "The attachment's file is no longer in storage.");
    return { row, range, stream };
  }
}
