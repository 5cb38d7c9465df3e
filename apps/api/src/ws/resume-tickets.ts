/**
 * Resume tickets (issue #19): every open connection holds a single-use ticket for its next
 * upgrade, so that after its instance dies or drains it reconnects with one WebSocket upgrade
 * instead of an HTTP ticket request and then the upgrade. Issued on `connected`, renewed in a
 * `pong` once the last one is past half its life, so a client that heartbeats always holds one
 * valid for at least half of WS_RESUME_TICKET_TTL. One HMAC per issue; nothing stored: the
 * ticket is spent in the TicketStore when it is used, like any ticket.
 */
import type { TokenService } from '../auth/tokens.ts';
import type { FrozenConnectionInfo } from '../realtime/types.ts';

export interface ResumeTicketFields {
  resume_ticket: string;
  resume_ticket_ttl_ms: number;
}

/**
 * What a session keeps: when its last resume ticket was issued, in whole seconds since this
 * module loaded (-1 = never). Seconds since start stay a small integer, which V8 keeps inside
 * the session object; ms since the epoch would be a boxed double per connection.
 */
export interface ResumeTicketHolder {
  readonly info: FrozenConnectionInfo;
  resumeTicketIssuedAt: number;
}

const START_S = Math.floor(Date.now() / 1000);

function secondsSinceStart(nowMs: number): number {
  return Math.floor(nowMs / 1000) - START_S;
}

export class ResumeTickets {
  readonly #tokens: TokenService;
  readonly #ttlSeconds: number;

  constructor(tokens: TokenService) {
    this.#tokens = tokens;
    this.#ttlSeconds = tokens.resumeTicketTtlSeconds;
  }

  /** A new ticket for `holder`'s user, or undefined when resume tickets are off. */
  issue(holder: ResumeTicketHolder, now = Date.now()): ResumeTicketFields | undefined {
    const issued = this.#tokens.issueResumeTicket(holder.info, now);
    if (issued === null) return undefined;
    holder.resumeTicketIssuedAt = secondsSinceStart(now);
    // What is really left of it (exp has whole seconds), never 0 (the schema wants a positive number).
    return { resume_ticket: issued.ticket, resume_ticket_ttl_ms: Math.max(1, issued.expiresAtMs - now) };
  }

  /** For a `pong`: a new ticket once the last one is past half its life, else undefined. */
  renewal(holder: ResumeTicketHolder, now = Date.now()): ResumeTicketFields | undefined {
    // Whole seconds on both sides: "more than half" of them have passed only once more than half
    // of the real time has (the client's renewing ping, at half its ticket's life plus 1 s, always is).
    if (this.#ttlSeconds === 0 || secondsSinceStart(now) - holder.resumeTicketIssuedAt <= this.#ttlSeconds / 2) {
      return undefined;
    }
    return this.issue(holder, now);
  }
}
