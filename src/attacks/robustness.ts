/**
 * Robust accuracy: how many adversarial examples a model (or a defense) still classifies
 * correctly, with a 95 % Wilson score interval, which stays inside [0, 1] and behaves at
 * accuracies near 0 or 1 where the normal approximation does not.
 */
import { logitsOf, type LogitsModel } from "../models/classifier.js";
import { noGrad, tidy, type Tensor } from "../torch/index.js";
import { checkInteger } from "./options.js";

/** What evaluation classifies with: a defense (its `classify`), a classifier or a logits function. */
export type Predictor = { classify(x: Tensor): Tensor } | LogitsModel;

/** Counts and accuracy with its 95 % Wilson interval. */
export interface RobustAccuracy {
  n: number;
  correct: number;
  accuracy: number;
  ci95: { low: number; high: number };
}

/** Predicted classes (int64 [N]) without gradient, in batches of `batchSize`. */
export function predictClasses(model: Predictor, x: Tensor, batchSize = 256): number[] {
  checkInteger("batchSize", batchSize, 1);
  const n = x.size(0);
  const out: number[] = [];
  for (let start = 0; start < n; start += batchSize) {
    const size = Math.min(batchSize, n - start);
    out.push(...tidy(() => noGrad(() => {
      const chunk = x.narrow(0, start, size);
      const classify = typeof model === "object" && model !== null && "classify" in model && typeof model.classify === "function";
      const classes = classify ? (model as { classify(x: Tensor): Tensor }).classify(chunk) : logitsOf(model as LogitsModel, chunk).argmax(1);
      return classes.toArray();
    })));
  }
  return out;
}

/** Wilson score interval for `correct` successes in `n` trials at normal quantile z (1.96: 95 %). */
export function wilsonInterval(correct: number, n: number, z = 1.96): { low: number; high: number } {
  checkInteger("n", n, 0);
  checkInteger("correct", correct, 0, n);
  if (n === 0) return { low: 0, high: 1 };
  const p = correct / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** Accuracy counts from predictions and labels. */
export function accuracyOf(predictions: readonly number[], labels: readonly number[]): RobustAccuracy {
  if (predictions.length !== labels.length) throw new RangeError(`accuracy: ${predictions.length} predictions but ${labels.length} labels`);
  const n = labels.length;
  const correct = predictions.filter((p, i) => p === labels[i]).length;
  return { n, correct, accuracy: n === 0 ? 0 : correct / n, ci95: wilsonInterval(correct, n) };
}

/** How many of `x` (e.g. adversarial examples) `model` classifies as `y`, with a 95 % interval. */
export function robustAccuracy(model: Predictor, x: Tensor, y: Tensor, batchSize = 256): RobustAccuracy {
  if (y.size(0) !== x.size(0)) throw new RangeError(`robustAccuracy: ${x.size(0)} images but ${y.size(0)} labels`);
  return accuracyOf(predictClasses(model, x, batchSize), y.toArray());
}
