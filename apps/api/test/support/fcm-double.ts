/**
 * A Firebase Cloud Messaging double speaking the HTTP v1 protocol over real TLS (a throwaway CA
 * from test-tls.ts): Google's OAuth2 token endpoint and `/v1/projects/<id>/messages:send`.
 *
 * The token endpoint verifies the JWT-bearer grant (RFC 7523) with the test service account's
 * public key and checks `iss`, `aud`, `scope` and the lifetime, then issues an access token; the
 * send endpoint accepts only a bearer token it issued and not revoked. Each message is recorded;
 * how a message is answered is scripted per registration token, with FCM's real error bodies.
 */
import { type KeyObject, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { type JWTPayload, jwtVerify } from 'jose';
import { Changes } from './changes.ts';
import type { TestTls } from './test-tls.ts';

/** How the send endpoint answers a registration token (default 'ok'). */
export type FcmScript =
  | 'ok'
  /** 404 UNREGISTERED: the app was uninstalled or the token expired. */
  | 'unregistered'
  /** 400 INVALID_ARGUMENT (FcmError): "The registration token is not a valid FCM registration token". */
  | 'invalid-token'
  /** 400 INVALID_ARGUMENT (google.rpc.BadRequest on a data field): the request, not the token, is bad. */
  | 'bad-data'
  /** 429 QUOTA_EXCEEDED with `Retry-After: <retryAfter>`. */
  | 'quota'
  /** 500 INTERNAL. */
  | 'internal'
  /** 503 UNAVAILABLE with `Retry-After: <retryAfter>`. */
  | 'unavailable'
  /** 401 UNAUTHENTICATED although the bearer token was issued (Google revoked it early). */
  | 'unauthenticated'
  /** No answer until the client goes away or the double stops. */
  | 'hang';

export interface FcmDoubleOptions {
  tls: TestTls;
  /** The public half of the test service account's key: grants must verify with it. */
  publicKey: KeyObject;
  clientEmail: string;
  projectId: string;
}

export interface ReceivedMessage {
  path: string;
  /** The bearer token the message came with (one the double issued). */
  accessToken: string;
  /** The `message` object of the request body. */
  message: Record<string, any>;
  /** When the double read it (ms since the epoch), to check a retry's delay. */
  receivedAt: number;
}

const FCM_ERROR = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The bodies FCM answers with (google.rpc.Status), as documented for the HTTP v1 API. */
function fcmError(code: number, status: string, message: string, errorCode?: string): string {
  const details = errorCode ? [{ '@type': FCM_ERROR, errorCode }] : [];
  return JSON.stringify({ error: { code, message, status, ...(details.length ? { details } : {}) } });
}

export class FcmDouble {
  readonly messages: ReceivedMessage[] = [];
  /** The claims of every grant JWT that verified, in order. */
  readonly grants: JWTPayload[] = [];
  /** Why each refused grant was refused (the `error_description` sent back). */
  readonly refusedGrants: string[] = [];
  /** Every access token issued, in order. */
  readonly issuedTokens: string[] = [];
  /** TLS handshakes the server completed (one per connection). */
  tlsConnections = 0;
  /** `expires_in` of the next issued access tokens, in s [default 3599, as Google answers]. */
  expiresInS = 3599;
  /** `Retry-After` of 'quota' and 'unavailable' answers, and of a token endpoint set to 'unavailable'. */
  retryAfter = '7';
  /** ms every message waits before its answer [default 0]: a slow push service (benchmarks). */
  answerDelayMs = 0;
  /** How the token endpoint answers a valid grant [default 'issue']. */
  tokenEndpoint: 'issue' | 'unavailable' = 'issue';
  readonly #options: FcmDoubleOptions;
  readonly #server: Server;
  readonly #scripts = new Map<string, FcmScript>();
  readonly #valid = new Set<string>();
  readonly #sockets = new Set<TLSSocket>();
  readonly #held = new Set<ServerResponse>();
  readonly #changes = new Changes();

  private constructor(options: FcmDoubleOptions) {
    this.#options = options;
    this.#server = createServer({ key: options.tls.key, cert: options.tls.cert });
    this.#server.on('secureConnection', (socket: TLSSocket) => {
      this.tlsConnections++;
      this.#sockets.add(socket);
      socket.on('close', () => {
        this.#sockets.delete(socket);
        this.#changes.changed();
      });
      this.#changes.changed();
    });
    this.#server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const path = req.url ?? '';
        const work = path === '/token' ? this.#token(req, body, res) : this.#send(req, path, body, res);
        work.catch((error: unknown) => res.writeHead(500).end(String(error))).finally(() => this.#changes.changed());
      });
    });
  }

  static async start(options: FcmDoubleOptions): Promise<FcmDouble> {
    const double = new FcmDouble(options);
    await new Promise<void>((resolve) => double.#server.listen(0, '127.0.0.1', resolve));
    return double;
  }

  /** FCM's origin, for the provider's `baseUrl`. */
  get baseUrl(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** The `token_uri` of the test service account. */
  get tokenUri(): string {
    return `${this.baseUrl}/token`;
  }

  /** TLS connections open now. */
  get openConnections(): number {
    return this.#sockets.size;
  }

  /** Answer every later message to `deviceToken` this way. */
  script(deviceToken: string, script: FcmScript): void {
    this.#scripts.set(deviceToken, script);
  }

  /** Refuse every access token issued so far (as Google does when a key is revoked). */
  revokeTokens(): void {
    this.#valid.clear();
  }

  /** Resolves once `test` holds; rejects after `timeoutMs` naming what was awaited. */
  until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    return this.#changes.until(test, what, timeoutMs);
  }

  async stop(): Promise<void> {
    for (const res of this.#held) res.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #token(req: IncomingMessage, body: string, res: ServerResponse): Promise<void> {
    const refuse = (error: string, description: string) => {
      this.refusedGrants.push(description);
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error, error_description: description }));
    };
    if (req.method !== 'POST' || !req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) {
      return refuse('invalid_request', 'Expected a form-encoded POST.');
    }
    const form = new URLSearchParams(body);
    if (form.get('grant_type') !== JWT_BEARER) {
      return refuse('unsupported_grant_type', `Invalid grant_type: ${form.get('grant_type')}`);
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(form.get('assertion') ?? '', this.#options.publicKey, {
        algorithms: ['RS256'],
        issuer: this.#options.clientEmail,
        audience: this.tokenUri,
      }));
    } catch (error) {
      return refuse('invalid_grant', `Invalid JWT: ${(error as Error).message}`);
    }
    if (claims.scope !== SCOPE) return refuse('invalid_scope', `Invalid OAuth scope: ${String(claims.scope)}`);
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp - claims.iat > 3600) {
      return refuse('invalid_grant', 'Invalid JWT: Token must be a short-lived token (60 minutes).');
    }
    this.grants.push(claims);
    if (this.tokenEndpoint === 'unavailable') {
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': this.retryAfter });
      res.end(JSON.stringify({ error: 'internal_failure', error_description: 'Backend Error' }));
      return;
    }
    const accessToken = `ya29.test-${randomBytes(24).toString('base64url')}`;
    this.issuedTokens.push(accessToken);
    this.#valid.add(accessToken);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ access_token: accessToken, expires_in: this.expiresInS, token_type: 'Bearer' }));
  }

  async #send(req: IncomingMessage, path: string, body: string, res: ServerResponse): Promise<void> {
    const answer = (status: number, json: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers }).end(json);
    };
    const accessToken = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!this.#valid.has(accessToken)) return this.#unauthenticated(answer);
    const projectId = /^\/v1\/projects\/([^/]+)\/messages:send$/.exec(path)?.[1];
    if (req.method !== 'POST' || projectId === undefined) {
      return answer(404, fcmError(404, 'NOT_FOUND', `The requested URL ${path} was not found on this server.`));
    }
    if (decodeURIComponent(projectId) !== this.#options.projectId) {
      const message = `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${projectId}' (or it may not exist).`;
      return answer(403, fcmError(403, 'PERMISSION_DENIED', message));
    }
    const message = (JSON.parse(body) as { message: Record<string, any> }).message;
    this.messages.push({ path, accessToken, message, receivedAt: Date.now() });
    if (this.answerDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.answerDelayMs));
    const retry = { 'retry-after': this.retryAfter };
    switch (this.#scripts.get(String(message.token)) ?? 'ok') {
      case 'ok':
        return answer(
          200,
          JSON.stringify({ name: `projects/${projectId}/messages/0:${Date.now()}%${this.messages.length}` }),
        );
      case 'unregistered':
        return answer(404, fcmError(404, 'NOT_FOUND', 'Requested entity was not found.', 'UNREGISTERED'));
      case 'invalid-token':
        return answer(
          400,
          fcmError(
            400,
            'INVALID_ARGUMENT',
            'The registration token is not a valid FCM registration token',
            'INVALID_ARGUMENT',
          ),
        );
      case 'bad-data': {
        const violation = "Invalid value at 'message.data[0].value' (TYPE_STRING), 12";
        const details = [
          {
            '@type': 'type.googleapis.com/google.rpc.BadRequest',
            fieldViolations: [{ field: 'message.data[0].value', description: violation }],
          },
        ];
        return answer(
          400,
          JSON.stringify({ error: { code: 400, message: violation, status: 'INVALID_ARGUMENT', details } }),
        );
      }
      case 'quota':
        return answer(
          429,
          fcmError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded for sending messages.', 'QUOTA_EXCEEDED'),
          retry,
        );
      case 'internal':
        return answer(500, fcmError(500, 'INTERNAL', 'Internal error encountered.', 'INTERNAL'));
      case 'unavailable':
        return answer(503, fcmError(503, 'UNAVAILABLE', 'The service is currently unavailable.', 'UNAVAILABLE'), retry);
      case 'unauthenticated':
        return this.#unauthenticated(answer);
      case 'hang':
        this.#held.add(res);
        res.on('close', () => this.#held.delete(res));
    }
  }

  #unauthenticated(answer: (status: number, json: string) => void): void {
    answer(
      401,
      fcmError(
        401,
        'UNAUTHENTICATED',
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      ),
    );
  }
}
