/**
 * InceptionV3 (Szegedy et al. 2016) in torchvision's layout, without the auxiliary classifier:
 * a stem of 3x3 convs and poolings, Mixed_5b..7c inception blocks (A x3, B, C x4, D, E x2), global
 * average pooling to a 2048-d embedding (times the width multiplier), dropout, a linear head.
 * Expects 299x299 inputs (anything from 75x75 works).
 */
import { cat, F, nn, tidy, type Tensor } from "../torch/index.js";
import { ConvBnRelu } from "./conv-bn-relu.js";
import { scaled, SplitClassifier, type ClassifierConfig } from "./split.js";

type K = number | [number, number];
/** torchvision's BasicConv2d: conv (no bias) + BN (eps 1e-3) + ReLU. */
const conv = (inC: number, outC: number, kernel: K, stride = 1, padding: K = 0) => new ConvBnRelu(inC, outC, { kernel, stride, padding, eps: 1e-3 });

/** Runs branches on the same input and concatenates their outputs along channels. */
abstract class Branches extends nn.Module {
  protected abstract branches(x: Tensor): Tensor[];
  forward(x: Tensor): Tensor {
    return tidy(() => cat(this.branches(x), 1));
  }
  /** Runs steps in order on x; a string names a child module. */
  protected chain(steps: (string | nn.Step)[], x: Tensor): Tensor {
    const children = new Map(this.namedChildren());
    return nn.chain(x, ...steps.map((s) => (typeof s === "string" ? children.get(s)! : s)));
  }
  protected avgPoolThen(name: string, x: Tensor): Tensor {
    return this.chain([(t) => F.avgPool2d(t, 3, { stride: 1, padding: 1 }), name], x);
  }
}

class InceptionA extends Branches {
  readonly outChannels: number;
  constructor(inC: number, poolFeatures: number, w: (n: number) => number) {
    super();
    this.registerModule("branch1x1", conv(inC, w(64), 1));
    this.registerModule("branch5x5_1", conv(inC, w(48), 1));
    this.registerModule("branch5x5_2", conv(w(48), w(64), 5, 1, 2));
    this.registerModule("branch3x3dbl_1", conv(inC, w(64), 1));
    this.registerModule("branch3x3dbl_2", conv(w(64), w(96), 3, 1, 1));
    this.registerModule("branch3x3dbl_3", conv(w(96), w(96), 3, 1, 1));
    this.registerModule("branch_pool", conv(inC, poolFeatures, 1));
    this.outChannels = w(64) + w(64) + w(96) + poolFeatures;
  }
  protected branches(x: Tensor): Tensor[] {
    return [this.chain(["branch1x1"], x), this.chain(["branch5x5_1", "branch5x5_2"], x),
      this.chain(["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], x), this.avgPoolThen("branch_pool", x)];
  }
}

class InceptionB extends Branches {
  readonly outChannels: number;
  constructor(inC: number, w: (n: number) => number) {
    super();
    this.registerModule("branch3x3", conv(inC, w(384), 3, 2));
    this.registerModule("branch3x3dbl_1", conv(inC, w(64), 1));
    this.registerModule("branch3x3dbl_2", conv(w(64), w(96), 3, 1, 1));
    this.registerModule("branch3x3dbl_3", conv(w(96), w(96), 3, 2));
    this.outChannels = w(384) + w(96) + inC;
  }
  protected branches(x: Tensor): Tensor[] {
    return [this.chain(["branch3x3"], x), this.chain(["branch3x3dbl_1", "branch3x3dbl_2", "branch3x3dbl_3"], x), F.maxPool2d(x, 3, { stride: 2 })];
  }
}

class InceptionC extends Branches {
  readonly outChannels: number;
  constructor(inC: number, c7: number, w: (n: number) => number) {
    super();
    this.registerModule("branch1x1", conv(inC, w(192), 1));
    this.registerModule("branch7x7_1", conv(inC, c7, 1));
    this.registerModule("branch7x7_2", conv(c7, c7, [1, 7], 1, [0, 3]));
    this.registerModule("branch7x7_3", conv(c7, w(192), [7, 1], 1, [3, 0]));
    this.registerModule("branch7x7dbl_1", conv(inC, c7, 1));
    this.registerModule("branch7x7dbl_2", conv(c7, c7, [7, 1], 1, [3, 0]));
    this.registerModule("branch7x7dbl_3", conv(c7, c7, [1, 7], 1, [0, 3]));
    this.registerModule("branch7x7dbl_4", conv(c7, c7, [7, 1], 1, [3, 0]));
    this.registerModule("branch7x7dbl_5", conv(c7, w(192), [1, 7], 1, [0, 3]));
    this.registerModule("branch_pool", conv(inC, w(192), 1));
    this.outChannels = 4 * w(192);
  }
  protected branches(x: Tensor): Tensor[] {
    return [this.chain(["branch1x1"], x), this.chain(["branch7x7_1", "branch7x7_2", "branch7x7_3"], x),
      this.chain(["branch7x7dbl_1", "branch7x7dbl_2", "branch7x7dbl_3", "branch7x7dbl_4", "branch7x7dbl_5"], x),
      this.avgPoolThen("branch_pool", x)];
  }
}

class InceptionD extends Branches {
  readonly outChannels: number;
  constructor(inC: number, w: (n: number) => number) {
    super();
    this.registerModule("branch3x3_1", conv(inC, w(192), 1));
    this.registerModule("branch3x3_2", conv(w(192), w(320), 3, 2));
    this.registerModule("branch7x7x3_1", conv(inC, w(192), 1));
    this.registerModule("branch7x7x3_2", conv(w(192), w(192), [1, 7], 1, [0, 3]));
    this.registerModule("branch7x7x3_3", conv(w(192), w(192), [7, 1], 1, [3, 0]));
    this.registerModule("branch7x7x3_4", conv(w(192), w(192), 3, 2));
    this.outChannels = w(320) + w(192) + inC;
  }
  protected branches(x: Tensor): Tensor[] {
    return [this.chain(["branch3x3_1", "branch3x3_2"], x),
      this.chain(["branch7x7x3_1", "branch7x7x3_2", "branch7x7x3_3", "branch7x7x3_4"], x), F.maxPool2d(x, 3, { stride: 2 })];
  }
}

class InceptionE extends Branches {
  readonly outChannels: number;
  constructor(inC: number, w: (n: number) => number) {
    super();
    this.registerModule("branch1x1", conv(inC, w(320), 1));
    this.registerModule("branch3x3_1", conv(inC, w(384), 1));
    this.registerModule("branch3x3_2a", conv(w(384), w(384), [1, 3], 1, [0, 1]));
    this.registerModule("branch3x3_2b", conv(w(384), w(384), [3, 1], 1, [1, 0]));
    this.registerModule("branch3x3dbl_1", conv(inC, w(448), 1));
    this.registerModule("branch3x3dbl_2", conv(w(448), w(384), 3, 1, 1));
    this.registerModule("branch3x3dbl_3a", conv(w(384), w(384), [1, 3], 1, [0, 1]));
    this.registerModule("branch3x3dbl_3b", conv(w(384), w(384), [3, 1], 1, [1, 0]));
    this.registerModule("branch_pool", conv(inC, w(192), 1));
    this.outChannels = w(320) + 4 * w(384) + w(192);
  }
  /** A 1x3 and a 3x1 conv on the same map, concatenated. */
  private split(a: string, b: string, x: Tensor): Tensor {
    return cat([this.chain([a], x), this.chain([b], x)], 1);
  }
  protected branches(x: Tensor): Tensor[] {
    return [this.chain(["branch1x1"], x),
      this.chain(["branch3x3_1", (t) => this.split("branch3x3_2a", "branch3x3_2b", t)], x),
      this.chain(["branch3x3dbl_1", "branch3x3dbl_2", (t) => this.split("branch3x3dbl_3a", "branch3x3dbl_3b", t)], x),
      this.avgPoolThen("branch_pool", x)];
  }
}

export function inceptionV3(config: ClassifierConfig): SplitClassifier {
  const [c, h, wd] = config.inputShape;
  if (h < 75 || wd < 75) throw new RangeError(`inception-v3: needs inputs of at least 75x75 (299x299 as published), got ${h}x${wd}`);
  const w = (n: number) => scaled(n, config.width);
  const layers: nn.Module[] = [
    conv(c, w(32), 3, 2), conv(w(32), w(32), 3), conv(w(32), w(64), 3, 1, 1), new nn.MaxPool2d(3, { stride: 2 }),
    conv(w(64), w(80), 1), conv(w(80), w(192), 3), new nn.MaxPool2d(3, { stride: 2 }),
  ];
  let inC = w(192);
  const push = (m: nn.Module & { outChannels: number }) => {
    layers.push(m);
    inC = m.outChannels;
  };
  push(new InceptionA(inC, w(32), w));
  push(new InceptionA(inC, w(64), w));
  push(new InceptionA(inC, w(64), w));
  push(new InceptionB(inC, w));
  for (const c7 of [128, 160, 160, 192]) push(new InceptionC(inC, w(c7), w));
  push(new InceptionD(inC, w));
  push(new InceptionE(inC, w));
  push(new InceptionE(inC, w));
  layers.push(new nn.AdaptiveAvgPool2d(1), new nn.Flatten());
  const head = new nn.Sequential(new nn.Dropout(0.5), new nn.Linear(inC, config.numClasses));
  return new SplitClassifier(config, new nn.Sequential(...layers), inC, head);
}
