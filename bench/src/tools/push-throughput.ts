/**
 * The push pipeline under load, against the FCM HTTP v1 double over real TLS (keep-alive):
 *
 * 1. Pushes per second through the durable queue: one consultant reply to a conversation whose
 *    offline doctor has `devices` registered Android devices becomes `devices` pushes; `replies`
 *    replies are sent at once and the clock stops when the double holds every push.
 * 2. The sender's answer while pushes are in flight: `acks` consultant replies over HTTP, 20 at a
 *    time, with the FCM double answering at once and then after 500 ms (a slow push service);
 *    p50 / p99 of the HTTP answer. The ack path must not care.
 *
 *   node --conditions=@anmei/source --import tsx bench/src/tools/push-throughput.ts [replies=100] [devices=20] [acks=400]
 *
 * Runs the real API in this process on the embedded PGlite (the default product), with
 * PUSH_CONCURRENCY at its default (16) and at 64. The FCM double (the API's test double) runs in
 * a process of its own, so this process's CPU is the API's alone.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { buildApp } from '../../../apps/api/src/app.ts';
import { loadConfig } from '../../../apps/api/src/config.ts';
import { FcmProvider } from '../../../apps/api/src/notifications/providers/fcm.ts';
import { makeTestTls } from '../../../apps/api/test/support/test-tls.ts';

const replies = Number(process.argv[2] ?? 100);
const devices = Number(process.argv[3] ?? 20);
const acks = Number(process.argv[4] ?? 400);
const PROJECT = 'anmei-bench';
const EMAIL = 'push@anmei-bench.iam.gserviceaccount.com';

const tls = await makeTestTls();
const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const fcm = await startDoubleProcess();

/** The FCM double in its own process (fcm-double-process.ts), driven over stdin/stdout. */
async function startDoubleProcess() {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL('./fcm-double-process.ts', import.meta.url).pathname],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const ask = async (line: string): Promise<string> => {
    child.stdin.write(`${line}\n`);
    const next = await answers.next();
    if (next.done) throw new Error('the FCM double process ended');
    return next.value;
  };
  const setup = JSON.stringify({
    publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }),
    tls,
    email: EMAIL,
    project: PROJECT,
  });
  const { baseUrl, tokenUri } = JSON.parse(await ask(setup)) as { baseUrl: string; tokenUri: string };
  return {
    baseUrl,
    tokenUri,
    delay: (ms: number) => ask(`delay ${ms}`),
    count: async () => Number(await ask('count')),
    /** Polls the count every 20 ms (the double is another process) until `n`, or fails after `timeoutMs`. */
    async waitForCount(n: number, timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while ((await this.count()) < n) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${n} pushes at the FCM double`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: () => {
      child.stdin.end();
      return new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

async function run(concurrency: number) {
  const config = loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'silent',
    SEED_DEMO_DATA: 'true',
    PUSH_CONCURRENCY: String(concurrency),
  });
  const provider = new FcmProvider({
    credentials: {
      project_id: PROJECT,
      client_email: EMAIL,
      private_key: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      token_uri: fcm.tokenUri,
    },
    baseUrl: fcm.baseUrl,
    ca: tls.ca,
  });
  const built = await buildApp(config, { notificationProviders: [provider] });
  const { url } = await built.listen();
  const seed = built.seed;
  if (!seed) throw new Error('demo data expected');
  const doctor = seed.users.find((u) => u.username === 'doctor_001')?.id ?? '';
  const conversation = seed.conversations.find((c) => c.title === '王小姐的面部护理咨询')?.id ?? '';
  for (let i = 0; i < devices; i++) {
    await built.ctx.store.devices.register({
      userId: doctor,
      platform: 'android',
      deviceType: 'mobile',
      provider: 'fcm',
      token: `bench-${concurrency}-${i}-${randomBytes(8).toString('hex')}`,
    });
  }
  const login = await fetch(`${url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'consultant_001', password: 'demo1234' }),
  });
  const { access_token: token } = (await login.json()) as { access_token: string };
  const send = async (content: string): Promise<number> => {
    const started = performance.now();
    const res = await fetch(`${url}/api/v1/chat/${conversation}/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ content }),
    });
    if (res.status !== 200) throw new Error(`send answered ${res.status}`);
    await res.arrayBuffer();
    return performance.now() - started;
  };

  // 1. Throughput of the queue.
  await fcm.delay(0);
  const expected = (await fcm.count()) + replies * devices;
  const started = performance.now();
  await Promise.all(Array.from({ length: replies }, (_, i) => send(`吞吐 ${i}`)));
  await fcm.waitForCount(expected, 300_000);
  const seconds = (performance.now() - started) / 1000;
  const pushesPerSecond = Math.round((replies * devices) / seconds);

  // 2. The sender's answer with a fast and with a slow push service.
  const ackLatency = async (delayMs: number) => {
    await fcm.delay(delayMs);
    const times: number[] = [];
    for (let i = 0; i < acks; i += 20) {
      times.push(...(await Promise.all(Array.from({ length: 20 }, (_, j) => send(`应答 ${delayMs} ${i + j}`)))));
    }
    times.sort((a, b) => a - b);
    const at = (q: number) => (times[Math.min(times.length - 1, Math.floor(q * times.length))] ?? 0).toFixed(1);
    return `${at(0.5)} / ${at(0.99)}`;
  };
  const fast = await ackLatency(0);
  const slow = await ackLatency(500);
  await fcm.delay(0);
  await built.close();
  return { concurrency, pushesPerSecond, seconds: seconds.toFixed(2), fast, slow };
}

console.log(
  `| PUSH_CONCURRENCY | pushes/s (${replies} replies × ${devices} devices) | ack p50 / p99 ms, FCM answers at once | ack p50 / p99 ms, FCM answers after 500 ms |`,
);
console.log('|---|---|---|---|');
for (const concurrency of [16, 64]) {
  const r = await run(concurrency);
  console.log(
    `| ${r.concurrency} | ${r.pushesPerSecond.toLocaleString('en')} (${r.seconds} s) | ${r.fast} | ${r.slow} |`,
  );
}
await fcm.stop();
