/**
 * nginx in front of API processes, as in production (deploy/nginx.conf): round-robin, no
 * sticky sessions, WebSocket upgrade passed through, failed upstreams skipped. Runs in the
 * foreground from a generated config in a temp dir and is stopped by PID.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { nginxConfig } from '../../../../deploy/nginx-config.ts';
import { freePort } from './free-port.ts';

const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export async function startNginx(upstreamPorts: readonly number[]): Promise<Nginx> {
  await promisify(execFile)(NGINX, ['-v']).catch(() => {
    throw new Error('nginx is not installed: run `apt-get install -y nginx-light` (.ci/run does this)');
  });
  const dir = await mkdtemp(join(tmpdir(), 'anmei-nginx-'));
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  await writeFile(file, nginxConfig({ dir, listenPort: port, upstreamPorts }));
  const child: ChildProcess = spawn(NGINX, ['-c', file, '-p', dir], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}; see ${dir}/error.log`);
    if (Date.now() > deadline) throw new Error('nginx did not start listening within 10 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGQUIT');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
