/**
 * What `npm start` (start-all.ts) derives from the environment: both ports, the settings that
 * follow them, warnings for settings that contradict them, and the banner. Pure: no I/O.
 */

export interface StartupPlan {
  apiPort: string;
  webPort: string;
  /** What a browser on this machine opens. */
  apiUrl: string;
  webUrl: string;
  /** Set for the API only when the user did not set them. */
  apiEnv: Record<string, string>;
  webEnv: Record<string, string>;
  /** One line each, printed before start. */
  warnings: string[];
  banner: string;
}

export function startupPlan(env: Record<string, string | undefined>): StartupPlan {
  const apiPort = env.PORT || '8000';
  const webPort = env.WEB_PORT || '3000';
  const apiUrl = `http://localhost:${apiPort}`;
  const webUrl = `http://localhost:${webPort}`;
  const webOrigins = [webUrl, `http://127.0.0.1:${webPort}`];
  const apiEnv: Record<string, string> = {};
  const webEnv: Record<string, string> = {};
  const warnings: string[] = [];

  const allowed = env.ALLOWED_ORIGINS?.trim();
  if (!allowed) {
    // The API's own origin too: Swagger UI at /docs calls the API from it.
    apiEnv.ALLOWED_ORIGINS = [...webOrigins, apiUrl].join(',');
  } else {
    const list = allowed.split(',').map((o) => o.trim());
    if (!list.includes('*') && !webOrigins.some((o) => list.includes(o))) {
      warnings.push(
        `ALLOWED_ORIGINS (${allowed}) does not include the web app's origin ${webUrl}: browsers there cannot open ` +
          `the WebSocket (403 ORIGIN_NOT_ALLOWED). Set ALLOWED_ORIGINS=${[...list, ...webOrigins].join(',')} ` +
          'or leave it unset (npm start then allows the web app at WEB_PORT).',
      );
    }
  }
  if (!env.NEXT_PUBLIC_WS_URL) webEnv.NEXT_PUBLIC_WS_URL = `ws://localhost:${apiPort}`;

  const banner =
    '\n' +
    'AnmeiSmart is running:\n' +
    `  Web app   ${webUrl}   <- open this in a browser\n` +
    `  API       ${apiUrl}   (API docs: ${apiUrl}/docs)\n` +
    'Stop both with Ctrl-C.\n\n';
  return { apiPort, webPort, apiUrl, webUrl, apiEnv, webEnv, warnings, banner };
}
