/**
 * VGG16 in its CIFAR variant (Liu & Deng 2015, as the paper uses): thirteen 3x3 conv+BN+ReLU
 * layers in five pooled stages, global average pooling to a 512-d embedding, a linear head.
 */
import { nn } from "../torch/index.js";
import { ConvBnRelu } from "./conv-bn-relu.js";
import { scaled, SplitClassifier, type ClassifierConfig } from "./split.js";

const VGG16: (number | "M")[] = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"];

export function vgg16(config: ClassifierConfig): SplitClassifier {
  const [c, h, w] = config.inputShape;
  if (h < 32 || w < 32) throw new RangeError(`vgg16: needs inputs of at least 32x32 (five 2x2 poolings), got ${h}x${w}`);
  const layers: nn.Module[] = [];
  let inC = c;
  for (const v of VGG16) {
    if (v === "M") layers.push(new nn.MaxPool2d(2));
    else {
      const outC = scaled(v, config.width);
      layers.push(new ConvBnRelu(inC, outC));
      inC = outC;
    }
  }
  layers.push(new nn.AdaptiveAvgPool2d(1), new nn.Flatten());
  return new SplitClassifier(config, new nn.Sequential(...layers), inC);
}
