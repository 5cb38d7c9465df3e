/**
 * Same-origin proxy to the API server: the API serves no CORS headers, and <img>/<audio> cannot send
 * a bearer token, so the browser talks to /api/v1/* here. Attachment downloads (GET) without an
 * Authorization header are authorised with the session cookie. Streams both ways (uploads too).
 */
import type { NextRequest } from 'next/server';
import { TOKEN_COOKIE } from '../../../../lib/cookie.ts';
import { apiOrigin } from '../../../../lib/server-env.ts';

export const dynamic = 'force-dynamic';

/**
 * `x-forwarded-for` carries the browser's address to the API (Next sets it from the socket when no
 * proxy in front did; nginx appends to it): without it every user would share this server's address
 * in the API's per-address limits (docs/security.md, "Behind a proxy").
 */
const REQUEST_HEADERS = ['content-type', 'authorization', 'accept', 'user-agent', 'x-forwarded-for'];
const RESPONSE_HEADERS = [
  'content-type',
  'content-length',
  'content-disposition',
  'cache-control',
  'x-content-type-options',
  'retry-after',
];

async function proxy(request: NextRequest, context: { params: Promise<{ path: string[] }> }): Promise<Response> {
  const { path } = await context.params;
  const target = new URL(`/api/v1/${path.map(encodeURIComponent).join('/')}${request.nextUrl.search}`, apiOrigin());
  const headers = new Headers();
  for (const name of REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value) headers.set(name, value);
  }
  if (!headers.has('authorization') && request.method === 'GET' && path.includes('attachments')) {
    const token = request.cookies.get(TOKEN_COOKIE)?.value;
    if (token) headers.set('authorization', `Bearer ${token}`);
  }
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: request.method,
      headers,
      body: hasBody ? request.body : null,
      redirect: 'manual',
      cache: 'no-store',
      // Node's fetch needs this to stream a request body.
      duplex: 'half',
    } as RequestInit);
  } catch {
    return Response.json(
      {
        type: 'about:blank',
        title: 'Bad Gateway',
        status: 502,
        code: 'UPSTREAM_UNAVAILABLE',
        detail: `The API at ${apiOrigin()} is not reachable.`,
      },
      { status: 502, headers: { 'content-type': 'application/problem+json' } },
    );
  }
  const out = new Headers();
  for (const name of RESPONSE_HEADERS) {
    const value = upstream.headers.get(name);
    if (value) out.set(name, value);
  }
  return new Response(upstream.body, { status: upstream.status, headers: out });
}

export { proxy as DELETE, proxy as GET, proxy as PATCH, proxy as POST, proxy as PUT };
