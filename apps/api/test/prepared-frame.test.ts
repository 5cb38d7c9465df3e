/**
 * ws/prepared-frame.ts writes a broadcast's frame to ws's TCP socket itself. What a peer reads must be
 * what ws's own `send` would have sent, for every header length, and in call order with ws's sends.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { prepareTextFrame, writePrepared } from '../src/ws/prepared-frame.ts';

describe('prepared broadcast frames', () => {
  let wss: WebSocketServer;
  let server: WebSocket;
  let client: WebSocket;

  beforeAll(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
    await once(wss, 'listening');
    const accepted = once(wss, 'connection');
    client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false });
    [server] = (await accepted) as [WebSocket];
    await once(client, 'open');
  });

  afterAll(async () => {
    client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  });

  /** The next `n` messages the client reads, as text. */
  function nextMessages(n: number): Promise<string[]> {
    return new Promise((resolve) => {
      const got: string[] = [];
      const onMessage = (data: Buffer, isBinary: boolean) => {
        expect(isBinary).toBe(false);
        got.push(data.toString('utf8'));
        if (got.length === n) {
          client.off('message', onMessage);
          resolve(got);
        }
      };
      client.on('message', onMessage);
    });
  }

  // 7-bit, 16-bit and 64-bit payload lengths (RFC 6455 §5.2), and multi-byte UTF-8.
  it.each([0, 1, 125, 126, 65_535, 65_536, 200_000])(
    'arrives as the same text as ws send for a %i-byte payload',
    async (size) => {
      // Exactly `size` bytes of valid UTF-8, a three-byte character first.
      const payload = Buffer.alloc(size, 'a');
      if (size >= 3) payload.write('问', 0);
      const frame = prepareTextFrame(payload);
      // The header is 2, 4 or 10 bytes, followed by the payload unchanged.
      expect(frame.wire.length - payload.length).toBe(size > 65_535 ? 10 : size > 125 ? 4 : 2);
      expect(frame.wire.subarray(frame.wire.length - payload.length).equals(payload)).toBe(true);
      const received = nextMessages(2);
      writePrepared(server, frame);
      server.send(payload, { binary: false });
      const [prepared, viaWs] = await received;
      expect(prepared).toBe(payload.toString('utf8'));
      expect(viaWs).toBe(prepared);
    },
  );

  it('keeps call order with ws send, under a cork too', async () => {
    const received = nextMessages(6);
    const tcp = (server as unknown as { _socket: { cork(): void; uncork(): void } })._socket;
    writePrepared(server, prepareTextFrame(Buffer.from('1')));
    server.send('2');
    tcp.cork();
    writePrepared(server, prepareTextFrame(Buffer.from('3')));
    server.send('4');
    writePrepared(server, prepareTextFrame(Buffer.from('5')));
    tcp.uncork();
    server.send('6');
    expect(await received).toEqual(['1', '2', '3', '4', '5', '6']);
  });

  it('shares one frame between sockets without changing it', async () => {
    const payload = Buffer.from('{"action":"system_notification"}');
    const frame = prepareTextFrame(payload);
    const before = Buffer.from(frame.wire);
    const received = nextMessages(3);
    for (let i = 0; i < 3; i++) writePrepared(server, frame);
    expect(await received).toEqual([payload.toString(), payload.toString(), payload.toString()]);
    expect(frame.wire.equals(before)).toBe(true);
    expect(frame.payload).toBe(payload);
  });
});
