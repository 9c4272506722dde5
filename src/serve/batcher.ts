/**
 * Dynamic batching in front of the inference worker. Concurrent requests for the same model are
 * gathered into one batch of at most `maxBatch` images, waiting at most `maxDelayMs` for company
 * (less when the worker is busy anyway: a batch goes out as soon as the worker is free and the
 * oldest request has waited its delay). One batch runs at a time, since one thread owns libtorch.
 * The queue is bounded: a request that finds it full fails at once with {@link QueueFullError}, and
 * one that waits past its deadline with {@link QueueTimeoutError}.
 */

/** A request cannot be queued: the queue holds `limit` requests already. */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the server is busy: ${limit} requests are already waiting (--max-queue); retry shortly`);
    this.name = "QueueFullError";
  }
}

/** A request waited longer than its deadline. */
export class QueueTimeoutError extends Error {
  constructor(readonly ms: number) {
    super(`the request timed out after ${ms} ms waiting for the model (--timeout-ms)`);
    this.name = "QueueTimeoutError";
  }
}

/** The batcher is closing and takes no new work. */
export class BatcherClosedError extends Error {
  constructor() {
    super("the server is shutting down");
    this.name = "BatcherClosedError";
  }
}

export interface BatcherOptions {
  /** Most images in one batch (a request with more runs alone). */
  maxBatch: number;
  /** Longest wait for other requests before a batch goes out, in ms. */
  maxDelayMs: number;
  /** Most requests waiting (not counting the batch running). */
  maxQueue: number;
  /** Deadline of a request from its arrival, in ms (0: none). */
  timeoutMs: number;
  /** False: every request is its own batch (for comparison). */
  batching: boolean;
}

/** What the batcher reports, for metrics. */
export interface BatcherEvents {
  queueDepth?(depth: number): void;
  batch?(model: string, rows: number, requests: number, seconds: number): void;
}

/** Runs the rows of several requests as one batch; returns one result per request, in order. */
export type RunBatch<I, R> = (model: string, inputs: I[], rows: number[]) => Promise<R[]>;

interface Entry {
  kind: "batch" | "job";
  model: string;
  rows: number;
  input: unknown;
  run?: () => Promise<unknown>;
  arrived: number;
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer?: NodeJS.Timeout;
  done: boolean;
}

export class Batcher<I, R> {
  readonly #queue: Entry[] = [];
  #running = false;
  #wake: NodeJS.Timeout | undefined;
  #closed = false;
  #hurry = false;
  #idle: (() => void)[] = [];

  constructor(readonly options: BatcherOptions, private readonly runBatch: RunBatch<I, R>, private readonly events: BatcherEvents = {}) {
    for (const k of ["maxBatch", "maxQueue"] as const) {
      if (!Number.isInteger(options[k]) || options[k] < 1) throw new RangeError(`${k}: expected a positive integer, got ${options[k]}`);
    }
    if (!(options.maxDelayMs >= 0)) throw new RangeError(`maxDelayMs: expected a number >= 0, got ${options.maxDelayMs}`);
    if (!(options.timeoutMs >= 0)) throw new RangeError(`timeoutMs: expected a number >= 0, got ${options.timeoutMs}`);
  }

  /** Requests waiting (not counting the batch running). */
  get depth(): number {
    return this.#queue.length;
  }

  /** Queues `rows` images for `model`; resolves with their share of the batch's result. */
  submit(model: string, input: I, rows: number): Promise<R> {
    return this.#enqueue({ kind: "batch", model, rows, input }) as Promise<R>;
  }

  /** Queues work that needs the worker to itself (an attack); it runs in arrival order. */
  exclusive<T>(model: string, run: () => Promise<T>): Promise<T> {
    return this.#enqueue({ kind: "job", model, rows: 0, input: null, run }) as Promise<T>;
  }

  #enqueue(e: Pick<Entry, "kind" | "model" | "rows" | "input" | "run">): Promise<unknown> {
    if (this.#closed) return Promise.reject(new BatcherClosedError());
    if (this.#queue.length >= this.options.maxQueue) return Promise.reject(new QueueFullError(this.options.maxQueue));
    return new Promise((resolve, reject) => {
      const entry: Entry = { ...e, arrived: performance.now(), resolve, reject, done: false };
      if (this.options.timeoutMs > 0) {
        entry.timer = setTimeout(() => {
          const i = this.#queue.indexOf(entry);
          if (i >= 0) this.#queue.splice(i, 1);
          this.#settle(entry, new QueueTimeoutError(this.options.timeoutMs));
          this.events.queueDepth?.(this.#queue.length);
        }, this.options.timeoutMs);
      }
      this.#queue.push(entry);
      this.events.queueDepth?.(this.#queue.length);
      this.#pump();
    });
  }

  #settle(e: Entry, error: Error | null, value?: unknown): void {
    if (e.done) return;
    e.done = true;
    clearTimeout(e.timer);
    if (error) e.reject(error);
    else e.resolve(value);
  }

  #pump(): void {
    clearTimeout(this.#wake);
    this.#wake = undefined;
    if (this.#running) return;
    const head = this.#queue[0];
    if (!head) {
      for (const f of this.#idle.splice(0)) f();
      return;
    }
    if (head.kind === "job") {
      this.#queue.shift();
      void this.#runJob(head);
      return;
    }
    const waited = performance.now() - head.arrived;
    const o = this.options;
    const batchable = o.batching ? this.#queue.filter((e) => e.kind === "batch" && e.model === head.model) : [head];
    const rows = batchable.reduce((n, e) => n + e.rows, 0);
    if (o.batching && rows < o.maxBatch && waited < o.maxDelayMs && !this.#closed && !this.#hurry) {
      this.#wake = setTimeout(() => this.#pump(), Math.max(0, o.maxDelayMs - waited));
      return;
    }
    const picked: Entry[] = [];
    let total = 0;
    for (const e of batchable) {
      if (picked.length > 0 && total + e.rows > o.maxBatch) break;
      picked.push(e);
      total += e.rows;
    }
    for (const e of picked) this.#queue.splice(this.#queue.indexOf(e), 1);
    void this.#runBatch(head.model, picked, total);
  }

  async #runBatch(model: string, picked: Entry[], rows: number): Promise<void> {
    this.#running = true;
    this.events.queueDepth?.(this.#queue.length);
    const t0 = performance.now();
    try {
      const results = await this.runBatch(model, picked.map((e) => e.input as I), picked.map((e) => e.rows));
      picked.forEach((e, i) => this.#settle(e, null, results[i]));
    } catch (err) {
      for (const e of picked) this.#settle(e, err as Error);
    } finally {
      this.events.batch?.(model, rows, picked.length, (performance.now() - t0) / 1000);
      this.#running = false;
      this.#pump();
    }
  }

  async #runJob(e: Entry): Promise<void> {
    this.#running = true;
    this.events.queueDepth?.(this.#queue.length);
    try {
      this.#settle(e, null, await e.run!());
    } catch (err) {
      this.#settle(e, err as Error);
    } finally {
      this.#running = false;
      this.#pump();
    }
  }

  /** From now on batches go out without waiting for company (the server is closing). */
  hurry(): void {
    this.#hurry = true;
    this.#pump();
  }

  /**
   * Takes no new requests and resolves when every queued one has run (batches go out at once,
   * without waiting for company).
   */
  drain(): Promise<void> {
    this.#closed = true;
    return new Promise((resolve) => {
      if (!this.#running && this.#queue.length === 0) resolve();
      else {
        this.#idle.push(resolve);
        this.#pump();
      }
    });
  }
}
