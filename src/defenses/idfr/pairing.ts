/**
 * Algorithm 2's training pairs. Embeddings of ID outputs are split by the target's head into the
 * correctly classified set X and the misclassified set X̃ (Definition 1). Each pair (h, h̃) shares
 * its true label and is mixed as α·h + (1 − α)·h̃ with α ~ U(0, 1) (Eq. 6).
 *
 * - "paper": every h̃ ∈ X̃ is paired with the other embedding of the same sample when that one is
 *   in X (an AE and its Gaussian-augmented clean twin), else with a random member of X of the same
 *   class; every h ∈ X is also paired with itself, which is Eq. 5's second term (keep X in place).
 *   A misclassified embedding whose class has no member in X cannot be paired and is left out.
 * - "pooled" (the authors' code): all embeddings of a class form one pool, and each embedding is
 *   paired with a random member of its class's pool.
 */
import { Rng } from "../../data/random.js";

export type FrPairing = "paper" | "pooled";

export interface PairingInput {
  /** True label of each embedding. */
  labels: ArrayLike<number>;
  /** Whether the head classifies each embedding correctly (X) or not (X̃). */
  correct: ArrayLike<boolean | number>;
  /** Index of the other embedding of the same source sample, or -1. */
  twin: ArrayLike<number>;
  numClasses: number;
}

export interface Pairs {
  /** Index of the first member (h) of each pair. */
  first: Int32Array;
  /** Index of the second member (h̃) of each pair. */
  second: Int32Array;
  /** Mixing weight α of each pair, in [0, 1]. */
  alpha: Float32Array;
}

/** Draws this epoch's pairs and weights (seeded). */
export function makePairs(input: PairingInput, mode: FrPairing, rng: Rng): Pairs {
  const n = input.labels.length;
  const pools: number[][] = Array.from({ length: input.numClasses }, () => []);
  const correctPools: number[][] = Array.from({ length: input.numClasses }, () => []);
  for (let i = 0; i < n; i++) {
    pools[input.labels[i]].push(i);
    if (input.correct[i]) correctPools[input.labels[i]].push(i);
  }
  const first: number[] = [];
  const second: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = input.labels[i];
    if (mode === "pooled") {
      const pool = pools[label];
      first.push(pool[rng.int(pool.length)]);
      second.push(i);
    } else if (input.correct[i]) {
      first.push(i);
      second.push(i);
    } else {
      const t = input.twin[i];
      if (t >= 0 && input.correct[t]) {
        first.push(t);
        second.push(i);
      } else if (correctPools[label].length > 0) {
        const pool = correctPools[label];
        first.push(pool[rng.int(pool.length)]);
        second.push(i);
      }
    }
  }
  const alpha = Float32Array.from(first, () => rng.next());
  return { first: Int32Array.from(first), second: Int32Array.from(second), alpha };
}
