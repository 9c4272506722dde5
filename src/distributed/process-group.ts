/**
 * A process group on torch's c10d: a TCPStore rendezvous at rank 0's address, then Gloo (CPU
 * tensors) or NCCL (CUDA tensors, where libtorch has it). Collectives are in place and come in two
 * forms: synchronous (for a training step, which runs inside a tensor scope that cannot span an
 * await) and `...Async` (they wait off the event loop). Every wait has the group's timeout, so a
 * rank that died or never came makes the others fail with an error instead of hanging.
 */
import { native } from "../torch/native.js";
import type { GroupHandle, ReduceOpName, WorkHandle } from "../torch/native-distributed.js";
import { empty, Tensor } from "../torch/index.js";

export type Backend = "gloo" | "nccl";
export type { ReduceOpName };

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  /** Host of rank 0's store (rank 0 listens on it). */
  masterAddr: string;
  masterPort: number;
  /** "gloo" (default) or "nccl" (CUDA tensors). */
  backend?: Backend;
  /** How long the rendezvous and each collective may wait for the other ranks (default 120 s). */
  timeoutMs?: number;
  /** Address this rank's Gloo transport binds to (default: the loopback for a local master, else the host name's). */
  hostname?: string;
  /** Separates several groups over one store; default "default". */
  name?: string;
  /** Where this rank's tensors for the group live: "cpu" for Gloo (default), "cuda:LOCAL_RANK" for NCCL (default "cuda"). */
  device?: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;

/** The backends the addon was built with. */
export function availableBackends(): Backend[] {
  return native.distributed.backends() as Backend[];
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/** A collective or rendezvous that failed, with the rank, the operation and libtorch's reason. */
export class DistributedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DistributedError";
  }
}

/** Started collectives (one per tensor): wait for them (sync or async) before reading their tensors. */
export class Work {
  constructor(readonly handles: readonly WorkHandle[], private readonly describe: (e: unknown) => DistributedError, private readonly timeoutMs: number) {}
  wait(): void {
    try {
      for (const h of this.handles) native.distributed.waitWork(h, this.timeoutMs);
    } catch (e) {
      throw this.describe(e);
    }
  }
  async waitAsync(): Promise<void> {
    try {
      await Promise.all(this.handles.map((h) => native.distributed.waitWorkAsync(h, this.timeoutMs)));
    } catch (e) {
      throw this.describe(e);
    }
  }
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly backend: Backend;
  readonly timeoutMs: number;
  /** Where tensors exchanged through this group are made (see ProcessGroupOptions.device). */
  readonly device: string;
  #handle: GroupHandle | null;

  private constructor(handle: GroupHandle, o: Required<Pick<ProcessGroupOptions, "rank" | "worldSize" | "backend" | "timeoutMs" | "device">>) {
    this.device = o.device;
    this.#handle = handle;
    this.rank = o.rank;
    this.worldSize = o.worldSize;
    this.backend = o.backend;
    this.timeoutMs = o.timeoutMs;
  }

  /**
   * Joins the group: rank 0 opens the store at masterAddr:masterPort, the others connect to it,
   * then every pair of ranks connects. Rejects after the timeout naming the address and the ranks.
   */
  static async create(o: ProcessGroupOptions): Promise<ProcessGroup> {
    const backend = o.backend ?? "gloo";
    const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new RangeError(`worldSize: expected a positive integer, got ${o.worldSize}`);
    if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) throw new RangeError(`rank: expected an integer in [0, ${o.worldSize - 1}], got ${o.rank}`);
    if (!Number.isInteger(o.masterPort) || o.masterPort < 1 || o.masterPort > 65535) throw new RangeError(`masterPort: expected a port in [1, 65535], got ${o.masterPort}`);
    if (!(timeoutMs > 0)) throw new RangeError(`timeoutMs: expected a positive number, got ${timeoutMs}`);
    const backends = availableBackends();
    if (!backends.includes("gloo")) {
      throw new DistributedError("this build of the idfr addon has no c10d process groups: install Gloo's headers " +
        "(Debian: apt-get install libgloo-dev) and run `npm run build:native`");
    }
    if (backend !== "gloo" && backend !== "nccl") throw new TypeError(`backend: expected "gloo" or "nccl", got ${JSON.stringify(backend)}`);
    if (!backends.includes(backend)) {
      throw new DistributedError(`backend ${backend}: the linked libtorch has no ${backend.toUpperCase()} (a CPU build); use "gloo", or build the addon against a CUDA libtorch (LIBTORCH=...)`);
    }
    const where = `${o.masterAddr}:${o.masterPort}`;
    const who = `rank ${o.rank} of ${o.worldSize}`;
    let store;
    try {
      store = await native.distributed.createStore(o.masterAddr, o.masterPort, o.rank === 0, o.worldSize, timeoutMs);
    } catch (e) {
      const why = o.rank === 0 ? `could not open the rendezvous store on port ${o.masterPort} (in use, or not this host's address?)`
        : `could not reach rank 0's rendezvous store at ${where} within ${timeoutMs / 1000} s (check MASTER_ADDR/MASTER_PORT and that rank 0 runs)`;
      throw new DistributedError(`${who}: ${why}: ${message(e)}`);
    }
    const hostname = o.hostname ?? (isLoopback(o.masterAddr) ? "127.0.0.1" : "");
    try {
      const handle = await native.distributed.createGroup(backend, store, o.name ?? "default", o.rank, o.worldSize, timeoutMs, hostname);
      return new ProcessGroup(handle, { rank: o.rank, worldSize: o.worldSize, backend, timeoutMs, device: o.device ?? (backend === "nccl" ? "cuda" : "cpu") });
    } catch (e) {
      throw new DistributedError(`${who}: the ${backend} rendezvous at ${where} failed within ${timeoutMs / 1000} s ` +
        `(did all ${o.worldSize} ranks start, with the same WORLD_SIZE and MASTER_PORT?): ${message(e)}`);
    }
  }

  get handle(): GroupHandle {
    if (this.#handle === null) throw new DistributedError(`rank ${this.rank}: the process group has been destroyed`);
    return this.#handle;
  }

  #failure(what: string): (e: unknown) => DistributedError {
    return (e) => new DistributedError(`rank ${this.rank} of ${this.worldSize}: ${what} failed (another rank stopped, ` +
      `or none answered within ${this.timeoutMs / 1000} s): ${message(e)}`);
  }

  #start(what: string, start: () => WorkHandle[]): Work {
    let handles: WorkHandle[];
    try {
      handles = start();
    } catch (e) {
      throw this.#failure(what)(e);
    }
    return new Work(handles, this.#failure(what), this.timeoutMs);
  }

  /**
   * Starts an in-place all-reduce of each of `tensors` (contiguous; the same shapes in the same
   * order on every rank), one collective per tensor, all in flight at once.
   */
  startAllReduce(tensors: readonly Tensor[], op: ReduceOpName = "sum"): Work {
    return this.#start(`all-reduce (${op})`, () => tensors.map((t) => native.distributed.allReduce(this.handle, [t.handle], op, this.timeoutMs)));
  }
  /** All-reduces `tensors` in place and waits. */
  allReduce(tensors: readonly Tensor[], op: ReduceOpName = "sum"): void {
    this.startAllReduce(tensors, op).wait();
  }
  async allReduceAsync(tensors: readonly Tensor[], op: ReduceOpName = "sum"): Promise<void> {
    await this.startAllReduce(tensors, op).waitAsync();
  }

  /**
   * The sum of `t` over ranks as a new tensor that autograd differentiates: the backward pass
   * all-reduces the incoming gradient (torch.distributed.nn's all_reduce), so a loss on each rank
   * that depends on the sum sends its gradient to every rank's `t`. Every rank must call it, and
   * run the backward, at the same point of the same step.
   */
  allReduceSumDifferentiable(t: Tensor): Tensor {
    try {
      return new Tensor(native.distributed.allReduceSumDifferentiable(this.handle, t.handle, this.timeoutMs));
    } catch (e) {
      throw this.#failure("differentiable all-reduce (sum)")(e);
    }
  }

  startBroadcast(tensors: readonly Tensor[], root = 0): Work {
    this.#checkRoot(root);
    return this.#start(`broadcast from rank ${root}`, () => tensors.map((t) => native.distributed.broadcast(this.handle, [t.handle], root, this.timeoutMs)));
  }
  /** Overwrites `tensors` in place with rank `root`'s, and waits. */
  broadcast(tensors: readonly Tensor[], root = 0): void {
    this.startBroadcast(tensors, root).wait();
  }
  async broadcastAsync(tensors: readonly Tensor[], root = 0): Promise<void> {
    await this.startBroadcast(tensors, root).waitAsync();
  }

  /** Every rank's `input` (same shape and dtype on all ranks), in rank order; the caller disposes them. */
  allGather(input: Tensor): Tensor[] {
    const outputs = Array.from({ length: this.worldSize }, () => empty(input.shape, { dtype: input.dtype, device: input.device }));
    try {
      this.#start("all-gather", () => [native.distributed.allGather(this.handle, outputs.map((t) => t.handle), input.handle)]).wait();
      return outputs;
    } catch (e) {
      for (const t of outputs) t.dispose();
      throw e;
    }
  }

  /** Waits until every rank has reached it, off the event loop. */
  async barrier(): Promise<void> {
    await this.#start("barrier", () => [native.distributed.barrier(this.handle)]).waitAsync();
  }
  barrierSync(): void {
    this.#start("barrier", () => [native.distributed.barrier(this.handle)]).wait();
  }

  /** Closes the group's connections; later collectives throw. */
  destroy(): void {
    if (this.#handle !== null) native.distributed.destroyGroup(this.#handle);
    this.#handle = null;
  }

  #checkRoot(root: number): void {
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize) throw new RangeError(`root: expected a rank in [0, ${this.worldSize - 1}], got ${root}`);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
