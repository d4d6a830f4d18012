/**
 * The one clock of the service's time-dependent logic (when a retry falls due, when a lease has
 * expired, when a poll or sweep runs, quiet hours, digests), injected from the composition root so a
 * test can step time by hand instead of sleeping. Production uses `systemClock`.
 *
 * Throughput timers that only pace real work (the worker's 5 ms pass gap, a send's timeout, the
 * shutdown grace) stay on real time: they measure the machine, not the product's rules.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Run `fn` once `ms` of this clock's time has passed. Returns a function that cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
  /**
   * The instant the queue's SQL compares due times and leases against, or null for the database's
   * own now(). The system clock answers null: workers on several hosts then share the database's one
   * clock, so one host's skew cannot expire another's lease early or claim a retry before it is due.
   */
  sqlNow(): Date | null;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
  sqlNow: () => null,
};

/**
 * A clock that moves only when the test says so. It starts at the real time (so rows the database
 * stamped with its own now() are already in its past) and only goes forward; `advance` fires the
 * timers that fall due on the way, each at its own instant, so a worker polling on this clock wakes
 * when a test steps past a retry's due time.
 */
export class TestClock implements Clock {
  #now: number;
  #timers: Array<{ due: number; fn: () => void }> = [];

  /** Starts at the real time rounded up: a row stamped by the database (microseconds) a moment ago is due. */
  constructor(start = Math.ceil(performance.timeOrigin + performance.now())) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  sqlNow(): Date {
    return new Date(this.#now);
  }

  setTimeout(fn: () => void, ms: number): () => void {
    const timer = { due: this.#now + Math.max(0, ms), fn };
    this.#timers.push(timer);
    return () => {
      this.#timers = this.#timers.filter((t) => t !== timer);
    };
  }

  /** Step `ms` forward, firing every timer due by then in due order (a timer set by one that fires is honoured). */
  advance(ms: number): void {
    const until = this.#now + ms;
    for (;;) {
      const next = this.#timers.reduce<{ due: number; fn: () => void } | undefined>(
        (a, t) => (t.due <= until && (!a || t.due < a.due) ? t : a),
        undefined,
      );
      if (!next) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.due);
      next.fn();
    }
    this.#now = until;
  }
}
