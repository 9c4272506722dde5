/** Clean predictions and accuracy of a classifier (or any logits model) over an image set. */
import { BatchLoader } from "../data/loader.js";
import { toTensorBatch } from "../data/tensors.js";
import type { ImageSet } from "../data/types.js";
import { noGrad, tidy, type Tensor } from "../torch/index.js";

/** Predicted classes for every image of `set`, in order. */
export function predict(logits: (x: Tensor) => Tensor, set: ImageSet, batchSize = 256): Int32Array {
  const loader = new BatchLoader(set, { batchSize, shuffle: false, workers: 0 });
  const out = new Int32Array(set.shape[0]);
  for (let b = 0; b < loader.batchesPerEpoch; b++) {
    const batch = loader.batch(0, b);
    const preds = tidy(() => noGrad(() => {
      const { x, y } = toTensorBatch(batch);
      y.dispose();
      return logits(x).argmax(1).toArray();
    }));
    out.set(preds, b * batchSize);
  }
  return out;
}

/** Fraction of `set` classified correctly. */
export function accuracy(logits: (x: Tensor) => Tensor, set: ImageSet, batchSize = 256): number {
  const preds = predict(logits, set, batchSize);
  let correct = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === set.labels[i]) correct++;
  return preds.length ? correct / preds.length : NaN;
}
