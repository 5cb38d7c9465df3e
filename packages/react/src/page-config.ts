/**
 * Page-level WebSocket configuration (seed: PAGE_WEBSOCKET_CONFIG in useWebSocketByPage.ts):
 * which routes want a socket, of which type, with which features. A route without a config,
 * a config with `enabled: false`, and `/login` open no socket at all.
 *
 * Route keys: static segments (`/chat`), dynamic segments (`/chat/[id]` or `/chat/:id`) and a
 * catch-all (`/docs/[...slug]`). A key matches its own path and every path below it; the
 * longest match wins, and at equal length static segments beat dynamic ones.
 */
import type { ConnectionType } from '@anmei/client';

export const CHAT_FEATURES = ['messaging', 'typing_indicator', 'file_upload', 'voice_note'] as const;
export const ADMIN_FEATURES = ['system_notifications', 'user_monitoring', 'real_time_stats'] as const;
export type PageFeature = (typeof CHAT_FEATURES)[number] | (typeof ADMIN_FEATURES)[number];

export interface PageWebSocketConfig {
  /** false: this page never has a socket (same as no config). */
  enabled: boolean;
  /** Connect only when the user is signed in. */
  requireAuth: boolean;
  /** Connect when the page loads; false: only when the user asks (connect()). */
  autoConnect: boolean;
  connectionType: ConnectionType;
  features: readonly PageFeature[];
}

export type PageWebSocketConfigMap = Readonly<Record<string, PageWebSocketConfig>>;

const chat: PageWebSocketConfig = {
  enabled: true,
  requireAuth: true,
  autoConnect: true,
  connectionType: 'chat',
  features: CHAT_FEATURES,
};
const admin: PageWebSocketConfig = {
  enabled: true,
  requireAuth: true,
  autoConnect: true,
  connectionType: 'admin',
  features: ADMIN_FEATURES,
};

/** The seed's pages: chat for each role, admin, and /test-websocket (connects on demand). */
export const PAGE_WEBSOCKET_CONFIG: PageWebSocketConfigMap = {
  '/chat': chat,
  '/customer/chat': chat,
  '/consultant/chat': chat,
  '/doctor/chat': chat,
  '/admin': admin,
  '/test-websocket': { ...chat, autoConnect: false, features: ['messaging', 'typing_indicator'] },
};

/** Routes that never get a socket, whatever the config says (seed: zero attempts on login). */
export const NO_SOCKET_ROUTES: readonly string[] = ['/login'];

function segments(path: string): string[] {
  const clean = path.split(/[?#]/, 1)[0] ?? '';
  return clean.split('/').filter(Boolean);
}

type Segment = { kind: 'static'; value: string } | { kind: 'dynamic' } | { kind: 'rest' };

function parsePattern(pattern: string): Segment[] {
  return segments(pattern).map((s) => {
    if (/^\[\.\.\..+\]$/.test(s)) return { kind: 'rest' };
    if (/^\[.+\]$/.test(s) || s.startsWith(':')) return { kind: 'dynamic' };
    return { kind: 'static', value: s };
  });
}

/** [segments matched, static segments] when `pattern` matches `path`, else null. */
function score(pattern: Segment[], path: string[]): [number, number] | null {
  let statics = 0;
  for (let i = 0; i < pattern.length; i++) {
    const seg = pattern[i]!;
    const part = path[i];
    if (seg.kind === 'rest') return part === undefined ? null : [path.length, statics];
    if (part === undefined) return null;
    if (seg.kind === 'static') {
      if (decodeURIComponent(part) !== seg.value) return null;
      statics += 1;
    }
  }
  return [pattern.length, statics];
}

function matches(path: string[], route: string): boolean {
  return score(parsePattern(route), path) !== null;
}

/** The config of the route that best matches `pathname`, or null when the page must not have a socket. */
export function getPageConfig(
  pathname: string,
  configs: PageWebSocketConfigMap = PAGE_WEBSOCKET_CONFIG,
): PageWebSocketConfig | null {
  const path = segments(pathname);
  if (NO_SOCKET_ROUTES.some((route) => matches(path, route))) return null;
  let best: { config: PageWebSocketConfig; rank: [number, number] } | null = null;
  for (const [pattern, config] of Object.entries(configs)) {
    const rank = score(parsePattern(pattern), path);
    if (!rank) continue;
    if (!best || rank[0] > best.rank[0] || (rank[0] === best.rank[0] && rank[1] > best.rank[1]))
      best = { config, rank };
  }
  return best?.config.enabled ? best.config : null;
}

/** Whether the page wants a socket right now: 'auto' connects by itself, 'manual' allows connect(). */
export function pageConnectionMode(
  config: PageWebSocketConfig | null,
  isAuthenticated: boolean,
): 'auto' | 'manual' | null {
  if (!config?.enabled) return null;
  if (config.requireAuth && !isAuthenticated) return null;
  return config.autoConnect ? 'auto' : 'manual';
}

export function hasFeature(config: PageWebSocketConfig | null, feature: PageFeature): boolean {
  return config?.features.includes(feature) ?? false;
}
