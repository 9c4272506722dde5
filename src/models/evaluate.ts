/**
 * The one prediction and accuracy path: predicted classes of a classifier, a defense or a logits
 * function over a tensor or an image set (its own pixels, or float AEs in their place), accuracy,
 * and its 95 % Wilson score interval. It needs no defense, so trainers use it too; evaluation,
 * `idfr attack` and `idfr classify` reach it through eval/measure.ts.
 */
import { cleanFloats, labelTensor } from "../data/tensors.js";
import { imageSize, type ImageSet } from "../data/types.js";
import { noGrad, tensor, tidy, type Tensor } from "../torch/index.js";
import { logitsOf, type LogitsModel } from "./classifier.js";

/** What evaluation classifies with: a defense (its `classify`), a classifier or a logits function. */
export type Predictor = { classify(x: Tensor): Tensor } | LogitsModel;

/** Batching and placement of an evaluation. */
export interface PredictOptions {
  /** Images per forward pass (default 256). */
  batchSize?: number;
  /** Device each batch is moved to before the forward pass, e.g. "cuda:0" (default: where the input is). */
  device?: string;
}

/**
 * The standard normal quantile of 0.975: the z of a two-sided 95 % interval (1.96 to two decimals).
 * The exact value keeps intervals equal to those in results files written before.
 */
export const Z95 = 1.959963984540054;

/** Counts, accuracy and its 95 % Wilson interval. */
export interface RobustAccuracy {
  n: number;
  correct: number;
  /** correct / n (0 when n = 0). */
  accuracy: number;
  ci95: { low: number; high: number };
}

function checkCount(name: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name}: expected ${max === Number.MAX_SAFE_INTEGER ? "an integer >= 0" : `an integer in [0, ${max}]`}, got ${value}`);
  }
}

/**
 * Wilson score interval for `correct` successes in `n` trials at normal quantile `z` (default: 95 %).
 * It stays inside [0, 1] and behaves near 0 and 1, where the normal approximation does not.
 */
export function wilsonInterval(correct: number, n: number, z = Z95): { low: number; high: number } {
  checkCount("n", n);
  checkCount("correct", correct, n);
  if (n === 0) return { low: 0, high: 1 };
  const p = correct / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At 0 and n successes the bound is exactly 0 (or 1); rounding would otherwise leave ~1e-17 off.
  return { low: correct === 0 ? 0 : Math.max(0, centre - half), high: correct === n ? 1 : Math.min(1, centre + half) };
}

/** Accuracy, with its interval, from a number of correct answers out of `n`. */
export function accuracyFromCount(correct: number, n: number): RobustAccuracy {
  return { n, correct, accuracy: n === 0 ? 0 : correct / n, ci95: wilsonInterval(correct, n) };
}

/** Accuracy counts from predictions and labels. */
export function accuracyOf(predictions: ArrayLike<number>, labels: ArrayLike<number>): RobustAccuracy {
  if (predictions.length !== labels.length) throw new RangeError(`accuracy: ${predictions.length} predictions but ${labels.length} labels`);
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predictions[i] === labels[i]) correct += 1;
  return accuracyFromCount(correct, labels.length);
}

/** Predicted classes (int64 [N]) of one batch, recording no gradient: `classify` when the predictor has one, else argmax of its logits. */
export function classesOf(model: Predictor, x: Tensor): Tensor {
  return tidy(() => noGrad(() => {
    const hasClassify = typeof model === "object" && model !== null && "classify" in model && typeof model.classify === "function";
    return hasClassify ? (model as { classify(x: Tensor): Tensor }).classify(x) : logitsOf(model as LogitsModel, x).argmax(1);
  }));
}

function checkBatchSize(batchSize: number): number {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize: expected a positive integer, got ${batchSize}`);
  return batchSize;
}

/** Predicted classes of every row of `x`, in batches; the batches move to `options.device` when given. */
export function predictClasses(model: Predictor, x: Tensor, options: PredictOptions | number = {}): number[] {
  const { batchSize = 256, device } = typeof options === "number" ? { batchSize: options } : options;
  checkBatchSize(batchSize);
  const n = x.size(0);
  const out: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    out.push(...tidy(() => {
      const chunk = x.narrow(0, start, size);
      return classesOf(model, device && chunk.device !== device ? chunk.to(device) : chunk).toArray();
    }));
  }
  return out;
}

/** How many of `x` `model` classifies as `y`, with a 95 % interval. */
export function robustAccuracy(model: Predictor, x: Tensor, y: Tensor, options: PredictOptions | number = {}): RobustAccuracy {
  if (y.size(0) !== x.size(0)) throw new RangeError(`robustAccuracy: ${x.size(0)} images but ${y.size(0)} labels`);
  return accuracyOf(predictClasses(model, x, options), y.toArray());
}

/** Rows of `set` as input batches: its own pixels, or `images` (e.g. its AEs, float NCHW, same order). */
function* batches(set: ImageSet, images: Float32Array | null, batchSize: number): Generator<{ start: number; idx: number[]; data: Float32Array }> {
  const size = imageSize(set.shape);
  if (images && images.length !== set.shape[0] * size) throw new RangeError(`images: expected ${set.shape[0] * size} values for ${set.shape[0]} images, got ${images.length}`);
  for (let start = 0; start < set.shape[0]; start += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, set.shape[0] - start) }, (_, k) => start + k);
    yield { start, idx, data: images ? images.subarray(start * size, (start + idx.length) * size) : cleanFloats(set, idx) };
  }
}

/** One batch of a set as a tensor on `device` (CPU when not given). */
function batchTensor(set: ImageSet, idx: number[], data: Float32Array, device: string | undefined): Tensor {
  const x = tensor(data, [idx.length, ...set.shape.slice(1)]);
  return device && device !== "cpu" ? x.to(device) : x;
}

/** Predicted classes for every image of `set` (or of `images` in its place), in order. */
export function predict(model: Predictor, set: ImageSet, images: Float32Array | null = null, options: PredictOptions = {}): Int32Array {
  const out = new Int32Array(set.shape[0]);
  for (const { start, idx, data } of batches(set, images, checkBatchSize(options.batchSize ?? 256))) {
    out.set(tidy(() => classesOf(model, batchTensor(set, idx, data, options.device)).toArray()), start);
  }
  return out;
}

/** How many images of `set` (or `images` in their place, with `set`'s labels) `model` classifies correctly. */
export function countCorrect(model: Predictor, set: ImageSet, images: Float32Array | null = null, options: PredictOptions = {}): number {
  let correct = 0;
  for (const { idx, data } of batches(set, images, checkBatchSize(options.batchSize ?? 256))) {
    correct += tidy(() => {
      const classes = classesOf(model, batchTensor(set, idx, data, options.device));
      return classes.eq(labelTensor(set, idx).to(classes.device)).sum().item();
    });
  }
  return correct;
}

/** Fraction of `set` (or of `images` in its place) classified correctly (NaN for an empty set). */
export function accuracy(model: Predictor, set: ImageSet, images: Float32Array | null = null, options: PredictOptions = {}): number {
  return set.shape[0] ? countCorrect(model, set, images, options) / set.shape[0] : NaN;
}

/** {@link countCorrect} with its 95 % interval. */
export function setAccuracy(model: Predictor, set: ImageSet, images: Float32Array | null = null, options: PredictOptions = {}): RobustAccuracy {
  return accuracyFromCount(countCorrect(model, set, images, options), set.shape[0]);
}
