import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeInboxEvents, encodeInboxEvents, type InboxEvent } from '../../src/inbox/inbox-events.ts';

test('inbox events round-trip through NOTIFY payloads, each under 8000 bytes', () => {
  const events: InboxEvent[] = Array.from({ length: 500 }, (_, i) =>
    i % 50 === 49
      ? { kind: 'read_all', user: `user-${i}` }
      : { kind: i % 2 ? 'read' : 'new', user: `user-ü-${i}`, id: `ntf_${'x'.repeat(16)}${i}` },
  );
  const payloads = encodeInboxEvents(events);
  assert.ok(payloads.length > 1, 'split into several payloads');
  for (const p of payloads) assert.ok(Buffer.byteLength(p) < 8000);
  assert.deepEqual(payloads.flatMap(decodeInboxEvents), events);
});

test('a malformed payload yields no events instead of throwing', () => {
  for (const bad of ['', 'not json', '{}', '[["new"]]', '[["new","u"]]', '[["drop","u","n"]]', '[[1,2,3]]']) {
    assert.deepEqual(decodeInboxEvents(bad), [], bad);
  }
});
