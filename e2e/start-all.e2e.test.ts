/**
 * Issue #17, item 7: `npm start` (scripts/start-all.ts) as a real child process on free ports, with
 * the web app's production build (built once per run, as for the browser tests; `--no-build` then
 * reuses it). The banner names both URLs; WEB_PORT alone is enough (the API's allowed origins and
 * the web app's API address follow the ports); an ALLOWED_ORIGINS without the web app is named in
 * a warning that says what to set. Every wait is for output or an exit, with a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../apps/api/test/support/free-port.ts';
import { buildWeb, ROOT } from './support/stack.ts';

/** Start-up opens PGlite, hashes the demo passwords and starts `next start`: generous, but bounded. */
const START_DEADLINE_MS = 90_000;

class Start {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  readonly dataDir = mkdtempSync(join(tmpdir(), 'anmei-start-all-'));

  constructor(env: Record<string, string>) {
    this.child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts/start-all.ts'), '--no-build'], {
      cwd: ROOT,
      // Only what a user would set: no inherited NODE_ENV, ALLOWED_ORIGINS, ...
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), DATA_DIR: this.dataDir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: cleanup ends start-all and both servers by this one id.
      detached: true,
    });
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
    });
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Waits until stdout or stderr shows `text`; fails with both if the process exits or the deadline passes. */
  async output(text: string, where: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
    const deadline = Date.now() + START_DEADLINE_MS;
    let exit: number | null | undefined;
    void this.exited.then((code) => {
      exit = code;
    });
    while (!this[where].includes(text)) {
      if (exit !== undefined || Date.now() > deadline) {
        throw new Error(
          `start-all ${exit !== undefined ? `exited (${exit})` : 'timed out'} before printing "${text}" on ${where}:\n` +
            `--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const code = await this.exited;
    rmSync(this.dataDir, { recursive: true, force: true });
    return code;
  }

  /** Last resort after a failed test: the whole process group. */
  killGroup(): void {
    try {
      if (this.child.pid) process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

const started: Start[] = [];
beforeAll(() => buildWeb(), 600_000);
afterAll(async () => {
  for (const s of started) s.killGroup();
});

describe('npm start', () => {
  it('prints the web app URL next to the API, and WEB_PORT alone is enough', async () => {
    const [apiPort, webPort] = [await freePort(), await freePort()];
    const start = new Start({ PORT: String(apiPort), WEB_PORT: String(webPort) });
    started.push(start);
    await start.output('AnmeiSmart is running:');
    const webUrl = `http://localhost:${webPort}`;
    const apiUrl = `http://localhost:${apiPort}`;
    expect(start.stdout).toContain(`  Web app   ${webUrl}   <- open this in a browser\n`);
    expect(start.stdout).toContain(`  API       ${apiUrl}   (API docs: ${apiUrl}/docs)\n`);
    expect(start.stderr).not.toContain('ALLOWED_ORIGINS');

    // The web app reaches the API on its non-default port (NEXT_PUBLIC_WS_URL followed PORT).
    const login = await fetch(`${webUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'customer_456', password: 'demo1234' }),
    });
    expect(login.status).toBe(200);
    // The API allows the web app's origin (ALLOWED_ORIGINS followed WEB_PORT), not the default one.
    const cors = async (origin: string) =>
      (await fetch(`${apiUrl}/health`, { headers: { origin } })).headers.get('access-control-allow-origin');
    expect(await cors(webUrl)).toBe(webUrl);
    expect(await cors(`http://127.0.0.1:${webPort}`)).toBe(`http://127.0.0.1:${webPort}`);
    expect(await cors('http://localhost:3000')).toBeNull();

    expect(await start.stop()).toBe(0);
  });

  it('says exactly what to set when ALLOWED_ORIGINS leaves the web app out', async () => {
    const [apiPort, webPort] = [await freePort(), await freePort()];
    const start = new Start({
      PORT: String(apiPort),
      WEB_PORT: String(webPort),
      ALLOWED_ORIGINS: 'https://app.example.test',
    });
    started.push(start);
    await start.output('ALLOWED_ORIGINS', 'stderr');
    await start.output('AnmeiSmart is running:');
    expect(start.stderr).toContain(
      `start: ALLOWED_ORIGINS (https://app.example.test) does not include the web app's origin http://localhost:${webPort}: ` +
        'browsers there cannot open the WebSocket (403 ORIGIN_NOT_ALLOWED). ' +
        `Set ALLOWED_ORIGINS=https://app.example.test,http://localhost:${webPort},http://127.0.0.1:${webPort} ` +
        'or leave it unset (npm start then allows the web app at WEB_PORT).\n',
    );
    // Kept as set: the warning does not quietly change it.
    const cors = await fetch(`http://localhost:${apiPort}/health`, {
      headers: { origin: `http://localhost:${webPort}` },
    });
    expect(cors.headers.get('access-control-allow-origin')).toBeNull();
    expect(await start.stop()).toBe(0);
  });
});
