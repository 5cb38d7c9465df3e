/**
 * Access tokens (for HTTP) and WebSocket tickets (for the upgrade), both HS256 JWTs told
 * apart by audience. A ticket lives WS_TICKET_TTL seconds (default 30) and is single-use,
 * so the only credential ever put in a URL is worthless seconds later.
 *
 * A resume ticket (audience `ws-resume`) is a ticket the server hands to an open connection
 * (`connected`, later `pong`), so that its next reconnect needs no HTTP round trip (issue #19).
 * It lives WS_RESUME_TICKET_TTL seconds (default 300), is single-use like any ticket, and is
 * accepted only by the upgrade: it extends a live connection's session by at most its lifetime.
 */
import { randomUUID } from 'node:crypto';
import { ROLES, type Role } from '@anmei/protocol';
import { createSigner, createVerifier, TokenError } from 'fast-jwt';
import { AppError } from '../errors.ts';

const ISSUER = 'anmei-realtime';
const ACCESS_AUDIENCE = 'api';
const TICKET_AUDIENCE = 'ws-ticket';
const RESUME_AUDIENCE = 'ws-resume';

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

type Verify = (token: string) => Record<string, unknown>;

/**
 * fast-jwt signs and verifies synchronously (node:crypto's HMAC): jose's Web Crypto HMAC ran each
 * as an async crypto job, 12 % of an instance's CPU while 5,000 clients reconnected (three HMACs
 * each), docs/benchmarks.md. Only HS256 is accepted, so a header naming another algorithm (or
 * `none`) is refused before any claim is read; `iss`, `aud`, `exp`, `sub`, `jti` are required.
 */
export class TokenService {
  readonly #sign: (claims: Record<string, unknown>) => string;
  readonly #verifyAccess: Verify;
  readonly #verifyTicket: Verify;
  readonly #accessTtlSeconds: number;
  readonly #ticketTtlSeconds: number;
  readonly #resumeTicketTtlSeconds: number;

  /** `resumeTicketTtlSeconds`: 0 issues no resume tickets (default 0 here; the config's default is 300). */
  constructor(options: {
    secret: string;
    accessTtlSeconds: number;
    ticketTtlSeconds: number;
    resumeTicketTtlSeconds?: number;
  }) {
    const key = options.secret;
    // #issue writes every claim (iat included, which fast-jwt then keeps), in the order jose wrote
    // them, so old and new tokens look alike.
    this.#sign = createSigner({ key, algorithm: 'HS256' });
    const verifier = (audience: string | string[]): Verify =>
      createVerifier({
        key,
        algorithms: ['HS256'],
        allowedIss: ISSUER,
        allowedAud: audience,
        requiredClaims: ['iss', 'aud', 'exp', 'sub', 'jti'],
      }) as Verify;
    this.#verifyAccess = verifier(ACCESS_AUDIENCE);
    // The upgrade takes either kind of ticket; an access token is never one.
    this.#verifyTicket = verifier([TICKET_AUDIENCE, RESUME_AUDIENCE]);
    this.#accessTtlSeconds = options.accessTtlSeconds;
    this.#ticketTtlSeconds = options.ticketTtlSeconds;
    this.#resumeTicketTtlSeconds = options.resumeTicketTtlSeconds ?? 0;
  }

  get accessTtlSeconds(): number {
    return this.#accessTtlSeconds;
  }
  get ticketTtlSeconds(): number {
    return this.#ticketTtlSeconds;
  }
  /** 0 when resume tickets are off. */
  get resumeTicketTtlSeconds(): number {
    return this.#resumeTicketTtlSeconds;
  }

  issueAccessToken(user: AuthUser): Promise<string> {
    return Promise.resolve(this.#issue(user, ACCESS_AUDIENCE, this.#accessTtlSeconds));
  }

  issueTicket(user: AuthUser): Promise<string> {
    return Promise.resolve(this.#issue(user, TICKET_AUDIENCE, this.#ticketTtlSeconds));
  }

  /**
   * A single-use ticket for an open connection's next upgrade and its expiry (unix ms; JWT time
   * has one-second resolution, so it is up to 1 s short of the TTL); null when resume tickets are
   * off. Synchronous: one HMAC.
   */
  issueResumeTicket(user: AuthUser, nowMs = Date.now()): { ticket: string; expiresAtMs: number } | null {
    if (this.#resumeTicketTtlSeconds === 0) return null;
    const ticket = this.#issue(user, RESUME_AUDIENCE, this.#resumeTicketTtlSeconds, nowMs);
    return { ticket, expiresAtMs: (Math.floor(nowMs / 1000) + this.#resumeTicketTtlSeconds) * 1000 };
  }

  /** Throws AppError TOKEN_INVALID for anything but a valid, unexpired access token. */
  async verifyAccessToken(token: string): Promise<AuthUser> {
    const payload = this.#verify(token, this.#verifyAccess, 'TOKEN_INVALID');
    return { userId: payload.userId, role: payload.role };
  }

  /**
   * A ticket or a resume ticket. Throws AppError TICKET_INVALID for a forged, expired or
   * non-ticket token (reuse is the store's job).
   */
  async verifyTicket(ticket: string): Promise<Ticket> {
    return this.#verify(ticket, this.#verifyTicket, 'TICKET_INVALID');
  }

  #issue(user: AuthUser, audience: string, ttlSeconds: number, nowMs = Date.now()): string {
    const now = Math.floor(nowMs / 1000);
    return this.#sign({
      role: user.role,
      sub: user.userId,
      iss: ISSUER,
      aud: audience,
      jti: randomUUID(),
      iat: now,
      exp: now + ttlSeconds,
    });
  }

  #verify(token: string, verify: Verify, code: 'TOKEN_INVALID' | 'TICKET_INVALID'): Ticket {
    let payload: Record<string, unknown>;
    try {
      payload = verify(token);
    } catch (error) {
      if (error instanceof TokenError && error.code === TokenError.codes.expired) {
        throw new AppError(code, 'The token has expired.');
      }
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
