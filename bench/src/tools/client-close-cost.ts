/**
 * What a client spends noticing that its server died (scenario 6's "drop noticed" phase), in one
 * process: N clients of one kind connected to a real API child process (PGlite, memory bus), the
 * child killed with SIGKILL, then the CPU and wall time until every client saw its close. Kinds:
 * `sdk` (@anmei/client's WebSocketClient, as the storm runs it) and `ws` (a bare ws socket with a
 * ticket, as the raw loop). `--prof FILE` writes a CPU profile of that window.
 *   node --conditions=@anmei/source --import tsx bench/src/tools/client-close-cost.ts sdk 3000 [--prof /tmp/x.cpuprofile]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { httpTicketSource, WebSocketClient, type WebSocketConstructor } from '@anmei/client';
import WebSocket from 'ws';
import { SOURCE_NODE_ARGS } from '../../../scripts/source-node-args.ts';
import { demoToken, freePort, waitForHealth } from './api-child.ts';
import { profileThisProcess } from './cpu-profile.ts';

const [kind = 'sdk', countArg = '3000'] = process.argv.slice(2);
const profIndex = process.argv.indexOf('--prof');
const profFile = profIndex > 0 ? process.argv[profIndex + 1] : undefined;
const N = Number(countArg);

const port = await freePort();
const api: ChildProcess = spawn(process.execPath, [...SOURCE_NODE_ARGS, 'apps/api/src/main.ts'], {
  env: {
    ...process.env,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    WS_UPGRADES_PER_IP: '1000000',
    WS_MAX_CONNECTIONS_PER_USER: '1000000',
    WS_MAX_CONNECTIONS_PER_IP: '1000000',
    RATE_LIMIT_TICKETS_PER_USER: '1000000',
    RATE_LIMIT_LOGIN_PER_IP: '1000',
    RATE_LIMIT_LOGIN_PER_USERNAME: '1000',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const base = `http://127.0.0.1:${port}`;
await waitForHealth(base);
const token = await demoToken(base);

let closed = 0;
let allClosed: () => void = () => undefined;
const done = new Promise<void>((r) => {
  allClosed = r;
});
const onLost = () => {
  if (++closed === N) allClosed();
};
const ticketSource = httpTicketSource({
  apiUrl: base,
  getToken: async () => token,
  fetch: (url, init) => fetch(url, init),
});
const keep: unknown[] = [];
const connectCpu0 = process.cpuUsage();
for (let i = 0; i < N; i++) {
  if (kind === 'sdk') {
    const client = new WebSocketClient({
      url: base.replace('http', 'ws'),
      getTicket: ticketSource,
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      deviceType: 'desktop',
      environment: null,
    });
    let open = false;
    const opened = new Promise<void>((r) => client.onEvent('open', () => r()));
    client.onEvent('open', () => {
      open = true;
    });
    client.onEvent('close', () => {
      if (open) onLost();
      open = false;
    });
    client.connect();
    await opened;
    keep.push(client);
  } else {
    const ticket = await ticketSource({ signal: new AbortController().signal } as never);
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/v1/ws?ticket=${ticket}`, {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    });
    ws.on('error', () => undefined);
    await new Promise((r) => ws.once('message', r));
    ws.once('close', onLost);
    keep.push(ws);
  }
}
const connectCpu = process.cpuUsage(connectCpu0);
const stopProfile = profFile ? await profileThisProcess() : undefined;
const c0 = process.cpuUsage();
const t0 = performance.now();
api.kill('SIGKILL');
await done;
const ms = performance.now() - t0;
const c = process.cpuUsage(c0);
if (stopProfile && profFile) await stopProfile(profFile);
console.log(
  `${kind}: connecting (ticket request included) ${((connectCpu.user + connectCpu.system) / N).toFixed(0)} µs of client CPU per client`,
);
console.log(
  `${kind}: ${N} closes noticed in ${ms.toFixed(0)} ms, CPU ${((c.user + c.system) / 1000).toFixed(0)} ms (${((c.user + c.system) / N).toFixed(0)} µs per client)`,
);
process.exit(0);
