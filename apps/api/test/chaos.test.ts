/**
 * Issue #6's chaos run: 2000 messages from several senders into several conversations through
 * 3 real API instances behind nginx, while the test drops random client sockets, kill -9s one
 * instance, restarts Redis and SIGTERMs another. At the end every device must hold exactly the
 * messages of its conversations, each once, in seq order, matching the database.
 *
 * Devices are real @anmei/client clients (Node `ws`), each with the UI-model rule a product
 * uses: messages keyed by id (a second copy is counted as suppressed, never shown twice).
 */
import { randomUUID } from 'node:crypto';
import { type ChatMessage, WebSocketClient } from '@anmei/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import WebSocket from 'ws';
import { demoIds, startTopology, type Topology } from './support/topology.ts';
import { eventually, within } from './support/wait.ts';

const TOTAL = 2000;
const DROP_EVERY = 150;
/**
 * How long any batch of sends may wait for its acks, ms. Devices reconnect within ~2 s
 * (maxReconnectDelay), so a minute means something hangs; it fires well before the test's
 * own 300 s timeout, so the failure names the step and carries the diagnosis.
 */
const SEND_BUDGET_MS = 60_000;

let topo: Topology;

beforeAll(async () => {
  topo = await startTopology(3, {
    INSTANCE_TTL: '3000',
    WS_DRAIN_SPREAD: '500',
    // Every publish batch of two or more envelopes is routed by the publisher's own look-up, a lone
    // one by the script: both ways of routing go through the chaos (the default is 16).
    REDIS_ROUTE_LOOKUP_FROM: '2',
  });
}, 120_000);

afterAll(async () => {
  for (const d of devices) d.client.dispose();
  await topo?.stop();
});

interface Device {
  name: string;
  username: string;
  client: WebSocketClient;
  /** The socket currently in use, to drop it. */
  socket: () => WebSocket | null;
  /** The UI model: message id -> seq, per conversation. */
  model: Map<string, Map<string, number>>;
  /** seq order as handed to handlers, per conversation (must be increasing). */
  order: Map<string, number[]>;
  suppressed: number;
  /** Put a message into the UI model (from a handler, or from our own send's ack). */
  see(m: { id: string; conversationId: string; seq: number }, fromHandler: boolean): void;
}

const devices: Device[] = [];

function makeDevice(username: string, deviceType: 'mobile' | 'desktop' | 'tablet'): Device {
  let current: WebSocket | null = null;
  class TrackedWebSocket extends WebSocket {
    constructor(url: string | URL) {
      super(url);
      current = this;
    }
  }
  const client = new WebSocketClient({
    url: topo.nginx.url.replace('http', 'ws'),
    getToken: async () => (await topo.front.login(username)).token,
    WebSocket: TrackedWebSocket as unknown as typeof globalThis.WebSocket,
    deviceType,
    environment: null,
    reconnectInterval: 200,
    maxReconnectDelay: 2_000,
    maxReconnectAttempts: 100,
    outbox: { maxMessages: 2_000, maxBytes: 4 * 1024 * 1024, ttlMs: 120_000 },
  });
  const see = (m: { id: string; conversationId: string; seq: number }, fromHandler: boolean) => {
    let byId = device.model.get(m.conversationId);
    if (!byId) {
      byId = new Map();
      device.model.set(m.conversationId, byId);
    }
    if (byId.has(m.id)) device.suppressed++;
    byId.set(m.id, m.seq);
    if (fromHandler) {
      const order = device.order.get(m.conversationId) ?? [];
      order.push(m.seq);
      device.order.set(m.conversationId, order);
    }
  };
  const device: Device = {
    name: `${username}/${deviceType}`,
    username,
    client,
    socket: () => current,
    model: new Map(),
    order: new Map(),
    suppressed: 0,
    see,
  };
  client.on('new_message', (f) => see(f.data as ChatMessage, true));
  client.on('consultation_reply', (f) => {
    if (f.data.message) see(f.data.message as ChatMessage, true);
  });
  devices.push(device);
  return device;
}

/**
 * What a failure message needs to be actionable in CI: the chaos so far, every device's state
 * and every instance's fate and last warnings.
 */
function diagnosis(events: readonly string[]): string {
  const lines = [`chaos so far: ${events.join('; ') || 'none'}`];
  for (const d of devices) {
    lines.push(`${d.name}: ${d.client.state.status}, ${d.client.pendingMessages} send(s) pending`);
  }
  for (const instance of topo.instances) lines.push(instance.describe());
  return lines.join('\n');
}

it('every device ends with exactly the messages of its conversations, once each, in seq order', async () => {
  const events: string[] = [];
  try {
    await chaosRun(events);
  } catch (error) {
    if (error instanceof Error) error.message += `\n${diagnosis(events)}`;
    throw error;
  }
}, 300_000);

async function chaosRun(events: string[]): Promise<void> {
  const ids = await demoIds(topo.front);
  const { token: admin } = await topo.front.login('admin');
  // Two more customers with consultations of their own, created through the API.
  for (const name of ['chaos_a', 'chaos_b']) {
    await topo.front.http('POST', '/api/v1/admin/users', {
      token: admin,
      body: { username: name, password: 'demo1234', display_name: name, role: 'customer' },
    });
  }
  const conversations: Record<string, string[]> = {
    [ids.facial]: ['customer_456', 'consultant_001', 'doctor_001'],
    [ids.followUp]: ['customer_789', 'consultant_001'],
  };
  for (const name of ['chaos_a', 'chaos_b']) {
    const { token } = await topo.front.login(name);
    const res = await topo.front.http('POST', '/api/v1/conversations', { token, body: { title: `混沌 ${name}` } });
    conversations[res.body.id] = [name, 'consultant_001'];
  }

  const layout: Array<[string, 'mobile' | 'desktop' | 'tablet']> = [
    ['customer_456', 'mobile'],
    ['customer_456', 'desktop'],
    ['consultant_001', 'desktop'],
    ['consultant_001', 'tablet'],
    ['doctor_001', 'desktop'],
    ['customer_789', 'mobile'],
    ['chaos_a', 'desktop'],
    ['chaos_b', 'mobile'],
  ];
  for (const [user, type] of layout) makeDevice(user, type).client.connect();
  await eventually(
    async () => devices.every((d) => d.client.state.status === 'open'),
    Boolean,
    'every device open',
    20_000,
  );
  // Every device starts tracking its conversations from where they are now.
  for (const d of devices) {
    const { token } = await topo.front.login(d.username);
    const list = await topo.front.http('GET', '/api/v1/conversations', { token });
    for (const c of list.body.conversations as Array<{ id: string; last_seq: number }>) {
      d.client.track(c.id, { lastSeq: c.last_seq });
    }
  }
  const baseline = new Map<string, number>();
  {
    const { token } = await topo.front.login('consultant_001');
    const list = await topo.front.http('GET', '/api/v1/conversations', { token });
    for (const c of list.body.conversations as Array<{ id: string; last_seq: number }>) baseline.set(c.id, c.last_seq);
  }

  // Senders: one device per customer conversation side, plus both consultant devices.
  const senders = devices.filter((d) =>
    [
      'customer_456/desktop',
      'consultant_001/desktop',
      'consultant_001/tablet',
      'customer_789/mobile',
      'chaos_a/desktop',
      'chaos_b/mobile',
    ].includes(d.name),
  );
  const convsOf = (d: Device) => Object.keys(conversations).filter((c) => conversations[c]!.includes(d.username));
  let sent = 0;
  const counts = { sendFailures: 0 };
  const failures: string[] = [];
  const pending: Promise<unknown>[] = [];
  let next = 0;
  const chaos = async (i: number) => {
    if (i > 0 && i % DROP_EVERY === 0) {
      const victim = devices[Math.floor(Math.random() * devices.length)]!;
      victim.socket()?.terminate();
      events.push(`${i}: dropped ${victim.name}`);
    }
    if (i === Math.floor(TOTAL * 0.25)) {
      const instance = topo.instances[0]!;
      instance.signal('SIGKILL');
      events.push(`${i}: kill -9 ${instance.name}`);
    }
    if (i === Math.floor(TOTAL * 0.5)) {
      await within(topo.redis.stop({ hard: true }), 20_000, 'stopping the test Redis');
      await within(topo.redis.start(), 20_000, 'starting the test Redis again');
      events.push(`${i}: restarted Redis`);
    }
    if (i === Math.floor(TOTAL * 0.75)) {
      const instance = topo.instances[1]!;
      instance.signal('SIGTERM');
      events.push(`${i}: SIGTERM ${instance.name}`);
    }
  };
  while (next < TOTAL) {
    const i = next++;
    await chaos(i);
    const sender = senders[i % senders.length]!;
    const mine = convsOf(sender);
    const conversationId = mine[i % mine.length]!;
    const send = sender.client
      .send(conversationId, `chaos #${i} ${randomUUID().slice(0, 8)}`)
      .then((ack) => {
        sent++;
        sender.see({ id: ack.messageId, conversationId, seq: ack.seq }, false);
      })
      .catch((error: Error) => {
        counts.sendFailures++;
        failures.push(`#${i} from ${sender.name}: ${error.message}`);
      });
    pending.push(send);
    // Keep at most 64 sends in flight overall.
    if (pending.length >= 64) await within(Promise.all(pending.splice(0, 32)), SEND_BUDGET_MS, `sends before #${i}`);
  }
  await within(Promise.all(pending), SEND_BUDGET_MS, 'the last sends');
  expect(failures).toEqual([]);
  expect(counts.sendFailures).toBe(0);
  expect(sent).toBe(TOTAL);

  // After the storm: one last message per conversation, so a device that lost the tail of a
  // conversation live sees a seq jump and repairs it (live-path gap detection).
  const consultant = devices.find((d) => d.name === 'consultant_001/desktop')!;
  for (const conversationId of Object.keys(conversations)) {
    const ack = await within(
      consultant.client.send(conversationId, 'chaos: final'),
      SEND_BUDGET_MS,
      `the final message to ${conversationId}`,
    );
    consultant.see({ id: ack.messageId, conversationId, seq: ack.seq }, false);
  }

  // The database is the truth.
  const truth = new Map<string, Array<{ id: string; seq: number }>>();
  const { token: consultantToken } = await topo.front.login('consultant_001');
  for (const conversationId of Object.keys(conversations)) {
    const rows: Array<{ id: string; seq: number }> = [];
    let after = baseline.get(conversationId) ?? 0;
    for (;;) {
      const page = await within(
        topo.front.http('GET', `/api/v1/chat/${conversationId}/messages?after_seq=${after}&limit=200`, {
          token: consultantToken,
        }),
        30_000,
        `history of ${conversationId} after ${after}`,
      );
      rows.push(...page.body.messages);
      if (!page.body.has_more) break;
      after = rows.at(-1)!.seq;
    }
    truth.set(conversationId, rows);
  }
  const stored = [...truth.values()].reduce((n, rows) => n + rows.length, 0);
  expect(stored).toBe(TOTAL + Object.keys(conversations).length);

  const expected = (conversationId: string) => truth.get(conversationId)!.map((m) => m.id);
  const held = (d: Device, conversationId: string) =>
    [...(d.model.get(conversationId) ?? new Map<string, number>())]
      .filter(([, seq]) => seq > (baseline.get(conversationId) ?? 0))
      .sort((a, b) => a[1] - b[1])
      .map(([id]) => id);
  const converged = () =>
    devices.every((d) => convsOf(d).every((c) => JSON.stringify(held(d, c)) === JSON.stringify(expected(c))));
  await eventually(
    async () => converged(),
    Boolean,
    'every device to hold every message of its conversations',
    60_000,
  ).catch((error: Error) => {
    const detail = devices.map(
      (d) =>
        `${d.name}: ${convsOf(d)
          .map((c) => `${held(d, c).length}/${expected(c).length}`)
          .join(' ')}`,
    );
    throw new Error(`${error.message}\n${detail.join('\n')}`);
  });

  for (const d of devices) {
    for (const c of convsOf(d)) {
      expect(held(d, c)).toEqual(expected(c));
      const order = (d.order.get(c) ?? []).filter((s) => s > (baseline.get(c) ?? 0));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(new Set(order).size).toBe(order.length);
    }
    // Nothing from conversations this device's user is not in.
    expect([...d.model.keys()].filter((c) => !convsOf(d).includes(c))).toEqual([]);
  }

  const stats = devices.map((d) => d.client.deliveryStats()!);
  const sum = (k: keyof (typeof stats)[number]) => stats.reduce((n, s) => n + s[k], 0);
  const report = {
    sent,
    stored,
    deliveredToHandlers: sum('delivered'),
    byReplay: sum('replayed'),
    gapRepairs: sum('gapRepairs'),
    resumeRetries: sum('resumeRetries'),
    byHttpReload: sum('reloads'),
    duplicatesDroppedByClient: sum('duplicates'),
    duplicatesSuppressedInModel: devices.reduce((n, d) => n + d.suppressed, 0),
  };
  console.log(`chaos run: ${events.join('; ')}\n${JSON.stringify(report, null, 2)}`);
  expect(report.byReplay).toBeGreaterThan(0);
  // The instance that was neither killed nor drained rode out the Redis restart.
  expect(topo.instances[2]!.running()).toBe(true);
  for (const instance of topo.instances) {
    expect(instance.logs.filter((r) => r.msg.startsWith('unhandled promise rejection'))).toEqual([]);
  }
}
