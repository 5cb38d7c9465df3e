/**
 * The thread's message model for messages restored from the outbox after a reload (issue #17):
 * however many ways the same message reaches the view, it is one bubble.
 */
import type { PendingMessage } from '@anmei/client';
import { describe, expect, it } from 'vitest';
import type { WireMessage } from '../src/lib/api.ts';
import { fromPending, fromWire, merge, receiptOf, sendFailureText, type ViewMessage } from '../src/lib/messages.ts';

const ME = 'customer-1';
const written = new Date('2030-01-01T08:00:00Z');

function restored(id: string, content: string, offsetMs: number): PendingMessage {
  return {
    conversationId: 'c1',
    clientMessageId: id,
    content,
    createdAt: new Date(written.getTime() + offsetMs),
    expiresAt: new Date(written.getTime() + offsetMs + 300_000),
    restored: true,
  };
}

function wire(id: string, clientMessageId: string, seq: number, content: string): WireMessage {
  return {
    id,
    conversation_id: 'c1',
    seq,
    sender_id: ME,
    client_message_id: clientMessageId,
    message_type: 'text',
    content,
    metadata: null,
    created_at: new Date(written.getTime() + 60_000 + seq).toISOString(),
  };
}

describe('messages restored from the outbox', () => {
  it('a restored message, its ack, the other tab’s copy and the history page make one bubble each, in order', () => {
    const first = restored('cm-1', '第一条', 0);
    const second = restored('cm-2', '第二条', 1000);
    let view: ViewMessage[] = merge(
      [],
      [second, first].map((m) => fromPending(m, ME)),
    );
    expect(view.map((m) => [m.content, receiptOf(m, []).label])).toEqual([
      ['第一条', '发送中'],
      ['第二条', '发送中'],
    ]);

    // The ack of the first (the `sent` event) replaces its bubble, keeping its React key.
    view = merge(view, [{ ...fromPending(first, ME), id: 'm-1', seq: 7, pending: undefined }]);
    // The second tab's send arrives as a frame, then the history is reloaded on reconnect.
    view = merge(view, [fromWire(wire('m-2', 'cm-2', 8, '第二条'))]);
    view = merge(view, [wire('m-1', 'cm-1', 7, '第一条'), wire('m-2', 'cm-2', 8, '第二条')].map(fromWire));

    expect(view.map((m) => [m.key, m.seq, m.pending])).toEqual([
      ['cm-1', 7, undefined],
      ['cm-2', 8, undefined],
    ]);

    // This tab restores it late (its own duplicate send is still under way): it stays stored.
    view = merge(view, [fromPending(second, ME)]);
    expect(view.map((m) => [m.key, m.seq, m.pending])).toEqual([
      ['cm-1', 7, undefined],
      ['cm-2', 8, undefined],
    ]);
  });

  it('a failed send is shown in Chinese and, once sent again, loses its error', () => {
    const message = restored('cm-3', '过期的消息', 0);
    const failed: ViewMessage = {
      ...fromPending(message, ME),
      pending: 'failed',
      error: sendFailureText({ code: 'EXPIRED', serverCode: undefined }),
    };
    expect(failed.error).toBe('长时间未能连接服务器，消息未发出');
    expect(receiptOf(failed, []).label).toBe('发送失败');
    const retried = merge([failed], [fromPending(message, ME)]);
    expect(retried).toHaveLength(1);
    expect(retried[0]).toMatchObject({ pending: 'sending', error: undefined });
    expect(sendFailureText({ code: 'SERVER_REJECTED', serverCode: 'NOT_PARTICIPANT' })).toBe('您不是该会话的参与者');
  });
});

describe('a notice in the thread', () => {
  it('stays where it happened among later messages, before pending sends', () => {
    const at = (ms: number) => new Date(written.getTime() + 60_000 + ms);
    const notice: ViewMessage = {
      key: 'evt-1',
      id: null,
      seq: null,
      senderId: 'system',
      type: 'system',
      content: '新成员加入：刘医生 加入了会话',
      metadata: null,
      createdAt: at(7),
      clientMessageId: 'evt-1',
    };
    const pending = fromPending(restored('cm-9', '待发送', 120_000), ME);
    const view = merge(
      [fromWire(wire('m-1', 'cm-1', 5, '之前'))],
      [notice, pending, fromWire(wire('m-3', 'cm-3', 9, '之后')), fromWire(wire('m-2', 'cm-2', 8, '之后 1'))],
    );
    expect(view.map((m) => m.content)).toEqual(['之前', '新成员加入：刘医生 加入了会话', '之后 1', '之后', '待发送']);
  });
});
