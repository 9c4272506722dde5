/**
 * SOAP's models as the authors define them (Mishne-Lab/SOAP `resnet.py`, `models.py`), each a
 * classifier (encoder -> embedding -> head) with the parts its auxiliary task needs:
 *
 * - `resnet`: their `ResNet_(18)`, a CIFAR ResNet of three stages (16, 32, 64 channels, two basic
 *   blocks each, stride 2 at stages 2 and 3), convolutions with biases, global average pooling,
 *   a linear head: 175,818 parameters for 3-channel 32x32 inputs and 10 classes. The rotation
 *   task adds their `fc1` (64 -> 4) on the embedding: 176,078 in all. (Their model pools with an
 *   8x8 kernel, which is the global average at 32x32; here the pooling is global for any size.)
 * - `cae`: their `ConvAutoEncoder`: conv 3x3/2 -> 32, conv 3x3/2 -> 64, fc -> 1024 (the embedding),
 *   the classifier fc 1024 -> classes, and a decoder fc 1024 -> 64·(H/4)·(W/4), transposed convs
 *   3x3/2 -> 32 -> C, sigmoid. ReLU between layers. 6,474,507 parameters for 1x28x28 and 10 classes.
 *
 * State-dict keys are the authors' with the encoder under `encoder.`, the classifier under `head.`
 * and the aux parts under `rotHead.` / `decoder.` (see {@link officialKey}), so their released
 * `.pth` files convert by renaming alone.
 */
import { F, nn, tidy, type Tensor } from "../../torch/index.js";
import { SplitClassifier, type ClassifierConfig } from "../../models/split.js";
import type { SoapModelName } from "./config.js";

/** Their `BasicBlock`: conv-bn-relu-conv-bn plus a (1x1 conv + bn when the shape changes) shortcut, relu. */
class BasicBlock extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly conv2: nn.Conv2d;
  readonly bn2: nn.BatchNorm2d;
  readonly shortcut: nn.Sequential;
  constructor(inC: number, planes: number, stride: number) {
    super();
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(inC, planes, 3, { stride, padding: 1 }));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(planes));
    this.conv2 = this.registerModule("conv2", new nn.Conv2d(planes, planes, 3, { padding: 1 }));
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(planes));
    this.shortcut = this.registerModule("shortcut", stride !== 1 || inC !== planes
      ? new nn.Sequential(new nn.Conv2d(inC, planes, 1, { stride }), new nn.BatchNorm2d(planes))
      : new nn.Sequential());
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const out = this.bn2.forward(this.conv2.forward(F.relu(this.bn1.forward(this.conv1.forward(x)))));
      return F.relu(out.add(this.shortcut.layers.length > 0 ? this.shortcut.forward(x) : x));
    });
  }
}

/** Their ResNet_ trunk up to the pooled 64-d embedding. */
class ResNetTrunk extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly bn1: nn.BatchNorm2d;
  readonly layers: nn.Sequential[];
  constructor(channels: number, blocks = 2) {
    super();
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(channels, 16, 3, { padding: 1 }));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(16));
    let inC = 16;
    this.layers = [16, 32, 64].map((planes, stage) => {
      const list: nn.Module[] = [];
      for (let i = 0; i < blocks; i++) {
        list.push(new BasicBlock(inC, planes, i === 0 && stage > 0 ? 2 : 1));
        inC = planes;
      }
      return this.registerModule(`layer${stage + 1}`, new nn.Sequential(...list));
    });
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let out = F.relu(this.bn1.forward(this.conv1.forward(x)));
      for (const layer of this.layers) out = layer.forward(out);
      return F.adaptiveAvgPool2d(out, 1).flatten(1);
    });
  }
}

/** Their ConvAutoEncoder's encoder: two stride-2 convs and fc1, to the 1024-d embedding. */
class CaeEncoder extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly conv2: nn.Conv2d;
  readonly fc1: nn.Linear;
  constructor(channels: number, h: number, w: number, hidden: number) {
    super();
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(channels, 32, 3, { stride: 2, padding: 1 }));
    this.conv2 = this.registerModule("conv2", new nn.Conv2d(32, 64, 3, { stride: 2, padding: 1 }));
    this.fc1 = this.registerModule("fc1", new nn.Linear(64 * (h / 4) * (w / 4), hidden));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => F.relu(this.fc1.forward(F.relu(this.conv2.forward(F.relu(this.conv1.forward(x)))).flatten(1))));
  }
}

/** Their ConvAutoEncoder's decoder: fc2, then two transposed convs back to the image, sigmoid. */
class CaeDecoder extends nn.Module {
  readonly fc2: nn.Linear;
  readonly conv3: nn.ConvTranspose2d;
  readonly conv4: nn.ConvTranspose2d;
  constructor(readonly channels: number, readonly h: number, readonly w: number, hidden: number) {
    super();
    this.fc2 = this.registerModule("fc2", new nn.Linear(hidden, 64 * (h / 4) * (w / 4)));
    this.conv3 = this.registerModule("conv3", new nn.ConvTranspose2d(64, 32, 3, { stride: 2, padding: 1, outputPadding: 1 }));
    this.conv4 = this.registerModule("conv4", new nn.ConvTranspose2d(32, channels, 3, { stride: 2, padding: 1, outputPadding: 1 }));
  }
  forward(hidden: Tensor): Tensor {
    return tidy(() => {
      const grid = F.relu(this.fc2.forward(hidden)).reshape([-1, 64, this.h / 4, this.w / 4]);
      return F.sigmoid(this.conv4.forward(F.relu(this.conv3.forward(grid))));
    });
  }
}

/** What a SOAP model is built from. */
export interface SoapModelConfig {
  model: SoapModelName;
  /** Adds the rotation head (resnet with the rot task). */
  rotation: boolean;
  numClasses: number;
  inputShape: [number, number, number];
  /** Per-channel normalisation inside the model (the authors': CIFAR-10/100 statistics for resnet, none for cae). */
  mean: number[];
  std: number[];
}

/** The authors' normalisation for a dataset: their CIFAR-10 and CIFAR-100 statistics, none elsewhere. */
export function soapNormalisation(dataset: string, model: SoapModelName, channels: number): { mean: number[]; std: number[] } {
  if (model === "resnet" && channels === 3 && dataset === "cifar10") return { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] };
  if (model === "resnet" && channels === 3 && dataset === "cifar100") return { mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] };
  return { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
}

/** A SOAP classifier: a split classifier plus the aux parts (rotation head, decoder) its task needs. */
export class SoapModel extends SplitClassifier {
  readonly soap: SoapModelConfig;
  /** Rotation logits head (resnet + rot), on the embedding. */
  readonly rotHead: nn.Linear | null;
  /** Image decoder (cae), on the embedding. */
  readonly decoder: CaeDecoder | null;

  constructor(config: SoapModelConfig) {
    const [c, h, w] = config.inputShape;
    const split: ClassifierConfig = {
      arch: `soap-${config.model}`, numClasses: config.numClasses, inputShape: config.inputShape, width: 1, mean: config.mean, std: config.std,
    };
    if (config.model === "cae" && (h % 4 !== 0 || w % 4 !== 0)) throw new RangeError(`soap cae: expected image sides divisible by 4, got ${h}x${w}`);
    const hidden = 1024;
    const encoder = config.model === "resnet" ? new ResNetTrunk(c) : new CaeEncoder(c, h, w, hidden);
    super(split, encoder, config.model === "resnet" ? 64 : hidden);
    this.soap = config;
    this.rotHead = config.model === "resnet" && config.rotation ? this.registerModule("rotHead", new nn.Linear(64, 4)) : null;
    this.decoder = config.model === "cae" ? this.registerModule("decoder", new CaeDecoder(c, h, w, hidden)) : null;
  }

  /** Logits and the aux outputs of one forward pass: rotation logits or the reconstruction, when the model has them. */
  run(x: Tensor): { logits: Tensor; rotation?: Tensor; reconstruction?: Tensor } {
    const h = this.embed(x);
    const logits = this.head(h);
    return {
      logits,
      ...(this.rotHead ? { rotation: this.rotHead.forward(h) } : {}),
      ...(this.decoder ? { reconstruction: this.decoder.forward(h) } : {}),
    };
  }
}

/**
 * Our state-dict key for a key of the authors' `.pth` files (`ResNet_`, `ResNet` = resnet-rot,
 * `ConvAutoEncoder`): `conv1.weight` -> `encoder.conv1.weight`, `linear.*` / `cls.*` -> `head.*`,
 * `resnet.*` (the rotation wrapper) unwrapped, its `fc1.*` -> `rotHead.*`, the autoencoder's
 * `fc2`/`conv3`/`conv4` -> `decoder.*`.
 */
export function officialKey(key: string, model: SoapModelName): string {
  if (model === "resnet") {
    if (key.startsWith("fc1.")) return `rotHead.${key.slice(4)}`;
    const k = key.startsWith("resnet.") ? key.slice(7) : key;
    return k.startsWith("linear.") ? `head.${k.slice(7)}` : `encoder.${k}`;
  }
  if (key.startsWith("cls.")) return `head.${key.slice(4)}`;
  if (/^(fc2|conv3|conv4)\./.test(key)) return `decoder.${key}`;
  return `encoder.${key}`;
}
