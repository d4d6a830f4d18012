import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, test } from 'node:test';
import { AppError } from '../../src/errors.ts';
import { renderOnThisThread } from '../../src/templates/render.ts';
import {
  failsDelivery,
  isMessageFault,
  RENDER_CHUNK,
  RenderPool,
  type RenderPoolOptions,
  renderTemplate,
  startRenderPool,
} from '../../src/templates/render-pool.ts';
import { bareHttpServer } from '../helpers/http-server.ts';
import { ADMIN_KEY, startSmsApp } from '../helpers/sms-app.ts';
import { createTestDatabase, ENGINE } from '../helpers/test-db.ts';

const GATED = new URL('./fixtures/gated-render-thread.ts', import.meta.url);
/** 9 million loop steps: it ends only at a render limit (about 200 ms), on whichever thread runs it. */
const SLOW = '{% for a in (1..3000) %}{% for b in (1..3000) %}{% endfor %}{% endfor %}.';

/** The texts of renders, in order. */
const outputs = async (renders: Array<Promise<{ output: string }>>) =>
  (await Promise.all(renders)).map((r) => r.output);

/** A gate a render waits behind in the gated thread (see fixtures/gated-render-thread.ts). */
function gate() {
  const buffer = new SharedArrayBuffer(8);
  const cells = new Int32Array(buffer);
  return {
    buffer,
    /** Resolves, without blocking this thread, with the id of the thread that reached the gate. */
    async reached(): Promise<number> {
      const wait = Atomics.waitAsync(cells, 1, 0);
      if (wait.async) await wait.value;
      return Atomics.load(cells, 1);
    },
    /** The thread that reached the gate, 0 while none has. */
    thread: () => Atomics.load(cells, 1),
    open() {
      Atomics.store(cells, 0, 1);
      Atomics.notify(cells, 0);
    },
  };
}

/** Each worker thread holds one MessagePort in this process until it has exited. */
function threadsAlive(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'MessagePort').length;
}

async function withPool(opts: RenderPoolOptions, fn: (pool: RenderPool) => Promise<void>): Promise<void> {
  const pool = new RenderPool(opts);
  try {
    await fn(pool);
  } finally {
    await pool.close();
  }
}

function settledFlag(promise: Promise<unknown>): { settled: boolean } {
  const flag = { settled: false };
  promise.then(
    () => (flag.settled = true),
    () => (flag.settled = true),
  );
  return flag;
}

const job = (source: string, context: Record<string, unknown> = {}, escapeHtml = false) => ({
  source,
  context,
  escapeHtml,
});

describe('render pool', () => {
  test('a render held on its thread leaves the event loop free to answer HTTP requests', async () => {
    const http = await bareHttpServer();
    http.get('/ping', async () => 'pong');
    const url = await http.listen({ port: 0, host: '127.0.0.1' });
    try {
      await withPool({ threads: 1, script: GATED }, async (pool) => {
        const g = gate();
        const render = pool.render(job('Hello {{ name }}', { name: 'Asha', gate: g.buffer }));
        const flag = settledFlag(render);
        await g.reached();
        // The render is in progress on its thread; this thread still runs timers, I/O and handlers.
        await new Promise((resolve) => setImmediate(resolve));
        const res = await fetch(`${url}/ping`);
        assert.equal(await res.text(), 'pong');
        assert.equal(flag.settled, false, 'the render waits for the gate');
        g.open();
        assert.equal((await render).output, 'Hello Asha');
      });
    } finally {
      await http.close();
    }
  });

  test('renderTemplate renders on the pool the app started, so a slow template lets the loop turn', async () => {
    const stop = await startRenderPool(1);
    try {
      const order: string[] = [];
      const render = renderTemplate(SLOW, {}).then(
        () => order.push('render'),
        (err: unknown) => {
          assert.ok(err instanceof AppError && err.code === 'TEMPLATE_LIMIT_EXCEEDED', String(err));
          order.push('render');
        },
      );
      // Inline, the whole render would run (and settle) before the loop reached this callback.
      await new Promise((resolve) => setImmediate(resolve));
      order.push('loop turned');
      await render;
      assert.deepEqual(order, ['loop turned', 'render']);
    } finally {
      await stop();
    }
  });

  test('a render on a thread answers exactly what an inline render does, errors with their code and details', async () => {
    const cases: Array<[string, Record<string, unknown>, boolean]> = [
      [
        'Order #{{ order.order_number }} for {{ first_name }}',
        { order: { order_number: 'LC1' }, first_name: 'A' },
        false,
      ],
      ['<p>{{ v }}</p>', { v: '<script>"x"</script>' }, true],
      ['Pickup on {{ order.pickup_date }}', { order: {} }, false],
      ['{% if order %}open', {}, false],
      ['{% include "/etc/passwd" %}', {}, false],
      ['{{ note }}', { note: '' }, false],
      ['{{ note }}', { note: 'x'.repeat(70_000) }, false],
      ['{% for i in (1..100000000) %}x{% endfor %}', {}, false],
      ['{{ polluted | default: "-" }}', JSON.parse('{"__proto__": {"polluted": "yes"}}'), false],
    ];
    await withPool({ threads: 2 }, async (pool) => {
      for (const [source, context, escapeHtml] of cases) {
        let inline: { output: string } | { error: AppError };
        try {
          inline = { output: renderOnThisThread(source, context, { escapeHtml }).output };
        } catch (err) {
          assert.ok(err instanceof AppError, source);
          inline = { error: err };
        }
        const threaded = await pool.render(job(source, context, escapeHtml)).then(
          ({ output }) => ({ output }),
          (error: unknown) => ({ error }),
        );
        if ('output' in inline) {
          assert.deepEqual(threaded, inline, source);
          continue;
        }
        assert.ok('error' in threaded && threaded.error instanceof AppError, source);
        const { code, status, message, details } = threaded.error;
        const want = inline.error;
        assert.deepEqual(
          { code, status, message, details },
          { code: want.code, status: want.status, message: want.message, details: want.details },
          source,
        );
      }
    });
  });

  test('a render that outlives the backstop fails as over the render_time limit and its thread is replaced', async () => {
    await withPool({ threads: 1, script: GATED, timeoutMs: 300 }, async (pool) => {
      const hung = gate();
      await assert.rejects(
        pool.render(job('never', { gate: hung.buffer })),
        (err: unknown) =>
          err instanceof AppError &&
          err.code === 'TEMPLATE_LIMIT_EXCEEDED' &&
          err.details?.['limit'] === 'render_time',
      );
      // The pool's one thread waits behind a gate nobody opens: only a new thread can render this.
      const next = (await pool.render(job('thread {{ thread }}'))).output;
      assert.match(next, /^thread \d+$/);
      assert.notEqual(next, `thread ${hung.thread()}`, 'a fresh thread renders the next job');
    });
  });

  test('renders that waited go to a free thread in chunks of RENDER_CHUNK, each answered with its own output', async () => {
    await withPool({ threads: 1, script: GATED }, async (pool) => {
      const g = gate();
      const first = pool.render(job('first', { gate: g.buffer }));
      await g.reached();
      const waiting = Array.from({ length: RENDER_CHUNK + 8 }, (_, i) =>
        pool.render(job('{{ i }}@{{ message }}', { i })),
      );
      g.open();
      assert.equal((await first).output, 'first');
      const answers = (await Promise.all(waiting)).map((a) => a.output.split('@'));
      assert.deepEqual(
        answers.map(([i]) => Number(i)),
        waiting.map((_, i) => i),
      );
      // Message 1 carried the gated job; the waiting ones came in two messages, not one each.
      const messages = answers.map(([, m]) => Number(m));
      assert.deepEqual([...new Set(messages)], [2, 3]);
      assert.equal(messages.filter((m) => m === 2).length, RENDER_CHUNK);
    });
  });

  test('a context that cannot be cloned fails its own render only, not the others of its chunk', async () => {
    await withPool({ threads: 1, script: GATED }, async (pool) => {
      const g = gate();
      const first = pool.render(job('first', { gate: g.buffer }));
      await g.reached();
      const before = pool.render(job('before'));
      const bad = pool.render(job('bad {{ f }}', { f: () => 1 }));
      const after = pool.render(job('after'));
      g.open();
      assert.equal((await first).output, 'first');
      await assert.rejects(bad, (err: unknown) => err instanceof Error && err.name === 'DataCloneError');
      assert.deepEqual(await outputs([before, after]), ['before', 'after']);
    });
  });

  test('a full queue refuses a render at once with SERVICE_OVERLOADED, and the queued ones still render', async () => {
    await withPool({ threads: 1, script: GATED, queueLimit: 1 }, async (pool) => {
      const g = gate();
      const running = pool.render(job('first', { gate: g.buffer }));
      await g.reached();
      const queued = pool.render(job('second'));
      await assert.rejects(
        pool.render(job('third')),
        (err: unknown) =>
          err instanceof AppError &&
          err.code === 'SERVICE_OVERLOADED' &&
          err.status === 503 &&
          err.details?.['queue_limit'] === 1,
      );
      g.open();
      assert.deepEqual(await outputs([running, queued]), ['first', 'second']);
    });
  });

  test('close stops every thread and fails the renders still running or waiting', async () => {
    const before = threadsAlive();
    const pool = new RenderPool({ threads: 2, script: GATED });
    const g = gate();
    try {
      assert.equal((await pool.render(job('warm'))).output, 'warm');
      assert.equal(threadsAlive(), before + 2);
      const running = [pool.render(job('a', { gate: g.buffer })), pool.render(job('b', { gate: g.buffer }))];
      await g.reached();
      const outcomes = Promise.allSettled([...running, pool.render(job('c'))]);
      await pool.close();
      for (const outcome of await outcomes) {
        assert.ok(outcome.status === 'rejected' && outcome.reason instanceof AppError);
        assert.equal(outcome.reason.code, 'NOT_READY');
      }
      await assert.rejects(
        pool.render(job('d')),
        (err: unknown) => err instanceof AppError && err.code === 'NOT_READY',
      );
      assert.equal(threadsAlive(), before, 'no render thread is left');
    } finally {
      g.open();
      await pool.close();
    }
  });

  test('the stop startRenderPool returns leaves no thread, and renders fall back to the calling thread', async () => {
    const before = threadsAlive();
    const stop = await startRenderPool(2);
    try {
      assert.equal(await renderTemplate('Hi {{ n }}', { n: 1 }), 'Hi 1');
      assert.equal(threadsAlive(), before + 2);
    } finally {
      await stop();
    }
    assert.equal(threadsAlive(), before);
    assert.equal(await renderTemplate('Hi {{ n }}', { n: 2 }), 'Hi 2');
  });

  test('a thread that cannot load fails the start and every render, instead of being restarted for ever', async () => {
    await withPool(
      { threads: 2, script: new URL('./fixtures/no-such-thread.ts', import.meta.url) },
      async (pool) => {
        const render = pool.render(job('Hi'));
        await assert.rejects(pool.started(), /Template render threads cannot start/);
        await assert.rejects(render, /Template render threads cannot start/);
        await assert.rejects(pool.render(job('Hi')), /Template render threads cannot start/);
      },
    );
  });

  test('nothing in the service renders on its own thread but the pool (one render API)', () => {
    const src = join(import.meta.dirname, '..', '..', 'src');
    const callers = readdirSync(src, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .filter((f) => readFileSync(join(src, f), 'utf8').includes('renderOnThisThread'));
    assert.deepEqual(callers.sort(), ['templates/render-pool.ts', 'templates/render.ts']);
  });

  test('a refused render is the service state, not the message: channels retry it rather than fail it', () => {
    assert.equal(isMessageFault(new AppError('SERVICE_OVERLOADED')), false);
    assert.equal(isMessageFault(new AppError('NOT_READY')), false);
    assert.equal(isMessageFault(new AppError('TEMPLATE_MISSING_VAR')), true);
    // At send, out of time may be the machine's stall: retried. Out of memory or output is the
    // template's. A preview shows every limit on its field (isMessageFault).
    const limit = (name: string) => new AppError('TEMPLATE_LIMIT_EXCEEDED', 'limit', { limit: name });
    assert.equal(isMessageFault(limit('render_time')), true);
    assert.equal(failsDelivery(limit('render_time')), false);
    assert.equal(failsDelivery(limit('memory')), true);
    assert.equal(failsDelivery(limit('output_size')), true);
    assert.equal(failsDelivery(new AppError('SERVICE_OVERLOADED')), false);
    assert.equal(failsDelivery(new AppError('TEMPLATE_MISSING_VAR')), true);
    assert.equal(isMessageFault(new Error('boom')), false);
  });
});

describe(`render pool in the service (${ENGINE})`, () => {
  test('a preview of a slow template does not hold the event loop, and closing the service stops its render threads', async () => {
    const before = threadsAlive();
    const t = await createTestDatabase();
    const app = await startSmsApp(t, { TEMPLATE_RENDER_THREADS: '2' });
    try {
      assert.equal(threadsAlive(), before + 2);
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const started = performance.now();
      // The preview renders the slow text several times (the field, its lint, the save check).
      const res = await fetch(`${app.url}/api/v1/templates/preview`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ type: 'order_confirmed', locale: 'en', field: 'sms', source: SLOW }),
      });
      const took = performance.now() - started;
      delay.disable();
      assert.equal(res.status, 200);
      const body = (await res.json()) as { errors: { sms?: { code: string } } };
      assert.equal(body.errors.sms?.code, 'TEMPLATE_LIMIT_EXCEEDED');
      // Relative, with a wide margin: rendered on the event loop, one stall would be most of `took`.
      const longestStallMs = delay.max / 1e6;
      assert.ok(
        longestStallMs < took / 2,
        `the event loop stalled ${Math.round(longestStallMs)} ms of a ${Math.round(took)} ms preview`,
      );
    } finally {
      await app.close();
      await t.close();
    }
    assert.equal(threadsAlive(), before, 'no render thread outlives the service');
  });
});
