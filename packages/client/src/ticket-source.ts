/**
 * Where each connection attempt gets its single-use ticket. Called before EVERY attempt
 * (tickets live 30 s and are single-use; access tokens expire too). Either the app gives
 * `getTicket` directly, or `getToken` and the client POSTs /api/v1/ws/ticket itself.
 *
 * Throw `UnauthorizedError` from either function when the credentials are refused: the client
 * then calls once more with `refresh: true` (time to refresh the access token), and if that
 * is refused too it stops in the `unauthorized` state instead of looping.
 */

export interface TicketRequest {
  /** true when the previous try was refused: refresh the access token before answering. */
  refresh: boolean;
  /** Aborted when the attempt is abandoned (timeout, disconnect()). */
  signal: AbortSignal;
}

export type GetTicket = (request: TicketRequest) => Promise<string>;
export type GetToken = (request: TicketRequest) => Promise<string>;

export class UnauthorizedError extends Error {
  override name = 'UnauthorizedError';
}

/** Also true for an error from another copy of this package (same name), e.g. in a micro-frontend. */
export function isUnauthorizedError(error: unknown): boolean {
  return error instanceof UnauthorizedError || (error instanceof Error && error.name === 'UnauthorizedError');
}

/** A ticket could not be fetched for a reason other than credentials (network, 5xx): retried with backoff. */
export class TicketError extends Error {
  override name = 'TicketError';
}

export interface FetchResponseLike {
  status: number;
  ok: boolean;
  json(): Promise<unknown>;
}
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; signal: AbortSignal },
) => Promise<FetchResponseLike>;

export interface HttpTicketSourceOptions {
  /** HTTP origin of the API, e.g. `http://localhost:8000`. */
  apiUrl: string;
  getToken: GetToken;
  fetch: FetchLike;
  /** Default `/api/v1/ws/ticket`. */
  path?: string;
}

/** getTicket from getToken: POST {apiUrl}/api/v1/ws/ticket with `Authorization: Bearer <token>`. */
export function httpTicketSource(options: HttpTicketSourceOptions): GetTicket {
  const url = new URL(options.path ?? '/api/v1/ws/ticket', options.apiUrl).toString();
  return async (request) => {
    const token = await options.getToken(request);
    const response = await options.fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
      signal: request.signal,
    });
    const body: unknown = await response.json().catch(() => null);
    if (response.status === 401) throw new UnauthorizedError(`POST ${url} answered 401: ${problemDetail(body)}`);
    if (!response.ok) throw new TicketError(`POST ${url} answered ${response.status}: ${problemDetail(body)}`);
    const ticket = typeof body === 'object' && body !== null && 'ticket' in body ? body.ticket : undefined;
    if (typeof ticket !== 'string' || ticket.length === 0) {
      throw new TicketError(`POST ${url} answered ${response.status} without a "ticket" string.`);
    }
    return ticket;
  };
}

function problemDetail(body: unknown): string {
  if (typeof body === 'object' && body !== null) {
    const { code, detail } = body as { code?: unknown; detail?: unknown };
    if (typeof code === 'string' || typeof detail === 'string')
      return `${String(code ?? '')} ${String(detail ?? '')}`.trim();
  }
  return 'no problem details';
}

/**
 * Gets a ticket; on UnauthorizedError asks once more with `refresh: true` (unless this request
 * already was a refresh). A second refusal propagates: the caller lands in `unauthorized`.
 */
export async function getTicketWithRefresh(
  getTicket: GetTicket,
  refreshFirst: boolean,
  signal: AbortSignal,
): Promise<string> {
  try {
    return await getTicket({ refresh: refreshFirst, signal });
  } catch (error) {
    if (!isUnauthorizedError(error) || refreshFirst || signal.aborted) throw error;
    return getTicket({ refresh: true, signal });
  }
}
