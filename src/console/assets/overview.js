// The overview's live part: a chart of the volume per channel (uPlot, served from node_modules) and
// the server-sent snapshots that replace each section of the page when its markup changed. The
// markup comes rendered (and escaped) by the server, so this script draws nothing of its own.
import uPlot from '/console/vendor/uplot/uPlot.esm.js';

// Dark enough for 3:1 against white (non-text contrast), told apart by dash as well as colour.
const COLOURS = ['#1f5fbf', '#b3261e', '#2e7d32', '#6a1b9a'];
const DASHES = [[], [8, 4], [2, 3], [10, 3, 2, 3]];
const HEIGHT = 260;

const chartEl = document.getElementById('volume-chart');
const statusEl = document.getElementById('live-status');
const windowName = new URLSearchParams(location.search).get('window') ?? 'today';

let chart;
let chartWidth = 0;

function seriesData(c) {
  return [c.x, ...c.series.map((s) => s.values)];
}

function drawChart(c) {
  if (chart) {
    chart.setData(seriesData(c));
    return;
  }
  chartWidth = chartEl.clientWidth;
  chart = new uPlot(
    {
      width: chartWidth,
      height: HEIGHT,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), c.timeZone),
      scales: { x: { time: true } },
      series: [
        { label: 'Time' },
        ...c.series.map((s, i) => ({ label: s.label, stroke: COLOURS[i], width: 2, dash: DASHES[i] })),
      ],
      axes: [{}, { label: 'Deliveries' }],
    },
    seriesData(c),
    chartEl,
  );
  // Follow the page's width (a phone turned, a window resized); only a real change redraws.
  new ResizeObserver(() => {
    const width = chartEl.clientWidth;
    if (width !== chartWidth) {
      chartWidth = width;
      chart.setSize({ width, height: HEIGHT });
    }
  }).observe(chartEl);
}

function setStatus(text) {
  if (statusEl.textContent !== text) statusEl.textContent = text;
}

const FOCUSABLE = 'a, button, summary, [tabindex]';
const shown = new Map();

/** Swap the sections whose markup changed; focus inside one stays on the same place in it. */
function apply(snapshot) {
  for (const [id, markup] of Object.entries(snapshot.sections)) {
    const el = document.getElementById(id);
    if (!el || shown.get(id) === markup) continue;
    const focusables = [...el.querySelectorAll(FOCUSABLE)];
    const focused = focusables.indexOf(document.activeElement);
    el.innerHTML = markup;
    shown.set(id, markup);
    if (focused >= 0) el.querySelectorAll(FOCUSABLE)[focused]?.focus();
  }
  drawChart(snapshot.chart);
}

drawChart(JSON.parse(chartEl.dataset.chart));

setStatus('Live updates connecting…');
const source = new EventSource(`/console/live?window=${encodeURIComponent(windowName)}`);
source.addEventListener('open', () => setStatus('Live: updates as deliveries change.'));
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
