/**
 * Feature Squeezing as Xu et al. (NDSS 2018) use it: a detector. Each squeezer is applied to the
 * input on its own; the score is the largest L1 distance between the target's softmax on the input
 * and on a squeezed copy; an input scoring above a threshold is flagged as adversarial. The
 * threshold is fitted on clean validation images for a false-positive rate (5 %), as their code
 * does: the ⌈n·(1 − fpr)⌉-th smallest clean score, so at most fpr of those images score above it.
 *
 * How detection enters accuracy (our choice; Xu et al. report detection rates only): a flagged
 * input is rejected. On clean inputs a rejection is an error (a legitimate input refused), so
 * clean accuracy counts inputs that are not flagged and classified correctly; on adversarial
 * inputs a rejection is a success of the defense, so robust accuracy counts inputs that are
 * flagged or classified correctly. The target classifies unsqueezed inputs.
 */
import type { Classifier } from "../../models/classifier.js";
import { F, noGrad, tidy, type Tensor } from "../../torch/index.js";
import { checkNumber } from "../../attacks/options.js";
import { checkSqueezer, squeeze, squeezersFor, type Squeezer } from "./feature-squeezing.js";
import { checkImages } from "./purifier-defense.js";

/** Options of {@link FeatureSqueezingDetector}. */
export interface FeatureSqueezingDetectorOptions {
  /** Squeezers, each applied alone (default: Xu et al.'s for `dataset`, see `squeezersFor`). */
  squeezers?: readonly Squeezer[];
  dataset?: string;
  /** Share of clean images allowed above the threshold when fitting (default 0.05). */
  falsePositiveRate?: number;
  /** Rows per forward pass (default 256). */
  batchSize?: number;
}

/** Detection outcome on clean images and their adversarial examples. */
export interface DetectionReport {
  threshold: number;
  /** Flagged adversarial examples / adversarial examples. */
  detectionRate: number;
  /** Flagged adversarial examples among those that fool the target / those that fool it (Xu et al.'s rate). */
  detectionRateOnSuccessful: number;
  /** Flagged clean images / clean images. */
  falsePositiveRate: number;
  /** Clean images neither flagged nor misclassified. */
  cleanAccuracy: number;
  /** Adversarial examples flagged or classified correctly. */
  robustAccuracy: number;
}

export class FeatureSqueezingDetector {
  readonly squeezers: readonly Squeezer[];
  readonly falsePositiveRate: number;
  readonly batchSize: number;
  /** Scores above it are flagged; set by {@link fit} (or by hand). */
  threshold: number | undefined;

  constructor(readonly target: Classifier, options: FeatureSqueezingDetectorOptions = {}) {
    this.squeezers = options.squeezers ?? squeezersFor(options.dataset, target.inputShape[0]);
    if (this.squeezers.length === 0) throw new RangeError("feature-squeezing detector: squeezers: expected at least one squeezer");
    for (const s of this.squeezers) checkSqueezer(s);
    this.falsePositiveRate = checkNumber("falsePositiveRate", options.falsePositiveRate ?? 0.05, 0, 1);
    this.batchSize = options.batchSize ?? 256;
  }

  /** Per image: max over squeezers of ‖softmax(f(x)) − softmax(f(squeeze(x)))‖₁. */
  scores(x: Tensor): number[] {
    checkImages(x, "feature-squeezing detector");
    const out: number[] = [];
    const model = this.target.eval();
    for (let start = 0; start < x.size(0); start += this.batchSize) {
      const part = tidy(() => noGrad(() => {
        const chunk = x.narrow(0, start, Math.min(this.batchSize, x.size(0) - start)).detach();
        const p = F.softmax(model.forward(chunk), 1);
        let best: Tensor | undefined;
        for (const s of this.squeezers) {
          const d = p.sub(F.softmax(model.forward(squeeze(chunk, s)), 1)).abs().sum(1);
          best = best ? best.maximum(d) : d;
        }
        return best!.toArray() as number[];
      }));
      out.push(...part);
    }
    return out;
  }

  /** Fits the threshold on clean images (Xu et al.'s rule) and returns it. */
  fit(clean: Tensor): number {
    const sorted = this.scores(clean).sort((a, b) => a - b);
    if (sorted.length === 0) throw new RangeError("feature-squeezing detector: fit: expected at least one clean image");
    const index = Math.max(1, Math.ceil(sorted.length * (1 - this.falsePositiveRate))) - 1;
    this.threshold = sorted[index];
    return this.threshold;
  }

  /** Per image: flagged as adversarial (score above the threshold). */
  detect(x: Tensor): boolean[] {
    const threshold = this.threshold;
    if (threshold === undefined) throw new Error("feature-squeezing detector: no threshold; call fit(cleanValidationImages) first");
    return this.scores(x).map((s) => s > threshold);
  }

  /** Detection and accuracy (see the file comment) on clean images `x` (labels `y`) and their AEs `adversarial`. */
  evaluate(x: Tensor, y: Tensor, adversarial: Tensor): DetectionReport {
    const labels = y.toArray() as number[];
    const predict = (z: Tensor) => {
      const model = this.target.eval();
      const out: number[] = [];
      for (let start = 0; start < z.size(0); start += this.batchSize) {
        out.push(...(tidy(() => noGrad(() => model.forward(z.narrow(0, start, Math.min(this.batchSize, z.size(0) - start))).argmax(1).toArray())) as number[]));
      }
      return out;
    };
    const cleanFlags = this.detect(x);
    const advFlags = this.detect(adversarial);
    const cleanPred = predict(x);
    const advPred = predict(adversarial);
    const n = labels.length;
    const share = (k: number, of: number) => (of === 0 ? 0 : k / of);
    const fooled = advPred.map((p, i) => p !== labels[i]);
    const fooledCount = fooled.filter(Boolean).length;
    return {
      threshold: this.threshold!,
      detectionRate: share(advFlags.filter(Boolean).length, n),
      detectionRateOnSuccessful: share(advFlags.filter((f, i) => f && fooled[i]).length, fooledCount),
      falsePositiveRate: share(cleanFlags.filter(Boolean).length, n),
      cleanAccuracy: share(cleanPred.filter((p, i) => p === labels[i] && !cleanFlags[i]).length, n),
      robustAccuracy: share(advPred.filter((p, i) => p === labels[i] || advFlags[i]).length, n),
    };
  }
}
