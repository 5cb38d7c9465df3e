/**
 * Runs before every page: a fresh CSP nonce per response (lib/csp.ts). Next reads the policy from
 * the request's `Content-Security-Policy` header and puts the nonce on the scripts it renders; the
 * browser gets the same policy on the response. Pages are rendered per request already (the layout
 * reads the API's URL at request time), so the nonce costs no static rendering.
 */
import { type NextRequest, NextResponse } from 'next/server';
import { contentSecurityPolicy, newNonce } from './lib/csp.ts';
import { wsUrl } from './lib/server-env.ts';

export function proxy(request: NextRequest): NextResponse {
  const nonce = newNonce();
  const policy = contentSecurityPolicy({ nonce, wsUrl: wsUrl(), development: process.env.NODE_ENV === 'development' });
  const headers = new Headers(request.headers);
  headers.set('x-nonce', nonce);
  headers.set('Content-Security-Policy', policy);
  const response = NextResponse.next({ request: { headers } });
  response.headers.set('Content-Security-Policy', policy);
  response.headers.set('X-Content-Type-Options', 'nosniff');
  response.headers.set('Referrer-Policy', 'same-origin');
  return response;
}

export const config = {
  // Pages only: not the API forwarding (/api/v1, the API sets its own headers), not static files.
  matcher: [
    {
      source: '/((?!api/|_next/static|_next/image|favicon.ico|sw.js).*)',
      missing: [
        { type: 'header', key: 'next-router-prefetch' },
        { type: 'header', key: 'purpose', value: 'prefetch' },
      ],
    },
  ],
};
