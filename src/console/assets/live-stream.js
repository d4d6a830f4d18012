// The activity list's first page and a notification's page: the element marked data-live-stream
// is replaced by each snapshot its stream sends (the markup the page was rendered with, fresh).
import { followLive } from './live-sections.js';

const target = document.querySelector('[data-live-stream]');
if (target) {
  followLive(
    target.dataset.liveStream,
    document.getElementById('live-status'),
    target.dataset.liveConnected ?? 'Live: updates as deliveries change.',
  );
}
