import { drawTransform, writeImage, type Augmentation } from "./augment.js";
import { Rng } from "./random.js";
import type { Shape4 } from "./types.js";

/**
 * Fills `out` with the images at `indices` of an NCHW uint8 array, as float32 in [0, 1], each
 * augmented with transforms drawn from a generator seeded with `seed`. A pure function of its
 * arguments, so a worker thread and the main thread produce identical batches.
 */
export function fillBatch(
  images: Uint8Array, shape: Shape4, indices: ArrayLike<number>, augmentation: Augmentation, seed: number, out: Float32Array,
): Float32Array {
  const [, c, h, w] = shape;
  const size = c * h * w;
  if (out.length !== indices.length * size) {
    throw new RangeError(`fillBatch: out holds ${out.length} floats, expected ${indices.length} x ${size}`);
  }
  const rng = new Rng(seed);
  for (let k = 0; k < indices.length; k++) {
    writeImage(images, indices[k] * size, c, h, w, drawTransform(augmentation, rng), out, k * size);
  }
  return out;
}
