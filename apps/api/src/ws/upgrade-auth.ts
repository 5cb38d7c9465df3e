/**
 * Everything decided BEFORE a socket exists: limits, Origin, ticket, device and connection
 * type. A refused upgrade is answered with an HTTP problem response on the raw TCP socket,
 * so an unauthenticated client never gets a WebSocket to send frames on.
 *
 * Order: the cheap limits on the client address first (nothing of the request is read yet),
 * then Origin and parameters, then the ticket is verified and CONSUMED, and only then the
 * checks that need its user (role, per-user connection cap): a ticket that was read is spent,
 * whatever the answer, so no refusal leaves a readable ticket reusable.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  CONNECTION_TYPES,
  type ConnectionType,
  DEVICE_TYPES,
  type DeviceType,
  type ErrorCode,
  type Role,
} from '@anmei/protocol';
import type { TicketStore } from '../auth/ticket-store.ts';
import type { TokenService } from '../auth/tokens.ts';
import { AppError, toProblem } from '../errors.ts';
import { writeRawProblem } from '../http/raw-problem.ts';
import { FrozenConnectionInfo } from '../realtime/types.ts';
import type { ConnectionLimits } from './connection-limits.ts';

export const WS_PATH = '/api/v1/ws';

export interface UpgradeIdentity {
  userId: string;
  role: Role;
  deviceType: DeviceType;
  connectionType: ConnectionType;
  /** `?resume=1`: hold live frames from the start until the client's `resume` frame. */
  holdUntilResume: boolean;
}

export interface UpgradeAuthOptions {
  tokens: TokenService;
  tickets: TicketStore;
  allowedOrigins: '*' | ReadonlySet<string>;
  limits: ConnectionLimits;
}

/**
 * Resolves the identity of an upgrade request from `address` (the client's, behind trusted
 * proxies) or throws an AppError saying why not (a RetryLaterError for a limit).
 */
export async function authenticateUpgrade(
  req: IncomingMessage,
  address: string,
  options: UpgradeAuthOptions,
): Promise<UpgradeIdentity> {
  options.limits.claimAddress(req.socket, address);
  await options.limits.countUpgrade(address);
  const origin = req.headers.origin;
  // Browsers always send Origin; its absence means a non-browser client, which CSWSH cannot abuse.
  if (origin !== undefined && options.allowedOrigins !== '*' && !options.allowedOrigins.has(origin)) {
    throw new AppError('ORIGIN_NOT_ALLOWED', `Origin ${origin.slice(0, 200)} is not in ALLOWED_ORIGINS.`);
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  // The table's own string, not the parsed copy: every idle socket's info keeps it (24 B each otherwise).
  const requestedDevice = url.searchParams.get('device_type') ?? 'desktop';
  const deviceType = DEVICE_TYPES.find((type) => type === requestedDevice);
  if (deviceType === undefined) {
    throw new AppError('VALIDATION_FAILED', `device_type must be one of ${DEVICE_TYPES.join(', ')}.`);
  }
  const requestedConnection = url.searchParams.get('connection_type') ?? 'chat';
  const connectionType = CONNECTION_TYPES.find((type) => type === requestedConnection);
  if (connectionType === undefined) {
    throw new AppError('VALIDATION_FAILED', `connection_type must be one of ${CONNECTION_TYPES.join(', ')}.`);
  }
  const raw = url.searchParams.get('ticket');
  if (!raw) throw new AppError('TICKET_MISSING');
  const verified = await options.tokens.verifyTicket(raw);
  // The user's connections are read alongside the ticket's spend (one Redis round trip, not two);
  // the cap is applied below, after the ticket was spent, as before.
  const open = options.limits.readUserConnections(verified.userId);
  if (!(await options.tickets.consume(verified.jti, verified.expiresAtMs))) throw new AppError('TICKET_REUSED');
  // After consuming (issue #15): a non-admin's ticket refused here cannot be replayed. Clients
  // take a new ticket for every attempt anyway, so a mistaken connection_type costs nothing more.
  if (connectionType === 'admin' && verified.role !== 'admin') {
    throw new AppError('FORBIDDEN', 'Only admins may open an admin connection.');
  }
  options.limits.checkUser(verified.userId, await open);
  return {
    userId: verified.userId,
    role: verified.role,
    deviceType,
    connectionType,
    holdUntilResume: url.searchParams.get('resume') === '1',
  };
}

/** The new socket's connection info: a fresh connection id, the identity its upgrade proved, connected now. */
export function connectionInfoFor(identity: UpgradeIdentity, instanceId: string): FrozenConnectionInfo {
  return new FrozenConnectionInfo(
    {
      connectionId: randomUUID(),
      userId: identity.userId,
      role: identity.role,
      deviceType: identity.deviceType,
      connectionType: identity.connectionType,
      instanceId,
    },
    Date.now(),
  );
}

/**
 * Answer a refused upgrade with a problem+json response and close the TCP socket. A limit's
 * refusal carries `Retry-After` (seconds), as over HTTP.
 */
export function rejectUpgrade(socket: Duplex, code: ErrorCode, detail?: string, retryAfterSeconds?: number): void {
  writeRawProblem(socket, toProblem(code, detail, WS_PATH), retryAfterSeconds);
}
