/**
 * Evaluation split across the ranks of a multi-process run (`idfr launch`): each rank predicts its
 * contiguous share of the images and the counts or predictions are gathered, so every rank holds
 * what one process would compute. Alone, these are evaluate.ts's plain functions. Every rank of the
 * default group must call them with the same images.
 */
import { imageSize, type ImageSet } from "../data/types.js";
import { defaultGroup, allGatherRows, myShare, sumOverRanks } from "../distributed/index.js";
import { countCorrect, predict, type PredictOptions, type Predictor } from "./evaluate.js";

/** Rows [start, start + count) of `set`, and of `images` in its place, without copying. */
function slice(set: ImageSet, images: Float32Array | null, start: number, count: number): { set: ImageSet; images: Float32Array | null } {
  const pixels = imageSize(set.shape);
  const [, c, h, w] = set.shape;
  return {
    set: { ...set, images: set.images.subarray(start * pixels, (start + count) * pixels), labels: set.labels.subarray(start, start + count), shape: [count, c, h, w] },
    images: images ? images.subarray(start * pixels, (start + count) * pixels) : null,
  };
}

/** {@link countCorrect} over every rank's share of the images, summed. */
export function countCorrectOverRanks(model: Predictor, set: ImageSet, images: Float32Array | null, options: PredictOptions = {}): number {
  if (!defaultGroup()) return countCorrect(model, set, images, options);
  const { start, count } = myShare(set.shape[0]);
  const part = slice(set, images, start, count);
  return sumOverRanks([countCorrect(model, part.set, part.images, options)])[0];
}

/** {@link predict} over every rank's share of the images, gathered in image order. */
export function predictOverRanks(model: Predictor, set: ImageSet, images: Float32Array | null, options: PredictOptions = {}): Int32Array {
  const group = defaultGroup();
  if (!group || group.worldSize === 1) return predict(model, set, images, options);
  const { start, count } = myShare(set.shape[0]);
  const part = slice(set, images, start, count);
  return Int32Array.from(allGatherRows(group, Float32Array.from(predict(model, part.set, part.images, options)), 1));
}

/** {@link countCorrectOverRanks} as a fraction of the images (NaN for an empty set). */
export function accuracyOverRanks(model: Predictor, set: ImageSet, images: Float32Array | null = null, options: PredictOptions = {}): number {
  return set.shape[0] ? countCorrectOverRanks(model, set, images, options) / set.shape[0] : NaN;
}
