/**
 * Data parallelism as DistributedDataParallel does it, for a module trained by an optimizer: the
 * parameters and buffers start equal (broadcast from rank 0), each rank computes the gradient of
 * its share of the global batch, and the gradients are summed across ranks in buckets before each
 * optimizer step, so every rank takes the same step as one process on the whole batch would.
 *
 * The share is weighted: a rank's loss is the mean over its rows, so its gradient is scaled by
 * rows/globalRows before the sum, which makes uneven shares (a last, short batch) exact too. The
 * backward pass is one native call with no per-parameter hooks, so the all-reduce cannot overlap it;
 * the buckets overlap each other instead (all are started, then waited for).
 */
import { allReduceNumbers } from "./exchange.js";
import { cat, noGrad, tidy, type nn, type optim, type Tensor } from "../torch/index.js";
import type { ProcessGroup } from "./process-group.js";
import { synchronizeBatchNorm } from "./sync-batch-norm.js";

export interface DataParallelOptions {
  /** Largest all-reduce, in bytes of gradient (DDP's default: 25 MiB). */
  bucketBytes?: number;
  /**
   * Batch norm with the global batch's statistics (PyTorch's SyncBatchNorm) while training;
   * default false: each rank normalises with its own rows' statistics, as DDP does, and rank 0's
   * running statistics are handed to the others after each epoch.
   */
  syncBatchNorm?: boolean;
}

/** Time and volume of the gradient all-reduces so far (for benchmarks and logs). */
export interface ReduceStats {
  steps: number;
  milliseconds: number;
  bytes: number;
}

/** Rank `rank`'s contiguous share [start, start + count) of `n` rows split over `world` ranks (sizes differ by at most one). */
export function shareOf(n: number, rank: number, world: number): { start: number; count: number } {
  const start = Math.floor((rank * n) / world);
  return { start, count: Math.floor(((rank + 1) * n) / world) - start };
}

let active: DataParallel | null = null;

/**
 * This rank's rows of a global batch tensor (first dimension), when a data-parallel training is
 * running; `t` itself otherwise. Every tensor of one step must be cut with it (inputs and labels
 * alike), so the ranks' rows together are the batch one process would train on.
 */
export function localRows(t: Tensor): Tensor {
  return active ? active.localRows(t) : t;
}

export class DataParallel {
  readonly stats: ReduceStats = { steps: 0, milliseconds: 0, bytes: 0 };
  readonly #bucketBytes: number;
  readonly #syncBatchNorm: boolean;
  #rows: { local: number; global: number } | null = null;

  constructor(readonly group: ProcessGroup, readonly module: nn.Module, options: DataParallelOptions = {}) {
    this.#bucketBytes = options.bucketBytes ?? 25 * 1024 * 1024;
    this.#syncBatchNorm = options.syncBatchNorm ?? false;
    if (!(this.#bucketBytes > 0)) throw new RangeError(`bucketBytes: expected a positive number, got ${this.#bucketBytes}`);
  }

  get rank(): number {
    return this.group.rank;
  }

  /** See {@link localRows}. A rank with no rows of a batch smaller than the group computes on one row with weight 0. */
  localRows(t: Tensor): Tensor {
    const n = t.shape[0];
    const { start, count } = shareOf(n, this.group.rank, this.group.worldSize);
    if (this.#rows && this.#rows.global !== n) {
      throw new RangeError(`localRows: the tensors of one step have ${this.#rows.global} and ${n} rows; cut only the batch's rows`);
    }
    this.#rows = { local: count, global: n };
    return count > 0 ? t.narrow(0, start, count) : t.narrow(0, 0, Math.min(1, n));
  }

  /**
   * A step's result as counted across ranks: the rows this rank really trained on (0 for a rank
   * that had none), and for a step that did not cut its batch, rank 0 alone counts it.
   */
  counted<R extends { loss: number; n: number; correct?: number }>(r: R): R {
    const rows = this.#rows;
    this.#rows = null;
    const real = rows ? rows.local : this.rank === 0 ? r.n : 0;
    return { ...r, n: real, ...(r.correct !== undefined ? { correct: real === 0 ? 0 : r.correct } : {}) };
  }

  /** Rank 0's parameters and buffers on every rank (at the start, and after rank 0 resumed). */
  broadcastState(): void {
    const tensors = [...this.module.parameters(), ...this.module.namedBuffers().map(([, t]) => t)];
    noGrad(() => this.group.broadcast(tensors, 0));
  }

  /** Rank 0's buffers (BatchNorm running statistics, which each rank updates from its own rows) on every rank. */
  broadcastBuffers(): void {
    const buffers = this.module.namedBuffers().map(([, t]) => t);
    if (buffers.length > 0) noGrad(() => this.group.broadcast(buffers, 0));
  }

  /** Sums plain numbers across ranks (epoch statistics), as float64. */
  sum(values: readonly number[]): number[] {
    return allReduceNumbers(this.group, values);
  }

  /**
   * Replaces each parameter's gradient by the weighted sum over ranks (see the file comment).
   * Parameters without a gradient are left out; every rank has the same ones, as every rank runs
   * the same step.
   */
  reduceGradients(params: readonly Tensor[]): void {
    const t0 = performance.now();
    const rows = this.#rows;
    const weight = rows ? rows.local / rows.global : 1 / this.group.worldSize;
    noGrad(() => tidy(() => {
      const grads = params.map((p) => p.grad).filter((g): g is Tensor => g !== null);
      const buckets: Tensor[][] = [];
      let size = Infinity;
      for (const g of grads) {
        const bytes = g.numel * 4;
        if (size + bytes > this.#bucketBytes) {
          buckets.push([]);
          size = 0;
        }
        buckets[buckets.length - 1].push(g);
        size += bytes;
      }
      const flats = buckets.map((b) => cat(b.map((g) => g.flatten()), 0).mul_(weight));
      const works = flats.map((f) => this.group.startAllReduce([f], "sum"));
      works.forEach((w, i) => {
        w.wait();
        let at = 0;
        for (const g of buckets[i]) {
          g.copy_(flats[i].narrow(0, at, g.numel).view(g.shape));
          at += g.numel;
        }
        this.stats.bytes += flats[i].numel * 4;
      });
    }));
    this.stats.steps += 1;
    this.stats.milliseconds += performance.now() - t0;
  }

  /** Whether the module's batch norms use the global batch's statistics (see {@link DataParallelOptions.syncBatchNorm}). */
  get syncBatchNorm(): boolean {
    return this.#syncBatchNorm;
  }

  /**
   * Makes `optimizer.step()` reduce the gradients first (Horovod's DistributedOptimizer), makes
   * {@link localRows} cut batches for this run, and synchronises batch norm when asked. Returns
   * the undo.
   */
  attach(optimizer: optim.Optimizer): () => void {
    if (active) throw new Error("a data-parallel training is running already in this process");
    const unsync = this.#syncBatchNorm ? synchronizeBatchNorm(this.module, this.group, () => this.#rows) : () => {};
    const step = optimizer.step;
    optimizer.step = () => {
      this.reduceGradients(optimizer.params);
      step.call(optimizer);
    };
    active = this;
    return () => {
      optimizer.step = step;
      unsync();
      active = null;
      this.#rows = null;
    };
  }
}
