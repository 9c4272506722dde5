/**
 * conv (no bias) + BatchNorm + ReLU: the unit VGG, the small CNN, InceptionV3 (torchvision's
 * BasicConv2d) and the IDFR input denoiser are built from. State-dict keys `conv.*` and `bn.*`.
 */
import { F, nn, type Tensor } from "../torch/index.js";

type Pair = number | [number, number];

export interface ConvBnReluOptions {
  /** Kernel size; default 3. */
  kernel?: Pair;
  /** Default 1. */
  stride?: number;
  /** Default 1 (keeps the size of a stride-1 3x3 conv). */
  padding?: Pair;
  /** BatchNorm epsilon; default 1e-5 (torchvision's InceptionV3 uses 1e-3). */
  eps?: number;
}

export class ConvBnRelu extends nn.Module {
  readonly conv: nn.Conv2d;
  readonly bn: nn.BatchNorm2d;
  constructor(inC: number, outC: number, options: ConvBnReluOptions = {}) {
    super();
    const { kernel = 3, stride = 1, padding = 1, eps = 1e-5 } = options;
    this.conv = this.registerModule("conv", new nn.Conv2d(inC, outC, kernel, { stride, padding, bias: false }));
    this.bn = this.registerModule("bn", new nn.BatchNorm2d(outC, { eps }));
  }
  forward(x: Tensor): Tensor {
    return nn.chain(x, this.conv, this.bn, F.relu);
  }
}
