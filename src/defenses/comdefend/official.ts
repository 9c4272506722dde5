/**
 * The authors' published weights: checkpoints/enc20_0.0001.npy and dec20_0.0001.npy (RGB),
 * enc_mnist.npy and dec_mnist.npy (grey, Fashion-MNIST). Each file is a NumPy zip whose `w` entry
 * is an object array listing, layer by layer, a TensorFlow kernel [kh, kw, in, out] (HWIO) and its
 * bias [out]: 18 arrays for the 9 convolutions of ComCNN or RecCNN. Reading the file is the .npy
 * reader's job; this maps its arrays onto our layers (HWIO → PyTorch's OIHW).
 */
import { noGrad, tensor, type Tensor } from "../../torch/index.js";
import { convLayers, type ComDefendNets, type ComDefendVariant } from "./networks.js";
import { newNets } from "./io.js";

/** One array of a weight file: a tensor, or plain float data with its shape. */
export type OfficialArray = Tensor | { shape: readonly number[]; data: ArrayLike<number> };

function asTensor(a: OfficialArray): { t: Tensor; owned: boolean } {
  if ("data" in a && !("dtype" in a)) {
    const data = a.data instanceof Float32Array ? a.data : Float32Array.from(a.data);
    return { t: tensor(data, [...a.shape], "float32"), owned: true };
  }
  return { t: a as Tensor, owned: false };
}

const shapeOf = (a: OfficialArray): readonly number[] => a.shape;

/** The variant a ComCNN weight list is for, from its first kernel's input channels (3 → rgb, 1 → grey). */
export function officialVariant(encoder: readonly OfficialArray[], what = "encoder weights"): ComDefendVariant {
  const first = encoder[0] ? shapeOf(encoder[0]) : undefined;
  if (!first || first.length !== 4) throw new RangeError(`${what}: expected a 4-d HWIO kernel first, got ${first ? `shape [${first}]` : "no arrays"}`);
  if (first[2] === 3) return "rgb";
  if (first[2] === 1) return "grey";
  throw new RangeError(`${what}: the first kernel takes ${first[2]} channels; ComDefend's take 3 (RGB) or 1 (grey)`);
}

/**
 * Copies a weight list in the official layer order (kernel HWIO, bias, kernel, bias, ...) into the
 * convolutions of `network` ("com" or "rec") of `nets`. Every shape is checked first; the error
 * names the array and both shapes.
 */
export function loadOfficialLayers(nets: ComDefendNets, network: "com" | "rec", arrays: readonly OfficialArray[], what = `${network} weights`): void {
  const convs = convLayers(nets[network].features);
  if (arrays.length !== 2 * convs.length) {
    throw new RangeError(`${what}: expected ${2 * convs.length} arrays (a kernel and a bias for each of ${convs.length} convolutions), got ${arrays.length}`);
  }
  convs.forEach((conv, i) => {
    const [o, inC, kh, kw] = conv.weight.shape;
    const want = [[kh, kw, inC, o], [o]];
    for (const j of [0, 1]) {
      const got = shapeOf(arrays[2 * i + j]);
      if (got.join(",") !== want[j].join(",")) {
        throw new RangeError(`${what}: array ${2 * i + j} (${j === 0 ? "kernel" : "bias"} of convolution ${i + 1}) has shape [${got}], expected [${want[j]}]`);
      }
    }
  });
  noGrad(() => convs.forEach((conv, i) => {
    const kernel = asTensor(arrays[2 * i]);
    const bias = asTensor(arrays[2 * i + 1]);
    const oihw = kernel.t.permute([3, 2, 0, 1]);
    conv.weight.copy_(oihw);
    conv.bias!.copy_(bias.t);
    oihw.dispose();
    if (kernel.owned) kernel.t.dispose();
    if (bias.owned) bias.t.dispose();
  }));
}

/**
 * ComDefend networks from the authors' encoder (ComCNN) and decoder (RecCNN) weight lists; the
 * variant follows from the encoder's first kernel.
 */
export function comdefendFromOfficial(encoder: readonly OfficialArray[], decoder: readonly OfficialArray[]): ComDefendNets {
  const variant = officialVariant(encoder);
  const nets = newNets(variant);
  try {
    loadOfficialLayers(nets, "com", encoder, "encoder weights");
    loadOfficialLayers(nets, "rec", decoder, "decoder weights");
  } catch (err) {
    nets.dispose();
    throw err;
  }
  return nets;
}
