/**
 * A broadcast frame's write to one socket, server CPU µs per delivery, in alternating blocks:
 * ws's `send` per recipient (a header built, the socket corked, two writes, uncorked) against the
 * whole frame built once per broadcast and written as one Buffer to each recipient's TCP socket
 * (ws/prepared-frame.ts). 1,000 real sockets on loopback; their reader is a child process, so its
 * CPU is not counted. Each round writes one frame to every socket and waits until the reader got them.
 *   node --conditions=@anmei/source --import tsx bench/src/tools/frame-write-cost.ts [sockets=1000] [bytes=1400]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type WebSocket, WebSocketServer } from 'ws';
import { prepareTextFrame, writePrepared } from '../../../apps/api/src/ws/prepared-frame.ts';

const READER = process.argv[2] === 'reader';

if (READER) {
  const { default: Client } = await import('ws');
  const [url, sockets] = [process.argv[3] as string, Number(process.argv[4])];
  let got = 0;
  const clients: WebSocket[] = [];
  for (let i = 0; i < sockets; i++) {
    const ws = new Client(url);
    ws.on('message', () => {
      if (++got === sockets) {
        got = 0;
        process.send?.('round');
      }
    });
    clients.push(ws);
    await once(ws, 'open');
  }
  process.send?.('ready');
  process.on('disconnect', () => process.exit(0));
} else {
  const sockets = Number(process.argv[2] ?? 1000);
  const bytes = Number(process.argv[3] ?? 1400);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false, clientTracking: false });
  await once(wss, 'listening');
  const open: WebSocket[] = [];
  wss.on('connection', (ws) => open.push(ws));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const reader = fork(fileURLToPath(import.meta.url), ['reader', url, String(sockets)], {
    execArgv: process.execArgv,
  });
  await once(reader, 'message');
  const payload = Buffer.from(JSON.stringify({ action: 'new_message', data: { content: 'x'.repeat(bytes - 40) } }));
  const TEXT = { binary: false };
  const variants = {
    'ws send': () => {
      for (let i = 0; i < open.length; i++) (open[i] as WebSocket).send(payload, TEXT);
    },
    'prepared frame': () => {
      const frame = prepareTextFrame(payload);
      for (let i = 0; i < open.length; i++) writePrepared(open[i] as WebSocket, frame);
    },
  };
  const ROUNDS = 400;
  const results: Record<string, number[]> = { 'ws send': [], 'prepared frame': [] };
  for (let block = 0; block < 10; block++) {
    const order = (block % 2 ? ['prepared frame', 'ws send'] : ['ws send', 'prepared frame']) as Array<
      keyof typeof variants
    >;
    for (const name of order) {
      const c0 = process.cpuUsage();
      for (let r = 0; r < ROUNDS; r++) {
        const done = once(reader, 'message');
        variants[name]();
        await done;
      }
      const c = process.cpuUsage(c0);
      if (block > 0) results[name]?.push((c.user + c.system) / (ROUNDS * open.length));
    }
  }
  for (const [name, xs] of Object.entries(results)) {
    const sorted = [...xs].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
    console.log(
      `${name}: ${median.toFixed(2)} µs per delivery (median of ${xs.length} blocks; ${xs.map((x) => x.toFixed(2)).join(', ')})`,
    );
  }
  reader.kill();
  wss.close();
  process.exit(0);
}
