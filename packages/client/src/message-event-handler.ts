/**
 * Routes every decoded server frame (seed: handlers/messageEventHandler.ts): acks and error
 * replies settle the outbox's pending sends, then the frame, in the UI model, goes to the
 * `message` listeners and to the handlers registered for its action.
 */
import type { ServerFrame } from '@anmei/protocol';
import type { HandlerRegistry } from './handler-registry.ts';
import { toUiFrame, type UiFrame } from './message-adapter.ts';
import type { Outbox } from './outbox.ts';

export interface MessageEventHandlerDeps {
  outbox: Outbox;
  registry: HandlerRegistry;
  /** Every frame in the UI model, before the handlers run. */
  onMessage(frame: UiFrame): void;
  /** An `error` frame that answers none of our pending sends. */
  onUnmatchedError(frame: Extract<ServerFrame, { action: 'error' }>): void;
}

export function createMessageEventHandler(deps: MessageEventHandlerDeps): (frame: ServerFrame) => void {
  return (frame) => {
    if (frame.action === 'ack') deps.outbox.acknowledge(frame.data);
    if (frame.action === 'error') {
      const { request_id: requestId, code, message, retry_after_ms: retryAfterMs } = frame.data;
      if (requestId === null || !deps.outbox.fail(requestId, code, message, retryAfterMs)) deps.onUnmatchedError(frame);
    }
    const ui = toUiFrame(frame);
    deps.onMessage(ui);
    deps.registry.dispatch(ui);
  };
}
