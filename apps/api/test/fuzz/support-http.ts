/**
 * fast-check arbitraries for hostile HTTP requests (issue #15): every route with generated bodies
 * (fields valid, hostile, missing, of the wrong type, one too many), query strings, path segments
 * (%00, invalid percent-encoding, `..`, huge numbers), methods, tokens, content types, empty,
 * deep, invalid-UTF-8 and oversized bodies, multipart uploads; and the rule every answer must
 * follow: below 500, and a 4xx is a problem+json with a catalogued code.
 */
import { Agent, request as httpRequest } from 'node:http';
import { ErrorCodes, ROLES } from '@anmei/protocol';
import fc from 'fast-check';
import { type HttpPools, multipart, type RouteSpec, routeSpecs } from './support-http-routes.ts';
import { hostileNumber, hostileString, notAString, PROTO_KEYS, storableText } from './support-values.ts';

export interface HttpCase {
  route: string;
  method: string;
  /** As sent on the request line: already percent-encoded (or deliberately not). */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Percent-encodes the UTF-8 bytes of `s` (a lone surrogate becomes U+FFFD, as in any UTF-8 encoder). */
export function pct(s: string): string {
  return [...Buffer.from(s, 'utf8')]
    .map((b) =>
      /[A-Za-z0-9._~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');
}

/** Segments sent as they are: NUL, broken and overlong escapes, an encoded surrogate, dot segments, huge numbers. */
const RAW_SEGMENTS = [
  '%00',
  '%zz',
  '%',
  '%E0%A4',
  '%ED%A0%80',
  '%C0%AF',
  '%FF',
  '..',
  '.',
  '%2e%2e',
  '%2F',
  '',
  '99999999999999999999',
  '-1',
  '1e309',
  '%20',
  '+',
  ';',
  '~',
  "'",
  '@',
  ':',
  '=',
  '&',
  '%3F',
  '__proto__',
  'constructor',
  'a'.repeat(65),
  'a'.repeat(3_000),
];
const RAW_VALUES = [
  '%00',
  '%zz',
  '',
  '-1',
  '1e400',
  '0x10',
  'NaN',
  '1.5',
  '2147483648',
  '9007199254740993',
  '[]',
  '%ED%A0%80',
  'true',
];
const PARAM_POOLS: Record<string, keyof HttpPools> = {
  conversation_id: 'conversationIds',
  attachment_id: 'attachmentIds',
  user_id: 'userIds',
  device_id: 'deviceIds',
};
const DOC_FILES = ['index.html', 'swagger-ui.css', 'swagger-ui-bundle.js', 'logo.svg', '..%2fpackage.json'];

function segment(pool: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...pool).map(pct) },
    { weight: 2, arbitrary: hostileString.map(pct) },
    { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
  );
}

const stringify = (v: unknown) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''));

function query(spec: RouteSpec): fc.Arbitrary<string> {
  const known = Object.entries(spec.query ?? {});
  const key = fc.oneof(
    ...(known.length > 0 ? [{ weight: 6, arbitrary: fc.constantFrom(...known.map(([k]) => k)) }] : []),
    {
      weight: 1,
      arbitrary: fc.constantFrom(...PROTO_KEYS, '__proto__[polluted]', 'constructor[prototype][polluted]', 'a[]'),
    },
    { weight: 1, arbitrary: storableText.map(pct) },
  );
  const pair = key.chain((k) => {
    const own = spec.query && Object.hasOwn(spec.query, k) ? spec.query[k] : undefined;
    const value = fc.oneof(
      ...(own ? [{ weight: 4, arbitrary: own.map((v) => pct(stringify(v))) }] : []),
      { weight: 1, arbitrary: fc.constantFrom(...RAW_VALUES) },
      { weight: 1, arbitrary: hostileString.map(pct) },
    );
    return value.map((v) => `${k}=${v}`);
  });
  return fc.array(pair, { maxLength: 4 }).map((pairs) => (pairs.length > 0 ? `?${pairs.join('&')}` : ''));
}

/** A JSON body for the route: each field valid, hostile, of another type, or missing; sometimes one key too many. */
function jsonBody(spec: RouteSpec): fc.Arbitrary<unknown> {
  const MISSING = Symbol('missing');
  const fields = Object.fromEntries(
    Object.entries(spec.body ?? {}).map(([k, valid]) => [
      k,
      fc.oneof(
        { weight: 8, arbitrary: valid },
        { weight: 1, arbitrary: fc.constant(MISSING) },
        { weight: 1, arbitrary: fc.oneof(hostileString, notAString, hostileNumber) },
      ),
    ]),
  );
  const extra = fc.option(
    fc.tuple(fc.oneof(fc.constantFrom(...PROTO_KEYS), storableText), fc.jsonValue({ maxDepth: 2 })),
    { freq: 8 },
  );
  return fc.record({ fields: fc.record(fields), extra }).map(({ fields, extra }) => {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== MISSING) body[k] = v;
    if (extra)
      Object.defineProperty(body, extra[0], { value: extra[1], enumerable: true, configurable: true, writable: true });
    return body;
  });
}

const CONTENT_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data',
  'multipart/form-data; boundary=x',
  'application/json; charset=utf-16',
  'application/JSON',
  'application/problem+json',
  'application/json, text/plain',
  'a/b/c',
  '*/*',
  'application/json;;',
  'application/octet-stream',
];
const BAD_UTF8 = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xc0, 0xaf, 0xed, 0xa0, 0x80, 0x22, 0x7d]);

/** Body bytes and their content type (undefined: no Content-Type header). */
function body(spec: RouteSpec): fc.Arbitrary<{ bytes?: Buffer; type?: string }> {
  const json = (arb: fc.Arbitrary<unknown>) => arb.map((v) => Buffer.from(stringify(v)));
  const type = fc.oneof(
    { weight: 10, arbitrary: fc.constant<string | undefined>(spec.multipart ? undefined : 'application/json') },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(...CONTENT_TYPES, undefined) },
  );
  type Bytes = Buffer | { bytes: Buffer; boundary: string } | undefined;
  const bytes = fc.oneof(
    { weight: spec.body ? 12 : 1, arbitrary: json(jsonBody(spec)) as fc.Arbitrary<Bytes> },
    { weight: spec.multipart ? 16 : 1, arbitrary: multipart() },
    { weight: spec.method === 'POST' ? 1 : 6, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
    { weight: 1, arbitrary: json(fc.jsonValue({ maxDepth: 3 })) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map((s) => Buffer.from(s)) },
    {
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 100_000 }).map((d) => Buffer.from(`${'['.repeat(d)}${']'.repeat(d)}`)),
    },
    { weight: 1, arbitrary: fc.constant(BAD_UTF8) },
    // Past the 1 MiB body limit.
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 64 * 1024 }).map((n) => Buffer.alloc(1024 * 1024 + n, 0x20)) },
  );
  return fc.record({ bytes, type }).map(({ bytes, type }) => {
    if (bytes && 'boundary' in bytes)
      return { bytes: bytes.bytes, type: type ?? `multipart/form-data; boundary=${bytes.boundary}` };
    return { ...(bytes ? { bytes } : {}), ...(type ? { type } : {}) };
  });
}

/** Client addresses a proxy would add (the server believes loopback proxies): odd, forged, long. */
const FORWARDED = [
  '203.0.113.7',
  '::1',
  '::ffff:198.51.100.1',
  '203.0.113.7, 10.0.0.1',
  'x',
  '999.1.1.1',
  '',
  ' , ,',
  '1.1.1.1'.padEnd(2_000, ',1.1.1.1'),
  'unknown',
  '[::1]:80',
];

function authorization(p: HttpPools): fc.Arbitrary<string | undefined> {
  const admin = p.tokens.admin;
  return fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom(...ROLES).map((role) => `Bearer ${p.tokens[role]}`) },
    { weight: 1, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        'Bearer',
        'Bearer ',
        'Bearer x.y.z',
        'Basic YWRtaW46ZGVtbzEyMzQ=',
        `bearer ${admin}`,
        `Bearer ${'a'.repeat(5_000)}`,
        `Bearer ${admin}x`,
        `Bearer ${admin.split('.').slice(0, 2).join('.')}.`,
        'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.',
      ),
    },
  );
}

export function httpCase(p: HttpPools): fc.Arbitrary<HttpCase> {
  const specs = routeSpecs(p);
  const route = fc.oneof(...specs.map((spec) => ({ weight: spec.weight, arbitrary: fc.constant(spec) })));
  return route.chain((spec) => {
    const params = [...spec.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
    const segments = params.map((name) =>
      name === 'file' ? segment(DOC_FILES) : segment(p[PARAM_POOLS[name]!] as string[]),
    );
    const method = fc.oneof(
      { weight: 12, arbitrary: fc.constant(spec.method) },
      { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD') },
    );
    return fc
      .record({
        method,
        segments: fc.tuple(...segments),
        query: query(spec),
        body: body(spec),
        auth: authorization(p),
        forwarded: fc.option(fc.constantFrom(...FORWARDED), { freq: 8 }),
      })
      .map(({ method, segments, query, body, auth, forwarded }) => {
        let i = 0;
        // Node refuses a request head over 16 KiB before any route sees it (http.fuzz.test.ts pins that apart).
        const path = (spec.path.replace(/\{\w+\}/g, () => segments[i++]!) + query).slice(0, 8_000);
        const headers: Record<string, string> = {};
        if (auth) headers.authorization = auth;
        if (forwarded !== null) headers['x-forwarded-for'] = forwarded;
        if (body.type) headers['content-type'] = body.type;
        return {
          route: `${spec.method} ${spec.path}`,
          method,
          path,
          headers,
          ...(body.bytes ? { body: body.bytes } : {}),
        };
      });
  });
}

const agent = new Agent({ keepAlive: true, maxSockets: 16 });

export function send(baseUrl: string, c: HttpCase): Promise<HttpAnswer> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    // Node's client frames a GET or DELETE body only with an explicit Content-Length; without one the
    // bytes would reach the server as the start of the next request on this keep-alive connection.
    const headers = c.body ? { ...c.headers, 'content-length': String(c.body.length) } : c.headers;
    const req = httpRequest(
      { host: hostname, port, method: c.method, path: c.path, headers, agent, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within 15 s to ${c.method} ${c.path.slice(0, 200)}`)));
    req.on('error', reject);
    req.end(c.body);
  });
}

/** Why `answer` breaks the rule, or null: never 5xx; every 4xx a problem+json with a catalogued code and its status. */
export function violation(c: HttpCase, answer: HttpAnswer): string | null {
  const { status } = answer;
  if (status >= 500) return `${status}: ${answer.body.slice(0, 300)}`;
  if (status >= 300 && status < 400)
    return c.path.startsWith('/docs') ? null : `redirect ${status} to ${answer.headers.location}`;
  if (status < 400) return null;
  const type = String(answer.headers['content-type'] ?? '');
  if (!type.startsWith('application/problem+json'))
    return `${status} with content-type "${type}": ${answer.body.slice(0, 200)}`;
  if (status === 429 && answer.headers['retry-after'] === undefined) return '429 without Retry-After';
  if (c.method === 'HEAD') return null;
  let problem: { code?: string; status?: number; type?: string; title?: string };
  try {
    problem = JSON.parse(answer.body);
  } catch {
    return `${status} problem body is not JSON: ${answer.body.slice(0, 200)}`;
  }
  const def = problem.code === undefined ? undefined : ErrorCodes[problem.code as keyof typeof ErrorCodes];
  if (!def || problem.code === 'INTERNAL') return `uncatalogued code: ${answer.body.slice(0, 200)}`;
  const kebab = problem.code!.toLowerCase().replaceAll('_', '-');
  if (
    def.status !== status ||
    problem.status !== status ||
    problem.type !== `urn:anmei:problem:${kebab}` ||
    problem.title !== def.message
  ) {
    return `problem does not match the catalogue entry of ${problem.code} (${def.status}): ${answer.body.slice(0, 200)}`;
  }
  return null;
}
