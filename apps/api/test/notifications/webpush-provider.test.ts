/**
 * The Web Push provider against an HTTPS push service double that checks what a real one checks
 * (the VAPID JWT, the headers) and decrypts each body as the browser would: what the service
 * worker will read, and how each answer becomes an outcome the retry policy understands.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateVapidKeys,
  loadOrCreateVapidKeys,
  type VapidDetails,
  WebPushProvider,
} from '../../src/notifications/providers/webpush.ts';
import type { PushNotification, PushResult } from '../../src/notifications/types.ts';
import { samplePush } from '../support/sample-push.ts';
import { type TestSubscription, WebPushDouble } from '../support/webpush-double.ts';

const vapid: VapidDetails = { ...generateVapidKeys(), subject: 'mailto:ops@anmei.example' };

let double: WebPushDouble;
let provider: WebPushProvider;

beforeAll(async () => {
  double = await WebPushDouble.start();
  provider = new WebPushProvider({ vapid, ca: double.ca });
});
afterAll(async () => {
  await provider?.close();
  await double?.stop();
});

function pushTo(browser: TestSubscription, extra: Partial<PushNotification> = {}): PushNotification {
  return samplePush({
    collapseKey: 'conversation:c-1',
    target: { provider: 'webpush', subscription: browser.subscription },
    ...extra,
  });
}

/** Nothing in an error text that lets a reader push to the browser or impersonate us. */
function expectNoSecrets(result: PushResult, browser: TestSubscription): void {
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
  const token = browser.path.split('/').at(-1)!;
  for (const secret of [browser.path, token, browser.subscription.keys.p256dh, browser.subscription.keys.auth]) {
    expect(result.error).not.toContain(secret);
  }
  expect(result.error).not.toContain(vapid.privateKey);
}

describe('WebPushProvider', () => {
  it("encrypts the notification JSON so that only the subscribing browser's key decrypts it", async () => {
    const browser = double.subscribe(vapid.publicKey);
    await expect(provider.send(pushTo(browser))).resolves.toEqual({ ok: true });
    const delivery = double.last(browser.path);
    expect(delivery.problem).toBeUndefined();
    expect(delivery.answer).toBe(201);
    expect(delivery.contentEncoding).toBe('aes128gcm');
    expect(JSON.parse(delivery.plaintext ?? 'null')).toEqual({
      title: '顾问回复',
      body: '您好，我来看看',
      data: { conversation_id: 'c-1', action: 'open_conversation' },
      tag: 'conversation:c-1',
    });
    // The wire carries ciphertext only.
    expect(delivery.bodyBytes).toBeGreaterThan(Buffer.byteLength(delivery.plaintext ?? ''));
  });

  it('signs a VAPID JWT for the endpoint origin with our subject, expiring within 24 hours', async () => {
    const browser = double.subscribe(vapid.publicKey);
    await provider.send(pushTo(browser));
    const { vapid: claims } = double.last(browser.path);
    const now = Math.floor(Date.now() / 1000);
    expect(claims).toMatchObject({ aud: double.origin, sub: 'mailto:ops@anmei.example', k: vapid.publicKey });
    expect(claims?.exp).toBeGreaterThan(now);
    expect(claims?.exp).toBeLessThanOrEqual(now + 24 * 60 * 60);
  });

  it('is refused by the push service when the subscription was made with another VAPID key (403, permanent)', async () => {
    const browser = double.subscribe(generateVapidKeys().publicKey);
    const result = await provider.send(pushTo(browser));
    expect(double.last(browser.path).problem).toBe(
      'VAPID: k is not the applicationServerKey this subscription was made with',
    );
    expect(result).toEqual({
      ok: false,
      error: `the Web Push service at ${new URL(double.origin).host} answered 403: it refused our VAPID signature (the subscription was made with another VAPID public key, or the subject is not accepted)`,
      retryable: false,
    });
    expectNoSecrets(result, browser);
  });

  it('sends TTL (the push’s, else 86400 s), Urgency from the priority, and one Topic per conversation', async () => {
    const browser = double.subscribe();
    await provider.send(pushTo(browser));
    const first = double.last(browser.path);
    await provider.send(pushTo(browser, { content: '第二条', priority: 'normal', ttlSeconds: 600 }));
    const second = double.last(browser.path);
    await provider.send(pushTo(browser, { collapseKey: 'conversation:c-2' }));
    const other = double.last(browser.path);
    await provider.send(pushTo(browser, { collapseKey: undefined }));
    const none = double.last(browser.path);

    expect([first.ttl, first.urgency]).toEqual(['86400', 'high']);
    expect([second.ttl, second.urgency]).toEqual(['600', 'normal']);
    expect(first.topic).toMatch(/^[A-Za-z0-9_-]{1,32}$/);
    expect(second.topic).toBe(first.topic);
    expect(other.topic).not.toBe(first.topic);
    expect(none.topic).toBeUndefined();
    expect(JSON.parse(none.plaintext ?? 'null')).not.toHaveProperty('tag');
  });

  it('takes its default TTL from defaultTtlSeconds', async () => {
    const short = new WebPushProvider({ vapid, ca: double.ca, defaultTtlSeconds: 60 });
    const browser = double.subscribe();
    await short.send(pushTo(browser));
    await short.close();
    expect(double.last(browser.path).ttl).toBe('60');
  });

  it('shortens content that would exceed the 4096-byte Web Push body, keeping title and data', async () => {
    const browser = double.subscribe();
    const content = '长'.repeat(3000); // 9000 bytes of UTF-8
    await expect(provider.send(pushTo(browser, { content }))).resolves.toEqual({ ok: true });
    const delivery = double.last(browser.path);
    expect(delivery.bodyBytes).toBeLessThanOrEqual(4096);
    const shown = JSON.parse(delivery.plaintext ?? 'null') as { body: string; data: unknown };
    expect(shown.body.endsWith('…')).toBe(true);
    expect(content.startsWith(shown.body.slice(0, -1))).toBe(true);
    expect(shown.data).toEqual({ conversation_id: 'c-1', action: 'open_conversation' });
  });

  describe('answers', () => {
    const host = () => new URL(double.origin).host;

    it.each([410, 404])('%i: the subscription is gone for good (targetGone, not retryable)', async (status) => {
      const browser = double.subscribe();
      double.script(browser.path, { status });
      const result = await provider.send(pushTo(browser));
      expect(result).toEqual({
        ok: false,
        error: `the Web Push service at ${host()} answered ${status}: the subscription expired or was unsubscribed`,
        retryable: false,
        targetGone: true,
      });
      expectNoSecrets(result, browser);
    });

    it('429 with Retry-After: retryable after the time asked', async () => {
      const browser = double.subscribe();
      double.script(browser.path, { status: 429, headers: { 'retry-after': '7' } });
      const result = await provider.send(pushTo(browser));
      expect(result).toEqual({
        ok: false,
        error: `the Web Push service at ${host()} answered 429`,
        retryable: true,
        retryAfterMs: 7000,
      });
      expectNoSecrets(result, browser);
    });

    it.each([500, 503])('%i: retryable, with Retry-After when given', async (status) => {
      const browser = double.subscribe();
      double.script(browser.path, { status }, { status, headers: { 'retry-after': '30' } });
      const first = await provider.send(pushTo(browser));
      const second = await provider.send(pushTo(browser));
      expect(first).toEqual({
        ok: false,
        error: `the Web Push service at ${host()} answered ${status}`,
        retryable: true,
      });
      expect(second).toMatchObject({ ok: false, retryable: true, retryAfterMs: 30_000 });
      expectNoSecrets(first, browser);
    });

    it.each([
      [413, ': the encrypted payload is too large for this push service'],
      [400, ''],
      [301, ' (a redirect, not followed)'],
    ])('%i: permanent, the subscription kept', async (status, hint) => {
      const browser = double.subscribe();
      double.script(browser.path, { status, headers: { location: `${double.origin}/elsewhere` } });
      const result = await provider.send(pushTo(browser));
      expect(result).toEqual({
        ok: false,
        error: `the Web Push service at ${host()} answered ${status}${hint}`,
        retryable: false,
      });
      expectNoSecrets(result, browser);
    });

    it('a network error is retryable and names only the host', async () => {
      // A port that was free a moment ago: nothing listens there, so the connection is refused.
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as { port: number };
      await new Promise((resolve) => server.close(resolve));
      const browser = double.subscribe();
      const gone = { ...browser.subscription, endpoint: `https://127.0.0.1:${port}${browser.path}` };
      const result = await provider.send(pushTo(browser, { target: { provider: 'webpush', subscription: gone } }));
      expect(result).toEqual({
        ok: false,
        error: `could not reach the Web Push service at 127.0.0.1:${port}: ECONNREFUSED`,
        retryable: true,
      });
      expectNoSecrets(result, browser);
    });

    it('checks the certificate: without the test CA the push service is not trusted (retryable)', async () => {
      const untrusting = new WebPushProvider({ vapid });
      const browser = double.subscribe();
      const result = await untrusting.send(pushTo(browser));
      await untrusting.close();
      expect(result).toMatchObject({ ok: false, retryable: true });
      expect(result.ok ? '' : result.error).toMatch(
        /^could not reach the Web Push service at 127\.0\.0\.1:\d+: [A-Z_]+$/,
      );
      expect(double.deliveries.filter((d) => d.path === browser.path)).toEqual([]);
    });

    it('an aborted send stops its request and resolves retryable', async () => {
      const browser = double.subscribe();
      double.script(browser.path, { hold: true });
      const abort = new AbortController();
      const sent = provider.send(pushTo(browser), abort.signal);
      await double.until((all) => all.some((d) => d.path === browser.path), 'the held request');
      abort.abort();
      await expect(sent).resolves.toEqual({
        ok: false,
        error: `could not reach the Web Push service at ${host()}: the attempt was abandoned (timeout or shutdown)`,
        retryable: true,
      });
      await double.until(() => double.last(browser.path).answer === 'cut', 'the push service to see the request cut');
    });
  });

  it('refuses pushes for other providers or without a target, permanently', async () => {
    const browser = double.subscribe();
    const fcm = await provider.send(pushTo(browser, { target: { provider: 'fcm', token: 'fcm-token' } }));
    const none = await provider.send(pushTo(browser, { target: undefined }));
    expect(fcm).toEqual({
      ok: false,
      error: 'the webpush provider got a push for a fcm device; it sends only to Web Push subscriptions',
      retryable: false,
    });
    expect(none).toMatchObject({ ok: false, retryable: false });
    expect(double.deliveries.filter((d) => d.path === browser.path)).toEqual([]);
  });

  it('reports a subscription with a malformed key as gone, without quoting the key', async () => {
    const browser = double.subscribe();
    const broken = { ...browser.subscription, keys: { ...browser.subscription.keys, p256dh: 'c2hvcnQ' } };
    const result = await provider.send(pushTo(browser, { target: { provider: 'webpush', subscription: broken } }));
    expect(result).toMatchObject({ ok: false, retryable: false, targetGone: true });
    expect(result.ok ? '' : result.error).toContain('p256dh');
    expect(result.ok ? '' : result.error).not.toContain('c2hvcnQ');
    expectNoSecrets(result, browser);
  });

  it('refuses unusable VAPID settings at construction, saying what to do', () => {
    expect(() => new WebPushProvider({ vapid: { ...vapid, privateKey: 'c2hvcnQ' } })).toThrow(
      'the VAPID settings are unusable: Vapid private key should be 32 bytes long when decoded.; make a pair with generateVapidKeys() and give a mailto: or https: subject',
    );
  });
});

describe('loadOrCreateVapidKeys', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'anmei-vapid-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates <dataDir>/vapid.json once, readable by the owner only, and reuses it', async () => {
    const dataDir = join(dir, 'data');
    const created = await loadOrCreateVapidKeys(dataDir);
    const file = join(dataDir, 'vapid.json');
    expect(created.subject).toBe('mailto:admin@localhost');
    expect(Buffer.from(created.publicKey, 'base64url')).toHaveLength(65);
    expect(Buffer.from(created.privateKey, 'base64url')).toHaveLength(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(created);
    await expect(loadOrCreateVapidKeys(dataDir)).resolves.toEqual(created);
    // The created pair is usable as is.
    await new WebPushProvider({ vapid: created }).close();
  });

  it('gives every concurrent caller the same pair', async () => {
    const dataDir = join(dir, 'race');
    const pairs = await Promise.all([1, 2, 3, 4].map(() => loadOrCreateVapidKeys(dataDir)));
    for (const pair of pairs) expect(pair).toEqual(pairs[0]);
  });

  it('keeps memory:// keys in the process only, the same pair on every call', async () => {
    const first = await loadOrCreateVapidKeys('memory://');
    await expect(loadOrCreateVapidKeys('memory://')).resolves.toEqual(first);
    await expect(stat(join('memory:', 'vapid.json'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a damaged vapid.json instead of replacing the pair browsers subscribed with', async () => {
    const dataDir = join(dir, 'damaged');
    await loadOrCreateVapidKeys(dataDir);
    const file = join(dataDir, 'vapid.json');
    await writeFile(file, '{"publicKey": "x"}');
    await expect(loadOrCreateVapidKeys(dataDir)).rejects.toThrow(
      `${file} has no string "privateKey"; restore it from a backup, or delete it to make a new pair`,
    );
  });
});
