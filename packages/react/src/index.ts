export {
  type ClientOptions,
  type ClientSnapshot,
  type ConnectionState,
  type ConnectionStatus,
  getWebSocketDeviceConfig,
  type OutboxStorage,
  type PendingMessage,
  type UiFrame,
  type UiFrameOf,
  type WebSocketDeviceConfig,
} from '@anmei/client';
export {
  ADMIN_FEATURES,
  CHAT_FEATURES,
  getPageConfig,
  hasFeature,
  NO_SOCKET_ROUTES,
  PAGE_WEBSOCKET_CONFIG,
  type PageFeature,
  type PageWebSocketConfig,
  type PageWebSocketConfigMap,
  pageConnectionMode,
} from './page-config.ts';
export { useWebSocketClient, useWebSocketHandler, useWebSocketState } from './use-websocket.ts';
export { type UseWebSocketByPageResult, useWebSocketByPage } from './use-websocket-by-page.ts';
export { WebSocketProvider, type WebSocketProviderProps } from './websocket-provider.tsx';
export {
  WEBSOCKET_STATUS_LABELS,
  WEBSOCKET_STATUS_LABELS_ZH,
  WebSocketStatus,
  type WebSocketStatusLabels,
  type WebSocketStatusProps,
} from './websocket-status.tsx';
