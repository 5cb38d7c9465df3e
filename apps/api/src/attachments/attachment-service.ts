/**
 * Upload = authorize, stream to storage within the size limit, check the type, then send a
 * message of type image / file / voice whose metadata points at the attachment (idempotent by
 * client_message_id like any send). Download = authorize, then stream the bytes back.
 */
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { ChatService, Sender, SendResult } from '../chat/chat-service.ts';
import type { AttachmentRow, Store } from '../db/store-types.ts';
import { AppError } from '../errors.ts';
import { baseMimeType, cleanFileName, contentMatchesType, messageTypeFor } from './policy.ts';
import type { AttachmentStorage } from './storage.ts';

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
    let sizeBytes: number;
    try {
      sizeBytes = await this.#storage.write(storageKey, input.stream);
    } catch (error) {
      if ((error as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE') {
        throw new AppError(
          'PAYLOAD_TOO_LARGE',
          `The file is larger than ATTACHMENT_MAX_BYTES (${this.#maxBytes} bytes).`,
        );
      }
      throw error;
    }
    if (input.truncated()) {
      await this.#storage.remove(storageKey);
      throw new AppError(
        'PAYLOAD_TOO_LARGE',
        `The file is larger than ATTACHMENT_MAX_BYTES (${this.#maxBytes} bytes).`,
      );
    }
    if (sizeBytes === 0 || !contentMatchesType(input.mimeType, await this.#head(storageKey))) {
      await this.#storage.remove(storageKey);
      throw new AppError(
        'UNSUPPORTED_MEDIA_TYPE',
        sizeBytes === 0 ? 'The file is empty.' : `The file's content is not a ${baseMimeType(input.mimeType)} file.`,
      );
    }
    const fileName = cleanFileName(input.fileName);
    const row = await this.#store.attachments.create({
      id,
      conversationId: input.conversationId,
      uploaderId: sender.userId,
      fileName,
      mimeType: baseMimeType(input.mimeType),
      sizeBytes,
      storageKey,
    });
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

  async open(
    reader: Sender,
    conversationId: string,
    attachmentId: string,
  ): Promise<{ row: AttachmentRow; stream: Readable }> {
    await this.#chat.assertParticipant(conversationId, reader.userId);
    const row = await this.#store.attachments.findById(attachmentId);
    if (!row || row.conversationId !== conversationId)
      throw new AppError('NOT_FOUND', 'No such attachment in this conversation.');
    return { row, stream: this.#storage.read(row.storageKey) };
  }

  async #head(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let length = 0;
    for await (const chunk of this.#storage.read(key)) {
      chunks.push(chunk as Buffer);
      length += (chunk as Buffer).length;
      if (length >= 16) break;
    }
    return Buffer.concat(chunks).subarray(0, 16);
  }
}
