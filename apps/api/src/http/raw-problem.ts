/**
 * A problem+json answer written straight onto a TCP socket, for requests Fastify never routes: a
 * refused WebSocket upgrade, and a request Node's HTTP parser refused (`clientErrorHandler`).
 * The socket is closed after the answer.
 */
import type { Duplex } from 'node:stream';
import { type Problem, toProblem } from '../errors.ts';

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function writeRawProblem(socket: Duplex, problem: Problem, retryAfterSeconds?: number): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(problem);
  socket.end(
    `HTTP/1.1 ${problem.status} ${STATUS_TEXT[problem.status] ?? 'Error'}\r\n` +
      'Connection: close\r\n' +
      (retryAfterSeconds === undefined ? '' : `Retry-After: ${retryAfterSeconds}\r\n`) +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      '\r\n' +
      body,
  );
}

/**
 * Fastify's `clientErrorHandler`: Node's parser refused the request (a raw space or control byte in
 * the path, a bad Content-Length, Content-Length with chunked encoding, a head over 16 KiB). Such a
 * request never reaches the problem handler, so it is answered here from the catalogue.
 */
export function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
    socket.destroy();
    return;
  }
  const problem =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? toProblem('HEADERS_TOO_LARGE', undefined)
      : toProblem(
          'VALIDATION_FAILED',
          'The HTTP request is malformed (its request line or headers could not be parsed).',
        );
  writeRawProblem(socket, problem);
}
