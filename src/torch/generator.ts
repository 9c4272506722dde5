/**
 * Explicit random generators. A random op given a {@link Generator} draws from it instead of
 * libtorch's one global generator, so separate streams (one per epoch, one per sample) need no
 * global reseeding and cannot disturb each other.
 */
import { native, type GeneratorHandle } from "./native.js";
import { checkDevice } from "./runtime.js";
import type { Device } from "./tensor.js";

/** The largest seed: libtorch seeds are unsigned 64-bit, and JS numbers are exact up to 2^53 − 1. */
const MAX_SEED = Number.MAX_SAFE_INTEGER;

/**
 * A random generator on one device, seeded once. On the CPU, `new Generator(s)` yields exactly the
 * numbers that the global generator yields after `manualSeed(s)` for the same draws in the same
 * order; on CUDA it starts like the device's default generator seeded with `s`.
 */
export class Generator {
  #handle: GeneratorHandle | null;
  /** The seed it was made with. */
  readonly seed: number;
  /** The device it draws on; ops must create or fill tensors on the same device. */
  readonly device: Device;

  constructor(seed: number, device: Device = "cpu") {
    if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
      throw new TypeError(`Generator: expected a non-negative integer seed (at most 2^53 - 1), got ${seed}`);
    }
    this.seed = seed;
    this.device = checkDevice(device);
    this.#handle = native.makeGenerator(seed, this.device);
  }

  /** The native handle; throws when the generator has been disposed. */
  get handle(): GeneratorHandle {
    if (this.#handle === null) throw new Error(`generator (seed ${this.seed}) has been disposed`);
    return this.#handle;
  }

  /** Frees the native generator now (otherwise garbage collection does). Idempotent. */
  dispose(): void {
    if (this.#handle !== null) {
      native.disposeGenerator(this.#handle);
      this.#handle = null;
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}
