/**
 * A classifier split as the paper needs it (Fig. 1, §3.3): f = f_cls ∘ f_enc, where the feature
 * restorer sits on the embedding h = f_enc(x). Inputs are NCHW float32 images in [0, 1]; any
 * mean/std normalisation happens inside `embed`.
 */
import type { Tensor } from "../torch/index.js";

export interface Classifier {
  /** Architecture name in the registry ("small-cnn", "vgg16", "resnet18", ...), or "torchscript". */
  readonly arch: string;
  /** Number of classes (logit width). */
  readonly numClasses: number;
  /** Width of the embedding h = embed(x). */
  readonly embeddingDim: number;
  /** Expected input [C, H, W]. */
  readonly inputShape: readonly [number, number, number];
  /** h = f_enc(x): [N, embeddingDim]. */
  embed(x: Tensor): Tensor;
  /** logits = f_cls(h): [N, numClasses]. */
  head(h: Tensor): Tensor;
  /** logits = head(embed(x)). */
  forward(x: Tensor): Tensor;
  /** Training mode on or off (batch norm, dropout); returns the classifier. */
  train(on?: boolean): this;
  eval(): this;
  /** Trainable tensors (empty for frozen wrapped models). */
  parameters(): Tensor[];
}

/** Anything attacks can differentiate through: a model with `forward`, or a plain function. */
export type LogitsModel = { forward(x: Tensor): Tensor } | ((x: Tensor) => Tensor);

/** Calls a LogitsModel. */
export function logitsOf(model: LogitsModel, x: Tensor): Tensor {
  return typeof model === "function" ? model(x) : model.forward(x);
}
