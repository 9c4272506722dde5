/** Target classes for targeted attacks, chosen per sample and reproducibly. */
import { tensor, type Tensor } from "../torch/index.js";
import { checkInteger } from "./options.js";
import { sampleSeed } from "./random.js";

/**
 * A random class different from each label, drawn from (seed, sample id) so that a sample gets the
 * same target in any batch. Labels int64 [N] -> targets int64 [N].
 */
export function randomTargets(labels: Tensor, numClasses: number, seed = 0, sampleIds?: ArrayLike<number>): Tensor {
  checkInteger("numClasses", numClasses, 2);
  checkInteger("seed", seed, 0, 2 ** 32 - 1);
  const y = labels.toArray();
  const ids = sampleIds ? Array.from(sampleIds) : y.map((_, i) => i);
  if (ids.length !== y.length) throw new RangeError(`sampleIds: expected ${y.length} ids, got ${ids.length}`);
  const out = y.map((label, i) => {
    // Shift the label by 1..C-1 (never 0), so the target always differs from it.
    const shift = 1 + (sampleSeed(seed, ids[i], 7) % (numClasses - 1));
    return (label + shift) % numClasses;
  });
  return tensor(BigInt64Array.from(out, (v) => BigInt(v)), [out.length], { device: labels.device });
}

/** The next class after each label, (y + 1) mod C: a fixed, easily checked targeted task. */
export function nextClassTargets(labels: Tensor, numClasses: number): Tensor {
  checkInteger("numClasses", numClasses, 2);
  return labels.add(1).remainder(numClasses);
}
