/** Process-wide runtime settings: threads, seeds, devices, version. */
import { availableParallelism } from "node:os";
import { native } from "./native.js";

/** Sets the number of CPU threads libtorch uses for intra-op parallelism. */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new TypeError(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.numThreads();
}

/** libtorch's deterministic-mode flags, read back from libtorch. */
export interface DeterministicState {
  /** `torch.use_deterministic_algorithms`: ops without a deterministic kernel throw. */
  algorithms: boolean;
  /** Whether such ops only warn instead (always false when set through {@link setDeterministic}). */
  warnOnly: boolean;
  /** `torch.backends.cudnn.deterministic`. */
  cudnnDeterministic: boolean;
  /** `torch.backends.cudnn.benchmark` (autotuning picks kernels by timing, so it stays off). */
  cudnnBenchmark: boolean;
}

/**
 * Turns libtorch's deterministic mode on or off: deterministic algorithms (an op with no
 * deterministic kernel throws, naming itself, rather than warning), deterministic cuDNN, and no
 * cuDNN benchmarking. On a CUDA build it also sets CUBLAS_WORKSPACE_CONFIG=:4096:8 when unset,
 * which cuBLAS needs for repeatable matrix products. It does not fix the thread count: CPU
 * reductions split their work by thread, so results match across machines only when
 * {@link setNumThreads} is the same too.
 */
export function setDeterministic(on: boolean): void {
  if (typeof on !== "boolean") throw new TypeError(`setDeterministic: expected a boolean, got ${typeof on}`);
  if (on && native.cudaDeviceCount() > 0 && process.env.CUBLAS_WORKSPACE_CONFIG === undefined) {
    process.env.CUBLAS_WORKSPACE_CONFIG = ":4096:8"; // read by libtorch at each cuBLAS call
  }
  native.setDeterministic(on);
}

/** libtorch's deterministic-mode flags as it holds them now. */
export function deterministicState(): DeterministicState {
  const [algorithms, warnOnly, cudnnDeterministic, cudnnBenchmark] = native.deterministic();
  return { algorithms, warnOnly, cudnnDeterministic, cudnnBenchmark };
}

/** Whether libtorch's deterministic algorithms are on (see {@link setDeterministic}). */
export function isDeterministic(): boolean {
  return native.deterministic()[0];
}

/**
 * Seeds libtorch's global generators (CPU and CUDA): the same seed gives the same numbers on CPU.
 * The project itself never reseeds them: its draws come from explicit {@link Generator}s. This is
 * for users' own code, and for draws made without a generator.
 */
export function manualSeed(seed: number): void {
  if (!Number.isInteger(seed) || seed < 0) throw new TypeError(`manualSeed: expected a non-negative integer, got ${seed}`);
  native.manualSeed(seed);
}

/** Whether the linked libtorch has CUDA and sees at least one GPU. */
export function cudaAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}

/** The parts of a device name: "cpu", or CUDA with its index ("cuda" is index 0); null for anything else. */
export function parseDeviceName(device: string): { type: "cpu" } | { type: "cuda"; index: number } | null {
  if (device === "cpu") return { type: "cpu" };
  const m = /^cuda(?::(\d+))?$/.exec(device);
  return m ? { type: "cuda", index: m[1] === undefined ? 0 : Number(m[1]) } : null;
}

/** Validates a device name and that it exists here; returns it. */
export function checkDevice(device: string): string {
  const parsed = parseDeviceName(device);
  if (parsed?.type === "cpu") return device;
  if (!parsed) throw new TypeError(`device: expected "cpu", "cuda" or "cuda:N", got ${JSON.stringify(device)}`);
  const count = native.cudaDeviceCount();
  if (count === 0) {
    throw new Error(`device "${device}": the linked libtorch has no CUDA support or sees no GPU; build against a CUDA libtorch (LIBTORCH=/path) or use "cpu"`);
  }
  if (parsed.index >= count) throw new RangeError(`device "${device}": only ${count} CUDA device(s) present`);
  return device;
}

/** The linked libtorch's version, e.g. "1.13.0". */
export function libtorchVersion(): string {
  return native.version();
}

/**
 * The thread count a process starts with: `OMP_NUM_THREADS` when it is set (the first entry of an
 * OpenMP list such as "4,2"), otherwise every core. `idfr launch` sets it to cores / ranks, so that
 * ranks sharing a machine do not each start a pool as wide as the machine.
 */
export function defaultNumThreads(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.OMP_NUM_THREADS?.trim();
  if (raw === undefined || raw === "") return availableParallelism();
  const first = raw.split(",")[0].trim();
  const n = Number(first);
  if (!/^[0-9]+$/.test(first) || n < 1) throw new Error(`OMP_NUM_THREADS: expected a positive integer, got "${env.OMP_NUM_THREADS}"`);
  return n;
}

// Set explicitly, so that the count is the one documented above rather than libtorch's own choice.
native.setNumThreads(defaultNumThreads());
