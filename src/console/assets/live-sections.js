// What every live page does with its server-sent snapshots: swap each section whose markup changed
// (rendered and escaped by the server), keep focus on the same place inside it, and say in the
// page's status line whether updates are flowing.

const FOCUSABLE = 'a, button, summary, [tabindex]';

/**
 * Follow the snapshots at `url`: `onSnapshot(snapshot)` after its sections (`snapshot.sections`,
 * id → markup) are in place. Returns the EventSource.
 */
export function followLive(url, statusEl, connected, onSnapshot = () => {}) {
  const shown = new Map();
  const setStatus = (text) => {
    if (statusEl.textContent !== text) statusEl.textContent = text;
  };
  const apply = (snapshot) => {
    for (const [id, markup] of Object.entries(snapshot.sections)) {
      const el = document.getElementById(id);
      if (!el || shown.get(id) === markup) continue;
      const focusables = [...el.querySelectorAll(FOCUSABLE)];
      const focused = focusables.indexOf(document.activeElement);
      el.innerHTML = markup;
      shown.set(id, markup);
      if (focused >= 0) el.querySelectorAll(FOCUSABLE)[focused]?.focus();
    }
    onSnapshot(snapshot);
  };
  setStatus('Live updates connecting…');
  const source = new EventSource(url);
  source.addEventListener('open', () => setStatus(connected));
  source.addEventListener('snapshot', (event) => apply(JSON.parse(event.data)));
  source.addEventListener('error', () => {
    // CLOSED: the server refused the stream (the session is over); otherwise the browser retries.
    setStatus(
      source.readyState === EventSource.CLOSED
        ? 'Live updates stopped: reload the page (you may need to sign in again).'
        : 'Live updates interrupted: reconnecting…',
    );
  });
  // Leaving the page closes the stream itself, so the server lets go of it at once.
  addEventListener('pagehide', () => source.close());
  return source;
}
