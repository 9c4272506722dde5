import { tensor, type Tensor } from "../torch/index.js";
import type { ArrayBatch, BatchLoader } from "./loader.js";
import { imageSize, type ImageSet } from "./types.js";

/**
 * The bridge from typed-array batches to engine tensors. It is the only data-layer file that
 * imports the engine, so everything else can be used and tested without the native addon.
 */

/** A batch as tensors: `x` NCHW float32 in [0, 1], `y` int64 class labels. The caller disposes both. */
export interface TensorBatch {
  x: Tensor;
  y: Tensor;
  /** Positions in the image set of the batch's images. */
  indices: Uint32Array;
}

/** Copies an array batch into tensors (the engine copies the data). */
export function toTensorBatch(batch: ArrayBatch): TensorBatch {
  const x = tensor(batch.images, batch.shape, "float32");
  let y: Tensor;
  try {
    y = tensor(BigInt64Array.from(batch.labels, (v) => BigInt(v)), [batch.labels.length], "int64");
  } catch (err) {
    x.dispose();
    throw err;
  }
  return { x, y, indices: batch.indices };
}

/** The batches of one epoch of `loader` as tensors; each batch is the caller's to dispose. */
export async function* tensorBatches(loader: BatchLoader, epoch: number): AsyncGenerator<TensorBatch, void, undefined> {
  for await (const batch of loader.epoch(epoch)) yield toTensorBatch(batch);
}

/** Images `indices` of `set` as floats in [0, 1] (NCHW, in the order given). */
export function cleanFloats(set: ImageSet, indices: ArrayLike<number>): Float32Array {
  const size = imageSize(set.shape);
  const out = new Float32Array(indices.length * size);
  for (let k = 0; k < indices.length; k++) {
    const src = set.images.subarray(indices[k] * size, (indices[k] + 1) * size);
    for (let j = 0; j < size; j++) out[k * size + j] = src[j] / 255;
  }
  return out;
}

/** int64 labels of images `indices` of `set`. */
export function labelTensor(set: ImageSet, indices: ArrayLike<number>): Tensor {
  return tensor(BigInt64Array.from(Array.from(indices, (i) => BigInt(set.labels[i]))), [indices.length], "int64");
}
