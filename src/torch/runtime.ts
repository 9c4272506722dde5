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

/** Seeds libtorch's generators (CPU and CUDA): the same seed gives the same numbers on CPU. */
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

// Default: all cores, as the project promises (Debian's libtorch otherwise picks its own count).
native.setNumThreads(availableParallelism());
