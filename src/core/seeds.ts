/**
 * Every seed in the project is derived here, from the one seed a run is given.
 *
 * - {@link deriveSeed} and {@link SeedTree} derive independent seeds from a root and a path of
 *   integers (stream, epoch, sample, ...). New code derives its seeds this way.
 * - {@link seedFor} holds the mixes that existing code has used since before the seed tree. They
 *   are kept exactly as they are, odd constants included, because changing any of them would
 *   change the weights, adversarial examples and accuracies that a given seed reproduces.
 *
 * A derived seed feeds either the data layer's `Rng` (data order, augmentation) or an explicit
 * libtorch `Generator` (tensor draws). Nothing in the project reseeds libtorch's global generator:
 * each stream has a generator of its own, so streams cannot disturb each other.
 */

/** MurmurHash3's 32-bit finaliser: a bijective mix that spreads nearby inputs apart. */
export function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A 32-bit seed derived from a base seed and a path of integers (e.g. seed, epoch, batch), so that
 * each epoch and each batch gets its own independent stream whatever thread computes it.
 */
export function deriveSeed(seed: number, ...path: number[]): number {
  // Each step is a bijective 32-bit mix (murmur3's finaliser) of the state xor the next part, so
  // the seed and the parts are not interchangeable; the length ends the path, so (s) != (s, 0).
  let h = fmix32((seed >>> 0) ^ 0x3c6ef372);
  for (const p of path) h = fmix32(h ^ (p >>> 0));
  return fmix32(h ^ path.length);
}

/**
 * A node of the seed tree: `seedTree(7).child(STREAM, epoch).seed`. A child's seed is
 * `deriveSeed(parent.seed, ...path)`, so siblings are independent and a subtree can be handed to
 * code that derives further without knowing where it sits.
 */
export class SeedTree {
  constructor(readonly seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new TypeError(`seedTree: expected an integer seed in [0, 4294967295], got ${seed}`);
    }
  }

  /** The node at `path` below this one. */
  child(...path: number[]): SeedTree {
    for (const p of path) {
      if (!Number.isInteger(p) || p < 0) throw new TypeError(`seedTree: expected non-negative integers in a path, got ${p}`);
    }
    return new SeedTree(deriveSeed(this.seed, ...path));
  }
}

/** The root of a run's seed tree. */
export const seedTree = (root: number): SeedTree => new SeedTree(root);

/** The first part of a path below a run's seed, one per stream that is derived through the tree. */
export const STREAM = {
  /** The masks of a TVM defense in an experiment. */
  tvmMasks: 1,
} as const;

/**
 * The seed mixes in use before the seed tree, one named function each, kept bit for bit (see the
 * file comment). Each comment names where the seed is used.
 */
export const seedFor = {
  /**
   * Weight initialisation: the generator a model's layers draw their initial weights from
   * (`nn.init.withInitGenerator`) is seeded with the run's seed itself. FR training draws its
   * Gaussian copies from that generator first, then the restorer's weights.
   */
  weights: (seed: number): number => seed,
  /**
   * The generator of one training epoch's tensor draws (Gaussian copies of ID training; Fast AT's
   * random starts and dropout masks, in step order): `seed * 1000 + epoch`.
   */
  epochDraws: (seed: number, epoch: number): number => seed * 1000 + epoch,
  /** The order of ID training rows in one epoch (a JS Rng): `seed * 7919 + epoch`. */
  idOrder: (seed: number, epoch: number): number => seed * 7919 + epoch,
  /** The FR pairs drawn in one epoch (a JS Rng): `seed * 104729 + epoch`. */
  frPairs: (seed: number, epoch: number): number => seed * 104729 + epoch,
  /**
   * One sample's draws in an attack (random start, noise, target class): a hash of the attack
   * seed, the sample id and a stream number, so a sample's draws do not depend on its batch.
   */
  sample(seed: number, sampleId: number, stream = 0): number {
    const a = fmix32((seed >>> 0) ^ 0x9e3779b9);
    const b = fmix32(a ^ fmix32((sampleId >>> 0) + 0x7f4a7c15) ^ Math.floor(sampleId / 2 ** 32));
    return fmix32(b ^ fmix32(stream + 0x165667b1));
  },
  /** The generator of a TVM defense's masks in an experiment (through the seed tree). */
  tvmMasks: (seed: number): number => deriveSeed(seed, STREAM.tvmMasks),
} as const;
