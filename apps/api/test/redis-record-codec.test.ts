/**
 * The per-instance records' encoders and decoder (realtime/bus/redis-codec.ts): the per-publisher
 * shortcuts write and read exactly what the general JSON path does.
 */
import { describe, expect, it } from 'vitest';
import { LocalRecipients } from '../src/realtime/bus/local-recipients.ts';
import {
  encodeRecordMeta,
  RecipientsLineEncoder,
  RecordDecoder,
  RecordMetaEncoder,
} from '../src/realtime/bus/redis-codec.ts';
import type { Envelope } from '../src/realtime/types.ts';

/** One record as the routing writes it: recipients line, header line, frame. */
function record(userIds: readonly string[], meta: string, frame: string): Buffer {
  return Buffer.concat([Buffer.from(`${userIds.join(' ')}\n${meta}\n`), Buffer.from(frame)]);
}

function metaOf(busId: string, envelope: Envelope, frame: string): string {
  return encodeRecordMeta(busId, envelope, Buffer.byteLength(frame));
}

describe('RecordMetaEncoder', () => {
  const envelopes: Envelope[] = [
    { frame: '', origin: 'inst-a' },
    { frame: '', origin: 'inst-a', excludeConnectionId: 'conn-1' },
    { frame: '', origin: 'inst-b' },
    { frame: '', origin: 'inst-"quoted"\\ 医生' },
    { frame: '', origin: 'inst-a', excludeConnectionId: 'c"2\n' },
    { frame: '', origin: 'inst-a', deviceTypes: ['mobile'] },
    { frame: '', origin: 'inst-a', connectionType: 'admin', excludeConnectionId: 'conn-3' },
    { frame: '', origin: 'inst-a', control: { type: 'participants_changed', conversationId: 'c1' } },
    { frame: '', origin: 'inst-a' },
  ];

  it('writes the general header line byte for byte, whatever the envelope carries and in any order', () => {
    const encoder = new RecordMetaEncoder('inst-"a"');
    for (const [k, envelope] of [...envelopes, ...envelopes.slice().reverse()].entries()) {
      expect(encoder.encode(envelope, k * 97)).toBe(encodeRecordMeta('inst-"a"', envelope, k * 97));
    }
  });
});

describe('RecipientsLineEncoder', () => {
  it('joins the ids with one space', () => {
    expect(new RecipientsLineEncoder().encode(['u1', 'u2', 'u3'])).toBe('u1 u2 u3');
  });

  it('refuses an empty id or one with a space or a line break, every time, next to ids it already checked', () => {
    const encoder = new RecipientsLineEncoder();
    encoder.encode(['u1', 'u2']);
    for (const bad of ['', 'u 3', 'u\n3']) {
      for (let attempt = 0; attempt < 2; attempt++) {
        expect(() => encoder.encode(['u1', bad, 'u2'])).toThrow(
          `bus: user id ${JSON.stringify(bad)} is empty or contains a space or a line break`,
        );
      }
    }
    expect(encoder.encode(['u2', 'u1'])).toBe('u2 u1');
  });
});

describe('RecordDecoder', () => {
  it('reads records whose headers differ only in length, and headers that change between them', () => {
    const plain: Envelope = { frame: '', origin: 'inst-a' };
    const skipping: Envelope = { frame: '', origin: 'inst-a', excludeConnectionId: 'conn-9' };
    const frames = ['{"a":1}', 'x'.repeat(1234), '', '{"医":"生"}', 'y'.repeat(10)];
    const parts = [
      record(['u1', 'u2'], metaOf('inst-a', plain, frames[0]!), frames[0]!),
      record(['u1'], metaOf('inst-a', plain, frames[1]!), frames[1]!),
      record(['u3'], metaOf('inst-a', skipping, frames[2]!), frames[2]!),
      record(['u2'], metaOf('inst-b', plain, frames[3]!), frames[3]!),
      record(['u1'], metaOf('inst-a', plain, frames[4]!), frames[4]!),
    ];
    const decoder = new RecordDecoder();
    // Twice: the second message starts with the header the first one ended with.
    for (let round = 0; round < 2; round++) {
      const { records, malformed } = decoder.decode(Buffer.concat(parts));
      expect(malformed).toBe(false);
      expect(records.map((r) => [r.busId, r.recipients, Buffer.from(r.envelope.frame).toString()])).toEqual([
        ['inst-a', 'u1 u2', frames[0]],
        ['inst-a', 'u1', frames[1]],
        ['inst-a', 'u3', frames[2]],
        ['inst-b', 'u2', frames[3]],
        ['inst-a', 'u1', frames[4]],
      ]);
      expect(records[2]?.envelope.excludeConnectionId).toBe('conn-9');
      expect(records[1]?.envelope.excludeConnectionId).toBeUndefined();
    }
  });

  it('reads a header whose length is not its last key, and one with the same start as the kept one but another key', () => {
    const decoder = new RecordDecoder();
    const kept = record(['u1'], '{"b":"inst-a","o":"inst-a","n":3}', 'abc');
    const lengthFirst = record(['u2'], '{"n":2,"b":"inst-a","o":"inst-a"}', 'de');
    const moreKeys = record(['u3'], '{"b":"inst-a","o":"inst-a","x":"c1","n":1}', 'f');
    const { records, malformed } = decoder.decode(Buffer.concat([kept, lengthFirst, kept, moreKeys, kept]));
    expect(malformed).toBe(false);
    expect(
      records.map((r) => [r.recipients, Buffer.from(r.envelope.frame).toString(), r.envelope.excludeConnectionId]),
    ).toEqual([
      ['u1', 'abc', undefined],
      ['u2', 'de', undefined],
      ['u1', 'abc', undefined],
      ['u3', 'f', 'c1'],
      ['u1', 'abc', undefined],
    ]);
  });

  it('refuses what JSON refuses after a kept header: a leading zero, a sign, no digits, a broken start', () => {
    const good = record(['u1'], '{"b":"inst-a","o":"inst-a","n":3}', 'abc');
    for (const bad of [
      '{"b":"inst-a","o":"inst-a","n":03}',
      '{"b":"inst-a","o":"inst-a","n":-3}',
      '{"b":"inst-a","o":"inst-a","n":}',
      '{"b":"inst-a","o":"inst-a","n":3',
      '{"b":"inst-a","o":"inst-b","n":3}x',
      '{"b":"inst-a""o":"inst-a","n":3}',
    ]) {
      const decoder = new RecordDecoder();
      const { records, malformed } = decoder.decode(Buffer.concat([good, record(['u2'], bad, 'abc')]));
      expect({ bad, malformed, count: records.length }).toEqual({ bad, malformed: true, count: 1 });
    }
  });

  it('refuses a length past the end of the message', () => {
    const decoder = new RecordDecoder();
    const good = record(['u1'], '{"b":"inst-a","o":"inst-a","n":3}', 'abc');
    const short = record(['u2'], '{"b":"inst-a","o":"inst-a","n":4}', 'abc');
    expect(decoder.decode(Buffer.concat([good, short]))).toMatchObject({
      malformed: true,
      records: [{ recipients: 'u1' }],
    });
  });
});

describe('LocalRecipients', () => {
  it("answers a line's held recipients in line order, and anew as soon as the held users change", () => {
    const wanted = new Set(['u1', 'u3']);
    let version = 0;
    const local = new LocalRecipients(wanted, () => version);
    expect(local.of('u1 u2 u3')).toEqual(['u1', 'u3']);
    expect(local.of('u3 u2 u1')).toEqual(['u3', 'u1']);
    expect(local.of('')).toEqual([]);
    wanted.delete('u1');
    wanted.add('u2');
    version++;
    expect(local.of('u1 u2 u3')).toEqual(['u2', 'u3']);
    expect(local.of('u4')).toEqual([]);
  });
});
