/**
 * The base of every built-in classifier: an encoder producing the embedding h and a head producing
 * logits, registered as `encoder.*` and `head.*` in the state dict. Input normalisation (mean/std)
 * happens first inside `embed`, so callers always pass images in [0, 1].
 */
import { nn, tensor, tidy, type Tensor } from "../torch/index.js";
import type { Classifier } from "./classifier.js";

/** How a built-in classifier was configured; stored in model.json. */
export interface ClassifierConfig {
  arch: string;
  numClasses: number;
  /** [C, H, W] of the inputs. */
  inputShape: [number, number, number];
  /** Multiplies every hidden width (1 = the published architecture). */
  width: number;
  /** Per-channel normalisation applied inside the model. */
  mean: number[];
  std: number[];
}

export class SplitClassifier extends nn.Module implements Classifier {
  readonly arch: string;
  readonly numClasses: number;
  readonly embeddingDim: number;
  readonly inputShape: readonly [number, number, number];
  readonly config: ClassifierConfig;
  readonly encoder: nn.Module;
  readonly headModule: nn.Module;
  /** Per-channel normalisation, [1, C, 1, 1]; buffers that are not saved in the state dict. */
  mean: Tensor;
  std: Tensor;

  constructor(config: ClassifierConfig, encoder: nn.Module, embeddingDim: number, head?: nn.Module) {
    super();
    const [c] = config.inputShape;
    if (config.mean.length !== c || config.std.length !== c) {
      throw new RangeError(`${config.arch}: mean/std need ${c} values (one per channel), got ${config.mean.length}/${config.std.length}`);
    }
    if (config.std.some((s) => !(s > 0))) throw new RangeError(`${config.arch}: std values must be positive, got [${config.std}]`);
    this.config = config;
    this.arch = config.arch;
    this.numClasses = config.numClasses;
    this.inputShape = config.inputShape;
    this.embeddingDim = embeddingDim;
    this.encoder = this.registerModule("encoder", encoder);
    this.headModule = this.registerModule("head", head ?? new nn.Linear(embeddingDim, config.numClasses));
    this.mean = this.registerBuffer("mean", tensor(config.mean, [1, c, 1, 1]), { persistent: false });
    this.std = this.registerBuffer("std", tensor(config.std, [1, c, 1, 1]), { persistent: false });
  }

  embed(x: Tensor): Tensor {
    const [c, h, w] = this.inputShape;
    if (x.ndim !== 4 || x.size(1) !== c || x.size(2) !== h || x.size(3) !== w) {
      throw new RangeError(`${this.arch}: expected images [N, ${c}, ${h}, ${w}] in [0, 1], got [${x.shape}]`);
    }
    return tidy(() => this.encoder.forward(x.sub(this.mean).div(this.std)));
  }

  head(h: Tensor): Tensor {
    if (h.ndim !== 2 || h.size(1) !== this.embeddingDim) {
      throw new RangeError(`${this.arch}: head expects embeddings [N, ${this.embeddingDim}], got [${h.shape}]`);
    }
    return this.headModule.forward(h);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => this.head(this.embed(x)));
  }
}

/** Scales a published channel count by the width multiplier (at least 1). */
export function scaled(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}
