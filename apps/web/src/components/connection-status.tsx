'use client';

import { useWebSocketClient, WEBSOCKET_STATUS_LABELS_ZH, WebSocketStatus } from '@anmei/react';
import { useEffect } from 'react';
import { closeText, connectionErrorText } from '../lib/user-messages.ts';

/**
 * The connection indicator of @anmei/react in Chinese, its errors and close reasons from the one
 * catalogue (the client's English reason goes to the console: see the client's `error` event).
 */
export function ConnectionStatus({ showControls = true }: { showControls?: boolean }) {
  const client = useWebSocketClient();
  useEffect(
    () => client.onEvent('error', (error) => console.warn(`connection error ${error.code}: ${error.reason}`, error)),
    [client],
  );
  return (
    <WebSocketStatus
      className="ws-status-compact"
      labels={WEBSOCKET_STATUS_LABELS_ZH}
      showControls={showControls}
      describeError={connectionErrorText}
      describeClose={closeText}
    />
  );
}
