import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { DrizzleQueryError } from 'drizzle-orm';
import { createLogger, type LogFormat, logDestination } from '../../src/logger.ts';

/** A stream that says whether it is a terminal, and keeps what it was given. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = Object.assign(
    new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    }),
    { isTTY },
  );
  return { stream, output: () => chunks.join('') };
}

async function logOnce(format: LogFormat, isTTY: boolean): Promise<string> {
  const out = sink(isTTY);
  const destination = logDestination(format, out.stream);
  const logger = createLogger('info', destination);
  logger.info({ phone: '+919876543210', authToken: 'secret-token-value' }, 'delivery worker started');
  logger.flush();
  // pino-pretty writes through a transform: wait for the line, not for a time.
  for (let i = 0; i < 100 && !out.output().includes('\n'); i++) await new Promise(setImmediate);
  return out.output();
}

test('in a terminal, logs are readable lines, still masked', async () => {
  const line = await logOnce('auto', true);
  assert.doesNotMatch(line, /^\{/, 'not JSON');
  assert.match(line, /INFO/);
  assert.match(line, /delivery worker started/);
  assert.match(line, /\+91\*+10/, 'the phone number is masked');
  assert.doesNotMatch(line, /secret-token-value/);
});

test('not a terminal (a log shipper), or LOG_FORMAT=json: one JSON object per line', async () => {
  for (const [format, tty] of [
    ['auto', false],
    ['json', true],
  ] as const) {
    const parsed = JSON.parse((await logOnce(format, tty)).trim());
    assert.equal(parsed.msg, 'delivery worker started');
    assert.equal(parsed.authToken, '[redacted]');
  }
});

test('LOG_FORMAT=pretty is readable even when not a terminal', async () => {
  assert.doesNotMatch(await logOnce('pretty', false), /^\{/);
});

test("an error is logged without its message: a failed query's parameters never reach the log", async () => {
  const cause = Object.assign(new Error('duplicate key value violates unique constraint'), {
    code: '23505',
    constraint: 'deliveries_provider_message_id_key',
  });
  const err = new DrizzleQueryError(
    'update deliveries set provider_message_id = $1 where to_phone = $2',
    ['SM0123456789abcdef0123456789abcdef', '+919876543210'],
    cause,
  );
  const out = sink(false);
  createLogger('info', out.stream).warn({ err, pending: 3 }, 'writing outcomes failed; retrying');
  const line = JSON.parse(out.output().trim());
  assert.doesNotMatch(out.output(), /9876543210|SM0123456789/);
  assert.equal(line.err.query, 'update deliveries set provider_message_id = $1 where to_phone = $2');
  assert.equal(line.err.cause.code, '23505');
  assert.equal(line.pending, 3);
});
