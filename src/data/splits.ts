import { Rng } from "./random.js";
import { subset, type ImageSet, type Labels } from "./types.js";

/**
 * Seeded, stratified splitting: every part keeps the class proportions of what it is drawn from,
 * and the same seed always gives the same parts. Indices inside a part are in ascending order
 * (file order); shuffling for training is the loader's job.
 */

/**
 * Draws `n` of the `pool` indices (default: all of `labels`) so that each class gets its share
 * of `n` in proportion to its count in the pool (largest-remainder rounding, ties to the lower
 * class), the members of each class chosen uniformly at random. Returns them sorted ascending.
 */
export function stratifiedSample(labels: Labels, numClasses: number, n: number, rng: Rng, pool?: ArrayLike<number>): Uint32Array {
  const from = pool ?? Uint32Array.from({ length: labels.length }, (_, i) => i);
  if (!Number.isInteger(n) || n < 0 || n > from.length) {
    throw new RangeError(`stratifiedSample: expected a sample size in [0, ${from.length}], got ${n}`);
  }
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let k = 0; k < from.length; k++) byClass[labels[from[k]]].push(from[k]);
  const exact = byClass.map((members) => (n * members.length) / from.length);
  const quota = exact.map(Math.floor);
  let missing = n - quota.reduce((a, b) => a + b, 0);
  const order = exact.map((e, c) => c).sort((a, b) => exact[b] - quota[b] - (exact[a] - quota[a]) || a - b);
  for (let k = 0; missing > 0; k++, missing--) quota[order[k]]++;
  const chosen: number[] = [];
  for (let c = 0; c < numClasses; c++) {
    const members = byClass[c];
    // Partial Fisher–Yates: the first quota[c] slots become a uniform sample of the class.
    for (let i = 0; i < quota[c]; i++) {
      const j = i + rng.int(members.length - i);
      const tmp = members[i];
      members[i] = members[j];
      members[j] = tmp;
      chosen.push(members[i]);
    }
  }
  return Uint32Array.from(chosen).sort();
}

/**
 * Splits all indices of `labels` into `sizes.length + 1` stratified parts: the first parts have
 * the given sizes (drawn in turn, each from what is left), the last part holds the rest.
 */
export function stratifiedPartition(labels: Labels, numClasses: number, sizes: number[], seed: number): Uint32Array[] {
  const rng = new Rng(seed);
  const total = sizes.reduce((a, b) => a + b, 0);
  if (total > labels.length) throw new RangeError(`stratifiedPartition: parts of ${sizes.join(" + ")} = ${total} exceed the ${labels.length} items`);
  const parts: Uint32Array[] = [];
  let left: Uint32Array = Uint32Array.from({ length: labels.length }, (_, i) => i);
  for (const size of sizes) {
    const part = stratifiedSample(labels, numClasses, size, rng, left);
    parts.push(part);
    left = difference(left, part);
  }
  parts.push(left);
  return parts;
}

/** Elements of sorted `a` not in sorted `b`. */
function difference(a: Uint32Array, b: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length - b.length);
  let j = 0;
  let k = 0;
  for (let i = 0; i < a.length; i++) {
    if (j < b.length && b[j] === a[i]) j++;
    else out[k++] = a[i];
  }
  return out;
}

/**
 * At most `limit` images of `set`, classes balanced as in the full set (see {@link stratifiedSample}),
 * in file order. Returns `set` itself when it has no more than `limit` images.
 */
export function limitSet(set: ImageSet, limit: number | undefined, seed: number): ImageSet {
  if (limit === undefined) return set;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`limit: expected a positive integer, got ${limit}`);
  if (limit >= set.shape[0]) return set;
  return subset(set, stratifiedSample(set.labels, set.classes.length, limit, new Rng(seed)));
}
