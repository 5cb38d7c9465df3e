/**
 * The seed's default push provider: nothing leaves the process, the push is written to the
 * log in the seed's format so developers can see who would have been notified.
 */
import type { Logger } from 'pino';
import type { NotificationProvider, PushNotification, PushResult } from '../types.ts';

export interface LoggingProviderOptions {
  logger: Logger;
  /**
   * Replace the content line with its length. Set in production (default there: true):
   * push content is a message body, and message bodies must not reach the logs.
   */
  redactContent: boolean;
}

/** Characters as a reader counts them (code points), not UTF-16 units. */
function charCount(text: string): number {
  let count = 0;
  for (const _ of text) count += 1;
  return count;
}

/** `data` is caller-supplied; a circular or BigInt value must not make `send` throw. */
function formatData(data: Record<string, unknown>): string {
  try {
    return JSON.stringify(data);
  } catch (error) {
    // First line only: V8's circular-structure message spans lines and would break the format.
    const reason = (error instanceof Error ? error.message : String(error)).split('\n', 1)[0];
    return `<unserializable: ${reason}>`;
  }
}

/** The multi-line INFO message of the seed (English wording of its Chinese log lines). */
export function formatPushMessage(notification: PushNotification, redactContent: boolean): string {
  const { userId, deviceType, priority, title, content, data } = notification;
  const lines = [
    `📱 push notification [${deviceType}] [priority: ${priority}]: ${userId}`,
    `   title: ${title}`,
    redactContent ? `   content: [redacted, ${charCount(content)} chars]` : `   content: ${content}`,
  ];
  if (data !== undefined) lines.push(`   [data: ${formatData(data)}]`);
  return lines.join('\n');
}

export class LoggingProvider implements NotificationProvider {
  readonly name = 'logging';
  readonly #logger: Logger;
  readonly #redactContent: boolean;

  constructor(options: LoggingProviderOptions) {
    this.#logger = options.logger;
    this.#redactContent = options.redactContent;
  }

  async send(notification: PushNotification): Promise<PushResult> {
    try {
      const { userId, deviceType, priority, title } = notification;
      this.#logger.info(
        { push: { userId, deviceType, priority, title } },
        formatPushMessage(notification, this.#redactContent),
      );
      // The seed says "mobile" whatever the device type; kept so log searches still match.
      this.#logger.debug(`mobile push queued: user_id=${userId}`);
      return { ok: true };
    } catch (error) {
      // Only a broken log destination gets here; retrying would hit the same destination.
      return { ok: false, error: error instanceof Error ? error.message : String(error), retryable: false };
    }
  }

  async close(): Promise<void> {
    // Holds nothing: the logger belongs to the caller.
  }
}
