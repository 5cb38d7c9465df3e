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
import { freePort } from './free-port.ts';

const NGINX = '/usr/sbin/nginx';

export interface Nginx {
  port: number;
  url: string;
  stop(): Promise<void>;
}

export function nginxConfig(dir: string, port: number, upstreamPorts: readonly number[]): string {
  return `
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  map $http_upgrade $connection_upgrade { default upgrade; '' close; }
  upstream api {
${upstreamPorts.map((p) => `    server 127.0.0.1:${p} max_fails=1 fail_timeout=5s;`).join('\n')}
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_read_timeout 3600s;
      # POSTs are retried too: our sends carry client_message_id, so a retry never duplicates.
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
      proxy_connect_timeout 2s;
    }
  }
}
`;
}

export async function startNginx(upstreamPorts: readonly number[]): Promise<Nginx> {
  await promisify(execFile)(NGINX, ['-v']).catch(() => {
    throw new Error('nginx is not installed: run `apt-get install -y nginx-light` (.ci/run does this)');
  });
  const dir = await mkdtemp(join(tmpdir(), 'anmei-nginx-'));
  const port = await freePort();
  const file = join(dir, 'nginx.conf');
  await writeFile(file, nginxConfig(dir, port, upstreamPorts));
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
