/**
 * Resume tickets against the real API (issue #19): after a drop the client reconnects with the
 * ticket its last `connected` (or `pong`) frame carried, without asking for a token or a ticket;
 * a resume ticket that is refused costs one immediate retry with a ticket from getToken.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClientError } from '../src/index.ts';
import { clientFor, startTestApp, useTestApp } from './support/real-api.ts';
import { until, waitForState } from './support/wait.ts';

const app = useTestApp();

function dropOnServer(connectionId: string): void {
  const connection = app.built.ctx.local.get(connectionId);
  if (!connection) throw new Error(`no server connection ${connectionId}`);
  connection.socket.terminate();
}

/** Opens (and closes) a socket with `url`'s ticket first, so the client's own use of it is refused. */
async function spend(url: URL): Promise<void> {
  const thief = new WebSocket(url.toString());
  await new Promise((resolve, reject) => {
    thief.once('message', resolve);
    thief.once('error', reject);
  });
  thief.close();
}

describe('resume tickets', () => {
  it('reconnect after an abnormal drop with the ticket from connected, with no token request', async () => {
    const { client, sockets, tokenRequests } = clientFor(app, 'customer_456', { reconnectInterval: 20 });
    client.connect();
    const first = await waitForState(client, 'open');
    dropOnServer(first.connectionId);

    const second = await waitForState(client, 'open', { where: (s) => s.connectionId !== first.connectionId });
    expect(second.userId).toBe(first.userId);
    expect(tokenRequests).toHaveLength(1);
    const resumeTicket = sockets.urls[1]!.searchParams.get('ticket')!;
    expect(JSON.parse(Buffer.from(resumeTicket.split('.')[1]!, 'base64url').toString()).aud).toBe('ws-resume');
  });

  it('fall back at once to getToken when the server refuses the resume ticket, reporting no error', async () => {
    // Reads the resume ticket off the wire, as someone replaying a captured URL could.
    const seen: string[] = [];
    const urls: URL[] = [];
    class Watching extends WebSocket {
      constructor(url: string) {
        super(url);
        urls.push(new URL(url));
        this.on('message', (data) => {
          const frame = JSON.parse(data.toString());
          if (frame.action === 'connected') seen.push(frame.data.resume_ticket);
        });
      }
    }
    const { client, tokenRequests } = clientFor(app, 'customer_789', {
      WebSocket: Watching,
      reconnectInterval: 20,
      // One retry: had the fallback counted as one, the client would end in `failed`.
      maxReconnectAttempts: 1,
    });
    const errors: ClientError[] = [];
    client.onEvent('error', (e) => {
      errors.push(e);
    });
    client.connect();
    const first = await waitForState(client, 'open');
    const stolen = new URL(urls[0]!);
    stolen.searchParams.set('ticket', seen[0]!);
    await spend(stolen);
    dropOnServer(first.connectionId);

    await waitForState(client, 'open', { where: (s) => s.connectionId !== first.connectionId });
    // Attempt 2 presented the spent resume ticket and was refused; attempt 3 asked getToken.
    const tickets = urls.map((u) => u.searchParams.get('ticket'));
    expect(tickets).toHaveLength(3);
    expect(tickets[1]).toBe(seen[0]);
    expect(tickets[2]).not.toBe(seen[0]);
    expect(tokenRequests).toEqual([{ refresh: false }, { refresh: false }]);
    expect(errors).toEqual([]);
  });

  it('are forgotten on disconnect(): the next connect() asks getToken', async () => {
    const { client, sockets, tokenRequests } = clientFor(app, 'doctor_001');
    client.connect();
    await waitForState(client, 'open');
    client.disconnect();
    client.connect();
    await waitForState(client, 'open', { where: () => sockets.created.length === 2 });
    expect(tokenRequests).toHaveLength(2);
    for (const url of sockets.urls) {
      const ticket = url.searchParams.get('ticket')!;
      expect(JSON.parse(Buffer.from(ticket.split('.')[1]!, 'base64url').toString()).aud).toBe('ws-ticket');
    }
  });

  it('are renewed by a ping at half their life even when the connection is never idle', async () => {
    // 2 s tickets; the heartbeat alone would not ping for a minute.
    const short = await startTestApp({ WS_RESUME_TICKET_TTL: '2' });
    try {
      const tickets: string[] = [];
      const pings: number[] = [];
      const urls: URL[] = [];
      class Watching extends WebSocket {
        constructor(url: string) {
          super(url);
          urls.push(new URL(url));
          this.on('message', (data) => {
            const frame = JSON.parse(data.toString());
            if (frame.data?.resume_ticket) tickets.push(frame.data.resume_ticket);
          });
        }
        override send(data: string): void {
          if (JSON.parse(data).action === 'ping') pings.push(Date.now());
          super.send(data);
        }
      }
      const { client, tokenRequests } = clientFor(short, 'customer_456', {
        WebSocket: Watching,
        heartbeatInterval: 60_000,
        reconnectInterval: 20,
      });
      const opened = Date.now();
      client.connect();
      const first = await waitForState(client, 'open');
      await until(() => tickets.length >= 2, 'a pong with a renewed resume ticket', 5_000);
      expect(pings).toHaveLength(1);
      // Past half of the first ticket's life (more than 1 s: exp has whole seconds), long before the heartbeat's minute.
      expect(pings[0]! - opened).toBeGreaterThanOrEqual(500);
      expect(pings[0]! - opened).toBeLessThan(10_000);
      short.built.ctx.local.get(first.connectionId)!.socket.terminate();
      await waitForState(client, 'open', { where: (s) => s.connectionId !== first.connectionId });
      // The reconnect presented the renewed ticket, not the first one, and asked for no token.
      expect(urls[1]!.searchParams.get('ticket')).toBe(tickets[1]);
      expect(tokenRequests).toHaveLength(1);
      client.dispose();
    } finally {
      await short.close();
    }
  });
});
