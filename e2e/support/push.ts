/**
 * Browser side of Web Push in tests (TESTING.md, "Browser side of Web Push"): pushes are delivered to
 * the page's service worker through the DevTools protocol, and the notifications it shows are read
 * back from its registration.
 *
 * Chromium here cannot subscribe to a real push service: in a Playwright (incognito) context
 * `PushManager.subscribe` fails with "Registration failed - permission denied", and in a persistent
 * profile it waits forever for Google's FCM. `fakePushService` stands in for that one call: the
 * page's `PushManager` answers with a subscription whose keys are a real P-256 key and auth secret
 * made by the test, so everything after it (the API's validation and storage, the service worker,
 * notifications) is the real thing.
 */
import { createECDH, randomBytes, randomUUID } from 'node:crypto';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';

export interface FakeSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
}

/** What the page passed to `pushManager.subscribe` and how often it asked for permission (this load). */
export interface PushProbe {
  permissionRequests: number;
  subscribeCalls: { userVisibleOnly: boolean; applicationServerKey: string }[];
}

export async function fakePushService(context: BrowserContext): Promise<FakeSubscription> {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  const subscription: FakeSubscription = {
    // Nothing listens there: a push the API itself sends to it fails at once (.invalid never resolves).
    endpoint: `https://push.invalid/e2e/${randomUUID()}`,
    keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') },
  };
  await context.addInitScript((sub: FakeSubscription) => {
    const STORE = 'e2e.push-subscription';
    const toBase64url = (key: ArrayBuffer | ArrayBufferView | string | null | undefined): string => {
      if (typeof key === 'string' || !key) return key ?? '';
      const bytes =
        key instanceof ArrayBuffer ? new Uint8Array(key) : new Uint8Array(key.buffer, key.byteOffset, key.byteLength);
      return btoa(String.fromCharCode(...bytes))
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');
    };
    const fromBase64url = (text: string): ArrayBuffer =>
      Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
    const make = (serverKey: string) => ({
      endpoint: sub.endpoint,
      expirationTime: null,
      options: { userVisibleOnly: true, applicationServerKey: fromBase64url(serverKey) },
      getKey: (name: 'p256dh' | 'auth') => fromBase64url(sub.keys[name]),
      toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { ...sub.keys } }),
      unsubscribe: async () => {
        localStorage.removeItem(STORE);
        return true;
      },
    });
    const probe: PushProbe = { permissionRequests: 0, subscribeCalls: [] };
    (window as unknown as { __pushProbe: PushProbe }).__pushProbe = probe;
    PushManager.prototype.subscribe = async function subscribe(options?: PushSubscriptionOptionsInit) {
      const key = toBase64url(options?.applicationServerKey);
      probe.subscribeCalls.push({ userVisibleOnly: options?.userVisibleOnly === true, applicationServerKey: key });
      localStorage.setItem(STORE, key);
      return make(key) as unknown as PushSubscription;
    };
    PushManager.prototype.getSubscription = async function getSubscription() {
      const key = localStorage.getItem(STORE);
      return key ? (make(key) as unknown as PushSubscription) : null;
    };
    const request = Notification.requestPermission.bind(Notification);
    Notification.requestPermission = (...args) => {
      probe.permissionRequests++;
      return request(...args);
    };
  }, subscription);
  return subscription;
}

export function pushProbe(page: Page): Promise<PushProbe> {
  return page.evaluate(() => (window as unknown as { __pushProbe: PushProbe }).__pushProbe);
}

/** Polls `check` until it returns something other than undefined; fails naming what was awaited. */
export async function waitFor<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Service worker registrations of the page's origin as DevTools reports them (ServiceWorker domain), and
 * the push events their workers finish (BackgroundService domain, which Chromium logs only while recording).
 */
export async function watchServiceWorkers(page: Page) {
  const cdp: CDPSession = await page.context().newCDPSession(page);
  const activated = new Map<string, string>(); // registration id → script URL
  cdp.on('ServiceWorker.workerVersionUpdated', ({ versions }) => {
    for (const v of versions) if (v.status === 'activated') activated.set(v.registrationId, v.scriptURL);
  });
  // Registration id → the status of each push event its worker finished, in order. Chromium logs
  // "Push event completed" once the event's waitUntil promise settled ("Success", "waitUntil Rejected",
  // "Timeout"); a push it could not hand to a worker logs nothing. The event carries no id of the push
  // (deliverPushMessage sends none), so `deliver` sends one push at a time and counts.
  const completed = new Map<string, string[]>();
  const onCompleted = new Set<() => void>();
  cdp.on('BackgroundService.backgroundServiceEventReceived', ({ backgroundServiceEvent: e }) => {
    if (e.service !== 'pushMessaging' || e.eventName !== 'Push event completed') return;
    const status = e.eventMetadata.find((m) => m.key === 'Status')?.value ?? '(no status)';
    completed.set(e.serviceWorkerRegistrationId, [...(completed.get(e.serviceWorkerRegistrationId) ?? []), status]);
    for (const wake of onCompleted) wake();
  });
  const completion = (registrationId: string, index: number, what: string, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const status = completed.get(registrationId)?.[index];
        if (status === undefined) return;
        done();
        resolve(status);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        onCompleted.delete(check);
      };
      onCompleted.add(check);
      check();
    });
  await cdp.send('ServiceWorker.enable');
  await cdp.send('BackgroundService.startObserving', { service: 'pushMessaging' });
  await cdp.send('BackgroundService.setRecording', { shouldRecord: true, service: 'pushMessaging' });
  let previous: Promise<unknown> = Promise.resolve();
  return {
    /** The registration whose activated worker runs `/sw.js`. */
    registrationId: () =>
      waitFor(
        async () => [...activated].find(([, script]) => new URL(script).pathname === '/sw.js')?.[0],
        'an activated /sw.js service worker (ServiceWorker.workerVersionUpdated)',
      ),
    /**
     * Delivers a push and resolves once the worker's push event has finished, i.e. its showNotification()
     * has resolved; fails if it ended otherwise. `ServiceWorker.deliverPushMessage` itself answers before
     * the event even starts. Calls run one after the other.
     */
    deliver: (origin: string, registrationId: string, data: string): Promise<void> => {
      const run = previous.then(async () => {
        const index = completed.get(registrationId)?.length ?? 0;
        await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data });
        const status = await completion(
          registrationId,
          index,
          `the push event of ${JSON.stringify(data.slice(0, 40))} to finish (BackgroundService "Push event completed")`,
        );
        if (status !== 'Success') throw new Error(`the service worker's push event ended with "${status}"`);
      });
      previous = run.catch(() => undefined);
      return run;
    },
    detach: () => cdp.detach(),
  };
}

export interface ShownNotification {
  title: string;
  body: string;
  tag: string;
  data: unknown;
}

/**
 * The notifications the page's service worker shows now (`registration.getNotifications()`).
 *
 * Call it only while no push is being shown, i.e. after `deliver` resolved; never poll it during one.
 * Chromium's getNotifications() asks the platform which notifications are on screen, then deletes from its
 * notification database every one created before the call that the platform did not list, including one
 * whose showNotification() is still between its database write and the display. That notification is
 * still shown but never listed again (`DoReadAllNotificationDataForServiceWorkerRegistration` in
 * content/browser/notifications/platform_notification_context_impl.cc). Polling during a push this way
 * lost the notification in about one run in ten on a loaded machine.
 */
export function shownNotifications(page: Page): Promise<ShownNotification[]> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    const shown = await registration.getNotifications();
    return shown.map((n) => ({ title: n.title, body: n.body, tag: n.tag, data: n.data as unknown }));
  });
}

/** Runs the service worker's click path for the notification with `tag` (see public/sw.js). */
export function clickNotification(page: Page, tag: string): Promise<void> {
  return page.evaluate(async (t) => {
    const registration = await navigator.serviceWorker.ready;
    registration.active?.postMessage({ type: 'anmei:click-notification', tag: t });
  }, tag);
}
