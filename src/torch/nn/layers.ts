/** The standard layers, with PyTorch's parameter names, shapes and default initialisations. */
import { noGrad } from "../autograd.js";
import { ones, zeros, empty, scalar } from "../creation.js";
import * as F from "../functional.js";
import { Tensor } from "../tensor.js";
import { fans, kaimingUniform_, uniform_ } from "./init.js";
import { Module } from "./module.js";

type Pair = number | readonly [number, number];

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new TypeError(`${what}: expected a positive integer, got ${v}`);
  return v;
}

/** PyTorch's default for conv and linear layers: kaiming_uniform(a=√5) weights, U(±1/√fan_in) bias. */
function defaultInit(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, Math.sqrt(5));
  if (bias) {
    const bound = 1 / Math.sqrt(fans(weight).fanIn);
    uniform_(bias, -bound, bound);
  }
}

export interface Conv2dConfig extends F.Conv2dOptions {
  bias?: boolean;
}

export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly options: F.Conv2dOptions;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: Pair, config: Conv2dConfig = {}) {
    super();
    const [kh, kw] = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize;
    const groups = positiveInt(config.groups ?? 1, "Conv2d groups");
    positiveInt(inChannels, "Conv2d inChannels");
    positiveInt(outChannels, "Conv2d outChannels");
    if (inChannels % groups || outChannels % groups) throw new RangeError(`Conv2d: channels ${inChannels}->${outChannels} are not divisible by groups=${groups}`);
    this.options = { stride: config.stride, padding: config.padding, dilation: config.dilation, groups };
    this.weight = this.registerParameter("weight", empty([outChannels, inChannels / groups, kh, kw]));
    this.bias = this.registerParameter("bias", config.bias === false ? null : empty([outChannels]));
    defaultInit(this.weight, this.bias);
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.size(1) !== this.inChannels) {
      throw new RangeError(`Conv2d(${this.inChannels}->${this.outChannels}): expected input [N, ${this.inChannels}, H, W], got [${x.shape}]`);
    }
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
}

export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly options: F.ConvTranspose2dOptions;
  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, config: F.ConvTranspose2dOptions & { bias?: boolean } = {}) {
    super();
    const [kh, kw] = typeof kernelSize === "number" ? [kernelSize, kernelSize] : kernelSize;
    const groups = positiveInt(config.groups ?? 1, "ConvTranspose2d groups");
    this.options = { ...config, groups };
    this.weight = this.registerParameter("weight", empty([inChannels, outChannels / groups, kh, kw]));
    this.bias = this.registerParameter("bias", config.bias === false ? null : empty([outChannels]));
    // PyTorch computes the fans of a transposed conv from weight dim 1 as "in".
    defaultInit(this.weight, this.bias);
  }
  forward(x: Tensor): Tensor {
    return F.convTranspose2d(x, this.weight, this.bias, this.options);
  }
}

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(readonly inFeatures: number, readonly outFeatures: number, config: { bias?: boolean } = {}) {
    super();
    positiveInt(inFeatures, "Linear inFeatures");
    positiveInt(outFeatures, "Linear outFeatures");
    this.weight = this.registerParameter("weight", empty([outFeatures, inFeatures]));
    this.bias = this.registerParameter("bias", config.bias === false ? null : empty([outFeatures]));
    defaultInit(this.weight, this.bias);
  }
  forward(x: Tensor): Tensor {
    if (x.size(-1) !== this.inFeatures) throw new RangeError(`Linear(${this.inFeatures}->${this.outFeatures}): expected input [..., ${this.inFeatures}], got [${x.shape}]`);
    return F.linear(x, this.weight, this.bias);
  }
}

export interface BatchNormConfig {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number;
  constructor(readonly numFeatures: number, config: BatchNormConfig = {}) {
    super();
    positiveInt(numFeatures, "BatchNorm2d numFeatures");
    this.eps = config.eps ?? 1e-5;
    this.momentum = config.momentum ?? 0.1;
    const affine = config.affine ?? true;
    const track = config.trackRunningStats ?? true;
    this.weight = this.registerParameter("weight", affine ? ones([numFeatures]) : null);
    this.bias = this.registerParameter("bias", affine ? zeros([numFeatures]) : null);
    this.runningMean = this.registerBuffer("running_mean", track ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer("running_var", track ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer("num_batches_tracked", track ? scalar(0, { dtype: "int64" }) : null);
  }
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.size(1) !== this.numFeatures) throw new RangeError(`BatchNorm2d(${this.numFeatures}): expected input [N, ${this.numFeatures}, H, W], got [${x.shape}]`);
    const useBatchStats = this.training || this.runningMean === null;
    const out = F.batchNorm(x, this.runningMean, this.runningVar, {
      weight: this.weight, bias: this.bias, training: useBatchStats, momentum: this.momentum, eps: this.eps,
    });
    // Counted after the batch went through, so a refused batch leaves every buffer as it was
    // (the momentum is fixed, so the count does not enter the update).
    if (this.training && this.numBatchesTracked) {
      const counter = this.numBatchesTracked;
      noGrad(() => counter.add_(1));
    }
    return out;
  }
}

export class ReLU extends Module {
  forward(x: Tensor): Tensor { return F.relu(x); }
}

export class LeakyReLU extends Module {
  constructor(readonly negativeSlope = 0.01) { super(); }
  forward(x: Tensor): Tensor { return F.leakyRelu(x, this.negativeSlope); }
}

export class ELU extends Module {
  constructor(readonly alpha = 1) { super(); }
  forward(x: Tensor): Tensor { return F.elu(x, this.alpha); }
}

export class Sigmoid extends Module {
  forward(x: Tensor): Tensor { return F.sigmoid(x); }
}

export class Tanh extends Module {
  forward(x: Tensor): Tensor { return F.tanh(x); }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor { return x; }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: F.PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return F.maxPool2d(x, this.kernelSize, this.options); }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: F.PoolOptions = {}) { super(); }
  forward(x: Tensor): Tensor { return F.avgPool2d(x, this.kernelSize, this.options); }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) { super(); }
  forward(x: Tensor): Tensor { return F.adaptiveAvgPool2d(x, this.outputSize); }
}

export class Upsample extends Module {
  constructor(readonly options: F.InterpolateOptions) { super(); }
  forward(x: Tensor): Tensor { return F.interpolate(x, this.options); }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
  }
  /** Masks come from the module's generator (see Module.useGenerator), else the global one. */
  forward(x: Tensor): Tensor { return this.training && this.p > 0 ? F.dropout(x, this.p, true, this.generator) : x; }
}

export class Flatten extends Module {
  constructor(readonly startDim = 1, readonly endDim = -1) { super(); }
  forward(x: Tensor): Tensor { return x.flatten(this.startDim, this.endDim); }
}

/** Runs its children in order; they are named "0", "1", ... as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    return chain(x, ...this.layers);
  }
}

/** One step of a {@link chain}: a module or a function of one tensor (e.g. `F.relu`). */
export type Step = Module | ((x: Tensor) => Tensor);

/**
 * Applies steps in order, `chain(x, conv, bn, F.relu)` being PyTorch's `relu(bn(conv(x)))`, and
 * frees each intermediate as soon as the next step has consumed it: autograd keeps what it saved,
 * and peak memory (with it the cost of fresh pages) stays as low as in PyTorch. The input itself
 * is never freed, nor is a step's output that is its own input. Forwards that branch wrap their
 * body in `tidy`, which frees whatever is left when they return.
 */
export function chain(x: Tensor, ...steps: readonly Step[]): Tensor {
  let out = x;
  for (const step of steps) {
    const next = step instanceof Module ? step.forward(out) : step(out);
    if (out !== x && next !== out) out.dispose();
    out = next;
  }
  return out;
}
