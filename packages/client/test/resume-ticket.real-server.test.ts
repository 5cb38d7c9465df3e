/**
 * Resume tickets against the real API (issue #19): after a drop the client reconnects with the
 * ticket its last `connected` (or `pong`) frame carried, without asking for a token or a ticket;
 * a resume ticket that is refused costs one immediate retry with a ticket from getToken.
 */
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { ClientError } from '../src/index.ts';
import { clientFor, useTestApp } from './support/real-api.ts';
import { waitForState } from './support/wait.ts';

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
});
