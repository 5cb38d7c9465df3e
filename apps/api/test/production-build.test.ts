/**
 * The production path of issue #18, end to end and slow (minutes: two `npm ci` runs): the API's
 * Dockerfile stages run on the host (no container engine here): the build stage installs and runs
 * `npm run build` on a copy of the repository, the runtime stage installs only production
 * dependencies into a fresh folder and receives the built files. The compiled API then starts from
 * there with the image's CMD — on PGlite, and in production mode on Postgres + Redis — and real
 * users log in, chat over WebSocket and upload an attachment. The three publishable packages are
 * packed from the build stage, and a fresh project installs the tarballs and type-checks against them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { WebSocketClient, type WebSocketConstructor } from '@anmei/client';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { StageResult } from '../../../scripts/dockerfile/run-stage.ts';
import { ApiClient } from './support/api-client.ts';
import { type ApiProcess, startApiProcess } from './support/api-process.ts';
import { createTestSchema, type TestSchema } from './support/postgres-schema.ts';
import {
  API_DOCKERFILE,
  hostEnv,
  hostPath,
  type ImageStages,
  ROOT,
  runImageStages,
} from './support/production-image.ts';
import { deleteKeysWithPrefix } from './support/redis-keys.ts';

const run = promisify(execFile);
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PACKAGES = ['@anmei/protocol', '@anmei/client', '@anmei/react'] as const;
const PASSWORD = 'prod-build-secret-1';
// A real 1×1 PNG.
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
  'base64',
);

let work: string;
let image: ImageStages;
let build: StageResult;
let runtime: StageResult;
const started = Date.now();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'anmei-prod-build-'));
  image = await runImageStages(API_DOCKERFILE, work);
  build = image.results.get('build')!;
  runtime = image.results.get('runtime')!;
}, 900_000);

afterAll(async () => {
  const stages = [...(image?.durations ?? [])].map(([n, ms]) => `${n} ${Math.round(ms / 1000)} s`).join(', ');
  process.stdout.write(
    `production-build: stages ${stages}; whole file ${Math.round((Date.now() - started) / 1000)} s\n`,
  );
  if (work) await rm(work, { recursive: true, force: true });
});

describe('the API image (apps/api/Dockerfile, stages run on the host)', () => {
  it('has the stages build and runtime, on the Node major version this host runs', () => {
    expect(image.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const stage of image.stages) {
      const major = /^node:(\d+)\./.exec(stage.image)?.[1];
      expect(major, `${stage.name} stage's image ${stage.image} vs host Node ${process.version}`).toBe(
        process.versions.node.split('.')[0],
      );
    }
    expect(runtime.user, 'the runtime stage must drop root (USER)').toBe('node');
    expect(runtime.cmd).toEqual(['node', 'apps/api/dist/main.js']);
    expect(runtime.healthcheck, 'the runtime stage needs a HEALTHCHECK on /health').not.toBeNull();
  });

  it('installs no TypeScript tooling and ships no TypeScript sources in the runtime stage', async () => {
    const app = hostPath(runtime);
    for (const tool of ['typescript', 'tsx', 'vitest', 'drizzle-kit', '@biomejs/biome', 'next']) {
      await expect(
        access(join(app, 'node_modules', tool)),
        `${tool} in the runtime stage's node_modules`,
      ).rejects.toThrow();
    }
    const sources = (await readdir(app, { recursive: true }))
      .filter((f) => !f.startsWith('node_modules'))
      .filter((f) => /\.tsx?$/.test(f) && !f.endsWith('.d.ts'));
    expect(sources, 'TypeScript sources copied into the runtime stage').toEqual([]);
  });
});

/** The runtime stage's CMD in its WORKDIR, with the image's ENV and the test's overrides. */
function startCompiled(name: string, env: Record<string, string>): Promise<ApiProcess> {
  const [program, ...args] = runtime.cmd!;
  if (program !== 'node') throw new Error(`the runtime CMD must start node directly, not ${program}`);
  // The test's own free port and loopback address instead of the image's PORT=8000 and HOST=0.0.0.0.
  const { PORT: _port, HOST: _host, ...imageEnv } = runtime.env;
  return startApiProcess(name, { ...imageEnv, ...env }, { argv: args, cwd: hostPath(runtime) });
}

async function healthcheckPasses(api: ApiProcess): Promise<void> {
  const [program, ...args] = runtime.healthcheck!;
  expect(program).toBe('node');
  // The probe reads PORT from the container's environment.
  await run(process.execPath, args, { cwd: hostPath(runtime), env: { ...hostEnv(), PORT: String(api.port) } });
}

interface Account {
  username: string;
  token: string;
}

/**
 * The customer chats over WebSocket and uploads a file; the consultant receives both. `http` is the
 * client both logged in with (it holds their tokens for the consultant's socket).
 */
async function chatAndUpload(http: ApiClient, api: ApiProcess, customer: Account, consultant: Account): Promise<void> {
  const started = await http.http('POST', '/api/v1/conversations', { token: customer.token, body: {} });
  expect(started.status, `start a consultation: ${JSON.stringify(started.body)}`).toBe(201);
  const conversationId = started.body.id as string;

  const listener = await http.connect(consultant.username);
  const client = new WebSocketClient({
    url: api.url.replace('http', 'ws'),
    getToken: async () => customer.token,
    // Node 20 has no global WebSocket: the `ws` one, typed as the client's constructor.
    WebSocket: WebSocket as unknown as WebSocketConstructor,
    environment: null,
  });
  try {
    client.connect();
    const text = `compiled build ${randomBytes(4).toString('hex')}`;
    const ack = await client.send(conversationId, text);
    const [received] = await listener.waitFor('new_message', { where: (f) => f.data.content === text });
    expect(received?.data.id, 'the consultant receives the sent message over WebSocket').toBe(ack.messageId);

    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(PNG)], { type: 'image/png' }), 'photo.png');
    const upload = await fetch(`${api.url}/api/v1/chat/${conversationId}/attachments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${customer.token}` },
      body: form,
    });
    const sent = (await upload.json()) as { message_id: string };
    expect(upload.status, `upload: ${JSON.stringify(sent)}`).toBe(200);
    const [frame] = await listener.waitFor('new_message', { where: (f) => f.data.id === sent.message_id });
    const url = frame?.data.metadata?.url as string;
    const download = await fetch(`${api.url}${url}`, { headers: { authorization: `Bearer ${consultant.token}` } });
    expect(download.status, `download ${url}`).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG), 'downloaded bytes equal the upload').toBe(true);
  } finally {
    client.dispose();
    await listener.close();
  }
}

async function stopCleanly(api: ApiProcess): Promise<void> {
  api.signal('SIGTERM');
  expect(await api.exited, `graceful shutdown of the compiled API:\n${api.describe()}`).toBe(0);
}

describe('the compiled API started from the runtime stage', () => {
  it('on PGlite (demo data): logs in, chats over WebSocket, uploads an attachment, passes its health check', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'anmei-prod-pglite-'));
    // Production mode refuses demo data and has no other way to make a staff account without a
    // database of its own to edit (PGlite is inside the process): this run is development mode.
    const api = await startCompiled('prod-pglite', {
      NODE_ENV: 'development',
      SEED_DEMO_DATA: 'true',
      DATA_DIR: dataDir,
      JWT_SECRET: randomBytes(32).toString('hex'),
    });
    try {
      await healthcheckPasses(api);
      const http = new ApiClient(api.url);
      const customer = { username: 'customer_456', token: (await http.login('customer_456')).token };
      const consultant = { username: 'consultant_001', token: (await http.login('consultant_001')).token };
      await chatAndUpload(http, api, customer, consultant);
      await stopCleanly(api);
    } finally {
      api.signal('SIGKILL');
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);

  it('in production mode on Postgres + Redis: registers, logs in, chats, uploads, passes its health check', async () => {
    const schema: TestSchema = await createTestSchema();
    const prefix = `test:prod-build:${randomBytes(4).toString('hex')}:`;
    const dataDir = await mkdtemp(join(tmpdir(), 'anmei-prod-pg-'));
    const api = await startCompiled('prod-postgres', {
      DATABASE_URL: schema.url,
      DATABASE_SCHEMA: schema.schema,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      DATA_DIR: dataDir,
      JWT_SECRET: randomBytes(32).toString('hex'),
    }).catch(async (error: unknown) => {
      await schema.drop();
      throw error;
    });
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    try {
      expect(api.logs.find((r) => r.msg === 'api listening')).toMatchObject({ database: 'postgres', bus: 'redis' });
      await healthcheckPasses(api);
      const http = new ApiClient(api.url);
      const names = ['prod_customer', 'prod_consultant'];
      for (const username of names) {
        const res = await http.http('POST', '/api/v1/auth/register', {
          body: { username, password: PASSWORD, display_name: username },
        });
        expect(res.status, `register ${username}: ${JSON.stringify(res.body)}`).toBe(201);
      }
      // Staff accounts are made by an admin; with no admin in an empty production database, the
      // test promotes its second account in the database itself.
      const db = await schema.connect();
      await db.query(`update users set role = 'consultant' where username = $1`, [names[1]]);
      await db.end();
      const [customer, consultant] = await Promise.all(
        names.map(async (username) => ({ username, token: (await http.login(username, PASSWORD)).token })),
      );
      await chatAndUpload(http, api, customer!, consultant!);
      await stopCleanly(api);
    } finally {
      api.signal('SIGKILL');
      await redis.connect();
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
      await schema.drop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('the publishable packages, packed from the build stage', () => {
  it('npm pack lists only built JavaScript, declarations, package.json and README.md', async () => {
    const args = ['pack', '--dry-run', '--json', ...PACKAGES.flatMap((p) => ['--workspace', p])];
    const { stdout } = await run('npm', args, { cwd: hostPath(build), env: hostEnv() });
    const packs = JSON.parse(stdout) as { name: string; files: { path: string }[] }[];
    expect(packs.map((p) => p.name).sort()).toEqual([...PACKAGES].sort());
    for (const pack of packs) {
      const files = pack.files.map((f) => f.path);
      const stray = files.filter((f) => !/^(package\.json|README\.md|dist\/.+\.(js|d\.ts))$/.test(f));
      expect(stray, `${pack.name} would publish more than its build`).toEqual([]);
      expect(files, `${pack.name}: entry point and its types`).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'dist/index.js', 'dist/index.d.ts']),
      );
    }
  }, 120_000);

  it('a fresh project installs the three tarballs, imports them in Node and type-checks a program', async () => {
    const project = join(work, 'consumer');
    await mkdir(project);
    const { stdout } = await run(
      'npm',
      ['pack', '--json', '--pack-destination', project, ...PACKAGES.flatMap((p) => ['--workspace', p])],
      { cwd: hostPath(build), env: hostEnv() },
    );
    const tarballs = (JSON.parse(stdout) as { filename: string }[]).map((p) => `./${p.filename}`);
    // The peers and their types at the versions this repository tests with.
    const react = JSON.parse(await readFile(join(ROOT, 'packages/react/package.json'), 'utf8')).devDependencies;
    const peers = ['react', 'react-dom', '@types/react', '@types/react-dom'].map((n) => `${n}@${react[n]}`);
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run('npm', ['install', '--no-audit', '--no-fund', ...tarballs, ...peers], { cwd: project, env: hostEnv() });

    const imported = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const [p, c, r] = await Promise.all(['@anmei/protocol', '@anmei/client', '@anmei/react'].map((m) => import(m))); console.log(typeof p.decodeServerFrame, typeof c.WebSocketClient, typeof r.WebSocketProvider);",
      ],
      { cwd: project, env: hostEnv() },
    );
    expect(imported.stdout.trim(), 'the packages import in plain Node').toBe('function function function');

    await writeFile(join(project, 'tsconfig.json'), JSON.stringify(CONSUMER_TSCONFIG));
    await writeFile(join(project, 'app.tsx'), CONSUMER_PROGRAM);
    const tsc = join(ROOT, 'node_modules', '.bin', 'tsc');
    const checked = await run(tsc, ['-p', project], { cwd: project, env: hostEnv() }).catch(
      (error: { stdout?: string }) => ({ stdout: error.stdout ?? String(error), failed: true }),
    );
    expect(checked, `tsc against the installed packages:\n${checked.stdout}`).not.toHaveProperty('failed');
  }, 300_000);
});

const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'es2022',
    module: 'nodenext',
    moduleResolution: 'nodenext',
    lib: ['es2023', 'dom', 'dom.iterable'],
    jsx: 'react-jsx',
    strict: true,
    noEmit: true,
    // Check the shipped declarations too, not only this program's use of them.
    skipLibCheck: false,
    types: [],
  },
  files: ['app.tsx'],
};

/** Uses each package the way an app would; a wrong or missing declaration fails tsc. */
const CONSUMER_PROGRAM = `
import { CloseCode, decodeServerFrame, type ServerFrame } from '@anmei/protocol';
import { WebSocketClient, type ConnectionStatus } from '@anmei/client';
import { WebSocketProvider, useWebSocketByPage } from '@anmei/react';

const client = new WebSocketClient({ url: 'wss://chat.example.com', getToken: async () => 'token' });
client.on('new_message', (frame) => console.log(frame.data.content.toUpperCase()));
const status: ConnectionStatus = client.state.status;
const decoded = decodeServerFrame('{}');
const frame: ServerFrame | null = decoded.ok ? decoded.frame : null;
const code: number = CloseCode.normal;

function Page() {
  const { isConnected, sendMessage } = useWebSocketByPage();
  return <button type="button" disabled={!isConnected} onClick={() => void sendMessage('c1', '你好')}>send</button>;
}

export const app = (
  <WebSocketProvider client={client} isAuthenticated pathname="/chat">
    <Page />
  </WebSocketProvider>
);
console.log(status, frame, code);
`;
