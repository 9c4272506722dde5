/**
 * Checks that loaded weights hold numbers: a tensor with NaN or Inf (a diverged run saved as is,
 * a corrupted file) would otherwise turn every output into NaN with no word of where it came from.
 * Tensors read from a file remember its path, so a later check can name it.
 */
import { isFloating } from "./dtype.js";
import { tidy } from "./scope.js";
import type { Tensor } from "./tensor.js";

/** Thrown when a weight tensor holds NaN or Inf; names the tensor and, when known, its file. */
export class NonFiniteWeightsError extends Error {
  constructor(readonly key: string, readonly source: string | undefined, readonly count: number, readonly numel: number) {
    super(`tensor "${key}"${source === undefined ? "" : ` in ${source}`} holds ${count} NaN or Inf value${count === 1 ? "" : "s"} (of ${numel}); expected finite weights`);
    this.name = "NonFiniteWeightsError";
  }
}

const sources = new WeakMap<Tensor, string>();

/** Records the file a tensor was read from. */
export function recordSource(t: Tensor, path: string): void {
  sources.set(t, path);
}

/** The file a tensor was read from, if it was read from one. */
export function sourceOf(t: Tensor): string | undefined {
  return sources.get(t);
}

/** How many elements are NaN or ±Inf (always 0 for integer and bool tensors). */
export function nonFiniteCount(t: Tensor): number {
  if (!isFloating(t.dtype) || t.numel === 0) return 0;
  return tidy(() => t.isFinite().logicalNot().sum().item());
}

/** Throws a {@link NonFiniteWeightsError} for the first tensor holding NaN or Inf. */
export function assertFinite(tensors: Iterable<[string, Tensor]>, source?: string): void {
  for (const [key, t] of tensors) {
    const count = nonFiniteCount(t);
    if (count > 0) throw new NonFiniteWeightsError(key, source ?? sourceOf(t), count, t.numel);
  }
}
