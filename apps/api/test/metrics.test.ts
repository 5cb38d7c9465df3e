/**
 * Issue #16's acceptance for /metrics: scrapes before and after a scripted scenario over real
 * sockets (in-process API on port 0, PGlite, a push provider double) and asserts the deltas; and
 * the admin page's figures (the `stats` frame, GET /api/v1/admin/stats) equal the registry's for
 * the same scenario. The scrapes are parsed by the test's own reader (support/metrics-scrape.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { bulkNotice, floodUntilClosed } from './support/bulk.ts';
import { histogramQuantile, scrape } from './support/metrics-scrape.ts';
import { PushProviderDouble } from './support/push-provider-double.ts';
import { FACIAL, startTestApp, type TestApp } from './support/test-app.ts';
import { TestSocket } from './support/test-socket.ts';
import { eventually } from './support/wait.ts';

const MAX_BUFFERED_BYTES = 256 * 1024;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

/** Every family docs/operations.md lists, plus prom-client's process metrics the dashboard uses. */
const DOCUMENTED_FAMILIES = [
  'anmei_broadcast_duration_seconds',
  'anmei_broadcast_failures_total',
  'anmei_messages_stored_total',
  'anmei_ws_frames_delivered_total',
  'anmei_ws_connections',
  'anmei_ws_online_users',
  'anmei_ws_online_users_by_device',
  'anmei_ws_connects_total',
  'anmei_ws_disconnects_total',
  'anmei_ws_upgrades_refused_total',
  'anmei_ws_slow_consumer_cuts_total',
  'anmei_ws_invalid_frames_total',
  'anmei_rate_limited_total',
  'anmei_resumes_total',
  'anmei_resume_streams_total',
  'anmei_resume_frames_replayed_total',
  'anmei_positions_frames_total',
  'anmei_push_decisions_total',
  'anmei_push_jobs_queued_total',
  'anmei_push_attempts_total',
  'anmei_push_jobs_finished_total',
  'anmei_push_queue_depth',
  'anmei_push_queue_oldest_age_seconds',
  'anmei_redis_pubsub_latency_seconds',
  'anmei_redis_pubsub_probes_lost_total',
  'anmei_redis_command_errors_total',
  'anmei_redis_reconnects_total',
  'anmei_redis_connection_up',
  'anmei_db_append_batch_size',
  'anmei_db_append_duration_seconds',
  'anmei_db_pool_connections',
  'anmei_db_pool_waiting',
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_gc_duration_seconds',
];

let app: TestApp;
const provider = new PushProviderDouble();
const metrics = () => scrape(`${app.baseUrl}/metrics`);

beforeAll(async () => {
  app = await startTestApp(
    {
      WS_MAX_BUFFERED_BYTES: String(MAX_BUFFERED_BYTES),
      PUSH_POLL_INTERVAL: '20',
      // Only the frames the tests ask for: a timer's frame would restart the stats window.
      STATS_INTERVAL: '600000',
    },
    { notificationProvider: provider },
  );
  // customer_789 joins 王小姐's conversation: with the consultant and the doctor, three recipients
  // besides customer_456.
  const { token } = await app.login('admin');
  const added = await app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/participants`, {
    token,
    body: { user_id: app.userId('customer_789') },
  });
  expect(added.status).toBe(200);
});
afterAll(async () => {
  await app.close();
});

/** Sends over HTTP as `username` (no socket of theirs) and waits until its push decision has run. */
async function sendAndSettle(username: string, content: string): Promise<void> {
  const { token } = await app.login(username);
  const sent = await app.http('POST', `/api/v1/chat/${app.conversationId(FACIAL)}/send`, { token, body: { content } });
  expect(sent.status).toBe(200);
  // A staff reply's decision (`message:<id>`) runs at once; once done its row is gone.
  await eventually(
    () => app.built.ctx.store.pushJobs.find(`message:${sent.body.message_id}`),
    (job) => job === null,
    `the push decision of "${content}" to run`,
  );
}

describe('GET /metrics', () => {
  it('serves every documented family in the Prometheus text format, with no id in any label', async () => {
    const response = await fetch(`${app.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const now = await metrics();
    for (const family of DOCUMENTED_FAMILIES) expect(now.families.has(family), family).toBe(true);
    const withIds = now.samples.filter((s) => Object.values(s.labels).some((v) => UUID.test(v)));
    expect(withIds).toEqual([]);
  });

  it('counts a reply to three connected recipients: +3 deliveries of its action, one message stored, one broadcast', async () => {
    const recipients = await Promise.all(
      ['customer_456', 'doctor_001', 'customer_789'].map((u) => app.connect(u, { deviceType: 'mobile' })),
    );
    const before = await metrics();
    const content = `三位收件人 ${randomUUID()}`;
    await sendAndSettle('consultant_001', content);
    for (const socket of recipients)
      await socket.waitFor('consultation_reply', { where: (f) => f.data.content === content });
    const after = await metrics();

    expect(after.delta(before, 'anmei_ws_frames_delivered_total', { action: 'consultation_reply' })).toBe(3);
    expect(after.delta(before, 'anmei_ws_frames_delivered_total', { action: 'new_message' })).toBe(0);
    expect(after.delta(before, 'anmei_messages_stored_total')).toBe(1);
    expect(after.delta(before, 'anmei_broadcast_duration_seconds_count', { method: 'consultation_reply' })).toBe(1);
    // All three online: the decision queued no send.
    expect(after.delta(before, 'anmei_push_jobs_queued_total')).toBe(0);
    // The gauges count this instance's sockets.
    expect(after.value('anmei_ws_connections', { device_type: 'mobile' })).toBe(3);
    expect(after.value('anmei_ws_online_users')).toBe(app.built.ctx.local.userCount);
    expect(after.value('anmei_ws_online_users', { role: 'customer' })).toBe(2);
    await Promise.all(recipients.map((s) => s.close()));
  });

  it('counts a cut slow consumer: +1 disconnect with close code 4009 and +1 slow-consumer cut', async () => {
    const userId = app.userId('customer_789');
    const { token } = await app.login('customer_789');
    const ws = new WebSocket(`${app.wsUrl}?ticket=${await app.ticket(token)}&device_type=tablet`);
    const socket = new TestSocket(ws);
    const [connected] = await socket.waitFor('connected');
    const connectionId = connected!.data.connection_id;
    const before = await metrics();
    expect(before.value('anmei_ws_connections', { device_type: 'tablet' })).toBe(1);

    // The client stops reading: its buffers fill, then the server's send queue passes the cap.
    (ws as unknown as { _socket: Socket })._socket.pause();
    const server = app.built.ctx.local.get(connectionId)!.socket;
    const published = await floodUntilClosed(app.built.ctx.bus, userId, server, bulkNotice('bulk'));
    await app.logs.waitFor(
      (r) => r.msg === 'websocket disconnected' && r.connectionId === connectionId,
      'the cut socket to be unregistered',
    );
    const after = await metrics();

    expect(after.delta(before, 'anmei_ws_slow_consumer_cuts_total')).toBe(1);
    expect(after.delta(before, 'anmei_ws_disconnects_total', { code: '4009' })).toBe(1);
    expect(after.delta(before, 'anmei_ws_disconnects_total')).toBe(1);
    // Every frame but the one that found the queue over the cap was handed to the socket.
    expect(after.delta(before, 'anmei_ws_frames_delivered_total', { action: 'system_notification' })).toBe(
      published - 1,
    );
    expect(after.value('anmei_ws_connections', { device_type: 'tablet' })).toBe(0);
    ws.terminate();
  });

  it('counts a push delivered and a push failed by provider and outcome', async () => {
    const delivered = `送达 ${randomUUID()}`;
    const refused = `拒收 ${randomUUID()}`;
    provider.script(delivered, { ok: true });
    provider.script(refused, { ok: false, error: 'device token unregistered', retryable: false });
    const before = await metrics();
    const ids: string[] = [];
    // customer_789 has no socket now: each direct message becomes one push.
    for (const content of [delivered, refused]) {
      await app.built.ctx.broadcasting.sendDirectMessage(app.userId('customer_789'), { title: '通知', content });
      const [call] = await provider.waitForCalls(content, 1);
      ids.push(call!.notification.idempotencyKey ?? '');
    }
    for (const id of ids) {
      await eventually(
        () => app.built.ctx.store.pushJobs.find(id),
        (job) => job !== null && job.state !== 'pending',
        `push job ${id} to finish`,
      );
    }
    const after = await metrics();

    expect(after.delta(before, 'anmei_push_decisions_total')).toBe(2);
    expect(after.delta(before, 'anmei_push_jobs_queued_total', { provider: 'double' })).toBe(2);
    expect(after.delta(before, 'anmei_push_attempts_total', { provider: 'double', outcome: 'success' })).toBe(1);
    expect(after.delta(before, 'anmei_push_attempts_total', { provider: 'double', outcome: 'permanent' })).toBe(1);
    expect(after.delta(before, 'anmei_push_attempts_total', { outcome: 'retryable' })).toBe(0);
    expect(after.delta(before, 'anmei_push_jobs_finished_total', { provider: 'double', state: 'delivered' })).toBe(1);
    expect(after.delta(before, 'anmei_push_jobs_finished_total', { provider: 'double', state: 'failed' })).toBe(1);
    expect(after.value('anmei_push_queue_depth')).toBe(0);
  });

  it('counts a resume: one answered, its stream recovered, and every frame it replayed', async () => {
    const conversationId = app.conversationId(FACIAL);
    const heads = await app.built.ctx.store.events.headsOf([app.userId('customer_456')]);
    const head = heads.users
      .get(app.userId('customer_456'))!
      .conversations.find((c) => c.conversationId === conversationId)!;
    const socket = await app.connect('customer_456');
    const before = await metrics();
    const sentAt = socket.frames.length;
    socket.send({
      action: 'resume',
      request_id: 'metrics-resume',
      data: {
        conversations: [
          { conversation_id: conversationId, last_seq: head.lastSeq - 2, last_event_seq: head.lastEventSeq - 1 },
        ],
      },
    });
    const [resumed] = await socket.waitFor('resumed');
    const replayed = socket.frames.slice(sentAt, socket.frames.indexOf(resumed!)).length;
    const after = await metrics();

    expect(resumed!.data.conversations).toMatchObject([{ status: 'recovered', replayed_messages: 2 }]);
    expect(replayed).toBe(3);
    expect(after.delta(before, 'anmei_resumes_total')).toBe(1);
    expect(after.delta(before, 'anmei_resume_streams_total', { stream: 'conversation', status: 'recovered' })).toBe(1);
    expect(after.delta(before, 'anmei_resume_frames_replayed_total')).toBe(replayed);
    await socket.close();
  });
});

describe("the admin page's figures", () => {
  it('equal the registry: the stats frame and GET /api/v1/admin/stats read the same counters', async () => {
    const admin = await app.connect('admin', { connectionType: 'admin' });
    const readers = await Promise.all(
      ['customer_456', 'doctor_001', 'customer_789'].map((u) => app.connect(u, { deviceType: 'desktop' })),
    );
    const { built } = app;
    expect(await built.publishStats()).toBe(1); // the window starts here
    const startedAt = Date.now();
    const before = await metrics();
    for (let i = 0; i < 3; i++) await sendAndSettle('consultant_001', `统计窗口 ${i} ${randomUUID()}`);
    const elapsedAtLeast = (Date.now() - startedAt) / 1000;
    expect(await built.publishStats()).toBe(1);
    const frames = await admin.waitFor('stats', { count: 2 });
    const after = await metrics();
    const elapsedAtMost = (Date.now() - startedAt) / 1000 + 0.05;
    const figures = frames[1]!.data;

    // Messages per second: the stored counter's growth over the window the server measured.
    const stored = after.delta(before, 'anmei_messages_stored_total');
    expect(stored).toBe(3);
    expect(figures.messages_per_second).toBeGreaterThanOrEqual(Math.floor((stored / elapsedAtMost) * 100) / 100);
    expect(figures.messages_per_second).toBeLessThanOrEqual(Math.ceil((stored / elapsedAtLeast) * 100) / 100);
    // Latency: histogram_quantile over the buckets that filled in the window.
    const window = new Map(
      [...after.buckets('anmei_broadcast_duration_seconds')].map(([le, n]) => [
        le,
        n - (before.buckets('anmei_broadcast_duration_seconds').get(le) ?? 0),
      ]),
    );
    const ms = (q: number) => Math.round(histogramQuantile(q, window) * 1e6) / 1000;
    expect(figures.broadcast_latency_ms).toEqual({ p50: ms(0.5), p99: ms(0.99) });
    expect(figures.broadcast_latency_ms.p50).toBeGreaterThan(0);
    // This instance's sockets (one instance: presence holds exactly these).
    expect(figures.connections).toBe(after.value('anmei_ws_connections'));
    expect(figures.online_users).toBe(after.value('anmei_ws_online_users'));
    for (const device_type of ['mobile', 'desktop', 'tablet'])
      expect(figures.by_device_type[device_type] ?? 0).toBe(after.value('anmei_ws_connections', { device_type }));
    for (const role of ['customer', 'consultant', 'doctor', 'admin'])
      expect(figures.by_role[role] ?? 0).toBe(after.value('anmei_ws_connections', { role }));
    // Push figures: the push counters (the scenario above delivered one and failed one).
    const attempts = (outcome: string) => after.value('anmei_push_attempts_total', { outcome });
    expect(figures.push).toMatchObject({
      sent: attempts('success'),
      failed: attempts('retryable') + attempts('permanent'),
      expired: after.value('anmei_push_jobs_finished_total', { state: 'expired' }),
      queued: after.value('anmei_push_jobs_queued_total'),
    });
    expect(figures.push.sent).toBeGreaterThanOrEqual(1);

    const { token } = await app.login('admin');
    const stats = await app.http('GET', '/api/v1/admin/stats', { token });
    expect(stats.status).toBe(200);
    expect(stats.body.push.instance).toMatchObject({
      attempts: {
        success: attempts('success'),
        retryable: attempts('retryable'),
        permanent: attempts('permanent'),
        expired: after.value('anmei_push_jobs_finished_total', { state: 'expired' }),
      },
      decisions: after.value('anmei_push_decisions_total'),
      queued: after.value('anmei_push_jobs_queued_total'),
    });
    expect(stats.body.push.instance.by_provider.double.success).toBe(
      after.value('anmei_push_attempts_total', { provider: 'double', outcome: 'success' }),
    );
    await Promise.all([admin, ...readers].map((s) => s.close()));
  });
});
