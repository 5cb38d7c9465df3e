/** The `connected` frame: the first a registered socket gets (docs/protocol.md, "connected"). */
import { encodeFrame, ServerAction, serverFrame } from '@anmei/protocol';
import type { ConnectionInfo } from '../realtime/types.ts';
import type { StreamHeadsAtConnect } from '../resume/resume-service.ts';
import type { ResumeTicketFields } from './resume-tickets.ts';

/** The limits a client sizes itself by (the gateway's options). */
export interface AnnouncedLimits {
  heartbeatIntervalMs: number;
  maxPayloadBytes: number;
  maxReconnectAttempts: number;
}

export function connectedFrame(
  info: ConnectionInfo,
  limits: AnnouncedLimits,
  heads: StreamHeadsAtConnect,
  resumeTicket: ResumeTicketFields | undefined,
): string {
  return encodeFrame(
    serverFrame(ServerAction.connected, {
      connection_id: info.connectionId,
      user_id: info.userId,
      role: info.role,
      device_type: info.deviceType,
      connection_type: info.connectionType,
      heartbeat_interval_ms: limits.heartbeatIntervalMs,
      max_payload_bytes: limits.maxPayloadBytes,
      max_reconnect_attempts: limits.maxReconnectAttempts,
      user_seq: heads.userSeq,
      global_seq: heads.globalSeq,
      ...resumeTicket,
    }),
  );
}
