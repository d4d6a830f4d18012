// The sandbox phone's live thread: polls the thread's data URL and swaps the thread when the
// server's version of it changed. The markup comes rendered (and escaped) by the server.
const INTERVAL_MS = 1000;

const thread = document.getElementById('thread');
const statusEl = document.getElementById('live-status');
let version = thread.dataset.version;

function setStatus(text) {
  if (statusEl.textContent !== text) statusEl.textContent = text;
}

async function poll() {
  try {
    const res = await fetch(thread.dataset.source, { headers: { accept: 'application/json' } });
    if (res.status === 401) {
      setStatus('Live updates stopped: reload the page (you may need to sign in again).');
      return;
    }
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const view = await res.json();
    if (view.version !== version) {
      version = view.version;
      thread.innerHTML = view.markup;
      thread.lastElementChild?.scrollIntoView({ block: 'nearest' });
    }
    setStatus('Live: new texts and status changes show as they happen.');
  } catch {
    setStatus('Live updates interrupted: retrying…');
  }
  setTimeout(poll, INTERVAL_MS);
}

poll();
