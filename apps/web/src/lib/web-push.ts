/**
 * Web Push for the signed-in user (issue #14): subscribe this browser through the service worker at
 * /sw.js and register the subscription with the API (`POST /api/v1/devices`), or undo both.
 * Permission is asked only from `enableWebPush()` (a click on the "消息通知" switch), never on load.
 */
import type { DeviceRegistration, DeviceType } from '@anmei/protocol';
import { ApiError, api } from './api.ts';
import type { Role } from './session.ts';
import { WEB_PUSH_TEXTS } from './user-messages.ts';

/** localStorage: the device this browser registered, so it can be deleted later (off, logout). */
const DEVICE_KEY = 'anmei.push.device';
/** ms to wait for the browser's push service; a browser that cannot reach it never answers. */
const SUBSCRIBE_TIMEOUT_MS = 20_000;

export interface StoredDevice {
  id: string;
  userId: string;
  endpoint: string;
}

/** A failure the switch shows as is: the message says what happened and what to do. */
export class WebPushError extends Error {
  override name = 'WebPushError';
  constructor(
    readonly code: 'UNSUPPORTED' | 'INSECURE' | 'DENIED' | 'DISMISSED' | 'SERVER_DISABLED' | 'PUSH_SERVICE',
    message: string,
  ) {
    super(message);
  }
}

// Texts in the one catalogue of user-facing messages.
const MESSAGES = WEB_PUSH_TEXTS;

export function pushSupported(): boolean {
  return (
    typeof window !== 'undefined' && 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window
  );
}

export function readStoredDevice(userId: string): StoredDevice | null {
  try {
    const raw = window.localStorage.getItem(DEVICE_KEY);
    const device = raw ? (JSON.parse(raw) as StoredDevice) : null;
    return device && device.userId === userId ? device : null;
  } catch {
    return null;
  }
}

/** Whether the switch shows "on" for this user: a device registered here, and permission still granted. */
export function isWebPushOn(userId: string): boolean {
  return pushSupported() && Notification.permission === 'granted' && readStoredDevice(userId) !== null;
}

function deviceType(): DeviceType {
  const ua = navigator.userAgent;
  if (/iPad|Tablet|PlayBook|Silk/i.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1)) return 'tablet';
  if (/Mobi|Android|iPhone|iPod/i.test(ua)) return 'mobile';
  return 'desktop';
}

/** base64url (no padding) → bytes, as PushManager.subscribe wants the VAPID key. */
function keyBytes(base64url: string): Uint8Array<ArrayBuffer> {
  const base64 = base64url
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(base64url.length / 4) * 4, '=');
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(error()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (reason: unknown) => {
        clearTimeout(timer);
        reject(reason);
      },
    );
  });
}

async function serverKey(): Promise<string> {
  try {
    return (await api<{ public_key: string }>('/api/v1/devices/web-push-key')).public_key;
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) throw new WebPushError('SERVER_DISABLED', MESSAGES.SERVER_DISABLED);
    throw e;
  }
}

/**
 * Turns push on for this browser: asks permission (if not granted yet), registers /sw.js,
 * subscribes with the server's VAPID key and registers the subscription. Throws a WebPushError
 * (or the API's ApiError) with a message to show.
 */
export async function enableWebPush(user: { id: string; role: Role }): Promise<StoredDevice> {
  if (!pushSupported()) throw new WebPushError('UNSUPPORTED', MESSAGES.UNSUPPORTED);
  if (!window.isSecureContext) throw new WebPushError('INSECURE', MESSAGES.INSECURE);
  // Ask first, while the click's user activation is fresh (browsers ignore prompts without one);
  // when already granted this answers at once without a prompt.
  const permission = await Notification.requestPermission();
  if (permission === 'denied') throw new WebPushError('DENIED', MESSAGES.DENIED);
  if (permission !== 'granted') throw new WebPushError('DISMISSED', MESSAGES.DISMISSED);
  const key = await serverKey();
  const registration = await navigator.serviceWorker.register(`/sw.js?role=${encodeURIComponent(user.role)}`);
  await navigator.serviceWorker.ready;
  let subscription = await registration.pushManager.getSubscription();
  const subscribe = () =>
    withTimeout(
      registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(key) }),
      SUBSCRIBE_TIMEOUT_MS,
      () => new WebPushError('PUSH_SERVICE', MESSAGES.PUSH_SERVICE),
    ).catch((e: unknown) => {
      if (e instanceof WebPushError) throw e;
      if (e instanceof DOMException && e.name === 'NotAllowedError') throw new WebPushError('DENIED', MESSAGES.DENIED);
      // The browser's own (English) reason is for the console only.
      console.warn('push subscription failed', e);
      throw new WebPushError('PUSH_SERVICE', MESSAGES.PUSH_SERVICE);
    });
  // A subscription made with another server key (the server's VAPID pair changed) cannot be used.
  if (subscription && !sameKey(subscription.options.applicationServerKey, key)) {
    await subscription.unsubscribe().catch(() => false);
    subscription = null;
  }
  subscription ??= await subscribe();
  // Only endpoint and keys: toJSON() also has `expirationTime` (null in Chrome), which the API's
  // strict schema refuses.
  const { endpoint, keys } = subscription.toJSON();
  if (!endpoint || !keys?.p256dh || !keys.auth) throw new WebPushError('PUSH_SERVICE', MESSAGES.PUSH_SERVICE);
  const body: DeviceRegistration = {
    platform: 'web',
    device_type: deviceType(),
    web_push: { endpoint, keys: { p256dh: keys.p256dh, auth: keys.auth } },
  };
  const { device } = await api<{ device: { id: string } }>('/api/v1/devices', { body });
  const stored: StoredDevice = { id: device.id, userId: user.id, endpoint: subscription.endpoint };
  window.localStorage.setItem(DEVICE_KEY, JSON.stringify(stored));
  return stored;
}

function sameKey(current: ArrayBuffer | null, key: string): boolean {
  if (!current) return true; // the browser does not tell: keep the subscription
  const expected = keyBytes(key);
  const actual = new Uint8Array(current);
  return actual.length === expected.length && actual.every((b, i) => b === expected[i]);
}

/**
 * Turns push off: unsubscribes this browser and deletes its device on the server (a device the
 * server no longer knows counts as deleted). Needs the session's token, so call it before signing out.
 */
export async function disableWebPush(userId: string): Promise<void> {
  const stored = readStoredDevice(userId);
  if (pushSupported()) {
    const registration = await navigator.serviceWorker.getRegistration('/');
    const subscription = await registration?.pushManager.getSubscription();
    await subscription?.unsubscribe().catch(() => false);
  }
  if (stored) {
    try {
      await api<void>(`/api/v1/devices/${encodeURIComponent(stored.id)}`, { method: 'DELETE' });
    } catch (e) {
      if (!(e instanceof ApiError && e.status === 404)) throw e;
    }
  }
  window.localStorage.removeItem(DEVICE_KEY);
}

/** On logout: push off, but never hold the sign-out up for long (ms). */
export async function disableWebPushBeforeLogout(userId: string, timeoutMs = 3_000): Promise<void> {
  if (!readStoredDevice(userId)) return;
  await withTimeout(disableWebPush(userId), timeoutMs, () => new Error('timed out')).catch(() => undefined);
}
