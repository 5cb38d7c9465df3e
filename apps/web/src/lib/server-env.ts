/**
 * Server-side settings read at request time (not inlined at build time), so one production build
 * can run against any API: `NEXT_PUBLIC_WS_URL` (default ws://localhost:8000) and `API_URL`
 * (default: the WS URL with ws→http).
 */
const env: Record<string, string | undefined> = process.env;
// Looked up by a variable key: Next inlines `process.env.NEXT_PUBLIC_*` at build time otherwise.
const WS_URL_KEY = 'NEXT_PUBLIC_WS_URL';
const API_URL_KEY = 'API_URL';

export function wsUrl(): string {
  return env[WS_URL_KEY] || 'ws://localhost:8000';
}

export function apiOrigin(): string {
  return env[API_URL_KEY] || wsUrl().replace(/^ws(s?):/, 'http$1:');
}
