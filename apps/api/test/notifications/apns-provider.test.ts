/**
 * The APNs provider against an HTTP/2 TLS double of Apple's provider API (apns-double.ts): one
 * session for many pushes, the provider token's reuse and renewal, the request Apple expects, how
 * each answer becomes an outcome the retry policy understands, GOAWAY, and its lifecycle.
 */
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  ApnsProvider,
  type ApnsProviderOptions,
  apnsIdFor,
  loadApnsKey,
} from '../../src/notifications/providers/apns.ts';
import type { PushNotification, PushResult } from '../../src/notifications/types.ts';
import { ApnsDouble, makeApnsKey } from '../support/apns-double.ts';
import { freePort } from '../support/free-port.ts';
import { samplePush } from '../support/sample-push.ts';

const KEY_ID = 'ABC123DEFG';
const TEAM_ID = 'DEF123GHIJ';
const TOPIC = 'com.anmei.smart';
const MINUTE = 60_000;

const key = makeApnsKey();
/** Shared by the provider and the double, so a test moves time for both. */
let clock = Date.parse('2026-12-03T04:00:00Z');
let double: ApnsDouble;
let host: string;
const providers: ApnsProvider[] = [];

/** A 64-hex-digit device token, different per `n`. */
const device = (n: number) => n.toString(16).padStart(64, 'a');

const push = (over: Partial<PushNotification> = {}): PushNotification =>
  samplePush({ target: { provider: 'apns', token: device(1) }, ...over });

function provider(over: Partial<ApnsProviderOptions> = {}): ApnsProvider {
  const made = new ApnsProvider({
    key: key.pem,
    keyId: KEY_ID,
    teamId: TEAM_ID,
    topic: TOPIC,
    host: double.url,
    ca: double.ca,
    now: () => clock,
    ...over,
  });
  providers.push(made);
  return made;
}

const sessionsOf = (from: number) => [...new Set(double.pushes.slice(from).map((p) => p.session))];

beforeAll(async () => {
  double = await ApnsDouble.start({
    publicKey: key.publicKey,
    keyId: KEY_ID,
    teamId: TEAM_ID,
    topic: TOPIC,
    now: () => clock,
  });
  host = new URL(double.url).host;
});
afterEach(async () => {
  await Promise.all(providers.splice(0).map((p) => p.close()));
  expect(double.refusals).toEqual([]);
});
afterAll(async () => {
  await double.stop();
});

describe('ApnsProvider sessions and tokens', () => {
  it('carries many pushes, concurrent and one after another, over one HTTP/2 session', async () => {
    const apns = provider();
    const opened = double.sessionsOpened;
    const from = double.pushes.length;
    const concurrent = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => apns.send(push({ target: { provider: 'apns', token: device(n) } }))),
    );
    const sequential: PushResult[] = [];
    for (const n of [6, 7, 8])
      sequential.push(await apns.send(push({ target: { provider: 'apns', token: device(n) } })));
    expect([...concurrent, ...sequential].every((r) => r.ok)).toBe(true);
    expect(double.pushes.length - from).toBe(8);
    expect(double.sessionsOpened - opened).toBe(1);
    expect(sessionsOf(from)).toHaveLength(1);
  });

  it('signs one ES256 provider token {kid, iss, iat} and reuses it until tokenRefreshMs (30 min), then signs a new one', async () => {
    const apns = provider();
    const from = double.pushes.length;
    const start = clock;
    await apns.send(push());
    clock += 29 * MINUTE;
    await apns.send(push());
    clock += 2 * MINUTE;
    await apns.send(push());
    const [first, second, third] = double.pushes.slice(from).map((p) => p.jwt);
    expect(decodeProtectedHeader(first!)).toEqual({ alg: 'ES256', kid: KEY_ID });
    expect(decodeJwt(first!)).toEqual({ iss: TEAM_ID, iat: Math.floor(start / 1000) });
    expect(second).toBe(first);
    expect(third).not.toBe(first);
    expect(decodeJwt(third!).iat).toBe(Math.floor(clock / 1000));
    expect(sessionsOf(from)).toHaveLength(1); // a new token needs no new connection
  });

  it('renews the provider token at once on 403 ExpiredProviderToken and reports the push as retryable', async () => {
    const apns = provider();
    const from = double.pushes.length;
    await apns.send(push());
    double.script(device(2), { status: 403, reason: 'ExpiredProviderToken' });
    const result = await apns.send(push({ target: { provider: 'apns', token: device(2) } }));
    expect(result).toEqual({ ok: false, error: `APNs at ${host} answered 403 ExpiredProviderToken`, retryable: true });
    await expect(apns.send(push({ target: { provider: 'apns', token: device(2) } }))).resolves.toMatchObject({
      ok: true,
    });
    const [used, expired, renewed] = double.pushes.slice(from).map((p) => p.jwt);
    expect(expired).toBe(used);
    expect(renewed).not.toBe(expired); // same clock second, but a new signature
  });

  it('accepts a tokenRefreshMs between 20 and 60 minutes only', () => {
    expect(() => provider({ tokenRefreshMs: 45 * MINUTE })).not.toThrow();
    expect(() => provider({ tokenRefreshMs: 60 * MINUTE })).toThrow(
      'APNs tokenRefreshMs=3600000 is outside 1200000–3599999 ms: Apple refuses tokens older than 60 min and renewals more often than every 20 min',
    );
    expect(() => provider({ tokenRefreshMs: 5_000 })).toThrow(/tokenRefreshMs=5000 is outside/);
  });

  it('opens a new session for the next push after APNs sends GOAWAY', async () => {
    const apns = provider();
    const from = double.pushes.length;
    await expect(apns.send(push())).resolves.toMatchObject({ ok: true });
    await double.goAway();
    await expect(apns.send(push())).resolves.toMatchObject({ ok: true });
    await expect(apns.send(push())).resolves.toMatchObject({ ok: true });
    const [a, b, c] = double.pushes.slice(from).map((p) => p.session);
    expect(b).not.toBe(a);
    expect(c).toBe(b);
  });

  it('reports a push cut by GOAWAY before its answer as retryable, and the next push opens a new session', async () => {
    const apns = provider();
    const from = double.pushes.length;
    await apns.send(push());
    double.script(device(3), 'goaway');
    await expect(apns.send(push({ target: { provider: 'apns', token: device(3) } }))).resolves.toEqual({
      ok: false,
      error: `could not reach APNs at ${host}: the connection was closed by a GOAWAY (Shutdown) before the answer`,
      retryable: true,
    });
    await expect(apns.send(push({ target: { provider: 'apns', token: device(3) } }))).resolves.toMatchObject({
      ok: true,
    });
    const [first, cut, next] = double.pushes.slice(from).map((p) => p.session);
    expect(cut).toBe(first);
    expect(next).not.toBe(first);
  });

  it('close() closes its session, leaves no socket open, and later pushes fail as retryable', async () => {
    const tlsSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TLSWrap').length;
    await double.until(() => double.openSessions === 0, 'earlier sessions to close');
    const before = tlsSockets();
    const apns = provider();
    await apns.send(push());
    expect(double.openSessions).toBe(1);
    await apns.close();
    await double.until(() => double.openSessions === 0, 'the provider session to close');
    await expect.poll(tlsSockets).toBe(before);
    await expect(apns.send(push())).resolves.toEqual({
      ok: false,
      error: 'the APNs provider is closed',
      retryable: true,
    });
  });
});

describe('ApnsProvider requests', () => {
  it('POSTs /3/device/<token> with the bearer token, apns-* headers and the alert payload, and returns the apns-id', async () => {
    const apns = provider();
    const result = await apns.send(push({ collapseKey: 'conversation:c-1', ttlSeconds: 3600 }));
    const sent = double.pushes.at(-1)!;
    const apnsId = apnsIdFor('message:m-1:customer_456');
    expect(apnsId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(result).toEqual({ ok: true, providerMessageId: apnsId });
    expect(sent.headers).toMatchObject({
      ':method': 'POST',
      ':path': `/3/device/${device(1)}`,
      authorization: `bearer ${sent.jwt}`,
      'apns-topic': TOPIC,
      'apns-push-type': 'alert',
      'apns-priority': '10',
      'apns-collapse-id': 'conversation:c-1',
      'apns-expiration': String(Math.floor(clock / 1000) + 3600),
      'apns-id': apnsId,
    });
    expect(sent.body).toEqual({
      conversation_id: 'c-1',
      action: 'open_conversation',
      aps: { alert: { title: '顾问回复', body: '您好，我来看看' }, sound: 'default', 'thread-id': 'c-1' },
    });
  });

  it('sends normal priority as 5, no apns-expiration without a TTL and 0 for a TTL of 0, no thread-id without a conversation', async () => {
    const apns = provider();
    await apns.send(push({ priority: 'normal', data: { action: 'open_notices' } }));
    const plain = double.pushes.at(-1)!;
    expect(plain.headers['apns-priority']).toBe('5');
    expect(plain.headers['apns-expiration']).toBeUndefined();
    expect(plain.headers['apns-collapse-id']).toBeUndefined();
    expect(plain.body).toEqual({
      action: 'open_notices',
      aps: { alert: { title: '顾问回复', body: '您好，我来看看' }, sound: 'default' },
    });
    await apns.send(push({ ttlSeconds: 0 }));
    expect(double.pushes.at(-1)!.headers['apns-expiration']).toBe('0');
  });

  it('gives a retried push the same apns-id, and a push without an idempotency key none (Apple makes one)', async () => {
    const apns = provider();
    await apns.send(push());
    await apns.send(push());
    const [a, b] = double.pushes.slice(-2).map((p) => p.headers['apns-id']);
    expect(a).toBe(b);
    const result = await apns.send(push({ idempotencyKey: undefined }));
    expect(double.pushes.at(-1)!.headers['apns-id']).toBeUndefined();
    expect(result).toMatchObject({ ok: true, providerMessageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it('keeps data from overwriting aps, and shortens a collapse key over 64 bytes to its SHA-256 hex', async () => {
    const apns = provider();
    await apns.send(push({ data: { aps: { badge: 99 }, x: 1 }, collapseKey: '会话'.repeat(20) }));
    const sent = double.pushes.at(-1)!;
    expect(sent.body).toEqual({
      x: 1,
      aps: { alert: { title: '顾问回复', body: '您好，我来看看' }, sound: 'default' },
    });
    expect(sent.headers['apns-collapse-id']).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('ApnsProvider outcomes', () => {
  it.each([
    [410, 'Unregistered', { retryable: false, targetGone: true }, ''],
    [
      400,
      'BadDeviceToken',
      { retryable: false, targetGone: true },
      ': a sandbox token sent to production or the reverse? check APNS_HOST',
    ],
    [
      400,
      'DeviceTokenNotForTopic',
      { retryable: false, targetGone: true },
      ': the device registered for another app: check APNS_TOPIC',
    ],
    [429, 'TooManyRequests', { retryable: true }, ''],
    [500, 'InternalServerError', { retryable: true }, ''],
    [503, 'ServiceUnavailable', { retryable: true }, ''],
    [400, 'BadTopic', { retryable: false }, ': check APNS_TOPIC (the app bundle id)'],
    [413, 'PayloadTooLarge', { retryable: false }, ': the payload exceeds 4096 bytes: shorten the content or data'],
    [
      403,
      'InvalidProviderToken',
      { retryable: false },
      ': check APNS_KEY_ID, APNS_TEAM_ID and the key at APNS_KEY_PATH',
    ],
  ] as const)('maps %i %s to %o', async (status, reason, expected, hint) => {
    double.script(device(9), { status, reason });
    const result = await provider().send(push({ target: { provider: 'apns', token: device(9) } }));
    expect(result).toEqual({ ok: false, error: `APNs at ${host} answered ${status} ${reason}${hint}`, ...expected });
  });

  it('is refused as InvalidProviderToken when the token is signed by another key (the double checks signatures)', async () => {
    const result = await provider({ key: makeApnsKey().pem }).send(push());
    expect(result).toMatchObject({
      ok: false,
      retryable: false,
      error: expect.stringContaining('403 InvalidProviderToken'),
    });
    expect(double.refusals.splice(0)).toEqual([
      { path: `/3/device/${device(1)}`, status: 403, reason: 'InvalidProviderToken' },
    ]);
  });

  it('refuses, without a request, a push for another provider or a device token that is not hex', async () => {
    const apns = provider();
    const before = double.pushes.length;
    await expect(apns.send(push({ target: { provider: 'fcm', token: 'f' } }))).resolves.toEqual({
      ok: false,
      error: 'the apns provider sends to APNs device tokens only; this push targets fcm',
      retryable: false,
    });
    await expect(apns.send(push({ target: { provider: 'apns', token: '../../x?y' } }))).resolves.toEqual({
      ok: false,
      error: 'the APNs device token is not a hex string: the device is dropped',
      retryable: false,
      targetGone: true,
    });
    expect(double.pushes.length).toBe(before);
  });

  it('reports an unreachable host, and a server its CA does not vouch for, as retryable', async () => {
    const port = await freePort();
    await expect(provider({ host: `https://127.0.0.1:${port}` }).send(push())).resolves.toEqual({
      ok: false,
      error: `could not reach APNs at 127.0.0.1:${port}: ECONNREFUSED`,
      retryable: true,
    });
    const untrusted = await provider({ ca: undefined }).send(push());
    expect(untrusted).toMatchObject({ ok: false, retryable: true });
    expect((untrusted as { error: string }).error).toMatch(
      new RegExp(
        `^could not reach APNs at ${host}: (UNABLE_TO_GET_ISSUER_CERT_LOCALLY|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$`,
      ),
    );
  });

  it('stops a push when its signal aborts and reports it as retryable', async () => {
    double.script(device(4), 'hang');
    const apns = provider();
    const abort = new AbortController();
    const before = double.pushes.length;
    const pending = apns.send(push({ target: { provider: 'apns', token: device(4) } }), abort.signal);
    await double.until(() => double.pushes.length > before, 'the held push');
    abort.abort();
    await expect(pending).resolves.toEqual({
      ok: false,
      error: `could not reach APNs at ${host}: the attempt was abandoned (timeout or shutdown)`,
      retryable: true,
    });
  });

  it('never puts the provider token, the key or the device token into an error text', async () => {
    const apns = provider();
    const errors: string[] = [];
    const collect = (r: PushResult) => {
      if (!r.ok) errors.push(r.error);
    };
    for (const answer of [
      { status: 403, reason: 'ExpiredProviderToken' },
      { status: 410, reason: 'Unregistered' },
      { status: 400, reason: 'BadDeviceToken' },
      { status: 500, reason: 'InternalServerError' },
      'goaway',
    ] as const) {
      double.script(device(5), answer);
      collect(await apns.send(push({ target: { provider: 'apns', token: device(5) } })));
    }
    collect(await provider({ ca: undefined }).send(push({ target: { provider: 'apns', token: device(5) } })));
    expect(errors).toHaveLength(6);
    const secrets = [
      ...new Set(double.pushes.map((p) => p.jwt)),
      device(5),
      ...key.pem.split('\n').filter((line) => line.length > 20),
    ];
    for (const error of errors) for (const secret of secrets) expect(error).not.toContain(secret);
  });
});

describe('APNs key loading', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anmei-apns-key-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a .p8 file, and names APNS_KEY_PATH and what to do when it is missing or not a key', () => {
    const good = join(dir, 'AuthKey.p8');
    writeFileSync(good, key.pem);
    expect(loadApnsKey(good)).toBe(key.pem);
    const missing = join(dir, 'missing.p8');
    expect(() => loadApnsKey(missing)).toThrow(
      `APNS_KEY_PATH=${missing} cannot be read (ENOENT): set APNS_KEY_PATH to the AuthKey_<APNS_KEY_ID>.p8 file downloaded from Apple Developer → Certificates, Identifiers & Profiles → Keys`,
    );
    const notKey = join(dir, 'cert.pem');
    writeFileSync(notKey, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    expect(() => loadApnsKey(notKey)).toThrow(
      `APNS_KEY_PATH=${notKey} is not a .p8 key (no "BEGIN PRIVATE KEY" PEM block): use the AuthKey_<APNS_KEY_ID>.p8 file as Apple issued it`,
    );
  });

  it('refuses at construction a key that is not EC P-256, without quoting it', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    const attempt = () => new ApnsProvider({ key: rsa, keyId: KEY_ID, teamId: TEAM_ID, topic: TOPIC });
    expect(attempt).toThrow(
      'the APNs key is not an EC P-256 private key in PEM: set APNS_KEY_PATH to the AuthKey_<APNS_KEY_ID>.p8 file Apple issued',
    );
    expect(() => new ApnsProvider({ key: key.pem, keyId: '', teamId: TEAM_ID, topic: TOPIC })).toThrow(
      'NOTIFICATION_PROVIDER=apns needs APNS_KEY_ID',
    );
  });
});
