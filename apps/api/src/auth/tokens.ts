/**
 * Access tokens (for HTTP) and WebSocket tickets (for the upgrade), both HS256 JWTs told
 * apart by audience. A ticket lives WS_TICKET_TTL seconds (default 30) and is single-use,
 * so the only credential ever put in a URL is worthless seconds later.
 */
import { randomUUID } from 'node:crypto';
import { ROLES, type Role } from '@anmei/protocol';
import { errors, jwtVerify, SignJWT } from 'jose';
import { AppError } from '../errors.ts';

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
  /**
   * The HMAC key imported once: given raw bytes, jose imports a CryptoKey on every sign and
   * verify, which was ~3 % of an instance's CPU while 5,000 clients reconnected.
   */
  readonly #key: Promise<CryptoKey>;
  readonly #accessTtlSeconds: number;
  readonly #ticketTtlSeconds: number;

  constructor(options: { secret: string; accessTtlSeconds: number; ticketTtlSeconds: number }) {
    this.#key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(options.secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
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
    return this.#sign(user, ACCESS_AUDIENCE, this.#accessTtlSeconds, randomUUID());
  }

  issueTicket(user: AuthUser): Promise<string> {
    return this.#sign(user, TICKET_AUDIENCE, this.#ticketTtlSeconds, randomUUID());
  }

  /** Throws AppError TOKEN_INVALID for anything but a valid, unexpired access token. */
  async verifyAccessToken(token: string): Promise<AuthUser> {
    const payload = await this.#verify(token, ACCESS_AUDIENCE, 'TOKEN_INVALID');
    return { userId: payload.userId, role: payload.role };
  }

  /** Throws AppError TICKET_INVALID for a forged, expired or non-ticket token (reuse is the store's job). */
  async verifyTicket(ticket: string): Promise<Ticket> {
    const payload = await this.#verify(ticket, TICKET_AUDIENCE, 'TICKET_INVALID');
    return payload;
  }

  async #sign(user: AuthUser, audience: string, ttlSeconds: number, jti: string): Promise<string> {
    const key = await this.#key;
    return new SignJWT({ role: user.role })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.userId)
      .setIssuer(ISSUER)
      .setAudience(audience)
      .setJti(jti)
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .sign(key);
  }

  async #verify(token: string, audience: string, code: 'TOKEN_INVALID' | 'TICKET_INVALID'): Promise<Ticket> {
    try {
      const { payload } = await jwtVerify(token, await this.#key, { issuer: ISSUER, audience, algorithms: ['HS256'] });
      const role = payload.role;
      if (
        typeof payload.sub !== 'string' ||
        typeof payload.jti !== 'string' ||
        typeof payload.exp !== 'number' ||
        !ROLES.includes(role as Role)
      ) {
        throw new AppError(code, 'The token is missing required claims.');
      }
      return { userId: payload.sub, role: role as Role, jti: payload.jti, expiresAtMs: payload.exp * 1000 };
    } catch (error) {
      if (error instanceof AppError) throw error;
      if (error instanceof errors.JWTExpired) throw new AppError(code, 'The token has expired.');
      throw new AppError(code);
    }
  }
}
