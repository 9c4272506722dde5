/**
 * A small CNN for 28x28 digits (MNIST, Fashion-MNIST): two conv-conv-pool stages (32, 64
 * channels) and a 512-wide fully connected embedding (post-ReLU), then a linear head.
 */
import { nn } from "../torch/index.js";
import { ConvBnRelu } from "./conv-bn-relu.js";
import { scaled, SplitClassifier, type ClassifierConfig } from "./split.js";

export function smallCnn(config: ClassifierConfig): SplitClassifier {
  const [c, h, w] = config.inputShape;
  const c1 = scaled(32, config.width);
  const c2 = scaled(64, config.width);
  const flat = c2 * Math.floor(h / 4) * Math.floor(w / 4);
  if (h < 4 || w < 4) throw new RangeError(`small-cnn: input ${h}x${w} is smaller than 4x4`);
  const encoder = new nn.Sequential(
    new ConvBnRelu(c, c1), new ConvBnRelu(c1, c1), new nn.MaxPool2d(2),
    new ConvBnRelu(c1, c2), new ConvBnRelu(c2, c2), new nn.MaxPool2d(2),
    new nn.Flatten(), new nn.Linear(flat, 512), new nn.ReLU(),
  );
  return new SplitClassifier(config, encoder, 512);
}
