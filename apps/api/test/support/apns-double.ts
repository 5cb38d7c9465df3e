/**
 * An APNs double speaking Apple's HTTP/2 provider API over TLS (test CA from test-tls.ts): it
 * verifies each request's ES256 provider token against the public half of the test `.p8` key and
 * the `apns-*` headers as Apple does, answering violations with Apple's status and `reason`; it
 * records accepted pushes with the HTTP/2 session that carried them, answers per device token as
 * scripted (default 200), and can send GOAWAY.
 */
import { generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import {
  constants,
  createSecureServer,
  type Http2SecureServer,
  type Http2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { decodeProtectedHeader, jwtVerify } from 'jose';
import { Changes } from './changes.ts';
import { makeTestTls } from './test-tls.ts';

/** A throwaway APNs signing key: `pem` is what a `.p8` file holds (PKCS#8), `publicKey` what Apple keeps. */
export function makeApnsKey(): { pem: string; publicKey: KeyObject } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), publicKey };
}

/** How the double answers one push: an HTTP status with Apple's reason, no answer, or a GOAWAY instead. */
export type ApnsAnswer = { status: number; reason?: string } | 'hang' | 'goaway';

export interface ApnsPush {
  deviceToken: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The provider token, verified. */
  jwt: string;
  /** The HTTP/2 session that carried it: 1 for the first session the double accepted, then 2, … */
  session: number;
  answer: ApnsAnswer;
}

/** A request the double refused the way Apple would, before any script applied. */
export interface ApnsRefusal {
  path: string;
  status: number;
  reason: string;
}

export interface ApnsDoubleOptions {
  /** The public half of the provider's `.p8` key. */
  publicKey: KeyObject;
  keyId: string;
  teamId: string;
  topic: string;
  /** The double's clock in ms [default Date.now]: Apple refuses provider tokens older than 60 min. */
  now?: () => number;
}

const PUSH_TYPES = new Set(['alert', 'background', 'voip', 'complication', 'fileprovider', 'mdm', 'liveactivity']);
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN_MAX_AGE_S = 3600;

export class ApnsDouble {
  readonly pushes: ApnsPush[] = [];
  readonly refusals: ApnsRefusal[] = [];
  /** Sessions accepted since start. */
  sessionsOpened = 0;
  readonly ca: string;
  readonly #server: Http2SecureServer;
  readonly #options: ApnsDoubleOptions;
  readonly #sessions = new Map<Http2Session, { id: number; lastStreamId: number }>();
  readonly #scripts = new Map<string, ApnsAnswer[]>();
  readonly #changes = new Changes();

  private constructor(server: Http2SecureServer, ca: string, options: ApnsDoubleOptions) {
    this.#server = server;
    this.ca = ca;
    this.#options = options;
  }

  static async start(options: ApnsDoubleOptions): Promise<ApnsDouble> {
    const tls = await makeTestTls();
    const server = createSecureServer({ key: tls.key, cert: tls.cert });
    const double = new ApnsDouble(server, tls.ca, options);
    server.on('session', (session) => {
      double.#sessions.set(session, { id: ++double.sessionsOpened, lastStreamId: 0 });
      session.on('close', () => {
        double.#sessions.delete(session);
        double.#changes.changed();
      });
      session.on('error', () => {}); // a client that goes away mid-frame is not the double's failure
    });
    server.on('stream', (stream, headers) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('error', () => {});
      stream.on('end', () => {
        void double.#handle(stream, headers, Buffer.concat(chunks)).finally(() => double.#changes.changed());
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return double;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get openSessions(): number {
    return this.#sessions.size;
  }

  /** Pushes to `deviceToken` get these answers in order; after the last, 200. */
  script(deviceToken: string, ...answers: ApnsAnswer[]): void {
    this.#scripts.set(deviceToken, answers);
  }

  /**
   * A graceful GOAWAY ("Shutdown") on every open session, which then closes as APNs closes it (a
   * session that sent GOAWAY stops reading, so it would not notice the client leaving); resolves
   * once they are closed.
   */
  async goAway(): Promise<void> {
    for (const [session, info] of this.#sessions) {
      session.goaway(constants.NGHTTP2_NO_ERROR, info.lastStreamId, Buffer.from('{"reason":"Shutdown"}'));
      session.close();
    }
    await this.until(() => this.openSessions === 0, 'the clients to close their sessions after GOAWAY');
  }

  /** Resolves once `test` holds (checked after every request and session close); rejects after `timeoutMs` saying what. */
  until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.#changes.until(test, what, timeoutMs, () => `open sessions: ${this.openSessions}`);
  }

  async stop(): Promise<void> {
    for (const session of this.#sessions.keys()) session.destroy();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: Buffer): Promise<void> {
    const session = stream.session;
    const info = session ? this.#sessions.get(session) : undefined;
    if (!session || !info) return;
    info.lastStreamId = Math.max(info.lastStreamId, stream.id ?? 0);
    const path = String(headers[':path'] ?? '');
    const refuse = (status: number, reason: string) => {
      this.refusals.push({ path, status, reason });
      answer(stream, headers, status, reason);
    };
    if (headers[':method'] !== 'POST') return refuse(405, 'MethodNotAllowed');
    const deviceToken = /^\/3\/device\/([0-9a-fA-F]+)$/.exec(path)?.[1];
    if (!deviceToken) return refuse(404, 'BadPath');
    const authorization = String(headers.authorization ?? '');
    if (!authorization.startsWith('bearer ')) return refuse(403, 'MissingProviderToken');
    const jwt = authorization.slice('bearer '.length);
    const tokenProblem = await this.#checkToken(jwt);
    if (tokenProblem) return refuse(403, tokenProblem);
    const problem = checkHeaders(headers, this.#options.topic);
    if (problem) return refuse(problem.status, problem.reason);
    if (raw.length === 0) return refuse(400, 'PayloadEmpty');
    if (raw.length > 4096) return refuse(413, 'PayloadTooLarge');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return refuse(400, 'BadRequest');
    }
    const next = this.#scripts.get(deviceToken)?.shift() ?? { status: 200 };
    this.pushes.push({ deviceToken, headers, body, jwt, session: info.id, answer: next });
    if (next === 'hang') return;
    if (next === 'goaway') {
      // As when APNs shuts a connection down: this stream was not processed, and the session ends.
      session.goaway(constants.NGHTTP2_NO_ERROR, stream.id! - 2, Buffer.from('{"reason":"Shutdown"}'));
      stream.close(constants.NGHTTP2_REFUSED_STREAM);
      session.close();
      return;
    }
    answer(stream, headers, next.status, next.reason);
  }

  /** Apple's reason for refusing the provider token, or undefined when it is valid. */
  async #checkToken(jwt: string): Promise<string | undefined> {
    const { publicKey, keyId, teamId } = this.#options;
    const nowS = Math.floor((this.#options.now ?? Date.now)() / 1000);
    try {
      const header = decodeProtectedHeader(jwt);
      if (header.alg !== 'ES256' || header.kid !== keyId) return 'InvalidProviderToken';
      const { payload } = await jwtVerify(jwt, publicKey, {
        algorithms: ['ES256'],
        issuer: teamId,
        currentDate: new Date(nowS * 1000),
      });
      if (typeof payload.iat !== 'number' || payload.iat > nowS + 60) return 'InvalidProviderToken';
      if (nowS - payload.iat > TOKEN_MAX_AGE_S) return 'ExpiredProviderToken';
      return undefined;
    } catch {
      return 'InvalidProviderToken';
    }
  }
}

function checkHeaders(headers: IncomingHttpHeaders, topic: string): { status: number; reason: string } | undefined {
  const one = (name: string) => {
    const value = headers[name];
    return Array.isArray(value) ? value.join(',') : value;
  };
  const topicHeader = one('apns-topic');
  if (topicHeader === undefined) return { status: 400, reason: 'MissingTopic' };
  if (topicHeader !== topic) return { status: 400, reason: 'BadTopic' };
  if (!PUSH_TYPES.has(one('apns-push-type') ?? '')) return { status: 400, reason: 'InvalidPushType' };
  const priority = one('apns-priority');
  if (priority !== undefined && priority !== '5' && priority !== '10') return { status: 400, reason: 'BadPriority' };
  const collapseId = one('apns-collapse-id');
  if (collapseId !== undefined && Buffer.byteLength(collapseId) > 64) return { status: 400, reason: 'BadCollapseId' };
  const expiration = one('apns-expiration');
  if (expiration !== undefined && !/^\d{1,12}$/.test(expiration)) return { status: 400, reason: 'BadExpirationDate' };
  const id = one('apns-id');
  if (id !== undefined && !CANONICAL_UUID.test(id)) return { status: 400, reason: 'BadMessageId' };
  return undefined;
}

/** Apple's answer: `apns-id` echoed (or made up), an empty body on 200, else `{"reason"}` (+ `timestamp` on 410). */
function answer(stream: ServerHttp2Stream, request: IncomingHttpHeaders, status: number, reason?: string): void {
  if (stream.destroyed || stream.closed) return;
  const id = typeof request['apns-id'] === 'string' ? request['apns-id'] : randomUUID();
  if (status === 200) {
    stream.respond({ ':status': 200, 'apns-id': id }, { endStream: true });
    return;
  }
  stream.respond({ ':status': status, 'apns-id': id, 'content-type': 'application/json' });
  stream.end(JSON.stringify({ reason: reason ?? 'BadRequest', ...(status === 410 ? { timestamp: Date.now() } : {}) }));
}
