/** Route -> page config: exact, prefix, dynamic and catch-all routes; pages that never get a socket. */
import { describe, expect, it } from 'vitest';
import {
  getPageConfig,
  hasFeature,
  PAGE_WEBSOCKET_CONFIG,
  type PageWebSocketConfig,
  type PageWebSocketConfigMap,
  pageConnectionMode,
} from '../src/index.ts';

const on = (connectionType: 'chat' | 'admin', extra: Partial<PageWebSocketConfig> = {}): PageWebSocketConfig => ({
  enabled: true,
  requireAuth: true,
  autoConnect: true,
  connectionType,
  features: [],
  ...extra,
});

const routes: PageWebSocketConfigMap = {
  '/chat': on('chat', { features: ['messaging'] }),
  '/chat/[id]': on('chat', { features: ['messaging', 'typing_indicator'] }),
  '/chat/settings': on('chat', { enabled: false }),
  '/admin': on('admin'),
  '/docs/[...slug]': on('chat', { autoConnect: false }),
  '/orders/:orderId/chat': on('chat', { features: ['file_upload'] }),
  '/login': on('chat'),
};

describe('getPageConfig', () => {
  it('matches the seed’s routes', () => {
    expect(getPageConfig('/chat')?.features).toEqual(['messaging', 'typing_indicator', 'file_upload', 'voice_note']);
    expect(getPageConfig('/admin')?.features).toEqual(['system_notifications', 'user_monitoring', 'real_time_stats']);
    expect(getPageConfig('/consultant/chat')?.connectionType).toBe('chat');
    expect(getPageConfig('/test-websocket')?.autoConnect).toBe(false);
    expect(Object.keys(PAGE_WEBSOCKET_CONFIG)).toContain('/doctor/chat');
  });

  it('the longest match wins; static beats dynamic at the same length', () => {
    expect(getPageConfig('/chat', routes)).toBe(routes['/chat']);
    expect(getPageConfig('/chat/42', routes)).toBe(routes['/chat/[id]']);
    expect(getPageConfig('/chat/42/files', routes)).toBe(routes['/chat/[id]']);
    expect(getPageConfig('/orders/9/chat', routes)).toBe(routes['/orders/:orderId/chat']);
    expect(getPageConfig('/docs/a/b/c', routes)).toBe(routes['/docs/[...slug]']);
  });

  it('ignores query, hash and trailing slashes', () => {
    expect(getPageConfig('/chat/?tab=1#x', routes)).toBe(routes['/chat']);
    expect(getPageConfig('/admin/users', routes)).toBe(routes['/admin']);
  });

  it('gives null for routes without config, disabled pages, /login whatever its config, and look-alike prefixes', () => {
    expect(getPageConfig('/', routes)).toBeNull();
    expect(getPageConfig('/about', routes)).toBeNull();
    expect(getPageConfig('/chat/settings', routes)).toBeNull();
    expect(getPageConfig('/login', routes)).toBeNull();
    expect(getPageConfig('/login/callback', routes)).toBeNull();
    expect(getPageConfig('/chatroom', routes)).toBeNull();
    expect(getPageConfig('/docs', routes)).toBeNull();
  });
});

describe('pageConnectionMode', () => {
  it('connects by itself only on enabled, autoConnect pages, and only signed in when requireAuth', () => {
    expect(pageConnectionMode(on('chat'), true)).toBe('auto');
    expect(pageConnectionMode(on('chat'), false)).toBeNull();
    expect(pageConnectionMode(on('chat', { requireAuth: false }), false)).toBe('auto');
    expect(pageConnectionMode(on('chat', { autoConnect: false }), true)).toBe('manual');
    expect(pageConnectionMode(on('chat', { enabled: false }), true)).toBeNull();
    expect(pageConnectionMode(null, true)).toBeNull();
  });

  it('hasFeature reads the page’s feature list', () => {
    expect(hasFeature(getPageConfig('/chat'), 'voice_note')).toBe(true);
    expect(hasFeature(getPageConfig('/admin'), 'messaging')).toBe(false);
    expect(hasFeature(null, 'messaging')).toBe(false);
  });
});
