/**
 * The nginx configuration for N API instances, used by `npm run cluster:local` and by the
 * topology tests, so what we test is what we run. deploy/nginx.conf is the same shape as a
 * static file for production. nginx OSS has no active health checks, so /ready is not polled
 * here: an instance is skipped passively (a refused connection, or a 503 such as a draining
 * instance's answer to an upgrade); orchestrators poll /ready themselves (docs/operations.md).
 */
export interface NginxConfigOptions {
  /** Folder for pid, logs and temp files (nginx runs unprivileged from there). */
  dir: string;
  listenPort: number;
  upstreamPorts: readonly number[];
}

export function nginxConfig({ dir, listenPort, upstreamPorts }: NginxConfigOptions): string {
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
    listen 127.0.0.1:${listenPort};
    client_max_body_size 25m;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Request-Id $request_id;
      proxy_read_timeout 3600s;
      proxy_connect_timeout 2s;
      # POSTs are retried too: sends carry client_message_id, so a retry never duplicates.
      proxy_next_upstream error timeout http_502 http_503 non_idempotent;
    }
    # Prometheus scrapes the instances directly, never through the proxy.
    location = /metrics { return 404; }
  }
}
`;
}
