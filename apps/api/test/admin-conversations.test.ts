/**
 * GET /api/v1/admin/conversations (issue #17, item 6) over real HTTP, on PGlite and on Postgres:
 * an admin finds a conversation by part of its title or of a participant's display name or
 * username, case-insensitively; the search text is data (LIKE wildcards and SQL match themselves);
 * `limit` is bounded; non-admins are refused.
 */
import { ADMIN_CONVERSATION_SEARCH_MAX } from '@anmei/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, type TestSchema } from './support/postgres-schema.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';

interface Found {
  conversations: Array<{
    id: string;
    title: string;
    created_at: string;
    last_seq: number;
    participants: Array<{ user_id: string; username: string; display_name: string; role: string }>;
  }>;
}

describe.each([{ backend: 'PGlite' }, { backend: 'Postgres' }])(
  'admin conversation search on $backend',
  ({ backend }) => {
    let app: TestApp;
    let schema: TestSchema | undefined;
    let admin: string;
    /** A conversation of customer_789 whose title holds LIKE's wildcards. */
    let percent: string;

    beforeAll(async () => {
      if (backend === 'Postgres') schema = await createTestSchema();
      app = await startTestApp(schema ? { DATABASE_URL: schema.url, DATABASE_SCHEMA: schema.schema } : {});
      admin = (await app.login('admin')).token;
      const customer = (await app.login('customer_789')).token;
      const created = await app.http('POST', '/api/v1/conversations', {
        token: customer,
        body: { title: '满意度 100%（问卷）' },
      });
      expect(created.status).toBe(201);
      percent = created.body.id as string;
    });
    afterAll(async () => {
      await app?.close();
      await schema?.drop();
    });

    async function search(query: Record<string, string>, token = admin) {
      const res = await app.http('GET', `/api/v1/admin/conversations?${new URLSearchParams(query)}`, { token });
      return { status: res.status, body: res.body as Found & { code?: string } };
    }
    const titles = (found: Found) => found.conversations.map((c) => c.title).sort();

    it("finds a conversation by part of a participant's display name, with its participants", async () => {
      const { status, body } = await search({ q: '王小' });
      expect(status).toBe(200);
      expect(titles(body)).toEqual([FACIAL]);
      const [facial] = body.conversations;
      expect(facial!.id).toBe(app.conversationId(FACIAL));
      expect(facial!.participants.map((p) => [p.username, p.display_name, p.role])).toEqual(
        expect.arrayContaining([
          ['customer_456', '王小姐', 'customer'],
          ['consultant_001', '张顾问', 'consultant'],
        ]),
      );
      expect(Number.isNaN(Date.parse(facial!.created_at))).toBe(false);
    });

    it('finds by part of a username, case-insensitively, and by part of a title', async () => {
      const byUsername = await search({ q: 'CUSTOMER_78' });
      expect(titles(byUsername.body)).toEqual(['李先生的术后复诊', '满意度 100%（问卷）'].sort());
      const byTitle = await search({ q: '术后' });
      expect(titles(byTitle.body)).toEqual(['李先生的术后复诊']);
    });

    it('matches % and _ literally and treats SQL in the text as text', async () => {
      expect(titles((await search({ q: '0%' })).body)).toEqual(['满意度 100%（问卷）']);
      // As wildcards these would match customer_456; as the literal text they match nothing.
      expect((await search({ q: 'custome__456' })).body.conversations).toEqual([]);
      expect((await search({ q: 'customer%456' })).body.conversations).toEqual([]);
      expect(titles((await search({ q: 'customer_456' })).body)).toEqual([FACIAL]);
      const injection = await search({ q: "' OR 1=1; DROP TABLE conversations; --" });
      expect(injection.status).toBe(200);
      expect(injection.body.conversations).toEqual([]);
      // Still there.
      expect(titles((await search({ q: '' })).body)).toContain(FACIAL);
    });

    it('without q lists the newest activity first, at most `limit`', async () => {
      const all = await search({});
      expect(all.body.conversations[0]!.id).toBe(percent);
      expect(all.body.conversations.length).toBeGreaterThanOrEqual(3);
      const one = await search({ limit: '1' });
      expect(one.body.conversations.map((c) => c.id)).toEqual([percent]);
    });

    it('refuses a limit out of 1…50 and a search text over 100 characters with VALIDATION_FAILED', async () => {
      for (const query of <Record<string, string>[]>[
        { limit: String(ADMIN_CONVERSATION_SEARCH_MAX + 1) },
        { limit: '0' },
        { limit: 'many' },
        { q: 'x'.repeat(101) },
        { q: '\u0000' },
        { other: '1' },
      ]) {
        const res = await search(query);
        expect([JSON.stringify(query), res.status, res.body.code]).toEqual([
          JSON.stringify(query),
          400,
          'VALIDATION_FAILED',
        ]);
      }
      expect((await search({ limit: String(ADMIN_CONVERSATION_SEARCH_MAX) })).status).toBe(200);
    });

    it('is for admins only', async () => {
      for (const user of ['customer_456', 'consultant_001', 'doctor_001']) {
        const res = await search({ q: '王' }, (await app.login(user)).token);
        expect([user, res.status, res.body.code]).toEqual([user, 403, 'FORBIDDEN']);
      }
      const anonymous = await app.http('GET', '/api/v1/admin/conversations?q=x');
      expect([anonymous.status, anonymous.body.code]).toEqual([401, 'UNAUTHENTICATED']);
    });
  },
);
