import { describe, expect, it } from 'vitest';
import { ServerAction, type ServerFrame, StreamKey, serverFrame, streamPositionOf } from '../src/index.ts';

const message = {
  id: 'm-7',
  conversation_id: 'c-1',
  seq: 7,
  sender_id: 'u-1',
  client_message_id: null,
  message_type: 'text' as const,
  content: 'hi',
  metadata: null,
  created_at: '2026-01-01T00:00:00.000Z',
};

describe('streamPositionOf', () => {
  it('places every durable frame in its stream at its position', () => {
    const cases: Array<[ServerFrame, { stream: string; position: number }]> = [
      [serverFrame(ServerAction.newMessage, message), { stream: StreamKey.messages('c-1'), position: 7 }],
      [
        serverFrame(ServerAction.consultationReply, {
          conversation_id: 'c-1',
          consultant_id: 'u-2',
          content: 'hi',
          message,
        }),
        { stream: 'm:c-1', position: 7 },
      ],
      [
        serverFrame(ServerAction.readStatus, {
          conversation_id: 'c-1',
          user_id: 'u-2',
          message_ids: ['m-7'],
          last_read_seq: 7,
          event_seq: 3,
        }),
        { stream: StreamKey.events('c-1'), position: 3 },
      ],
      [
        serverFrame(ServerAction.mobileNotification, {
          conversation_id: 'c-1',
          title: 't',
          content: 'c',
          event_seq: 4,
        }),
        { stream: 'e:c-1', position: 4 },
      ],
      [
        serverFrame(ServerAction.systemNotification, {
          conversation_id: 'c-1',
          title: 't',
          message: 'm',
          type: 'x',
          event_seq: 5,
        }),
        { stream: 'e:c-1', position: 5 },
      ],
      [
        serverFrame(ServerAction.systemNotification, {
          conversation_id: null,
          title: 't',
          message: 'm',
          type: 'x',
          global_seq: 9,
        }),
        { stream: StreamKey.global, position: 9 },
      ],
      [
        serverFrame(ServerAction.directMessage, { user_id: 'u-1', content: 'c', user_seq: 2 }),
        { stream: StreamKey.user, position: 2 },
      ],
    ];
    for (const [frame, expected] of cases) expect(streamPositionOf(frame), frame.action).toEqual(expected);
  });

  it('gives no position to ephemeral frames or to durable ones built without their position', () => {
    const frames: ServerFrame[] = [
      serverFrame(ServerAction.typingStatus, { conversation_id: 'c-1', user_id: 'u-1', is_typing: true }),
      serverFrame(ServerAction.pong, { server_time: '2026-01-01T00:00:00.000Z' }),
      serverFrame(ServerAction.directMessage, { user_id: 'u-1', content: 'c' }),
    ];
    for (const frame of frames) expect(streamPositionOf(frame), frame.action).toBeNull();
  });
});
