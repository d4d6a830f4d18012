/**
 * Group commit: each caller submits one item and awaits its own result, while the items that
 * arrive during a write go together into the next one. Under load one round trip serves hundreds
 * of callers; alone, an item waits only for the next turn of the event loop. Written by hand: the
 * queue libraries batch jobs, not awaited per-caller results of one SQL statement.
 */
export interface GroupCommitOptions<I> {
  maxBatch: number;
  /** Items with the same key never share a batch (one statement cannot update a row twice); their order is kept. */
  key?: (item: I) => string;
}

interface Waiting<I, O> {
  item: I;
  resolve: (out: O) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<I, O> {
  readonly #write: (items: I[]) => Promise<O[]>;
  readonly #o: GroupCommitOptions<I>;
  #queue: Waiting<I, O>[] = [];
  #running = false;

  /** `write` returns one result per item, in the items' order. */
  constructor(write: (items: I[]) => Promise<O[]>, options: GroupCommitOptions<I>) {
    this.#write = write;
    this.#o = options;
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#running) return;
      this.#running = true;
      setImmediate(() => void this.#drain());
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#take();
      try {
        const out = await this.#write(batch.map((w) => w.item));
        for (const [i, w] of batch.entries()) w.resolve(out[i]!);
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
    this.#running = false;
  }

  #take(): Waiting<I, O>[] {
    const { maxBatch, key } = this.#o;
    if (!key) return this.#queue.splice(0, maxBatch);
    const seen = new Set<string>();
    const batch: Waiting<I, O>[] = [];
    const rest: Waiting<I, O>[] = [];
    for (const w of this.#queue) {
      const k = key(w.item);
      if (batch.length < maxBatch && !seen.has(k)) {
        seen.add(k);
        batch.push(w);
      } else {
        rest.push(w);
      }
    }
    this.#queue = rest;
    return batch;
  }
}
