/**
 * The HTTP/2 sessions of a provider that talks to one host (APNs): one session carries every
 * push and is opened lazily; one that closed, failed or got a GOAWAY is replaced, while older
 * ones finish the pushes they carry. An idle session does not keep the process alive, and
 * `closeAll` ends every session even when the peer never closes its side.
 */
import { type ClientHttp2Session, connect } from 'node:http2';
import type { Duplex } from 'node:stream';

/** How long `closeAll` waits for the peer to close a session's connection before cutting it, in ms. */
const CLOSE_GRACE_MS = 2_000;

export class Http2Sessions {
  readonly #host: string;
  readonly #ca: string | Buffer | undefined;
  #current: ClientHttp2Session | undefined;
  /**
   * Every session not yet closed (the current one, and older ones finishing their pushes after a
   * GOAWAY): its socket, so `closeAll` can end it even when the peer never closes its side, and its
   * pushes in flight, so it is ref'ed only while it carries one.
   */
  readonly #live = new Map<ClientHttp2Session, { socket?: Duplex; inFlight: number }>();
  /** The peer's GOAWAY reason per session, for the streams it cut. */
  readonly #goaway = new WeakMap<ClientHttp2Session, string>();

  /** `host`: an https origin; `ca`: the CA to trust instead of Node's roots (tests only; certificates are always checked). */
  constructor(host: string, ca: string | Buffer | undefined) {
    this.#host = host;
    this.#ca = ca;
  }

  /** Why the peer sent `session` a GOAWAY (its `reason`, or 'no reason'), if it did. */
  goawayReason(session: ClientHttp2Session): string | undefined {
    return this.#goaway.get(session);
  }

  /** Ends every session (see `#end`); later `current()` calls open a new one. */
  async closeAll(): Promise<void> {
    this.#current = undefined;
    await Promise.all([...this.#live.keys()].map((session) => this.#end(session)));
  }

  /** The open session, or a new one when there is none or it closed, failed or got a GOAWAY. */
  current(): ClientHttp2Session {
    const current = this.#current;
    if (current && !current.closed && !current.destroyed && !this.#goaway.has(current)) return current;
    const session = connect(this.#host, this.#ca === undefined ? {} : { ca: this.#ca });
    const forget = () => {
      if (this.#current === session) this.#current = undefined;
    };
    // A failed session fails its streams (each push reports it); here it is only replaced.
    const live: { socket?: Duplex; inFlight: number } = { inFlight: 0 };
    this.#live.set(session, live);
    session.on('connect', (_session: ClientHttp2Session, socket: Duplex) => {
      live.socket = socket;
    });
    session.on('error', forget);
    session.on('close', () => {
      forget();
      this.#live.delete(session);
    });
    session.on('goaway', (_code: number, _lastStreamId: number, opaque?: Buffer) => {
      this.#goaway.set(session, reasonOf(opaque) ?? 'no reason');
      forget();
    });
    // Idle, it must not keep the process alive; `hold` refs it while a push is in flight.
    session.unref();
    this.#current = session;
    return session;
  }

  /** Counts a push in flight on `session` (+1) or ended (-1): the session keeps the process alive only while it carries one. */
  hold(session: ClientHttp2Session, delta: 1 | -1): void {
    const live = this.#live.get(session);
    if (!live || session.destroyed) return;
    live.inFlight += delta;
    if (live.inFlight > 0) session.ref();
    else session.unref();
  }

  /**
   * Closes `session` gracefully (pushes in flight finish; the push queue aborts them first on
   * shutdown), then destroys its socket if the peer has not closed within CLOSE_GRACE_MS: Node
   * waits for the peer's side forever.
   */
  #end(session: ClientHttp2Session): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        session.destroy();
        this.#live.get(session)?.socket?.destroy();
      }, CLOSE_GRACE_MS);
      session.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      session.close();
    });
  }
}

export /** Apple's `reason` from an error body or GOAWAY data; only a plain identifier is trusted into an error text. */
function reasonOf(data: string | Buffer | undefined): string | undefined {
  if (!data || data.length === 0) return undefined;
  try {
    const parsed: unknown = JSON.parse(data.toString());
    const reason = typeof parsed === 'object' && parsed !== null ? (parsed as { reason?: unknown }).reason : undefined;
    return typeof reason === 'string' && /^[A-Za-z]{1,64}$/.test(reason) ? reason : undefined;
  } catch {
    return undefined;
  }
}
