/**
 * What a ws error on an open socket means for its close code: ws fails a connection itself when a
 * frame breaks the protocol (invalid UTF-8, too big, …) and reports it as an 'error' with its own
 * code; the gateway releases the connection at once under the code ws sends.
 */
import { CloseCode } from '@anmei/protocol';

/** The close code ws sends when it fails a connection over a frame, by its error code (ws/lib/receiver.js). */
const WS_ERROR_CLOSE_CODES: Readonly<Record<string, number>> = {
  WS_ERR_INVALID_UTF8: CloseCode.invalidPayload,
  WS_ERR_UNSUPPORTED_MESSAGE_LENGTH: CloseCode.messageTooBig,
  WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH: CloseCode.messageTooBig,
  WS_ERR_TOO_MANY_BUFFERED_PARTS: CloseCode.policyViolation,
};

/** Every other ws frame error is a protocol error (1002); a transport error exchanges no close frame (1006). */
export function closeCodeOf(error: Error): number {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return WS_ERROR_CLOSE_CODES[code] ?? (code.startsWith('WS_ERR_') ? 1002 : 1006);
}
