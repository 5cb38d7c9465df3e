/**
 * What the client-side tools (client-close-cost.ts, client-reconnect-cost.ts) need around an API
 * child process of their own: a free loopback port, waiting for `/health`, a demo user's token.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves once `base`/health answers 200; throws after about 60 s. */
export async function waitForHealth(base: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {}
    if (i > 600) throw new Error(`the API at ${base} did not start within 60 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An access token of the demo customer `customer_456` (DEMO_PASSWORD, default demo1234). */
export async function demoToken(base: string): Promise<string> {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'customer_456', password: process.env.DEMO_PASSWORD ?? 'demo1234' }),
  });
  const token = ((await login.json()) as { access_token?: string }).access_token;
  if (!token) throw new Error(`login failed: ${login.status}`);
  return token;
}
