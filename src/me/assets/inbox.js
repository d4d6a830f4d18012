// The live inbox: the page works without this script (forms post and reload); with it, new
// notifications and reads from other tabs or devices arrive over the inbox WebSocket (docs/inbox.md).
// The socket's token is fetched from /me/socket-token for each connection, from the HttpOnly session
// cookie, so no lasting credential is ever in the page.

const list = document.getElementById('inbox-list');
const badge = document.getElementById('unread-badge');
const status = document.getElementById('live-status');
const empty = document.getElementById('inbox-empty');
const readAll = document.querySelector('form.read-all button');

/** Reconnect waits grow from 1 s to 30 s, so a server that is down is not hammered. */
const RETRY_MS = [1_000, 2_000, 5_000, 10_000, 30_000];

const timeFormat = new Intl.DateTimeFormat('en-GB', {
  dateStyle: 'medium',
  timeStyle: 'short',
  timeZone: list?.dataset.timeZone,
});
let newest = list?.dataset.newest;
let failures = 0;

function setStatus(text) {
  if (status) status.textContent = text;
}

function setUnread(count) {
  if (badge) {
    badge.dataset.unread = String(count);
    badge.textContent = `${count} unread`;
  }
  if (readAll) readAll.disabled = count === 0;
}

function element(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  node.append(...children);
  return node;
}

function itemNode(n) {
  const time = element('time', { datetime: n.created_at }, timeFormat.format(new Date(n.created_at)));
  const state = element('span', { class: 'state' }, n.is_read ? 'Read' : 'Unread');
  const li = element(
    'li',
    { class: n.is_read ? 'item' : 'item unread', 'data-id': n.notification_id },
    element('h2', {}, n.title),
    element('p', {}, n.message),
    element('p', { class: 'meta' }, time, ' · ', state),
  );
  if (!n.is_read) {
    const form = element('form', {
      method: 'post',
      action: `/me/inbox/${encodeURIComponent(n.notification_id)}/read`,
    });
    form.append(
      element('input', { type: 'hidden', name: '_csrf', value: list.dataset.csrf }),
      element(
        'button',
        { type: 'submit' },
        'Mark read',
        element('span', { class: 'visually-hidden' }, `: ${n.title}`),
      ),
    );
    li.append(form);
  }
  return li;
}

function findItem(id) {
  return [...list.children].find((li) => li.dataset.id === id);
}

function showRead(li) {
  li.classList.remove('unread');
  li.querySelector('form')?.remove();
  const state = li.querySelector('.state');
  if (state) state.textContent = 'Read';
}

function onMessage(message) {
  switch (message.type) {
    case 'ready':
      failures = 0;
      setStatus('Live: new notifications appear here as they arrive.');
      break;
    case 'notification': {
      const n = message.notification;
      newest = n.notification_id;
      // A replay and a live push may overlap: one item per notification.
      if (!findItem(n.notification_id)) list.prepend(itemNode(n));
      if (empty) empty.hidden = true;
      if (message.unread_count !== undefined) setUnread(message.unread_count);
      break;
    }
    case 'notification.read': {
      const li = findItem(message.notification_id);
      if (li) showRead(li);
      setUnread(message.unread_count);
      break;
    }
    case 'inbox.read_all':
      for (const li of list.children) showRead(li);
      setUnread(message.unread_count);
      break;
    case 'sync':
      setUnread(message.unread_count);
      break;
  }
}

async function connect() {
  const res = await fetch('/me/socket-token', { credentials: 'same-origin', cache: 'no-store' });
  if (res.status === 401) {
    setStatus('Your session has ended: open the link in your latest message again to see new notifications.');
    return;
  }
  if (!res.ok) throw new Error(`socket token: HTTP ${res.status}`);
  const { token } = await res.json();
  const socket = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
  socket.addEventListener('open', () => {
    socket.send(JSON.stringify({ type: 'auth', token, ...(newest && { since: newest }) }));
  });
  socket.addEventListener('message', (event) => onMessage(JSON.parse(event.data)));
  // Closed, also by the token expiring at the end of a long visit (4401): a fresh token reconnects.
  socket.addEventListener('close', () => {
    setStatus('Reconnecting…');
    reconnect(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
  });
}

function reconnect(delayMs) {
  setTimeout(() => {
    connect().catch(() => {
      setStatus('Reconnecting…');
      reconnect(RETRY_MS[Math.min(failures++, RETRY_MS.length - 1)]);
    });
  }, delayMs);
}

// Only the newest page is live: an "Older" page would get new items above items that are not its own.
if (list?.dataset.live === 'true') reconnect(0);
