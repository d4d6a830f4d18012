// The overview's live part: a chart of the volume per channel (uPlot, served from node_modules) and
// the server-sent snapshots that replace each section of the page when its markup changed. The
// markup comes rendered (and escaped) by the server, so this script draws nothing of its own.
import uPlot from '/console/vendor/uplot/uPlot.esm.js';
import { followLive } from './live-sections.js';

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

drawChart(JSON.parse(chartEl.dataset.chart));

followLive(
  `/console/live?window=${encodeURIComponent(windowName)}`,
  statusEl,
  'Live: updates as deliveries change.',
  (snapshot) => drawChart(snapshot.chart),
);
