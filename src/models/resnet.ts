/**
 * ResNet18 (basic blocks) and ResNet50 (bottlenecks), He et al. 2016. Inputs below 64 pixels get
 * the CIFAR stem (one 3x3 conv, no pooling); larger inputs the ImageNet stem (7x7 stride 2 conv and
 * a 3x3 max pool). The embedding is the globally average-pooled last stage: 512-d for ResNet18,
 * 2048-d for ResNet50 (times the width multiplier).
 */
import { F, nn, tidy, type Tensor } from "../torch/index.js";
import { scaled, SplitClassifier, type ClassifierConfig } from "./split.js";

class Shortcut extends nn.Sequential {
  constructor(inC: number, outC: number, stride: number) {
    super(new nn.Conv2d(inC, outC, 1, { stride, bias: false }), new nn.BatchNorm2d(outC));
  }
}

/** relu(body(x) + shortcut(x)). */
function residual(body: readonly nn.Module[], downsample: Shortcut | null, x: Tensor): Tensor {
  return tidy(() => F.relu(nn.chain(x, ...body).add(downsample ? downsample.forward(x) : x)));
}

class BasicBlock extends nn.Module {
  static readonly expansion = 1;
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly conv2: nn.Conv2d;
  readonly bn2: nn.BatchNorm2d;
  readonly downsample: Shortcut | null;
  readonly body: nn.Module[];
  constructor(inC: number, planes: number, stride: number) {
    super();
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(inC, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(planes));
    this.conv2 = this.registerModule("conv2", new nn.Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(planes));
    this.downsample = stride !== 1 || inC !== planes ? this.registerModule("downsample", new Shortcut(inC, planes, stride)) : null;
    this.body = [this.conv1, this.bn1, new nn.ReLU(), this.conv2, this.bn2];
  }
  forward(x: Tensor): Tensor {
    return residual(this.body, this.downsample, x);
  }
}

class Bottleneck extends nn.Module {
  static readonly expansion = 4;
  readonly body: nn.Module[];
  readonly downsample: Shortcut | null;
  constructor(inC: number, planes: number, stride: number) {
    super();
    const outC = planes * 4;
    const conv1 = this.registerModule("conv1", new nn.Conv2d(inC, planes, 1, { bias: false }));
    const bn1 = this.registerModule("bn1", new nn.BatchNorm2d(planes));
    const conv2 = this.registerModule("conv2", new nn.Conv2d(planes, planes, 3, { stride, padding: 1, bias: false }));
    const bn2 = this.registerModule("bn2", new nn.BatchNorm2d(planes));
    const conv3 = this.registerModule("conv3", new nn.Conv2d(planes, outC, 1, { bias: false }));
    const bn3 = this.registerModule("bn3", new nn.BatchNorm2d(outC));
    this.body = [conv1, bn1, new nn.ReLU(), conv2, bn2, new nn.ReLU(), conv3, bn3];
    this.downsample = stride !== 1 || inC !== outC ? this.registerModule("downsample", new Shortcut(inC, outC, stride)) : null;
  }
  forward(x: Tensor): Tensor {
    return residual(this.body, this.downsample, x);
  }
}

type BlockClass = (typeof BasicBlock | typeof Bottleneck);

function resnet(config: ClassifierConfig, block: BlockClass, counts: number[]): SplitClassifier {
  const [c, h] = config.inputShape;
  const w = (n: number) => scaled(n, config.width);
  const layers: nn.Module[] = [];
  if (h >= 64) {
    layers.push(new nn.Conv2d(c, w(64), 7, { stride: 2, padding: 3, bias: false }), new nn.BatchNorm2d(w(64)), new nn.ReLU(),
      new nn.MaxPool2d(3, { stride: 2, padding: 1 }));
  } else {
    layers.push(new nn.Conv2d(c, w(64), 3, { padding: 1, bias: false }), new nn.BatchNorm2d(w(64)), new nn.ReLU());
  }
  let inC = w(64);
  counts.forEach((n, stage) => {
    const planes = w(64 * 2 ** stage);
    const blocks: nn.Module[] = [];
    for (let i = 0; i < n; i++) {
      blocks.push(new block(inC, planes, i === 0 && stage > 0 ? 2 : 1));
      inC = planes * block.expansion;
    }
    layers.push(new nn.Sequential(...blocks));
  });
  layers.push(new nn.AdaptiveAvgPool2d(1), new nn.Flatten());
  return new SplitClassifier(config, new nn.Sequential(...layers), inC);
}

export const resnet18 = (config: ClassifierConfig): SplitClassifier => resnet(config, BasicBlock, [2, 2, 2, 2]);
export const resnet50 = (config: ClassifierConfig): SplitClassifier => resnet(config, Bottleneck, [3, 4, 6, 3]);
