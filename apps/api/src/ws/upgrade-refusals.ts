/**
 * What an upgrade the gateway does not take gets: a raw HTTP problem response on the TCP socket
 * (rejectUpgrade, with `Connection: close`), or, for an authenticated user asking for what their
 * role may not have, a WebSocket closed at once with 4003. Each refusal is logged (where it says
 * something about the client or the stores) and counted by code (anmei_ws_upgrades_refused_total).
 * Built once per gateway; nothing here is allocated per upgrade except the 4003 accept's callback.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { CloseCode } from '@anmei/protocol';
import type { WebSocket, Server as WsServer } from 'ws';
import { AppError, RetryLaterError } from '../errors.ts';
import { DATABASE_RETRY_AFTER_SECONDS } from '../http/problem-handler.ts';
import type { Logger } from '../observability/logger.ts';
import type { AppMetrics } from '../observability/metrics.ts';
import { rejectUpgrade, WS_PATH } from './upgrade-auth.ts';
import { outageCodeOf } from './ws-errors.ts';

export interface UpgradeRefusalDeps {
  logger: Logger;
  metrics: AppMetrics;
  /** The gateway's ws server: a FORBIDDEN upgrade is accepted there, then closed. */
  wss: Pick<WsServer, 'handleUpgrade'>;
  /** The gateway's shared 'error' listener, for a socket accepted only to be closed. */
  onSocketError: (this: WebSocket, error: Error) => void;
}

export class UpgradeRefusals {
  readonly #deps: UpgradeRefusalDeps;

  constructor(deps: UpgradeRefusalDeps) {
    this.#deps = deps;
  }

  /** An upgrade for any path but WS_PATH: 404. */
  notFound(socket: Duplex, path: string | undefined): void {
    this.#deps.metrics.upgradeRefused('NOT_FOUND');
    rejectUpgrade(socket, 'NOT_FOUND', `No WebSocket endpoint at ${path}; use ${WS_PATH}.`);
  }

  /** An upgrade after the gateway began draining: 503, which nginx retries on another instance. */
  draining(socket: Duplex): void {
    this.#deps.metrics.upgradeRefused('SERVER_SHUTTING_DOWN');
    rejectUpgrade(socket, 'SERVER_SHUTTING_DOWN');
  }

  /**
   * authenticateUpgrade threw `error`: the client's fault is its AppError's status (with
   * Retry-After where it is a RetryLaterError), a store that did not answer is a 503 with
   * DATABASE_RETRY_AFTER_SECONDS (an outage, not a bug: the client tries again later), anything
   * else a 500. `address` is the client's address key, for the log.
   */
  failed(error: unknown, req: IncomingMessage, socket: Duplex, head: Buffer, address: string): void {
    const { logger, metrics } = this.#deps;
    if (error instanceof AppError && error.code === 'FORBIDDEN') {
      // Authenticated but not allowed (a non-admin asking for an admin socket): a browser cannot
      // read an HTTP 403 on a failed upgrade, so accept and close with 4003, which clients do not retry.
      logger.warn({ code: error.code }, 'websocket upgrade refused');
      metrics.upgradeRefused(error.code);
      this.#deps.wss.handleUpgrade(req, socket, head, (ws) => {
        // ws reads on until the close handshake ends; a malformed frame meanwhile is an
        // 'error' event, which without a listener would end the process.
        ws.on('error', this.#deps.onSocketError);
        ws.close(CloseCode.forbidden, error.message);
      });
      return;
    }
    if (error instanceof AppError) {
      logger.warn({ code: error.code, origin: req.headers.origin, address }, 'websocket upgrade refused');
      metrics.upgradeRefused(error.code);
      const retryAfter = error instanceof RetryLaterError ? error.retryAfterSeconds : undefined;
      rejectUpgrade(socket, error.code, error.message, retryAfter);
      return;
    }
    const outage = outageCodeOf(error);
    if (outage) {
      logger.warn({ err: error, code: outage }, 'websocket upgrade refused: a store is unavailable');
      metrics.upgradeRefused(outage);
      rejectUpgrade(socket, outage, undefined, DATABASE_RETRY_AFTER_SECONDS);
      return;
    }
    logger.error({ err: error }, 'websocket upgrade failed');
    metrics.upgradeRefused('INTERNAL');
    rejectUpgrade(socket, 'INTERNAL');
  }
}
