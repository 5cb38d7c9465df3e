/**
 * HTTP fuzzing against a live server (issue #15, "Acceptance"): every route of the API (checked
 * against the generated OpenAPI document, so a new route cannot be missed) and of its docs, with
 * fast-check-generated bodies, query strings, path segments, methods, tokens and content types
 * (support-http.ts). Every answer is below 500, and every 4xx is a problem+json whose code is in
 * the catalogue, with that code's status (a 429 also carries Retry-After); nothing is logged as an
 * ERROR; the server still answers /health and logins afterwards.
 *
 * FUZZ_HTTP_RUNS (default 5 000, about 15 s here) sets the number of requests; `npm run fuzz` runs
 * 50 000. FUZZ_SEED replays a run (the seed is printed).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROLES } from '@anmei/protocol';
import fc from 'fast-check';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEMO_PASSWORD } from '../support/api-client.ts';
import { LEVEL } from '../support/log-capture.ts';
import { rawExchange } from '../support/raw-http.ts';
import { FACIAL, FOLLOW_UP, startTestApp, type TestApp } from '../support/test-app.ts';
import { type HttpCase, httpCase, send, violation } from './support-http.ts';
import { type HttpPools, routeSpecs } from './support-http-routes.ts';

const RUNS = Number(process.env.FUZZ_HTTP_RUNS ?? 5_000);
const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
/** Requests per fast-check run, sent at once. */
const BATCH = 8;
const UNLIMITED = '1000000';

let app: TestApp;
let attachmentsDir: string;
let known: HttpPools;

beforeAll(async () => {
  attachmentsDir = await mkdtemp(join(tmpdir(), 'anmei-http-fuzz-'));
  app = await startTestApp({
    // At the tests' usual debug level every request that fails validation is a log line; errors are what we check.
    LOG_LEVEL: 'warn',
    // Uploads that happen to be valid are stored: in a folder of this run, removed afterwards.
    ATTACHMENTS_DIR: attachmentsDir,
    // At the default limits login, sign-up, tickets and uploads would answer 429 after a few requests,
    // and their bodies would no longer be fuzzed; the limits have their own tests (rate-limits-*.test.ts).
    RATE_LIMIT_LOGIN_PER_IP: UNLIMITED,
    RATE_LIMIT_LOGIN_PER_USERNAME: UNLIMITED,
    RATE_LIMIT_REGISTER_PER_IP: UNLIMITED,
    RATE_LIMIT_REGISTER_PER_USERNAME: UNLIMITED,
    RATE_LIMIT_TICKETS_PER_USER: UNLIMITED,
    RATE_LIMIT_UPLOADS_PER_USER: UNLIMITED,
  });
  known = await pools();
});
afterAll(async () => {
  await app?.close();
  await rm(attachmentsDir, { recursive: true, force: true });
});

/** Tokens of every role and ids that exist (conversations, users, messages, an attachment, devices). */
async function pools(): Promise<HttpPools> {
  const tokens = Object.fromEntries(
    await Promise.all(
      ROLES.map(async (role) => {
        const username = {
          customer: 'customer_456',
          consultant: 'consultant_001',
          doctor: 'doctor_001',
          admin: 'admin',
        }[role];
        return [role, (await app.login(username)).token] as const;
      }),
    ),
  ) as HttpPools['tokens'];
  const conversationIds = [app.conversationId(FACIAL), app.conversationId(FOLLOW_UP)];
  const history = await app.http('GET', `/api/v1/chat/${conversationIds[0]}/messages`, { token: tokens.customer });
  const form = new FormData();
  form.append('file', new Blob(['fuzz'], { type: 'text/plain' }), 'fuzz.txt');
  const headers = { authorization: `Bearer ${tokens.customer}` };
  const upload = await fetch(`${app.baseUrl}/api/v1/chat/${conversationIds[0]}/attachments`, {
    method: 'POST',
    headers,
    body: form,
  });
  const attachment = ((await upload.json()) as { message: { metadata: { attachment_id: string } } }).message.metadata;
  const deviceIds: string[] = [];
  for (const role of ROLES) {
    const body = { platform: 'android', device_type: 'mobile', fcm_token: `fuzz-token-${role}-${'x'.repeat(20)}` };
    const res = await app.http('POST', '/api/v1/devices', { token: tokens[role], body });
    deviceIds.push(res.body.device.id);
  }
  return {
    conversationIds,
    userIds: ['customer_456', 'customer_789', 'consultant_001', 'doctor_001', 'admin'].map((u) => app.userId(u)),
    messageIds: history.body.messages.map((m: { id: string }) => m.id),
    attachmentIds: [attachment.attachment_id],
    deviceIds,
    tokens,
  };
}

it('fuzzes every route of the generated OpenAPI document', async () => {
  const openapi = await app.http('GET', '/docs/json');
  const documented = Object.entries(openapi.body.paths as Record<string, Record<string, unknown>>).flatMap(
    ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
  );
  const fuzzed = routeSpecs(known).map((spec) => `${spec.method} ${spec.path}`);
  expect(documented.filter((route) => !fuzzed.includes(route))).toEqual([]);
});

it(`answers ${RUNS} fuzzed requests below 500, every 4xx a catalogued problem+json`, {
  timeout: 60_000 + RUNS * 30,
}, async () => {
  const started = performance.now();
  const statuses: Record<string, number> = {};
  const codes: Record<string, number> = {};
  let tried = 0;
  const arbitrary = fc.array(httpCase(known), { minLength: BATCH, maxLength: BATCH });
  await fc.assert(
    fc.asyncProperty(arbitrary, async (cases: HttpCase[]) => {
      const problems: string[] = [];
      await Promise.all(
        cases.map(async (c) => {
          const label = `${c.method} ${c.path.slice(0, 200)} (${c.route}; ${JSON.stringify(c.headers).slice(0, 200)}; body ${c.body?.subarray(0, 200).toString() ?? 'none'}${c.body && c.body.length > 200 ? ` … ${c.body.length} bytes` : ''})`;
          const answer = await send(app.baseUrl, c).catch((error: Error) => {
            problems.push(`${label}: no answer: ${error.message}`);
            return null;
          });
          tried++;
          if (!answer) return;
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
          const code = answer.status >= 400 && c.method !== 'HEAD' ? safeCode(answer.body) : null;
          if (code) codes[code] = (codes[code] ?? 0) + 1;
          const wrong = violation(c, answer);
          if (wrong) problems.push(`${label}: ${wrong}`);
        }),
      );
      if (problems.length > 0) throw new Error(problems.join('\n'));
    }),
    // Keep-alive connections and the server's state carry over from run to run, so shrinking would not
    // replay the same situation: a failing batch is reported as it is.
    { numRuns: Math.ceil(RUNS / BATCH), seed: SEED, endOnFailure: true },
  );
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `http fuzz: ${tried} requests tried in ${seconds.toFixed(1)} s, seed ${SEED}; statuses ${JSON.stringify(statuses)}; codes ${JSON.stringify(codes)}`,
  );
  expect(Object.keys(statuses).filter((s) => Number(s) >= 500)).toEqual([]);

  const health = await app.http('GET', '/health');
  expect([health.status, health.body.status]).toEqual([200, 'ok']);
  const login = await app.http('POST', '/api/v1/auth/login', {
    body: { username: 'doctor_001', password: DEMO_PASSWORD },
  });
  expect(login.status).toBe(200);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(app.logs.records.filter((r) => r.level >= LEVEL.error).map((r) => r.msg)).toEqual([]);
});

/**
 * Requests Node's HTTP parser refuses before Fastify routes them (a raw space, control character
 * or 0xFF byte in the path, a non-numeric Content-Length, Content-Length with chunked encoding, a
 * request head over 16 KiB) get a catalogued problem+json (http/raw-problem.ts), not Fastify's
 * default body. Found by this fuzz.
 */
it('answers requests the HTTP parser refuses with a catalogued problem+json', async () => {
  const port = Number(new URL(app.baseUrl).port);
  const requestLines = [
    'GET /api/v1/chat/a b/messages HTTP/1.1',
    'GET /api/v1/chat/\x01/messages HTTP/1.1',
    'GET /health\xff HTTP/1.1',
    'POST /api/v1/auth/login HTTP/1.1\r\nContent-Length: abc',
    'POST /api/v1/auth/login HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked',
    // A request head over Node's 16 KiB: 431 with the same default body.
    `GET /api/v1/conversations?q=${'a'.repeat(20_000)} HTTP/1.1`,
  ];
  for (const line of requestLines) {
    const answer = await rawExchange(port, Buffer.from(`${line}\r\nHost: x\r\nConnection: close\r\n\r\n`, 'latin1'));
    const expected = line.length > 16_000 ? ['HEADERS_TOO_LARGE', 431] : ['VALIDATION_FAILED', 400];
    expect([line.slice(0, 100), answer.status, answer.headers['content-type'], safeCode(answer.body)]).toEqual([
      line.slice(0, 100),
      expected[1],
      expect.stringMatching(/^application\/problem\+json/),
      expected[0],
    ]);
  }
});

function safeCode(body: string): string | null {
  try {
    return (JSON.parse(body) as { code?: string }).code ?? null;
  } catch {
    return null;
  }
}
