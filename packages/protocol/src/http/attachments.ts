/**
 * Attachments (`/api/v1/chat/{id}/attachments`). The upload is multipart/form-data, read as a
 * stream by the route (text fields client_message_id, caption, duration_ms BEFORE the field "file"),
 * so it has no body schema; it answers like a text send.
 */
import { z } from 'zod';
import { Id } from '../payloads.ts';
import { SentResponse } from './chat.ts';
import { CommonProblems, ConversationIdParams, Problem } from './common.ts';

export const AttachmentParams = ConversationIdParams.extend({ attachment_id: Id });
/** A download's body: the file's bytes under its own content type (never JSON). */
export const FileBytes = z
  .unknown()
  .meta({ description: "The file's bytes, with its own content type", format: 'binary' });

export const AttachmentSchemas = {
  /** 413: larger than ATTACHMENT_MAX_BYTES; 415: a type the server does not take. */
  upload: {
    params: ConversationIdParams,
    response: { 200: SentResponse, ...CommonProblems, 413: Problem, 415: Problem },
  },
  /** 206: the one `Range: bytes=` range asked for. */
  download: { params: AttachmentParams, response: { 200: FileBytes, 206: FileBytes, ...CommonProblems } },
} as const;

export type AttachmentParams = z.infer<typeof AttachmentParams>;
