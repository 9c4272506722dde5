import type { Worker } from "node:worker_threads";
import { startModuleWorker } from "../core/worker-thread.js";
import { NO_AUGMENTATION, type Augmentation } from "./augment.js";
import { fillBatch } from "./batch.js";
import type { WorkerInit, WorkerMessage, WorkerReply, WorkerRequest } from "./loader-protocol.js";
import { deriveSeed, Rng } from "./random.js";
import { allocPixels, imageSize, type ImageSet, type Shape4 } from "./types.js";

/**
 * Batches of an image set as float32 NCHW arrays in [0, 1] with int32 labels.
 *
 * Why worker threads: a training step is synchronous and blocks the event loop for about a
 * second, so a batch prepared "asynchronously" on the main thread would not be prepared at all.
 * Batches are built in worker threads (pixels shared through a SharedArrayBuffer, results handed
 * back by transfer) while the step runs, `prefetch` batches ahead. Everything random (the epoch's
 * order, each batch's augmentation) is derived from `seed`, the epoch and the batch number, so the
 * batches are identical whichever thread builds them and however many workers there are.
 */

/** Options of {@link BatchLoader}. */
export interface LoaderOptions {
  batchSize: number;
  /** Reshuffle the order every epoch (default true). */
  shuffle?: boolean;
  /** Seed of the shuffles and augmentation (default 0). */
  seed?: number;
  /** Leave out the last batch when it is smaller than `batchSize` (default false). */
  dropLast?: boolean;
  /** Augmentation applied to every image (default none). */
  augmentation?: Augmentation;
  /** Worker threads building batches (default 1); 0 builds them on the calling thread, without prefetch. */
  workers?: number;
  /** Batches requested ahead of the one being consumed (default 2). */
  prefetch?: number;
}

/** A batch as typed arrays: `images` is NCHW float32 in [0, 1]. */
export interface ArrayBatch {
  images: Float32Array;
  labels: Int32Array;
  shape: Shape4;
  /** Positions in the image set of the batch's images. */
  indices: Uint32Array;
  epoch: number;
  /** Batch number within the epoch. */
  index: number;
}

/** Iterates an image set in (shuffled, augmented) batches, building them ahead in worker threads. */
export class BatchLoader {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly augmentation: Augmentation;
  readonly workerCount: number;
  readonly prefetch: number;
  private readonly set: ImageSet;
  private workers: Worker[] | undefined;
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (images: Float32Array) => void; reject: (err: Error) => void }>();
  /** Requests sent to each worker and not answered yet. */
  private readonly inFlight = new Map<Worker, number>();
  /** Workers asked to exit by close(). */
  private readonly closing = new Set<Worker>();
  /** The pixels on shared memory (the set's own array when it is shared already). */
  private shared: Uint8Array | undefined;

  constructor(set: ImageSet, options: LoaderOptions) {
    const { batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError(`batchSize: expected a positive integer, got ${batchSize}`);
    const workers = options.workers ?? 1;
    if (!Number.isInteger(workers) || workers < 0) throw new TypeError(`workers: expected a non-negative integer, got ${workers}`);
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 1) throw new TypeError(`prefetch: expected a positive integer, got ${prefetch}`);
    const aug = options.augmentation ?? NO_AUGMENTATION;
    if (!Number.isInteger(aug.cropPadding) || aug.cropPadding < 0) {
      throw new TypeError(`augmentation.cropPadding: expected a non-negative integer, got ${aug.cropPadding}`);
    }
    if (set.images.length !== set.shape[0] * imageSize(set.shape) || set.labels.length !== set.shape[0]) {
      throw new RangeError(`image set: ${set.images.length} pixels and ${set.labels.length} labels do not match shape ${set.shape.join("x")}`);
    }
    this.set = set;
    this.batchSize = batchSize;
    this.shuffle = options.shuffle ?? true;
    this.seed = options.seed ?? 0;
    this.dropLast = options.dropLast ?? false;
    this.augmentation = { ...aug };
    this.workerCount = workers;
    this.prefetch = prefetch;
  }

  /** Images in the set. */
  get size(): number {
    return this.set.shape[0];
  }

  /** Batches per epoch. */
  get batchesPerEpoch(): number {
    return this.dropLast ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  /** The order in which an epoch visits the images (a seeded permutation, or 0..N-1 without shuffle). */
  order(epoch: number): Uint32Array {
    if (!this.shuffle) return Uint32Array.from({ length: this.size }, (_, i) => i);
    return new Rng(deriveSeed(this.seed, 0, epoch)).permutation(this.size);
  }

  /** Builds batch `index` of `epoch` on the calling thread; identical to what a worker builds. */
  batch(epoch: number, index: number, order: Uint32Array = this.order(epoch)): ArrayBatch {
    const { indices, seed } = this.plan(epoch, index, order);
    const images = fillBatch(this.set.images, this.set.shape, indices, this.augmentation, seed, new Float32Array(indices.length * imageSize(this.set.shape)));
    return this.assemble(epoch, index, indices, images);
  }

  /**
   * The batches of one epoch. With workers, the next `prefetch` batches are built while the caller
   * works on the current one; the caller may do synchronous work between iterations. Leaving the
   * loop early (break, return, throw) closes the workers; after a whole epoch they are kept for
   * the next one until {@link close}.
   */
  async *epoch(epoch: number): AsyncGenerator<ArrayBatch, void, undefined> {
    const order = this.order(epoch);
    const count = this.batchesPerEpoch;
    if (this.workerCount === 0) {
      for (let b = 0; b < count; b++) yield this.batch(epoch, b, order);
      return;
    }
    const pending: Promise<ArrayBatch>[] = [];
    let next = 0;
    const launch = (): void => {
      while (pending.length < this.prefetch && next < count) {
        const b = next++;
        const { indices, seed } = this.plan(epoch, b, order);
        const p = this.request(b % this.workerCount, indices, seed).then((images) => this.assemble(epoch, b, indices, images));
        p.catch(() => {}); // a batch abandoned by an early `break` must not raise an unhandled rejection
        pending.push(p);
      }
    };
    let finished = false;
    try {
      launch();
      while (pending.length > 0) {
        const batch = await pending.shift()!;
        launch(); // request the next ones before handing this batch over, so they are built meanwhile
        yield batch;
      }
      finished = true;
    } finally {
      // An early `break`, or an error in the caller's loop or in a worker: stop the workers (once
      // the batches they are building are done) rather than leave them behind. After a complete
      // epoch they stay, idle and unref'd, for the next one; close() ends them.
      if (!finished) await this.close();
    }
  }

  /** Stops the worker threads (the loader can start them again). */
  async close(): Promise<void> {
    const workers = this.workers;
    this.workers = undefined;
    if (!workers) return;
    // Ask each worker to exit once its outstanding batches are sent, and keep it ref'd until then
    // (settle() must not unref it), or the process could end before the exit it awaits.
    await Promise.all(
      workers.map((w) => {
        this.closing.add(w);
        w.ref();
        const exited = new Promise<void>((resolve) => w.once("exit", () => (this.closing.delete(w), resolve())));
        w.postMessage({ close: true } satisfies WorkerMessage);
        return exited;
      }),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private plan(epoch: number, index: number, order: Uint32Array): { indices: Uint32Array; seed: number } {
    if (!(index >= 0 && index < this.batchesPerEpoch)) throw new RangeError(`batch: index ${index} is outside [0, ${this.batchesPerEpoch})`);
    const start = index * this.batchSize;
    const indices = order.slice(start, Math.min(start + this.batchSize, this.size));
    return { indices, seed: deriveSeed(this.seed, 1, epoch, index) };
  }

  private assemble(epoch: number, index: number, indices: Uint32Array, images: Float32Array): ArrayBatch {
    const [, c, h, w] = this.set.shape;
    const labels = new Int32Array(indices.length);
    for (let k = 0; k < indices.length; k++) labels[k] = this.set.labels[indices[k]];
    return { images, labels, shape: [indices.length, c, h, w], indices, epoch, index };
  }

  private startWorkers(): Worker[] {
    if (this.workers) return this.workers;
    const set = this.set;
    // Workers read the pixels in place when they are shared already; otherwise copy them once.
    this.shared ??= set.images.buffer instanceof SharedArrayBuffer ? set.images : copyToShared(set.images);
    const init: WorkerInit = { images: this.shared, shape: set.shape, augmentation: this.augmentation };
    this.workers = Array.from({ length: this.workerCount }, () => {
      const worker = startModuleWorker(import.meta.url, "loader-worker", { workerData: init });
      worker.on("message", (reply: WorkerReply) => this.settle(worker, reply));
      worker.on("error", (err) => this.failAll(err));
      worker.on("exit", (code) => {
        // Batches still awaited when a worker ends (crash, or close() during an epoch) fail.
        if (this.waiting.size > 0) this.failAll(new Error(`loader worker exited (code ${code}) with batches outstanding`));
      });
      // Idle workers must not keep the process alive; each is ref'd while a batch is awaited. This
      // comes after the listeners: adding a "message" listener refs a worker again.
      worker.unref();
      return worker;
    });
    return this.workers;
  }

  private request(workerIndex: number, indices: Uint32Array, seed: number): Promise<Float32Array> {
    const worker = this.startWorkers()[workerIndex];
    const id = this.nextId++;
    const req: WorkerRequest = { id, indices, seed };
    return new Promise<Float32Array>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      const n = (this.inFlight.get(worker) ?? 0) + 1;
      this.inFlight.set(worker, n);
      if (n === 1) worker.ref();
      worker.postMessage(req);
    });
  }

  private settle(worker: Worker, reply: WorkerReply): void {
    const n = (this.inFlight.get(worker) ?? 1) - 1;
    this.inFlight.set(worker, n);
    if (n === 0 && !this.closing.has(worker)) worker.unref();
    const waiter = this.waiting.get(reply.id);
    if (!waiter) return;
    this.waiting.delete(reply.id);
    if (reply.error !== undefined) waiter.reject(new Error(`loader worker: ${reply.error}`));
    else waiter.resolve(reply.images);
  }

  private failAll(err: Error): void {
    for (const waiter of this.waiting.values()) waiter.reject(err);
    this.waiting.clear();
    const workers = this.workers;
    this.workers = undefined;
    this.inFlight.clear();
    for (const w of workers ?? []) void w.terminate();
  }
}

function copyToShared(images: Uint8Array): Uint8Array {
  const shared = allocPixels(images.length);
  shared.set(images);
  return shared;
}
