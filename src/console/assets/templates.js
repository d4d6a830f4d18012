// The template editor's live preview: on input (debounced), the text goes to the server, which renders
// it with the type's sample context and counts it exactly as the SMS channel bills (encoding, segments,
// the character forcing UCS-2, cost, DLT match, missing variables, lint). The answer's markup is
// rendered and escaped by the server; this script only swaps it in, and counts nothing itself.
const panel = document.getElementById('template-preview');
const form = document.getElementById('template-form');
const status = document.getElementById('preview-status');
const DEBOUNCE_MS = 150;

if (panel && form) {
  const source = form.elements.namedItem('source');
  const dltId = form.elements.namedItem('dlt_template_id');
  const dltText = form.elements.namedItem('dlt_text');
  const csrf = form.elements.namedItem('_csrf').value;
  let timer;
  // Answers can arrive out of order; only the newest request's answer is shown.
  let latest = 0;
  // Requests still open, on the status element: a test (or a person) can tell when all have answered.
  let pending = 0;
  status.dataset.pending = '0';

  const setStatus = (state, message) => {
    status.dataset.state = state;
    status.textContent = message;
  };

  async function refresh() {
    const id = ++latest;
    if (source.value.trim() === '') {
      setStatus('empty', 'Type a template to preview it.');
      return;
    }
    const body = {
      type: panel.dataset.type,
      locale: panel.dataset.locale,
      field: panel.dataset.field,
      source: source.value,
    };
    if (dltId) body.dlt_template_id = dltId.value;
    if (dltText) body.dlt_text = dltText.value;
    setStatus('loading', 'Updating…');
    status.dataset.pending = String(++pending);
    try {
      const res = await fetch(panel.dataset.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-csrf-token': csrf },
        body: JSON.stringify(body),
        credentials: 'same-origin',
      });
      if (id !== latest) return;
      if (res.status === 401) {
        setStatus('error', 'Your session has ended: reload the page and sign in again.');
        return;
      }
      if (!res.ok) {
        setStatus('error', `The preview was refused (${res.status}); reload the page if this persists.`);
        return;
      }
      const answer = await res.json();
      if (id !== latest) return;
      if (panel.innerHTML !== answer.html) panel.innerHTML = answer.html;
      setStatus('ready', 'Updated as you type.');
    } catch {
      if (id === latest) setStatus('error', 'The preview could not reach the server.');
    } finally {
      status.dataset.pending = String(--pending);
    }
  }

  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, DEBOUNCE_MS);
  };
  for (const el of [source, dltId, dltText]) el?.addEventListener('input', schedule);
  // A save navigates away: a preview still waiting to be sent would only be cut off.
  form.addEventListener('submit', () => clearTimeout(timer));
}
