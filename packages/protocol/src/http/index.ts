/**
 * Request and answer schemas of every HTTP route, one module per route group. The API's routes
 * take their `schema` from the `…Schemas` tables (so /docs is generated from them); the web app
 * derives its types from the same schemas (`z.infer` / `z.input`).
 */
export * from './accounts.ts';
export * from './admin.ts';
export * from './admin-conversations.ts';
export * from './attachments.ts';
export * from './auth.ts';
export * from './chat.ts';
export * from './common.ts';
export * from './conversation-title.ts';
export * from './devices.ts';
export * from './directory.ts';
export * from './health.ts';
export * from './participant-removal.ts';
