/**
 * What a client spends on a whole reconnect after its server died (scenario 6 from the clients'
 * side: notice the drop, wait the backoff, connect to the other instance, be registered), in
 * one process with no worker threads, so its CPU and profile are the clients' alone. N clients
 * of one kind are connected to server A; server B of the same kind already runs; A is killed
 * with SIGKILL and every client reconnects to B (the `WebSocket` constructor or the Manager's
 * uri plays the load balancer, as in load/storm-clients.ts). Prints the client CPU per client
 * from the kill until every client is open again, and the wall time. Kinds:
 * - `sdk`: @anmei/client's WebSocketClient as the storm runs it (resume ticket, `resume`);
 *   A and B are apps/api on one fresh Postgres schema (memory bus: A is dead when B serves).
 * - `sio`: socket.io-client's built-in reconnection against the bench's Socket.IO server.
 * `--prof FILE` writes a CPU profile of the window from the kill until all are back.
 *   node --conditions=@anmei/source --import tsx bench/src/tools/client-reconnect-cost.ts sdk 3000 [--prof /tmp/x.cpuprofile]
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { httpTicketSource, WebSocketClient, type WebSocketConstructor } from '@anmei/client';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { SOURCE_NODE_ARGS } from '../../../scripts/source-node-args.ts';
import { openBenchDatabase } from '../harness/database.ts';
import { demoToken, freePort, waitForHealth } from './api-child.ts';
import { profileThisProcess } from './cpu-profile.ts';

const [kind = 'sdk', countArg = '3000'] = process.argv.slice(2);
if (kind !== 'sdk' && kind !== 'sio') throw new Error(`kind must be sdk or sio, not ${kind}`);
const profIndex = process.argv.indexOf('--prof');
const profFile = profIndex > 0 ? process.argv[profIndex + 1] : undefined;
const N = Number(countArg);
const children: ChildProcess[] = [];
/** The servers run on core 0 when this process runs elsewhere (`taskset -c 1 node …`), so they do not share its core. */
const pinServers = cpus().length > 1 && existsSync('/usr/bin/taskset');
function spawnServer(args: string[], options: SpawnOptions): ChildProcess {
  return pinServers
    ? spawn('/usr/bin/taskset', ['-c', '0', process.execPath, ...args], options)
    : spawn(process.execPath, args, options);
}
const database = kind === 'sdk' ? await openBenchDatabase() : undefined;
if (database && database.kind !== 'postgres')
  throw new Error('sdk needs Postgres (BENCH_DATABASE_URL or 127.0.0.1:5432)');

/** Starts a server child and resolves its base URL: Socket.IO's announces its port; ours is given a free one. */
async function startServer(): Promise<{ child: ChildProcess; base: string }> {
  if (kind === 'sio') {
    const child = spawnServer([...SOURCE_NODE_ARGS, 'bench/src/servers/socketio.ts'], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    children.push(child);
    const port = await new Promise<number>((resolve) =>
      child.on('message', (m: { type: string; port?: number }) => m.type === 'listening' && resolve(m.port!)),
    );
    return { child, base: `http://127.0.0.1:${port}` };
  }
  const port = await freePort();
  const child = spawnServer([...SOURCE_NODE_ARGS, 'apps/api/src/main.ts'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database!.url,
      DATABASE_SCHEMA: database!.schema!,
      WS_UPGRADES_PER_IP: '1000000',
      WS_MAX_CONNECTIONS_PER_USER: '1000000',
      WS_MAX_CONNECTIONS_PER_IP: '1000000',
      RATE_LIMIT_TICKETS_PER_USER: '1000000',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitForHealth(base);
  return { child, base };
}

const a = await startServer();
const b = await startServer();
let target = a.base;

let back = 0;
let lost = 0;
/** CPU and wall time when the last client noticed its drop (set once). */
let lostAt: { cpu: NodeJS.CpuUsage; ms: number } | undefined;
let c0 = process.cpuUsage();
let t0 = 0;
const onLost = () => {
  if (++lost === N) lostAt = { cpu: process.cpuUsage(c0), ms: performance.now() - t0 };
};
let allBack: () => void = () => undefined;
const done = new Promise<void>((r) => {
  allBack = r;
});
const onReopen = () => {
  if (++back === N) allBack();
};

/** The SDK's `WebSocket` option: `ws`, sent to wherever `target` (the load balancer's choice) says now. */
class RoutedWebSocket extends WebSocket {
  constructor(url: string) {
    const routed = new URL(url);
    routed.host = new URL(target).host;
    super(routed.toString(), { perMessageDeflate: false, skipUTF8Validation: true });
  }
}

async function connectSdk(token: string): Promise<void> {
  const client = new WebSocketClient({
    url: a.base.replace('http', 'ws'),
    // Only when a resume ticket is refused: the HTTP ticket of the instance `target` names now.
    getTicket: (request) =>
      httpTicketSource({ apiUrl: target, getToken: async () => token, fetch: (u, i) => fetch(u, i) })(request),
    WebSocket: RoutedWebSocket as unknown as WebSocketConstructor,
    deviceType: 'desktop',
    environment: null,
  });
  let opens = 0;
  let open = false;
  const opened = new Promise<void>((resolve) =>
    client.onEvent('open', () => {
      open = true;
      if (++opens === 1) resolve();
      else onReopen();
    }),
  );
  client.onEvent('close', () => {
    if (open) onLost();
    open = false;
  });
  client.connect();
  await opened;
}

async function connectSio(): Promise<void> {
  const socket = io(a.base, { transports: ['websocket'], forceNew: true, reconnection: true });
  socket.io.on('reconnect_attempt', () => {
    (socket.io as unknown as { uri: string }).uri = target;
  });
  let opens = 0;
  socket.on('disconnect', () => onLost());
  await new Promise<void>((resolve) =>
    socket.on('connect', () => {
      if (++opens === 1) resolve();
      else onReopen();
    }),
  );
}

const token = kind === 'sdk' ? await demoToken(a.base) : '';
// 50 at a time: the first connects are not measured.
for (let i = 0; i < N; i += 50) {
  const wave = Math.min(50, N - i);
  await Promise.all(Array.from({ length: wave }, () => (kind === 'sdk' ? connectSdk(token) : connectSio())));
}

const stopProfile = profFile ? await profileThisProcess() : undefined;
c0 = process.cpuUsage();
t0 = performance.now();
target = b.base;
a.child.kill('SIGKILL');
await done;
const ms = performance.now() - t0;
const c = process.cpuUsage(c0);
if (stopProfile && profFile) await stopProfile(profFile);
const perClient = (u: NodeJS.CpuUsage) => ((u.user + u.system) / N).toFixed(0);
if (lostAt)
  console.log(
    `${kind}: ${N} drops noticed in ${lostAt.ms.toFixed(0)} ms, ${perClient(lostAt.cpu)} µs of client CPU per client`,
  );
console.log(
  `${kind}: ${N} clients back on B in ${ms.toFixed(0)} ms, client CPU ${((c.user + c.system) / 1000).toFixed(0)} ms ` +
    `(${((c.user + c.system) / N).toFixed(0)} µs per client: user ${(c.user / N).toFixed(0)}, system ${(c.system / N).toFixed(0)})`,
);
for (const child of children) child.kill('SIGKILL');
await database?.drop();
process.exit(0);
