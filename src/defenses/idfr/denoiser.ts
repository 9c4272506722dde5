/**
 * The input denoiser (ID) of IDFR, paper Table 6: a U-Net of 3x3 conv+BN+ReLU layers with widths
 * 32, 32, 64(stride 2), 64, 128(stride 2); layer 6 takes concat(layer 3, upsampled layer 5) and
 * layer 8 takes concat(layer 2, upsampled layer 7). The last conv is linear and predicts a
 * correction: ID(x) = clamp(x + net(x), 0, 1).
 */
import { ConvBnRelu } from "../../models/conv-bn-relu.js";
import { cat, F, nn, noGrad, tidy, type Tensor } from "../../torch/index.js";

/** Options of the denoiser; the defaults are the paper's architecture. */
export interface DenoiserOptions {
  /** Image channels (1 for digits, 3 for colour). */
  channels: number;
  /** Multiplies every hidden width (1 = Table 6). */
  width?: number;
  /** Start as the identity: the last conv's weights and bias are zero. Default true. */
  zeroInitResidual?: boolean;
  /**
   * "paper" (default): Table 6 as written, last conv linear, layer 8 joins layer 2.
   * "reference-code": as the authors' PyTorch code has it, the last layer is conv+BN+ReLU (so the
   * residual can only brighten pixels) and layer 8 joins layer 1.
   */
  variant?: DenoiserVariant;
}

export type DenoiserVariant = "paper" | "reference-code";

/** concat(skip, bilinear-upsample(deep) to skip's size) along channels. */
function joinSkip(skip: Tensor, deep: Tensor): Tensor {
  return cat([skip, F.interpolate(deep, { size: [skip.size(2), skip.size(3)], mode: "bilinear", alignCorners: false })], 1);
}

export class InputDenoiser extends nn.Module {
  readonly channels: number;
  readonly width: number;
  readonly l1: ConvBnRelu;
  readonly l2: ConvBnRelu;
  readonly l3: ConvBnRelu;
  readonly l4: ConvBnRelu;
  readonly l5: ConvBnRelu;
  readonly l6: ConvBnRelu;
  readonly l7: ConvBnRelu;
  readonly l8: ConvBnRelu;
  readonly l9: nn.Conv2d | ConvBnRelu;
  readonly variant: DenoiserVariant;

  constructor(options: DenoiserOptions) {
    super();
    const c = options.channels;
    if (!Number.isInteger(c) || c < 1) throw new TypeError(`InputDenoiser: channels must be a positive integer, got ${c}`);
    const m = options.width ?? 1;
    if (!(m > 0)) throw new RangeError(`InputDenoiser: width must be positive, got ${m}`);
    const w = (n: number) => Math.max(1, Math.round(n * m));
    this.channels = c;
    this.width = m;
    this.l1 = this.registerModule("l1", new ConvBnRelu(c, w(32)));
    this.l2 = this.registerModule("l2", new ConvBnRelu(w(32), w(32)));
    this.l3 = this.registerModule("l3", new ConvBnRelu(w(32), w(64), { stride: 2 }));
    this.l4 = this.registerModule("l4", new ConvBnRelu(w(64), w(64)));
    this.l5 = this.registerModule("l5", new ConvBnRelu(w(64), w(128), { stride: 2 }));
    this.l6 = this.registerModule("l6", new ConvBnRelu(w(64) + w(128), w(192)));
    this.l7 = this.registerModule("l7", new ConvBnRelu(w(192), w(64)));
    this.l8 = this.registerModule("l8", new ConvBnRelu(w(32) + w(64), w(96)));
    this.variant = options.variant ?? "paper";
    if (this.variant !== "paper" && this.variant !== "reference-code") {
      throw new TypeError(`InputDenoiser: variant must be "paper" or "reference-code", got ${JSON.stringify(this.variant)}`);
    }
    this.l9 = this.registerModule("l9", this.variant === "paper" ? new nn.Conv2d(w(96), c, 3, { padding: 1 }) : new ConvBnRelu(w(96), c));
    if (options.zeroInitResidual ?? true) {
      // A zero last conv makes the residual zero (through BN+ReLU too), so training starts at the identity.
      const last = this.l9 instanceof nn.Conv2d ? this.l9 : this.l9.conv;
      noGrad(() => {
        last.weight.zero_();
        last.bias?.zero_();
      });
    }
  }

  /** The predicted correction net(x), before adding x and clamping. */
  residual(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.size(1) !== this.channels) {
      throw new RangeError(`InputDenoiser: expected images [N, ${this.channels}, H, W], got [${x.shape}]`);
    }
    return tidy(() => {
      const h1 = this.l1.forward(x);
      const h2 = this.l2.forward(h1);
      const h3 = this.l3.forward(h2);
      const h5 = nn.chain(h3, this.l4, this.l5);
      const h7 = nn.chain(joinSkip(h3, h5), this.l6, this.l7);
      // Layer 8's skip: layer 2 (the paper) or layer 1 (the authors' code).
      return nn.chain(joinSkip(this.variant === "paper" ? h2 : h1, h7), this.l8, this.l9);
    });
  }

  /** ID(x) = clamp(x + net(x), 0, 1). */
  forward(x: Tensor): Tensor {
    return tidy(() => x.add(this.residual(x)).clamp(0, 1));
  }
}
