/**
 * A Web Push service double speaking RFC 8030/8291/8292 over real HTTPS (a throwaway CA from
 * test-tls.ts; clients trust `ca` through their own option). For every POST it verifies what a
 * real push service verifies — the VAPID `Authorization: vapid t=<jwt>, k=<key>` (ES256 signed by
 * `k`, `aud` = this origin, a `sub`, `exp` at most 24 h ahead) and, when the subscription was made
 * with an applicationServerKey, that `k` is that key — then decrypts the aes128gcm body with the
 * subscription's private key, as the browser would, and records it with the TTL, Urgency and
 * Topic headers. Answers are scripted per endpoint path (201 when nothing is scripted).
 */
import { createECDH, type ECDH, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { importJWK, jwtVerify } from 'jose';
import type { WebPushSubscription } from '../../src/notifications/types.ts';
import { Changes } from './changes.ts';
import { makeTestTls } from './test-tls.ts';

/** http_ece ships no types; this is the part of its API the double uses (see its ece.js `decrypt`). */
interface HttpEce {
  decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string }): Buffer;
}
const ece = createRequire(import.meta.url)('http_ece') as HttpEce;

/** Longest VAPID JWT lifetime a push service accepts, in seconds (RFC 8292 §2: 24 hours). */
const MAX_JWT_LIFETIME_S = 24 * 60 * 60;

/** One scripted answer; `hold` leaves the request unanswered until the client goes away. */
export type WebPushAnswer = { status: number; headers?: Record<string, string>; body?: string } | { hold: true };

export interface WebPushDelivery {
  path: string;
  /** The status answered, or 'held' / 'cut' (the sender went away before an answer). */
  answer: number | 'held' | 'cut';
  ttl: string | undefined;
  urgency: string | undefined;
  topic: string | undefined;
  contentEncoding: string | undefined;
  /** The verified JWT claims and the `k` of the Authorization header. */
  vapid: { aud: unknown; sub: unknown; exp: number; iat: unknown; k: string } | undefined;
  /** The decrypted body (UTF-8), as the service worker would read it. */
  plaintext: string | undefined;
  /** Bytes of the encrypted body as it came over the wire. */
  bodyBytes: number;
  /** Why the double refused the request (as a real service would, with 400/401/403), if it did. */
  problem: string | undefined;
}

/** A browser's subscription and the private half that only the browser would hold. */
export interface TestSubscription {
  subscription: WebPushSubscription;
  path: string;
}

interface Subscriber {
  ecdh: ECDH;
  auth: string;
  applicationServerKey: string | undefined;
}

export class WebPushDouble {
  readonly deliveries: WebPushDelivery[] = [];
  readonly ca: string;
  readonly #server: Server;
  readonly #subscribers = new Map<string, Subscriber>();
  readonly #scripts = new Map<string, WebPushAnswer[]>();
  readonly #changes = new Changes();

  private constructor(server: Server, ca: string) {
    this.#server = server;
    this.ca = ca;
  }

  static async start(): Promise<WebPushDouble> {
    const tls = await makeTestTls();
    const server = createServer({ key: tls.key, cert: tls.cert });
    const double = new WebPushDouble(server, tls.ca);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void double.#receive(req.url ?? '', req.headers, Buffer.concat(chunks)).then((delivery) => {
          double.deliveries.push(delivery);
          double.#changes.changed();
          const answer: WebPushAnswer = delivery.problem
            ? { status: delivery.problem.startsWith('VAPID') ? 403 : 400, body: delivery.problem }
            : (double.#scripts.get(delivery.path)?.shift() ?? { status: 201 });
          if ('hold' in answer) {
            delivery.answer = 'held';
            res.on('close', () => {
              if (delivery.answer === 'held') delivery.answer = 'cut';
              double.#changes.changed();
            });
            return;
          }
          delivery.answer = answer.status;
          const headers = answer.status === 201 ? { location: `/m/${randomUUID()}` } : {};
          res.writeHead(answer.status, { ...headers, ...answer.headers }).end(answer.body ?? '');
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return double;
  }

  /** The push service's origin, which is also the audience a VAPID JWT must name. */
  get origin(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /**
   * A subscription as a browser's `pushManager.subscribe()` makes it: a fresh P-256 key pair
   * (p256dh = the public key, uncompressed, base64url), a 16-byte auth secret, and an endpoint
   * path no one can guess. With `applicationServerKey`, only that VAPID key may push to it.
   */
  subscribe(applicationServerKey?: string): TestSubscription {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    const auth = randomBytes(16).toString('base64url');
    const path = `/wpush/v2/${randomBytes(24).toString('base64url')}`;
    this.#subscribers.set(path, { ecdh, auth, applicationServerKey });
    return {
      path,
      subscription: { endpoint: `${this.origin}${path}`, keys: { p256dh: ecdh.getPublicKey('base64url'), auth } },
    };
  }

  /** The next requests to `path` get these answers, in order; after them, 201 again. */
  script(path: string, ...answers: WebPushAnswer[]): void {
    this.#scripts.set(path, [...(this.#scripts.get(path) ?? []), ...answers]);
  }

  /** The last delivery to `path`; throws naming the path's deliveries count when there is none. */
  last(path: string): WebPushDelivery {
    const found = this.deliveries.filter((d) => d.path === path).at(-1);
    if (!found) throw new Error(`no request reached ${path}; ${this.deliveries.length} reached other paths`);
    return found;
  }

  /** Resolves once `test` holds for the deliveries; rejects after `timeoutMs` saying what and what came. */
  until(test: (deliveries: WebPushDelivery[]) => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    return this.#changes.until(
      () => test(this.deliveries),
      what,
      timeoutMs,
      () => `deliveries: ${JSON.stringify(this.deliveries.map((d) => `${d.path}:${d.answer}`))}`,
    );
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #receive(path: string, headers: Record<string, string | string[] | undefined>, body: Buffer) {
    const one = (name: string) => {
      const value = headers[name];
      return Array.isArray(value) ? value.join(',') : value;
    };
    const delivery: WebPushDelivery = {
      path,
      answer: 'held',
      ttl: one('ttl'),
      urgency: one('urgency'),
      topic: one('topic'),
      contentEncoding: one('content-encoding'),
      vapid: undefined,
      plaintext: undefined,
      bodyBytes: body.length,
      problem: undefined,
    };
    const subscriber = this.#subscribers.get(path);
    if (!subscriber) return { ...delivery, problem: `no subscription at this path` };
    try {
      delivery.vapid = await this.#verifyVapid(one('authorization'), subscriber);
    } catch (error) {
      return { ...delivery, problem: `VAPID: ${(error as Error).message}` };
    }
    if (delivery.ttl === undefined || !/^\d+$/.test(delivery.ttl)) {
      return { ...delivery, problem: 'a TTL header of delta-seconds is required (RFC 8030 §5.2)' };
    }
    if (delivery.contentEncoding !== 'aes128gcm') {
      return { ...delivery, problem: `Content-Encoding must be aes128gcm, got ${delivery.contentEncoding}` };
    }
    try {
      const plain = ece.decrypt(body, {
        version: 'aes128gcm',
        privateKey: subscriber.ecdh,
        authSecret: subscriber.auth,
      });
      delivery.plaintext = plain.toString('utf8');
    } catch (error) {
      return { ...delivery, problem: `the body does not decrypt: ${(error as Error).message}` };
    }
    return delivery;
  }

  async #verifyVapid(authorization: string | undefined, subscriber: Subscriber) {
    // Two base64url tokens; the classes exclude ',' and spaces, so the match cannot backtrack.
    const match = /^vapid t=([A-Za-z0-9._-]+), ?k=([A-Za-z0-9_-]+)$/.exec(authorization ?? '');
    if (!match) throw new Error(`Authorization is not "vapid t=<jwt>, k=<key>": ${authorization}`);
    const [, token, k] = match as unknown as [string, string, string];
    const point = Buffer.from(k, 'base64url');
    if (point.length !== 65 || point[0] !== 4) throw new Error('k is not an uncompressed P-256 public key');
    if (subscriber.applicationServerKey !== undefined && k !== subscriber.applicationServerKey) {
      throw new Error('k is not the applicationServerKey this subscription was made with');
    }
    const key = await importJWK(
      {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33).toString('base64url'),
      },
      'ES256',
    );
    const { payload } = await jwtVerify(token, key, {
      algorithms: ['ES256'],
      audience: this.origin,
      requiredClaims: ['aud', 'exp', 'sub'],
    });
    const exp = payload.exp as number;
    if (exp > Math.floor(Date.now() / 1000) + MAX_JWT_LIFETIME_S) throw new Error(`exp ${exp} is over 24 h ahead`);
    if (typeof payload.sub !== 'string' || !/^(mailto:|https:)/.test(payload.sub)) {
      throw new Error(`sub must be a mailto: or https: URL, got ${String(payload.sub)}`);
    }
    return { aud: payload.aud, sub: payload.sub, exp, iat: payload.iat, k };
  }
}
