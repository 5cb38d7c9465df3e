/**
 * Device detection and the device config (seed: service/utils.ts). The seed uses ONE config
 * for every device type; the type is still detected and sent as `device_type`, because the
 * server routes by it (only mobile sockets get `mobile_notification`).
 */
import type { DeviceType } from '@anmei/protocol';

export interface DeviceHints {
  userAgent?: string;
  /** `navigator.maxTouchPoints`: iPadOS 13+ reports a desktop Mac user agent, but has touch. */
  maxTouchPoints?: number;
}

export interface DeviceInfo {
  type: DeviceType;
  userAgent: string;
  touch: boolean;
}

/** The seed's single config for all devices; every value in ms. */
export interface WebSocketDeviceConfig {
  /** Max time from starting an attempt to the server's `connected` frame. */
  connectionTimeout: number;
  /** Idle time after which the client sends a `ping` frame. */
  heartbeatInterval: number;
  /** Ceiling of the first reconnect delay (full jitter below it). */
  reconnectInterval: number;
  /** Largest reconnect delay. */
  maxReconnectDelay: number;
}

const DEVICE_CONFIG: Readonly<WebSocketDeviceConfig> = Object.freeze({
  connectionTimeout: 20_000,
  heartbeatInterval: 45_000,
  reconnectInterval: 2_000,
  maxReconnectDelay: 30_000,
});

/** The same config for every device (the argument is accepted for the seed's signature, and ignored). */
export function getWebSocketDeviceConfig(_device?: DeviceInfo | DeviceType): WebSocketDeviceConfig {
  return { ...DEVICE_CONFIG };
}

const TABLET = /iPad|Tablet|PlayBook|Silk|Kindle|(Android(?!.*Mobile))/i;
const MOBILE = /Mobi|iPhone|iPod|Android.*Mobile|Windows Phone|BlackBerry|Opera Mini/i;

/** mobile / tablet / desktop from the user agent (desktop when unknown, e.g. in Node). */
export function detectDeviceType(hints: DeviceHints = currentDeviceHints()): DeviceType {
  const ua = hints.userAgent ?? '';
  if (TABLET.test(ua)) return 'tablet';
  if (MOBILE.test(ua)) return 'mobile';
  // iPadOS "Request Desktop Website" (the default) looks like a Mac; Macs have no touch screen.
  if (/Macintosh/.test(ua) && (hints.maxTouchPoints ?? 0) > 1) return 'tablet';
  return 'desktop';
}

export function getDeviceInfo(hints: DeviceHints = currentDeviceHints()): DeviceInfo {
  return { type: detectDeviceType(hints), userAgent: hints.userAgent ?? '', touch: (hints.maxTouchPoints ?? 0) > 0 };
}

function currentDeviceHints(): DeviceHints {
  const nav = (globalThis as { navigator?: { userAgent?: unknown; maxTouchPoints?: unknown } }).navigator;
  if (!nav) return {};
  return {
    ...(typeof nav.userAgent === 'string' ? { userAgent: nav.userAgent } : {}),
    ...(typeof nav.maxTouchPoints === 'number' ? { maxTouchPoints: nav.maxTouchPoints } : {}),
  };
}
