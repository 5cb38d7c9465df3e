/**
 * The FCM HTTP v1 provider against an HTTPS double of FCM and Google's token endpoint (real TLS
 * with a throwaway CA, a service-account key pair made here): the JWT grant and the access
 * token's reuse, the message JSON, how each FCM answer becomes an outcome the retry policy
 * understands, and the keep-alive connection's lifecycle.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FcmProvider, loadServiceAccount, type ServiceAccount } from '../../src/notifications/providers/fcm.ts';
import type { PushNotification, PushResult } from '../../src/notifications/types.ts';
import { FcmDouble, type FcmScript } from '../support/fcm-double.ts';
import { freePort } from '../support/free-port.ts';
import { samplePush } from '../support/sample-push.ts';
import { makeTestTls, type TestTls } from '../support/test-tls.ts';

const PROJECT_ID = 'anmei-test';
const CLIENT_EMAIL = 'push-sender@anmei-test.iam.gserviceaccount.com';
const DEVICE_TOKEN = 'fcm-device-token-of-customer-456:APA91b-test';
const serviceKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const pem = (key: typeof serviceKey.privateKey) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

const push: PushNotification = samplePush({
  data: { conversation_id: 'c-1', action: 'open_conversation', unread: 3, urgent: true, meta: { from: 'doctor' } },
  target: { provider: 'fcm', token: DEVICE_TOKEN },
  collapseKey: 'conversation-c-1',
  ttlSeconds: 3600,
});

let tls: TestTls;
let double: FcmDouble;
let credentials: ServiceAccount;
/** The providers' clock (ms); whole seconds so an HTTP-date Retry-After is exact. */
let clock: number;
const providers: FcmProvider[] = [];

function provider(overrides: Partial<ConstructorParameters<typeof FcmProvider>[0]> = {}): FcmProvider {
  const made = new FcmProvider({ credentials, baseUrl: double.baseUrl, ca: tls.ca, now: () => clock, ...overrides });
  providers.push(made);
  return made;
}

beforeAll(async () => {
  tls = await makeTestTls();
});
beforeEach(async () => {
  double = await FcmDouble.start({
    tls,
    publicKey: serviceKey.publicKey,
    clientEmail: CLIENT_EMAIL,
    projectId: PROJECT_ID,
  });
  credentials = {
    project_id: PROJECT_ID,
    client_email: CLIENT_EMAIL,
    private_key: pem(serviceKey.privateKey),
    token_uri: double.tokenUri,
  };
  clock = Math.floor(Date.now() / 1000) * 1000;
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  await double.stop();
});

describe('FcmProvider: the message', () => {
  it("sends the FCM v1 message with the access token from the JWT grant and reports FCM's message name", async () => {
    const result = await provider().send(push);
    expect(result).toEqual({
      ok: true,
      providerMessageId: expect.stringMatching(/^projects\/anmei-test\/messages\/0:/),
    });
    expect(double.grants).toHaveLength(1);
    expect(double.grants[0]).toMatchObject({
      iss: CLIENT_EMAIL,
      aud: double.tokenUri,
      scope: 'https://www.googleapis.com/auth/firebase.messaging',
      iat: clock / 1000,
      exp: clock / 1000 + 3600,
    });
    expect(double.messages).toHaveLength(1);
    expect(double.messages[0]?.path).toBe('/v1/projects/anmei-test/messages:send');
    expect(double.messages[0]?.accessToken).toBe(double.issuedTokens[0]);
    expect(double.messages[0]?.message).toEqual({
      token: DEVICE_TOKEN,
      notification: { title: '顾问回复', body: '您好，我来看看' },
      data: {
        conversation_id: 'c-1',
        action: 'open_conversation',
        unread: '3',
        urgent: 'true',
        meta: '{"from":"doctor"}',
      },
      android: {
        priority: 'high',
        collapse_key: 'conversation-c-1',
        ttl: '3600s',
        notification: { tag: 'conversation-c-1' },
      },
      apns: {
        headers: {
          'apns-priority': '10',
          'apns-collapse-id': 'conversation-c-1',
          'apns-expiration': String(clock / 1000 + 3600),
        },
      },
      webpush: { headers: { Urgency: 'high', Topic: 'conversation-c-1', TTL: '3600' } },
    });
  });

  it('a normal-priority push without data, collapse key or TTL sends normal priorities and no collapse fields', async () => {
    const { data: _data, collapseKey: _c, ttlSeconds: _t, ...plain } = push;
    await provider().send({ ...plain, priority: 'normal' });
    expect(double.messages[0]?.message).toEqual({
      token: DEVICE_TOKEN,
      notification: { title: '顾问回复', body: '您好，我来看看' },
      android: { priority: 'normal' },
      apns: { headers: { 'apns-priority': '5' } },
      webpush: { headers: { Urgency: 'normal' } },
    });
  });

  it('a collapse key outside the Web Push Topic alphabet becomes a stable 32-character Topic; FCM and APNs keep it', async () => {
    const fcm = provider();
    await fcm.send({ ...push, collapseKey: 'conversation:c-1' });
    await fcm.send({ ...push, collapseKey: 'conversation:c-1' });
    const [first, second] = double.messages.map((m) => m.message);
    expect(first?.webpush.headers.Topic).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(second?.webpush.headers.Topic).toBe(first?.webpush.headers.Topic);
    expect(first?.android.collapse_key).toBe('conversation:c-1');
    expect(first?.apns.headers['apns-collapse-id']).toBe('conversation:c-1');
  });

  it('does not send a push whose target is not an FCM token, and fetches no access token for it', async () => {
    const fcm = provider();
    await expect(fcm.send({ ...push, target: { provider: 'apns', token: 'a'.repeat(64) } })).resolves.toEqual({
      ok: false,
      error: 'the push has no FCM token (target: apns); the fcm provider sends only to FCM registration tokens',
      retryable: false,
    });
    const { target: _target, ...untargeted } = push;
    await expect(fcm.send(untargeted)).resolves.toMatchObject({ ok: false, retryable: false, error: /no FCM token/ });
    expect(double.grants).toHaveLength(0);
  });
});

describe('FcmProvider: the access token', () => {
  it('exchanges the grant once and reuses the access token across concurrent and later sends', async () => {
    const fcm = provider();
    const concurrent = await Promise.all(Array.from({ length: 5 }, () => fcm.send(push)));
    for (let i = 0; i < 3; i++) await fcm.send(push);
    expect(concurrent.every((r) => r.ok)).toBe(true);
    expect(double.grants).toHaveLength(1);
    expect(double.issuedTokens).toHaveLength(1);
    expect(new Set(double.messages.map((m) => m.accessToken))).toEqual(new Set(double.issuedTokens));
    expect(double.messages).toHaveLength(8);
  });

  it('exchanges a new grant 60 s before the access token expires, not earlier', async () => {
    double.expiresInS = 3599;
    const fcm = provider();
    await fcm.send(push);
    clock += (3599 - 61) * 1000;
    await fcm.send(push);
    expect(double.issuedTokens).toHaveLength(1);
    clock += 2000;
    await fcm.send(push);
    expect(double.issuedTokens).toHaveLength(2);
    expect(double.messages.at(-1)?.accessToken).toBe(double.issuedTokens[1]);
    expect(double.grants[1]?.iat).toBe(clock / 1000);
  });

  it('a 401 drops the cached access token: the attempt is retryable and the next send exchanges a new one', async () => {
    const fcm = provider();
    await fcm.send(push);
    double.revokeTokens();
    const refused = await fcm.send(push);
    expect(refused).toMatchObject({ ok: false, retryable: true, error: /answered 401 UNAUTHENTICATED/ });
    await expect(fcm.send(push)).resolves.toMatchObject({ ok: true });
    expect(double.issuedTokens).toHaveLength(2);
    expect(double.messages.at(-1)?.accessToken).toBe(double.issuedTokens[1]);
  });

  it('a grant signed with a key the token endpoint does not know is permanent and says the credentials are wrong', async () => {
    const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const result = await provider({ credentials: { ...credentials, private_key: pem(stranger.privateKey) } }).send(
      push,
    );
    expect(result).toMatchObject({ ok: false, retryable: false });
    const error = (result as { error: string }).error;
    expect(error).toContain(`the token endpoint ${new URL(double.tokenUri).host} answered 400 invalid_grant`);
    expect(error).toContain(`for the service account ${CLIENT_EMAIL}: the credentials are wrong`);
    expect(error).toContain('FIREBASE_CREDENTIALS_PATH');
    expect(double.refusedGrants).toEqual(['Invalid JWT: signature verification failed']);
    expect(double.messages).toHaveLength(0);
  });

  it("a token endpoint answering 503 is retryable with its Retry-After, and the next send's grant succeeds", async () => {
    const fcm = provider();
    double.tokenEndpoint = 'unavailable';
    await expect(fcm.send(push)).resolves.toMatchObject({ ok: false, retryable: true, retryAfterMs: 7000 });
    double.tokenEndpoint = 'issue';
    await expect(fcm.send(push)).resolves.toMatchObject({ ok: true });
  });
});

describe('FcmProvider: outcomes', () => {
  const cases: Array<[string, FcmScript, Record<string, unknown>]> = [
    [
      'UNREGISTERED (404) means the device is gone',
      'unregistered',
      { retryable: false, targetGone: true, error: /answered 404 UNREGISTERED \(Requested entity was not found\.\)/ },
    ],
    [
      'a 400 saying the registration token is invalid means the device is gone',
      'invalid-token',
      { retryable: false, targetGone: true, error: /answered 400 INVALID_ARGUMENT/ },
    ],
    [
      'a 400 about a field of the request is permanent but the device stays',
      'bad-data',
      { retryable: false, error: /answered 400 INVALID_ARGUMENT \(Invalid value at 'message\.data\[0\]\.value'/ },
    ],
    ['QUOTA_EXCEEDED (429) is retryable after its Retry-After', 'quota', { retryable: true, retryAfterMs: 7000 }],
    ['INTERNAL (500) is retryable', 'internal', { retryable: true, error: /answered 500 INTERNAL/ }],
  ];
  it.each(cases)('%s', async (_name, script, expected) => {
    double.script(DEVICE_TOKEN, script);
    const result = await provider().send(push);
    expect(result).toMatchObject({ ok: false, ...expected });
    if (!expected.targetGone) expect(result).not.toHaveProperty('targetGone');
    if (!expected.retryAfterMs) expect(result).not.toHaveProperty('retryAfterMs');
  });

  it('UNAVAILABLE (503) with an HTTP-date Retry-After waits until that date', async () => {
    double.script(DEVICE_TOKEN, 'unavailable');
    double.retryAfter = new Date(clock + 30_000).toUTCString();
    await expect(provider().send(push)).resolves.toMatchObject({ ok: false, retryable: true, retryAfterMs: 30_000 });
  });

  it('an unreachable FCM is retryable and the error names only the host', async () => {
    const port = await freePort();
    const result = await provider({ baseUrl: `https://127.0.0.1:${port}` }).send(push);
    expect(result).toEqual({ ok: false, error: `could not reach 127.0.0.1:${port}: ECONNREFUSED`, retryable: true });
  });

  it("refuses the double's certificate without the ca option (checks stay on) and calls that retryable", async () => {
    const result = await provider({ ca: undefined }).send(push);
    expect(result).toMatchObject({ ok: false, retryable: true, error: /^could not reach 127\.0\.0\.1:\d+: [A-Z_]+$/ });
    expect(double.grants).toHaveLength(0);
  });

  it('an aborted send stops waiting for FCM and resolves retryable', async () => {
    double.script(DEVICE_TOKEN, 'hang');
    const controller = new AbortController();
    const sending = provider().send(push, controller.signal);
    await double.until(() => double.messages.length === 1, 'the held message to arrive');
    controller.abort();
    await expect(sending).resolves.toEqual({
      ok: false,
      error: `the attempt to reach ${new URL(double.baseUrl).host} was abandoned (timeout or shutdown)`,
      retryable: true,
    });
  });

  it('never puts the access token or the device token into an error text', async () => {
    const fcm = provider();
    const errors: string[] = [];
    const collect = (result: PushResult) => {
      if (!result.ok) errors.push(result.error);
    };
    for (const script of ['unregistered', 'invalid-token', 'bad-data', 'quota', 'internal', 'unavailable'] as const) {
      double.script(DEVICE_TOKEN, script);
      collect(await fcm.send(push));
    }
    double.script(DEVICE_TOKEN, 'unauthenticated');
    collect(await fcm.send(push));
    double.script(DEVICE_TOKEN, 'hang');
    collect(await fcm.send(push, AbortSignal.timeout(200)));
    expect(errors).toHaveLength(8);
    expect(double.issuedTokens.length).toBeGreaterThan(0);
    for (const error of errors) {
      for (const secret of [...double.issuedTokens, DEVICE_TOKEN]) expect(error).not.toContain(secret);
    }
  });
});

describe('FcmProvider: connections', () => {
  it('reuses one keep-alive TLS connection for the grant and several sends, and close() ends it', async () => {
    const fcm = provider();
    for (let i = 0; i < 5; i++) await expect(fcm.send(push)).resolves.toMatchObject({ ok: true });
    expect(double.tlsConnections).toBe(1);
    expect(double.openConnections).toBe(1);
    await fcm.close();
    await double.until(() => double.openConnections === 0, "the provider's TLS connection to close");
    await expect(fcm.send(push)).resolves.toMatchObject({ ok: false, retryable: true, error: /closed/ });
  });
});

describe('loadServiceAccount', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anmei-fcm-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const file = async (name: string, content: unknown) => {
    const path = join(dir, name);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  it('reads the fields the provider needs from a service-account key JSON', async () => {
    const path = await file('ok.json', { type: 'service_account', private_key_id: 'k1', ...credentials });
    expect(loadServiceAccount(path)).toEqual({ ...credentials, private_key_id: 'k1' });
  });

  it('names FIREBASE_CREDENTIALS_PATH and the missing field', async () => {
    const { private_key: _key, ...rest } = credentials;
    const path = await file('no-key.json', rest);
    expect(() => loadServiceAccount(path)).toThrow(
      `FIREBASE_CREDENTIALS_PATH=${path}: the service-account JSON has no "private_key" (a non-empty string): download a new key in the Firebase console (Project settings → Service accounts → Generate new private key)`,
    );
  });

  it("refuses a missing file, non-JSON, an app's google-services.json and a key that is not RSA", async () => {
    const missing = join(dir, 'missing.json');
    expect(() => loadServiceAccount(missing)).toThrow(`FIREBASE_CREDENTIALS_PATH=${missing} cannot be read (ENOENT)`);
    expect(() => loadServiceAccount(dir)).toThrow('cannot be read (EISDIR)');
    expect(() => loadServiceAccount(`${dir}/x`)).toThrow('cannot be read (ENOENT)');
    const notJson = await file('not.json', 'project_id=x');
    expect(() => loadServiceAccount(notJson)).toThrow(`FIREBASE_CREDENTIALS_PATH=${notJson} is not JSON`);
    const app = await file('google-services.json', { project_info: { project_id: PROJECT_ID }, client: [] });
    expect(() => loadServiceAccount(app)).toThrow("is an app's google-services.json, not a service-account key");
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const notRsa = await file('ec.json', { ...credentials, private_key: pem(ec.privateKey) });
    expect(() => loadServiceAccount(notRsa)).toThrow('"private_key" is not a PEM RSA private key');
    const http = await file('http.json', { ...credentials, token_uri: 'http://oauth2.googleapis.com/token' });
    expect(() => loadServiceAccount(http)).toThrow('"token_uri" must be an https URL');
  });
});
