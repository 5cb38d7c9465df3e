/**
 * The web app's service worker (issue #14): shows the API's Web Push notifications and opens the
 * conversation when one is clicked. Plain JS, served as-is at /sw.js.
 *
 * The payload (decrypted by the browser) is the API's JSON:
 *   {"title": "顾问回复", "body": "…", "data": {"conversation_id": "…", "action": "open_conversation"},
 *    "tag": "conversation:<id>"}
 * The tag makes a conversation's newer notification replace its older one; `renotify` still alerts.
 *
 * The page registers this script as `/sw.js?role=<role>` so a click can open the chat page of the
 * signed-in user's role (the payload does not say it).
 */

const GENERIC_TITLE = '新消息';
const ROLE_HOMES = { customer: '/customer/chat', consultant: '/consultant/chat', doctor: '/doctor/chat' };

self.addEventListener('install', () => {
  // A new version (another role signed in) takes over at once instead of waiting for every tab to close.
  self.skipWaiting();
});

self.addEventListener('activate', (event) => {
  // Control the already open pages, so a click can navigate them.
  event.waitUntil(self.clients.claim());
});

/** The notification a push asks for; anything that is not the API's JSON still shows a generic one. */
function notificationFrom(event) {
  let payload = null;
  try {
    payload = event.data ? event.data.json() : null;
  } catch {
    payload = null;
  }
  if (!payload || typeof payload !== 'object' || typeof payload.title !== 'string') {
    const text = event.data ? safeText(event.data) : '';
    return { title: GENERIC_TITLE, options: { body: text || '您有一条新消息', data: {} } };
  }
  const data = payload.data && typeof payload.data === 'object' ? payload.data : {};
  const options = { body: typeof payload.body === 'string' ? payload.body : '', data };
  if (typeof payload.tag === 'string' && payload.tag) {
    options.tag = payload.tag;
    options.renotify = true; // only allowed with a tag
  }
  return { title: payload.title, options };
}

function safeText(data) {
  try {
    return data.text().slice(0, 200);
  } catch {
    return '';
  }
}

self.addEventListener('push', (event) => {
  const { title, options } = notificationFrom(event);
  event.waitUntil(self.registration.showNotification(title, options));
});

/** Where a click goes: the role's chat page with the conversation selected (`?c=<id>`). */
function targetUrl(data) {
  const role = new URL(self.location.href).searchParams.get('role');
  const home = ROLE_HOMES[role] || '/chat';
  const id = data && typeof data.conversation_id === 'string' ? data.conversation_id : '';
  const url = new URL(home, self.location.origin);
  if (id) url.searchParams.set('c', id);
  return url.href;
}

/** Focus an open window of the app and show the conversation in it, or open a new window there. */
async function openConversation(data) {
  const url = targetUrl(data);
  const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
  const client = windows.find((c) => new URL(c.url).origin === self.location.origin);
  if (!client) return self.clients.openWindow(url);
  try {
    await client.focus();
  } catch {
    // Focusing needs a user gesture (there is one on a real click); navigating still works.
  }
  try {
    return await client.navigate(url);
  } catch {
    // Not controlled by this worker (navigate() refuses): ask the page to go there itself.
    client.postMessage({ type: 'anmei:navigate', url });
    return client;
  }
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(openConversation(event.notification.data));
});

/**
 * `{type: 'anmei:click-notification', tag?}` from a page runs the click path for the notification
 * with that tag (else the first one shown): browser tests use it, since no DevTools command clicks
 * a notification. It answers `{type: 'anmei:clicked', url}` (url null when nothing was shown).
 */
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'anmei:click-notification') return;
  const tag = typeof event.data.tag === 'string' ? event.data.tag : undefined;
  event.waitUntil(
    (async () => {
      const shown = await self.registration.getNotifications(tag === undefined ? undefined : { tag });
      const notification = shown[0];
      const url = notification ? targetUrl(notification.data) : null;
      event.source?.postMessage({ type: 'anmei:clicked', url });
      if (notification) {
        notification.close();
        await openConversation(notification.data);
      }
    })(),
  );
});
