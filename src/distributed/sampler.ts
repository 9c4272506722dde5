/**
 * A distributed sampler as torch's DistributedSampler: each epoch one permutation of the data,
 * seeded by (seed, epoch) and the same on every rank, of which rank r takes every world-th index
 * from position r. The shards are disjoint; the permutation is padded with its own first indices
 * to a multiple of the world size so every rank takes the same number of steps (or, with
 * dropLast, cut to one).
 */
import { Rng } from "../data/random.js";

export interface SamplerOptions {
  rank: number;
  worldSize: number;
  seed: number;
  /** Cut the tail instead of padding it (then a few rows are not seen in an epoch). */
  dropLast?: boolean;
}

/** Rank `rank`'s indices into a data set of `size` rows for `epoch`. */
export function distributedShard(size: number, epoch: number, o: SamplerOptions): Uint32Array {
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`size: expected a non-negative integer, got ${size}`);
  if (!Number.isInteger(o.worldSize) || o.worldSize < 1) throw new RangeError(`worldSize: expected a positive integer, got ${o.worldSize}`);
  if (!Number.isInteger(o.rank) || o.rank < 0 || o.rank >= o.worldSize) throw new RangeError(`rank: expected an integer in [0, ${o.worldSize - 1}], got ${o.rank}`);
  if (!Number.isInteger(epoch) || epoch < 0) throw new RangeError(`epoch: expected a non-negative integer, got ${epoch}`);
  const order = new Rng(epochSeed(o.seed, epoch)).permutation(size);
  const perRank = o.dropLast ? Math.floor(size / o.worldSize) : Math.ceil(size / o.worldSize);
  const out = new Uint32Array(perRank);
  for (let k = 0; k < perRank; k++) out[k] = order[(o.rank + k * o.worldSize) % Math.max(1, size)];
  return out;
}

/** One seed per (seed, epoch), as torch's sampler uses seed + epoch. */
function epochSeed(seed: number, epoch: number): number {
  return (seed + epoch) >>> 0;
}
