/**
 * The base of every built-in classifier: an encoder producing the embedding h and a head producing
 * logits, registered as `encoder.*` and `head.*` in the state dict. Input normalisation (mean/std)
 * happens first inside `embed`, so callers always pass images in [0, 1].
 */
import { keep, nn, noGrad, tensor, type Tensor } from "../torch/index.js";
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
  #mean: Tensor;
  #std: Tensor;

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
    this.#mean = keep(tensor(config.mean, [1, c, 1, 1]));
    this.#std = keep(tensor(config.std, [1, c, 1, 1]));
  }

  embed(x: Tensor): Tensor {
    const [c, h, w] = this.inputShape;
    if (x.ndim !== 4 || x.size(1) !== c || x.size(2) !== h || x.size(3) !== w) {
      throw new RangeError(`${this.arch}: expected images [N, ${c}, ${h}, ${w}] in [0, 1], got [${x.shape}]`);
    }
    const centred = x.sub(this.#mean);
    const z = centred.div(this.#std);
    centred.dispose();
    const out = this.encoder.forward(z);
    z.dispose();
    return out;
  }

  head(h: Tensor): Tensor {
    if (h.ndim !== 2 || h.size(1) !== this.embeddingDim) {
      throw new RangeError(`${this.arch}: head expects embeddings [N, ${this.embeddingDim}], got [${h.shape}]`);
    }
    return this.headModule.forward(h);
  }

  forward(x: Tensor): Tensor {
    const h = this.embed(x);
    const logits = this.head(h);
    h.dispose();
    return logits;
  }

  override to(target: string): this {
    super.to(target);
    if (this.#mean.device !== target && this.#mean.dtype !== target) {
      const [m, s] = noGrad(() => [keep(this.#mean.to(target)), keep(this.#std.to(target))]);
      this.#mean.dispose();
      this.#std.dispose();
      this.#mean = m;
      this.#std = s;
    }
    return this;
  }

  override dispose(): void {
    super.dispose();
    this.#mean.dispose();
    this.#std.dispose();
  }
}

/** conv3x3 (no bias) + BN + ReLU, the unit most of these networks are built from. */
export class ConvBnRelu extends nn.Module {
  readonly conv: nn.Conv2d;
  readonly bn: nn.BatchNorm2d;
  constructor(inC: number, outC: number, kernel: number | [number, number] = 3, stride = 1, padding: number | [number, number] = 1, bnEps = 1e-5) {
    super();
    this.conv = this.registerModule("conv", new nn.Conv2d(inC, outC, kernel, { stride, padding, bias: false }));
    this.bn = this.registerModule("bn", new nn.BatchNorm2d(outC, { eps: bnEps }));
  }
  forward(x: Tensor): Tensor {
    const c = this.conv.forward(x);
    const b = this.bn.forward(c);
    c.dispose();
    const out = b.relu();
    b.dispose();
    return out;
  }
}

/** Scales a published channel count by the width multiplier (at least 1). */
export function scaled(channels: number, width: number): number {
  return Math.max(1, Math.round(channels * width));
}
