export type { ConnectionType, DeviceType, ServerAction } from '@anmei/protocol';
export {
  Backoff,
  type BackoffOptions,
  type BackoffStep,
  backoffCeiling,
  fullJitterDelay,
  seededRandom,
} from './backoff.ts';
export { type ClientSnapshot, createClient, type SendOptions, WebSocketClient } from './client.ts';
export type { ClientError, ClientErrorCode, ClientEventMap } from './client-events.ts';
export { newClientMessageId } from './client-message-id.ts';
export { type CloseDecision, closeCodeName, decideAfterClose } from './close-policy.ts';
export { type Codec, jsonCodec } from './codec.ts';
export { type DeliveryStats, DeliveryTracker, type ReloadNotice } from './delivery-tracker.ts';
export {
  type DeviceHints,
  type DeviceInfo,
  detectDeviceType,
  getDeviceInfo,
  getWebSocketDeviceConfig,
  type WebSocketDeviceConfig,
} from './device.ts';
export type { EnvironmentTargets, EventTargetLike } from './environment.ts';
export type { Handler, HandlerKey, HandlerMap } from './handler-registry.ts';
export { Heartbeat, type HeartbeatOptions } from './heartbeat.ts';
export {
  browserOutboxStorage,
  IndexedDbOutboxStorage,
  type IndexedDbOutboxStorageOptions,
} from './indexeddb-outbox-storage.ts';
export {
  type ChatMessage,
  camelCase,
  type OutgoingMessage,
  type PendingMessage,
  type SendResult,
  toUiFrame,
  toUiModel,
  type UiFrame,
  type UiFrameOf,
  type UiModel,
} from './message-adapter.ts';
export { CLIENT_DEFAULTS, type ClientOptions, OUTBOX_DEFAULTS } from './options.ts';
export { Outbox, type OutboxObserver, type OutboxOptions, type OverflowPolicy, type QueuedMessage } from './outbox.ts';
export { isStoredMessage, type OutboxStorage, type StoredMessage } from './outbox-storage.ts';
export { ReadReceipts, type ReadReceiptsDeps } from './read-receipts.ts';
export { SendError, type SendFailureCode } from './send-error.ts';
export type { SocketCloseEvent, SocketMessageEvent, WebSocketConstructor, WebSocketLike } from './socket-types.ts';
export {
  type CloseInfo,
  type ConnectionState,
  ConnectionStateMachine,
  type ConnectionStatus,
  InvalidTransitionError,
  type StateChange,
  type StateOf,
  TRANSITIONS,
} from './state-machine.ts';
export {
  type FetchLike,
  type GetTicket,
  type GetToken,
  httpTicketSource,
  TicketError,
  type TicketRequest,
  UnauthorizedError,
} from './ticket-source.ts';
export { type Clock, systemTimers, type Timers } from './timers.ts';
