/**
 * Neural-network functions over tensors (PyTorch's `torch.nn.functional`): convolution, pooling,
 * normalisation, resampling, activations and losses. Inputs are NCHW.
 */
import { bernoulli } from "./creation.js";
import type { Generator } from "./generator.js";
import { op, Reduction, Tensor, type ReductionName } from "./tensor.js";

type Pair = number | readonly [number, number];

function pair(v: Pair, what: string): [number, number] {
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 0)) throw new TypeError(`${what}: expected a non-negative integer or a pair of them, got ${JSON.stringify(v)}`);
  return p;
}

function expectDims(x: Tensor, n: readonly number[], what: string): void {
  if (!n.includes(x.ndim)) throw new RangeError(`${what}: expected a ${n.join("- or ")}-d input, got shape [${x.shape}]`);
}

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** 2-d convolution; weight is [out, in/groups, kh, kw]. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  expectDims(x, [3, 4], "conv2d input");
  return op("aten::conv2d", [x, weight, bias, pair(o.stride ?? 1, "stride"), pair(o.padding ?? 0, "padding"), pair(o.dilation ?? 1, "dilation"), o.groups ?? 1]);
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

/** Transposed 2-d convolution; weight is [in, out/groups, kh, kw]. */
export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: ConvTranspose2dOptions = {}): Tensor {
  expectDims(x, [3, 4], "convTranspose2d input");
  return op("aten::conv_transpose2d.input", [x, weight, bias, pair(o.stride ?? 1, "stride"), pair(o.padding ?? 0, "padding"),
    pair(o.outputPadding ?? 0, "outputPadding"), o.groups ?? 1, pair(o.dilation ?? 1, "dilation")]);
}

export interface BatchNormOptions {
  weight?: Tensor | null;
  bias?: Tensor | null;
  /** Use batch statistics and update the running ones (training mode). */
  training?: boolean;
  momentum?: number;
  eps?: number;
}

/** Batch normalisation over the channel dimension (dim 1). */
export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, o: BatchNormOptions = {}): Tensor {
  // With one value per channel the batch variance is 0/0: libtorch would write NaN into the
  // running variance without a word. PyTorch's F.batch_norm refuses, with this message.
  if (o.training && x.ndim >= 2 && x.numel / x.size(1) <= 1) {
    throw new RangeError(`Expected more than 1 value per channel when training, got input size [${x.shape.join(", ")}]`);
  }
  return op("aten::batch_norm", [x, o.weight ?? null, o.bias ?? null, runningMean, runningVar, o.training ?? false, o.momentum ?? 0.1, o.eps ?? 1e-5, true]);
}

export interface PoolOptions {
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
}

export function maxPool2d(x: Tensor, kernelSize: Pair, o: PoolOptions = {}): Tensor {
  expectDims(x, [3, 4], "maxPool2d input");
  return op("aten::max_pool2d", [x, pair(kernelSize, "kernelSize"), pair(o.stride ?? kernelSize, "stride"), pair(o.padding ?? 0, "padding"), [1, 1], o.ceilMode ?? false]);
}

export function avgPool2d(x: Tensor, kernelSize: Pair, o: PoolOptions & { countIncludePad?: boolean } = {}): Tensor {
  expectDims(x, [3, 4], "avgPool2d input");
  return op("aten::avg_pool2d", [x, pair(kernelSize, "kernelSize"), pair(o.stride ?? kernelSize, "stride"), pair(o.padding ?? 0, "padding"), o.ceilMode ?? false, o.countIncludePad ?? true]);
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  expectDims(x, [3, 4], "adaptiveAvgPool2d input");
  return op("aten::adaptive_avg_pool2d", [x, pair(outputSize, "outputSize")]);
}

export interface InterpolateOptions {
  /** Output [h, w]; give this or scaleFactor. */
  size?: readonly [number, number];
  scaleFactor?: number | readonly [number, number];
  mode?: "nearest" | "bilinear";
  alignCorners?: boolean;
}

/** Resizes NCHW images by nearest-neighbour or bilinear interpolation. */
export function interpolate(x: Tensor, o: InterpolateOptions): Tensor {
  expectDims(x, [4], "interpolate input");
  if ((o.size === undefined) === (o.scaleFactor === undefined)) throw new TypeError("interpolate: give exactly one of size and scaleFactor");
  const size = o.size ? [...o.size] : null;
  const scales = o.scaleFactor === undefined ? null : typeof o.scaleFactor === "number" ? [o.scaleFactor, o.scaleFactor] : [...o.scaleFactor];
  const mode = o.mode ?? "nearest";
  if (mode === "nearest") return op("aten::upsample_nearest2d.vec", [x, size, scales]);
  if (mode === "bilinear") return op("aten::upsample_bilinear2d.vec", [x, size, o.alignCorners ?? false, scales]);
  throw new TypeError(`interpolate: mode must be "nearest" or "bilinear", got ${JSON.stringify(mode)}`);
}

/** Pads the last dimensions: [left, right, top, bottom, ...] with a constant. */
export function pad(x: Tensor, padding: readonly number[], value = 0): Tensor {
  return op("aten::constant_pad_nd", [x, padding, value]);
}

/** y = x W^T + b */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return op("aten::linear", [x, weight, bias]);
}

export const relu = (x: Tensor): Tensor => op("aten::relu", [x]);
export const leakyRelu = (x: Tensor, negativeSlope = 0.01): Tensor => op("aten::leaky_relu", [x, negativeSlope]);
/** ELU: x for x > 0, alpha * (exp(x) - 1) otherwise. */
export const elu = (x: Tensor, alpha = 1): Tensor => op("aten::elu", [x, alpha]);
export const sigmoid = (x: Tensor): Tensor => op("aten::sigmoid", [x]);
export const tanh = (x: Tensor): Tensor => op("aten::tanh", [x]);
export const softmax = (x: Tensor, dim: number): Tensor => op("aten::softmax.int", [x, dim]);
export const logSoftmax = (x: Tensor, dim: number): Tensor => op("aten::log_softmax.int", [x, dim]);

/**
 * Randomly zeroes elements with probability p and rescales by 1/(1-p) when training. The mask is
 * drawn from `generator` when given (on x's device), else from the global generator. With a CPU
 * generator the mask is the one libtorch's own dropout draws from the global generator in the
 * same state (Bernoulli(1 - p) over a tensor shaped like x, scaled by 1/(1-p)).
 */
export function dropout(x: Tensor, p = 0.5, training = true, generator?: Generator): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout: p must be in [0, 1], got ${p}`);
  // libtorch's dropout draws nothing when it is off, at p = 0 or at p = 1 (all zeroed).
  if (generator === undefined || !training || p === 0 || p === 1) return op("aten::dropout", [x, p, training]);
  const noise = bernoulli(1 - p, x.shape, { dtype: x.dtype, device: x.device, generator });
  try {
    return x.mul(noise.div_(1 - p));
  } finally {
    noise.dispose();
  }
}

export interface CrossEntropyOptions {
  reduction?: ReductionName;
  labelSmoothing?: number;
}

/** Cross entropy between logits [N, C] and int64 class indices [N]. */
export function crossEntropy(logits: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  if (logits.ndim !== 2 && logits.ndim !== 4) throw new RangeError(`crossEntropy: expected logits of shape [N, C], got [${logits.shape}]`);
  if (target.dtype !== "int64") throw new TypeError(`crossEntropy: target must be int64 class indices, got ${target.dtype}`);
  if (target.size(0) !== logits.size(0)) throw new RangeError(`crossEntropy: ${logits.size(0)} rows of logits but ${target.size(0)} targets`);
  return op("aten::cross_entropy_loss", [logits, target, null, Reduction[o.reduction ?? "mean"], -100, o.labelSmoothing ?? 0]);
}

/** Negative log-likelihood of log-probabilities [N, C] at int64 targets [N]. */
export function nllLoss(logProbs: Tensor, target: Tensor, reduction: ReductionName = "mean"): Tensor {
  return op("aten::nll_loss", [logProbs, target, null, Reduction[reduction], -100]);
}

/** Mean squared error. */
export function mseLoss(x: Tensor, target: Tensor, reduction: ReductionName = "mean"): Tensor {
  return op("aten::mse_loss", [x, target, Reduction[reduction]]);
}

/** Mean absolute error. */
export function l1Loss(x: Tensor, target: Tensor, reduction: ReductionName = "mean"): Tensor {
  return op("aten::l1_loss", [x, target, Reduction[reduction]]);
}

/** One-hot encoding of int64 indices. */
export const oneHot = (indices: Tensor, numClasses: number): Tensor => op("aten::one_hot", [indices, numClasses]);

/** Per-sample L2 norm of a batch [N, ...] -> [N]. */
export function l2PerSample(x: Tensor): Tensor {
  return x.flatten(1).norm(2, 1);
}

/** Per-sample L-infinity norm of a batch [N, ...] -> [N]. */
export function linfPerSample(x: Tensor): Tensor {
  return x.flatten(1).norm(Infinity, 1);
}
