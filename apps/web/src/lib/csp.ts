/**
 * The web app's Content-Security-Policy (issue #15), built per request with that request's nonce
 * (src/proxy.ts). A strict policy in the sense of CSP Level 3: scripts run only when they carry the
 * nonce, and scripts those load (`'strict-dynamic'`), so an injected `<script>` or inline handler
 * does nothing; no plugins, no `<base>` rewriting, no framing. Styles allow inline values because
 * React renders `style` attributes into the server HTML; they cannot run code.
 */

/** `ws://host:port` (or wss) → the origin the page may open WebSockets to; null when unparsable. */
function socketOrigin(wsUrl: string): string | null {
  try {
    const url = new URL(wsUrl);
    return url.protocol === 'ws:' || url.protocol === 'wss:' ? `${url.protocol}//${url.host}` : null;
  } catch {
    return null;
  }
}

export function contentSecurityPolicy(options: { nonce: string; wsUrl: string; development: boolean }): string {
  const ws = socketOrigin(options.wsUrl);
  const directives: Record<string, string[]> = {
    'default-src': ["'self'"],
    // 'unsafe-eval' only for `next dev` (React Refresh); a production build never evaluates strings.
    'script-src': [
      "'self'",
      `'nonce-${options.nonce}'`,
      "'strict-dynamic'",
      ...(options.development ? ["'unsafe-eval'"] : []),
    ],
    'style-src': ["'self'", "'unsafe-inline'"],
    // Attachments come through this origin (/api/v1/…); previews and recordings are blob: URLs.
    'img-src': ["'self'", 'blob:', 'data:'],
    'media-src': ["'self'", 'blob:'],
    'font-src': ["'self'"],
    // The API is reached through this origin; only the WebSocket goes to the API's own origin.
    'connect-src': ["'self'", ...(ws ? [ws] : [])],
    // The Web Push service worker (public/sw.js).
    'worker-src': ["'self'"],
    'manifest-src': ["'self'"],
    'object-src': ["'none'"],
    'base-uri': ["'self'"],
    'form-action': ["'self'"],
    'frame-ancestors': ["'none'"],
  };
  return Object.entries(directives)
    .map(([name, values]) => `${name} ${values.join(' ')}`)
    .join('; ');
}

/** 16 random bytes, base64: unguessable and new for every response. */
export function newNonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return btoa(String.fromCharCode(...bytes));
}
