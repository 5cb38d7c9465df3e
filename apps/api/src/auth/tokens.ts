/**
 * Access tokens (for HTTP) and WebSocket tickets (for the upgrade), both HS256 JWTs told
 * apart by audience. A ticket lives WS_TICKET_TTL seconds (default 30) and is single-use,
 * so the only credential ever put in a URL is worthless seconds later.
 */
import { randomUUID } from 'node:crypto';
import { ROLES, type Role } from '@anmei/protocol';
import { AppError } from '../errors.ts';
import { Hs256, JwtRejected } from './hs256.ts';

const ISSUER = 'anmei-realtime';
const ACCESS_AUDIENCE = 'api';
const TICKET_AUDIENCE = 'ws-ticket';

export interface AuthUser {
  userId: string;
  role: Role;
}

export interface Ticket extends AuthUser {
  /** Unique id of the ticket; consumed once in the TicketStore. */
  jti: string;
  /** Expiry as unix ms. */
  expiresAtMs: number;
}

export class TokenService {
  /** Signs and verifies with node:crypto's synchronous HMAC (see hs256.ts for why not jose). */
  readonly #jwt: Hs256;
  readonly #accessTtlSeconds: number;
  readonly #ticketTtlSeconds: number;

  constructor(options: { secret: string; accessTtlSeconds: number; ticketTtlSeconds: number }) {
    this.#jwt = new Hs256(options.secret);
    this.#accessTtlSeconds = options.accessTtlSeconds;
    this.#ticketTtlSeconds = options.ticketTtlSeconds;
  }

  get accessTtlSeconds(): number {
    return this.#accessTtlSeconds;
  }
  get ticketTtlSeconds(): number {
    return this.#ticketTtlSeconds;
  }

  issueAccessToken(user: AuthUser): Promise<string> {
    return Promise.resolve(this.#sign(user, ACCESS_AUDIENCE, this.#accessTtlSeconds, randomUUID()));
  }

  issueTicket(user: AuthUser): Promise<string> {
    return Promise.resolve(this.#sign(user, TICKET_AUDIENCE, this.#ticketTtlSeconds, randomUUID()));
  }

  /** Throws AppError TOKEN_INVALID for anything but a valid, unexpired access token. */
  async verifyAccessToken(token: string): Promise<AuthUser> {
    const payload = this.#verify(token, ACCESS_AUDIENCE, 'TOKEN_INVALID');
    return { userId: payload.userId, role: payload.role };
  }

  /** Throws AppError TICKET_INVALID for a forged, expired or non-ticket token (reuse is the store's job). */
  async verifyTicket(ticket: string): Promise<Ticket> {
    return this.#verify(ticket, TICKET_AUDIENCE, 'TICKET_INVALID');
  }

  #sign(user: AuthUser, audience: string, ttlSeconds: number, jti: string): string {
    const now = Math.floor(Date.now() / 1000);
    // The claim order jose wrote, so old and new tokens look alike.
    return this.#jwt.sign({
      role: user.role,
      sub: user.userId,
      iss: ISSUER,
      aud: audience,
      jti,
      iat: now,
      exp: now + ttlSeconds,
    });
  }

  #verify(token: string, audience: string, code: 'TOKEN_INVALID' | 'TICKET_INVALID'): Ticket {
    let payload: Record<string, unknown>;
    try {
      payload = this.#jwt.verify(token, { issuer: ISSUER, audience });
    } catch (error) {
      if (error instanceof JwtRejected && error.reason === 'expired')
        throw new AppError(code, 'The token has expired.');
      throw new AppError(code);
    }
    const { sub, jti, exp, role } = payload;
    if (
      typeof sub !== 'string' ||
      typeof jti !== 'string' ||
      typeof exp !== 'number' ||
      !ROLES.includes(role as Role)
    ) {
      throw new AppError(code, 'The token is missing required claims.');
    }
    return { userId: sub, role: role as Role, jti, expiresAtMs: exp * 1000 };
  }
}
