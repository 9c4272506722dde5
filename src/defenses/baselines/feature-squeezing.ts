/**
 * Feature Squeezing (Xu, Evans & Qi, "Feature Squeezing: Detecting Adversarial Examples in Deep
 * Neural Networks", NDSS 2018) used as an input purifier, as the IDFR paper (and ART's
 * preprocessors) use it: the squeezers are applied in sequence and the target classifies the
 * squeezed image. Xu et al. built a detector from several squeezers; as a purifier we chain their
 * best CIFAR-10/ImageNet pair: 5-bit depth reduction, then 2×2 median smoothing. For grey images
 * (their MNIST setting) the bit depth is 1 by default. Deterministic; attacks get an identity
 * gradient (BPDA) through it.
 */
import type { Classifier } from "../../models/classifier.js";
import type { Tensor } from "../../torch/index.js";
import { checkInteger } from "../../attacks/options.js";
import { PurifierDefense } from "./purifier-defense.js";
import { medianFilter, reduceBitDepth } from "./squeezers.js";

/** One squeezing step. */
export type Squeezer = { kind: "bit-depth"; bits: number } | { kind: "median"; size: number };

/** Options of {@link FeatureSqueezing}. */
export interface FeatureSqueezingOptions {
  /**
   * Squeezers applied left to right. Default: bit depth 5 (1 for one-channel images), then a 2×2
   * median filter.
   */
  squeezers?: readonly Squeezer[];
  /** Row name in result tables (default "feature-squeezing"). */
  name?: string;
}

/** Xu et al.'s squeezers for an image of `channels` channels, chained as one purifier. */
export function defaultSqueezers(channels: number): Squeezer[] {
  return [{ kind: "bit-depth", bits: channels === 1 ? 1 : 5 }, { kind: "median", size: 2 }];
}

/** Feature Squeezing as a purifying defense around `target`. */
export class FeatureSqueezing extends PurifierDefense {
  readonly name: string;
  readonly stochastic = false;
  readonly squeezers: readonly Squeezer[];

  constructor(target: Classifier, options: FeatureSqueezingOptions = {}) {
    super(target);
    this.name = options.name ?? "feature-squeezing";
    this.squeezers = options.squeezers ?? defaultSqueezers(target.inputShape[0]);
    if (this.squeezers.length === 0) throw new RangeError("feature-squeezing: squeezers: expected at least one squeezer");
    for (const s of this.squeezers) {
      if (s.kind === "bit-depth") checkInteger("bit-depth bits", s.bits, 1, 16);
      else if (s.kind === "median") checkInteger("median size", s.size, 1, 15);
      else throw new TypeError(`feature-squeezing: unknown squeezer ${JSON.stringify((s as { kind: unknown }).kind)} (expected "bit-depth" or "median")`);
    }
  }

  protected transform(x: Tensor): Tensor {
    let out = x;
    for (const s of this.squeezers) out = s.kind === "bit-depth" ? reduceBitDepth(out, s.bits) : medianFilter(out, s.size);
    // Every squeezer returns a new tensor, so the input is never handed back or written to.
    return out;
  }
}
