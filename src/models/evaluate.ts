/** Predictions and accuracy of a classifier (or any logits model) over an image set. */
import { cleanFloats, labelTensor } from "../data/tensors.js";
import { imageSize, type ImageSet } from "../data/types.js";
import { noGrad, tensor, tidy, type Tensor } from "../torch/index.js";

/** Rows of `set` as input batches: its own pixels, or `images` (e.g. its AEs, float NCHW, same order). */
function* batches(set: ImageSet, images: Float32Array | null, batchSize: number): Generator<{ start: number; idx: number[]; data: Float32Array }> {
  const size = imageSize(set.shape);
  if (images && images.length !== set.shape[0] * size) throw new RangeError(`images: expected ${set.shape[0] * size} values for ${set.shape[0]} images, got ${images.length}`);
  for (let start = 0; start < set.shape[0]; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.shape[0] - start) }, (_, k) => start + k);
    yield { start, idx, data: images ? images.subarray(start * size, (start + idx.length) * size) : cleanFloats(set, idx) };
  }
}

/** Predicted classes for every image of `set` (or of `images` in its place), in order. */
export function predict(logits: (x: Tensor) => Tensor, set: ImageSet, images: Float32Array | null = null, batchSize = 256): Int32Array {
  const out = new Int32Array(set.shape[0]);
  for (const { start, idx, data } of batches(set, images, batchSize)) {
    out.set(tidy(() => noGrad(() => logits(tensor(data, [idx.length, ...set.shape.slice(1)])).argmax(1).toArray())), start);
  }
  return out;
}

/** How many images of `set` (or `images` in their place, with `set`'s labels) `logits` classifies correctly. */
export function countCorrect(logits: (x: Tensor) => Tensor, set: ImageSet, images: Float32Array | null = null, batchSize = 256): number {
  let correct = 0;
  for (const { idx, data } of batches(set, images, batchSize)) {
    correct += tidy(() => noGrad(() => logits(tensor(data, [idx.length, ...set.shape.slice(1)])).argmax(1).eq(labelTensor(set, idx)).sum().item()));
  }
  return correct;
}

/** Fraction of `set` (or of `images` in its place) classified correctly. */
export function accuracy(logits: (x: Tensor) => Tensor, set: ImageSet, images: Float32Array | null = null, batchSize = 256): number {
  return set.shape[0] ? countCorrect(logits, set, images, batchSize) / set.shape[0] : NaN;
}
