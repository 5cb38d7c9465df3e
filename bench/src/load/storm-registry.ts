/**
 * One worker's storm clients (scenario 6) and the load balancer's routes they follow: counts
 * who is open, when each client lost its connection and when it was open again (epoch ms).
 */
import type { ClientSpec, StormStatus } from '../common/types.ts';
import { connectStormClient, type StormClient, type StormHooks } from './storm-clients.ts';

const routes = new Map<string, string>();
const clients: StormClient[] = [];
let reopenedAt: number[] = [];
let lostAt: number[] = [];
let failedAttempts = 0;
let ticketRequestedAt: number[] = [];
let ticketReceivedAt: number[] = [];

const hooks: StormHooks = {
  route: (url) => routes.get(url) ?? url,
  reopened: () => reopenedAt.push(Date.now()),
  lost: () => lostAt.push(Date.now()),
  failedAttempt: () => failedAttempts++,
  ticketRequested: () => ticketRequestedAt.push(Date.now()),
  ticketReceived: () => ticketReceivedAt.push(Date.now()),
};

export async function addStormClient(spec: ClientSpec): Promise<void> {
  clients.push(await connectStormClient(spec, hooks));
}

/** New connections for `from` go to `to` (both http://127.0.0.1:<port>). */
export function reroute(from: string, to: string): void {
  routes.set(from, to);
}

export function stormStatus(): StormStatus {
  let open = 0;
  for (const c of clients) if (c.open) open++;
  return { clients: clients.length, open, reopenedAt, lostAt, failedAttempts, ticketRequestedAt, ticketReceivedAt };
}

export function closeStormClients(): void {
  for (const c of clients) c.close();
  clients.length = 0;
  routes.clear();
  reopenedAt = [];
  lostAt = [];
  failedAttempts = 0;
  ticketRequestedAt = [];
  ticketReceivedAt = [];
}
