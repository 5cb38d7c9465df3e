/** Defaults (the seed's device config), validation messages, device detection. */
import { describe, expect, it } from 'vitest';
import { CLIENT_DEFAULTS, detectDeviceType, getWebSocketDeviceConfig, WebSocketClient } from '../src/index.ts';
import { resolveOptions } from '../src/options.ts';

const base = { url: 'ws://localhost:8000', getTicket: async () => 't' };

describe('options', () => {
  it('defaults to the seed: 20 s timeout, 45 s heartbeat, 2 s..30 s backoff, 15 attempts', () => {
    const o = resolveOptions(base);
    expect(o).toMatchObject({
      connectionTimeout: 20_000,
      heartbeatInterval: 45_000,
      heartbeatTimeout: 10_000,
      reconnectInterval: 2_000,
      maxReconnectDelay: 30_000,
      maxReconnectAttempts: 15,
      stableConnectionTime: 10_000,
      connectionType: 'chat',
      outbox: { maxMessages: 100, maxBytes: 1_048_576, ttlMs: 300_000, overflow: 'reject-new', maxInFlight: 32 },
    });
    expect(o.endpoint.toString()).toBe('ws://localhost:8000/api/v1/ws');
    expect(CLIENT_DEFAULTS.path).toBe('/api/v1/ws');
  });

  it('keeps a url that already names the endpoint', () => {
    expect(resolveOptions({ ...base, url: 'wss://chat.example.com/realtime' }).endpoint.toString()).toBe(
      'wss://chat.example.com/realtime',
    );
  });

  it('fails with messages that name the option, the value and the fix', () => {
    expect(() => new WebSocketClient({ ...base, url: 'http://localhost:8000' })).toThrow(
      '@anmei/client: option "url" must start with ws:// or wss://, got "http://localhost:8000" (e.g. NEXT_PUBLIC_WS_URL=ws://localhost:8000).',
    );
    expect(() => new WebSocketClient({ url: 'ws://x' })).toThrow('give exactly one of the options "getTicket"');
    expect(() => new WebSocketClient({ ...base, maxReconnectAttempts: -1 })).toThrow(
      'option "maxReconnectAttempts" must be a number >= 0, got -1.',
    );
    expect(() => new WebSocketClient({ ...base, outbox: { overflow: 'drop-newest' as 'drop-oldest' } })).toThrow(
      'option "outbox.overflow" must be "reject-new" or "drop-oldest", got "drop-newest".',
    );
  });

  it('connect() without a WebSocket implementation (Node 20) says what to pass', () => {
    const client = new WebSocketClient({ ...base, environment: null });
    expect(() => client.connect()).toThrow('pass the "WebSocket" option, e.g. `import WebSocket from "ws"`');
    expect(client.state.status).toBe('idle');
  });
});

describe('device', () => {
  it.each([
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148', 0, 'mobile'],
    ['Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/120.0 Mobile Safari/537.36', 5, 'mobile'],
    ['Mozilla/5.0 (Linux; Android 13; SM-X710) Chrome/120.0 Safari/537.36', 5, 'tablet'],
    ['Mozilla/5.0 (iPad; CPU OS 16_0 like Mac OS X)', 5, 'tablet'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15', 5, 'tablet'],
    ['Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Safari/605.1.15', 0, 'desktop'],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0', 0, 'desktop'],
  ] as const)('%s (touch points %i) is %s', (userAgent, maxTouchPoints, expected) => {
    expect(detectDeviceType({ userAgent, maxTouchPoints })).toBe(expected);
  });

  it('is desktop where there is no navigator (Node)', () => {
    expect(detectDeviceType({})).toBe('desktop');
  });

  it('has one config for every device type', () => {
    const configs = (['mobile', 'desktop', 'tablet'] as const).map((type) => getWebSocketDeviceConfig(type));
    for (const config of configs) {
      expect(config).toEqual({
        connectionTimeout: 20_000,
        heartbeatInterval: 45_000,
        reconnectInterval: 2_000,
        maxReconnectDelay: 30_000,
      });
    }
  });
});
