/**
 * Keeps the bench harness from rotting: every target server starts as its own process, the
 * load generator (its own process, worker threads) connects a few clients per target and
 * publishes a few messages, and each subscriber receives each message exactly once.
 * Counts only — speed is measured by `npm run bench`, never asserted here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientSpec, TargetKind } from '../src/common/types.ts';
import type { BenchDatabase } from '../src/harness/database.ts';
import { type BenchEnv, type Deployment, deploy } from '../src/harness/deploy.ts';
import { type GeneratorHandle, startGenerator } from '../src/harness/generator.ts';

const TARGETS: TargetKind[] = ['rawws', 'socketio', 'ours'];
const SUBSCRIBERS = 4;
const MESSAGES = 3;

// PGlite in memory for ours: nothing to clean up and no dependency on the machine's Postgres.
const db: BenchDatabase = { kind: 'pglite', drop: async () => undefined };
const env: BenchEnv = { db, log: () => undefined };
const deployments = new Map<TargetKind, Deployment>();
let generator: GeneratorHandle | undefined;

beforeAll(async () => {
  const [started, ...deployed] = await Promise.all([
    startGenerator({ workers: 2 }),
    ...TARGETS.map((kind) =>
      deploy(env, kind, 1, SUBSCRIBERS + 1, [{ members: Array.from({ length: SUBSCRIBERS + 1 }, (_, i) => i) }]),
    ),
  ]);
  generator = started;
  deployed.forEach((d, i) => {
    deployments.set(TARGETS[i]!, d);
  });
}, 60_000);

afterAll(async () => {
  await generator?.kill();
  await Promise.all([...deployments.values()].map((d) => d.stop()));
});

async function waitForDelivered(expected: number): Promise<number> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const { delivered } = await generator!.snapshot();
    if (delivered >= expected || Date.now() > deadline) return delivered;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bench harness smoke run', () => {
  it('delivers every published message once to every subscriber of every target', async () => {
    const specs: ClientSpec[] = [];
    const publishers: ClientSpec[] = [];
    for (const [kind, d] of deployments) {
      const room = d.rooms[0]!;
      for (let u = 1; u <= SUBSCRIBERS; u++) specs.push(d.spec(u, 0, { worker: u, rooms: [room] }));
      publishers.push(d.spec(0, 0, { worker: 0, publishTo: room, publishVia: kind === 'ours' ? 'ingress' : 'chat' }));
    }
    const ours = deployments.get('ours')!;
    expect(await generator!.connect(specs)).toMatchObject({ connected: specs.length, failed: 0 });
    expect(await generator!.connect(publishers)).toMatchObject({ connected: publishers.length, failed: 0 });
    const servers = await Promise.all([...deployments.values()].map((d) => d.instances[0]!.connections()));
    // The peers' publishers are clients of the server too; ours' publisher uses the bench ingress.
    expect(servers).toEqual([SUBSCRIBERS + 1, SUBSCRIBERS + 1, SUBSCRIBERS]);

    await generator!.reset();
    await generator!.burst(MESSAGES, 1024);
    const expected = TARGETS.length * MESSAGES * SUBSCRIBERS;
    expect(await waitForDelivered(expected)).toBe(expected);

    // The persisted path: a subscriber of ours sends send_message; the other 3 get it.
    await generator!.stop();
    await generator!.close();
    await generator!.reset();
    const room = ours.rooms[0]!;
    await generator!.connect([
      ...Array.from({ length: SUBSCRIBERS - 1 }, (_, k) => ours.spec(k + 1, 0, { worker: k, rooms: [room] })),
      ours.spec(SUBSCRIBERS, 0, { worker: 0, publishTo: room, publishVia: 'chat' }),
    ]);
    await generator!.burst(MESSAGES, 256);
    expect(await waitForDelivered(MESSAGES * (SUBSCRIBERS - 1))).toBe(MESSAGES * (SUBSCRIBERS - 1));

    const final = await generator!.snapshot();
    expect(final.published).toBe(MESSAGES);
    expect(final.dropped).toBe(0);
  }, 30_000);
});

describe('bench harness smoke run: chat mix', () => {
  it('delivers every member’s message to the other members of its conversation, on every target', async () => {
    await generator!.close();
    await generator!.reset();
    // Users 1..3 of each target's room both send (ours: WS send_message, persisted) and receive.
    const members = [1, 2, 3];
    const specs: ClientSpec[] = [];
    for (const d of deployments.values()) {
      const room = d.rooms[0]!;
      for (const u of members)
        specs.push(d.spec(u, 0, { worker: u, rooms: [room], publishTo: room, publishVia: 'chat' }));
    }
    expect(await generator!.connect(specs)).toMatchObject({ connected: specs.length, failed: 0 });
    await generator!.burst(MESSAGES, 256);
    // Nobody receives their own message: each one reaches the other two members.
    const expected = TARGETS.length * members.length * MESSAGES * (members.length - 1);
    expect(await waitForDelivered(expected)).toBe(expected);
    const final = await generator!.snapshot();
    expect(final.published).toBe(TARGETS.length * members.length * MESSAGES);
    expect(final.dropped).toBe(0);
  }, 30_000);
});

/** Waits until `kind`'s server has let go of every connection the generator closed. */
async function waitForNoConnections(kind: TargetKind): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const open = await deployments.get(kind)!.instances[0]!.connections();
    if (open === 0) return;
    if (Date.now() > deadline) throw new Error(`${kind} still reports ${open} connections 10 s after they were closed`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('bench harness smoke run: connect rate (scenario 8)', () => {
  it('opens and times every prepared connection on every target, and ours’ phases step by step', async () => {
    await generator!.close();
    for (const kind of TARGETS) await waitForNoConnections(kind);
    const users = [1, 2, 3];
    const specsOf = (kind: TargetKind) => users.map((u) => deployments.get(kind)!.spec(u, 0, { worker: u }));
    for (const kind of TARGETS) {
      const paths = kind === 'ours' ? (['upgrade', 'full'] as const) : (['upgrade'] as const);
      for (const path of paths) {
        expect(await generator!.connectRatePrepare(specsOf(kind), path)).toEqual({ prepared: 3, missing: 0 });
        const report = await generator!.connectRateRun(2);
        expect(report).toMatchObject({ failed: 0 });
        expect(report.timings).toHaveLength(3);
        for (const t of report.timings) {
          expect(t.accepted).toBeGreaterThanOrEqual(t.start);
          // Only ours' full path asks for a ticket inside the timed attempt; only ours reports the 101.
          expect(t.ticket !== undefined).toBe(kind === 'ours' && path === 'full');
          expect(t.open !== undefined).toBe(kind === 'ours');
        }
        expect(await deployments.get(kind)!.instances[0]!.connections()).toBe(3);
        await generator!.close();
        await waitForNoConnections(kind);
      }
    }
    // Resume tickets (a server change in progress): each spec is either prepared from one or missing.
    const resume = await generator!.connectRatePrepare(specsOf('ours'), 'resume');
    expect(resume.prepared + resume.missing).toBe(3);
    if (resume.prepared > 0) expect(await generator!.connectRateRun(2)).toMatchObject({ failed: 0 });
    await generator!.close();
  }, 30_000);
});
