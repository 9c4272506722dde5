/**
 * The interface every defense implements (IDFR and each baseline), so that evaluation and the
 * three threat models treat them alike.
 */
import { tidy, type Tensor } from "../torch/index.js";
import type { Classifier } from "../models/classifier.js";

export interface Defense {
  /** Row name in result tables: "none", "id", "id+fr", "jpeg-q50", ... */
  readonly name: string;
  /** The classifier being protected. */
  readonly target: Classifier;
  /**
   * The classifier the defense actually classifies with, which a white-box attacker (defense
   * unseen) differentiates; absent means `target`. Purifiers keep the target; a defense that
   * replaces the model (Fast AT's robust copy) names it here. Read it through {@link whiteboxModelOf}.
   */
  readonly whiteboxModel?: Classifier;
  /** True when purification is random (adaptive attacks then average gradients over EOT samples). */
  readonly stochastic: boolean;
  /** Input-side purification in [0, 1] (identity for defenses that act elsewhere). */
  purify(x: Tensor): Tensor;
  /** Logits of the defended model, for evaluation (no gradient recorded). */
  logits(x: Tensor): Tensor;
  /** Predicted class indices (int64 [N]). */
  classify(x: Tensor): Tensor;
  /**
   * Logits through the whole defended pipeline with a usable gradient, for adaptive attacks:
   * exact where the defense is differentiable, BPDA (identity gradient) through steps that are not.
   */
  attackForward(x: Tensor): Tensor;
}

/** The classifier a white-box attack on `defense` differentiates: its `whiteboxModel`, else its target. */
export function whiteboxModelOf(defense: Pick<Defense, "target" | "whiteboxModel">): Classifier {
  return defense.whiteboxModel ?? defense.target;
}

/** Predicted classes from a defense's logits: what every `classify` is. */
export function classifyByLogits(defense: Pick<Defense, "logits">, x: Tensor): Tensor {
  return tidy(() => defense.logits(x).argmax(1));
}
