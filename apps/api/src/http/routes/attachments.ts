/** Upload (multipart) and download of attachments: images, documents, voice notes. */
import { Readable } from 'node:stream';
import { AttachmentSchemas, unstorableTextProblem } from '@anmei/protocol';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppContext } from '../../app-context.ts';
import { ALLOWED_MIME_TYPES, truncateText } from '../../attachments/policy.ts';
import { AppError } from '../../errors.ts';
import { requireAuth, signedIn } from '../auth-guard.ts';
import { requestedRange } from '../byte-range.ts';
import { sentBody } from '../schemas.ts';

function field(fields: Record<string, unknown> | undefined, name: string): string | null {
  const entry = fields?.[name] as { type?: string; value?: unknown } | undefined;
  return entry?.type === 'field' && typeof entry.value === 'string' && entry.value !== '' ? entry.value : null;
}

/** A text field that is stored (client_message_id, caption): refused, like a JSON one, when the database could not hold it. */
function storableField(part: MultipartFile, name: string): string | null {
  const value = field(part.fields, name);
  const problem = value === null ? null : unstorableTextProblem(value);
  if (problem) {
    part.file.resume();
    throw new AppError('VALIDATION_FAILED', `${name} ${problem}.`);
  }
  return value;
}

/**
 * A body that is not well-formed multipart (cut short before its closing boundary, no boundary at
 * all, a broken part header) makes busboy fail with a plain Error of its own, without a `code`:
 * the client's mistake, answered VALIDATION_FAILED instead of INTERNAL (issue #15). Errors with a
 * code (file too large, a dropped connection) are left to the problem handler.
 */
function malformed(error: unknown): AppError | null {
  if (!(error instanceof Error) || error instanceof AppError || 'code' in error || 'statusCode' in error) return null;
  return new AppError('VALIDATION_FAILED', `The multipart body is malformed: ${error.message}.`);
}

export function attachmentRoutes(app: FastifyInstance, ctx: AppContext): void {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const onRequest = requireAuth(ctx.tokens);

  r.post(
    '/api/v1/chat/:conversation_id/attachments',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: `Upload one file as a message (multipart/form-data; text fields client_message_id, caption, duration_ms BEFORE the field "file"). Max ATTACHMENT_MAX_BYTES; types: ${ALLOWED_MIME_TYPES.join(', ')}`,
        ...AttachmentSchemas.upload,
      },
    },
    async (request) => {
      const user = signedIn(request);
      if (!request.isMultipart())
        throw new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send multipart/form-data with a "file" field.');
      const part = await request.file().catch((error: unknown) => {
        throw malformed(error) ?? error;
      });
      // When the body breaks off inside the file, busboy fails the file stream (and so the upload) with these.
      const bodyErrors = new Set<unknown>();
      part?.file.on('error', (error) => bodyErrors.add(error));
      if (part?.fieldname !== 'file') {
        throw new AppError('VALIDATION_FAILED', 'The multipart body needs one file field named "file".');
      }
      const duration = field(part.fields, 'duration_ms');
      if (duration !== null && !/^\d{1,9}$/.test(duration)) {
        part.file.resume();
        throw new AppError('VALIDATION_FAILED', 'duration_ms must be a whole number of milliseconds.');
      }
      const clientMessageId = storableField(part, 'client_message_id');
      const caption = storableField(part, 'caption');
      if (clientMessageId !== null && clientMessageId.length > 64) {
        part.file.resume();
        throw new AppError('VALIDATION_FAILED', 'client_message_id must be at most 64 characters.');
      }
      const { message, duplicate } = await ctx.attachments
        .upload(user, {
          conversationId: request.params.conversation_id,
          fileName: part.filename,
          mimeType: part.mimetype,
          stream: part.file,
          truncated: () => part.file.truncated,
          clientMessageId,
          caption: caption === null ? null : truncateText(caption, 2000),
          durationMs: duration === null ? null : Number(duration),
        })
        .catch((error: unknown) => {
          // busboy fails a cut file twice: "Part terminated early…" emitted on it, and "Unexpected
          // end of multipart data" it is destroyed with first; which one the upload sees depends
          // on when it started reading, so the answer names the stream's own error.
          throw (bodyErrors.has(error) ? malformed(part.file.errored ?? error) : null) ?? error;
        });
      return sentBody(message, duplicate, user.role);
    },
  );

  r.get(
    '/api/v1/chat/:conversation_id/attachments/:attachment_id',
    {
      onRequest,
      schema: {
        tags: ['chat'],
        summary: 'Download an attachment (participants only); one `Range: bytes=` range is answered 206',
        ...AttachmentSchemas.download,
      },
    },
    async (request, reply) => {
      const user = signedIn(request);
      const { row, range, stream } = await ctx.attachments.open(
        user,
        request.params.conversation_id,
        request.params.attachment_id,
        (size) => requestedRange(request.headers.range, request.headers['if-range']?.toString(), size),
      );
      const inline = row.mimeType.startsWith('image/') || row.mimeType.startsWith('audio/');
      // Fastify answers HEAD by draining the GET's stream: on S3 that would fetch the whole object.
      const head = request.method === 'HEAD';
      if (head) stream.destroy();
      if (range) {
        reply.code(206).header('content-range', `bytes ${range.start}-${range.end}/${row.sizeBytes}`);
      }
      return reply
        .header('content-type', row.mimeType)
        .header('content-length', String(range ? range.end - range.start + 1 : row.sizeBytes))
        .header('accept-ranges', 'bytes')
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'private, max-age=3600')
        .header(
          'content-disposition',
          `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(row.fileName)}`,
        )
        .send(head ? Readable.from([]) : stream);
    },
  );
}
