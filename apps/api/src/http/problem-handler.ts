/**
 * Every HTTP error leaves as one RFC 9457 problem+json shape with a catalogued `code`.
 * A database that did not answer is DATABASE_UNAVAILABLE (503 with Retry-After); other unknown
 * errors become INTERNAL (logged with the stack; the client sees no internals).
 */
import type { ErrorCode } from '@anmei/protocol';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { StorageUnavailableError } from '../attachments/storage.ts';
import { isDatabaseUnavailable } from '../db/db-common.ts';
import { AppError, RetryLaterError, toProblem } from '../errors.ts';
import { redactUrl } from '../observability/logger.ts';
import { isRedisUnavailable } from '../realtime/redis/clients.ts';

/** Fastify's own error codes that are the client's fault, mapped into our catalog. */
const FASTIFY_CODES: Record<string, ErrorCode> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  FST_ERR_CTP_BODY_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'VALIDATION_FAILED',
  FST_ERR_CTP_INVALID_JSON_BODY: 'MALFORMED_JSON',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'VALIDATION_FAILED',
  // @fastify/multipart
  FST_REQ_FILE_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  FST_FILES_LIMIT: 'VALIDATION_FAILED',
  FST_PARTS_LIMIT: 'VALIDATION_FAILED',
  FST_FIELDS_LIMIT: 'VALIDATION_FAILED',
  FST_INVALID_MULTIPART_CONTENT_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
};

/**
 * `Retry-After` (seconds) of a DATABASE_UNAVAILABLE (and SERVICE_UNAVAILABLE) answer: a stall usually outlasts one
 * statement timeout, and a retry sooner would only wait out another one.
 */
export const DATABASE_RETRY_AFTER_SECONDS = 5;

function send(reply: FastifyReply, request: FastifyRequest, code: ErrorCode, detail?: string, issues?: string[]) {
  const problem = toProblem(code, detail, redactUrl(request.url), issues);
  return reply.code(problem.status).type('application/problem+json').send(problem);
}

/**
 * Fastify's `frameworkErrors`: errors raised before routing, such as a path whose percent-encoding
 * is not UTF-8 (`/api/v1/chat/%ED%A0%80/messages`, a lone surrogate), answered from the catalogue.
 */
export function answerFrameworkError(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL') {
    send(reply, request, 'VALIDATION_FAILED', 'The URL path is not valid: a percent-encoded part is not UTF-8.');
    return;
  }
  if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
    send(reply, request, 'VALIDATION_FAILED', error.message);
    return;
  }
  // Before routing no hook ran, so the log context has no id yet: name it here.
  request.log.error({ err: error, reqId: request.id }, 'request failed');
  send(reply, request, 'INTERNAL');
}

export function installProblemHandlers(app: FastifyInstance): void {
  // Bodies are JSON only. Fastify also parses text/plain by default (what fetch sends for a string
  // body without a Content-Type); without this it would reach validation as a string and come
  // back as a confusing 400 instead of 415 UNSUPPORTED_MEDIA_TYPE.
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof RetryLaterError) reply.header('retry-after', String(error.retryAfterSeconds));
    if (error instanceof AppError) return send(reply, request, error.code, error.message, error.issues);
    if (hasZodFastifySchemaValidationErrors(error)) {
      const issues = error.validation.map((v) => {
        const path = [error.validationContext, ...v.instancePath.split('/').filter(Boolean)].join('.');
        return `${path}: ${v.message ?? 'invalid'}`;
      });
      return send(reply, request, 'VALIDATION_FAILED', `Invalid request: ${issues.join('; ')}`, issues);
    }
    // JSON.parse failures surface as a SyntaxError with statusCode 400.
    const mapped = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (mapped) return send(reply, request, mapped, error.message);
    if (error instanceof SyntaxError && error.statusCode === 400) return send(reply, request, 'MALFORMED_JSON');
    if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
      return send(reply, request, 'VALIDATION_FAILED', error.message);
    }
    // Before the database's check, which would take its cause (ECONNREFUSED…) for the database's.
    if (error instanceof StorageUnavailableError) {
      request.log.warn({ err: error }, 'attachment storage unavailable: answered SERVICE_UNAVAILABLE');
      reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      return send(reply, request, 'SERVICE_UNAVAILABLE');
    }
    if (isDatabaseUnavailable(error)) {
      request.log.warn({ err: error }, 'database unavailable: answered DATABASE_UNAVAILABLE');
      reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      return send(reply, request, 'DATABASE_UNAVAILABLE');
    }
    if (isRedisUnavailable(error)) {
      request.log.warn({ err: error }, 'redis unavailable: answered SERVICE_UNAVAILABLE');
      reply.header('retry-after', String(DATABASE_RETRY_AFTER_SECONDS));
      return send(reply, request, 'SERVICE_UNAVAILABLE');
    }
    request.log.error({ err: error }, 'request failed');
    return send(reply, request, 'INTERNAL');
  });
  app.setNotFoundHandler((request, reply) =>
    send(reply, request, 'NOT_FOUND', `No route ${request.method} ${redactUrl(request.url).split('?')[0]}.`),
  );
}
