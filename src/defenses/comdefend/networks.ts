/**
 * ComDefend's two networks (Jia, Wei, Cao & Foroosh, "ComDefend: An Efficient Image Compression
 * Model to Defend Adversarial Examples", CVPR 2019), with the layer widths of the authors'
 * TensorFlow code (Train_comdefend_TF.py for RGB, compression_mnist.py for grey images):
 *
 * - ComCNN: x − 0.5, then 3x3 stride-1 SAME convolutions with ELU after each, and a last linear
 *   3x3 convolution to the code. RGB: 3-16-32-64-128-256-128-64-32-12; grey: 1-32-64-128-256-128-
 *   64-64-32-4.
 * - RecCNN: 3x3 SAME convolutions with ELU, the last one linear, then a sigmoid. RGB:
 *   12-32-64-128-256-128-64-32-16-3; grey: 4-32-64-128-256-128-64-64-32-1.
 *
 * No batch norm (commented out in their code). Parameters are named like the authors' PyTorch
 * script (`features.0.weight`, `features.2.weight`, ... with the ELUs at odd indices). Initial
 * weights follow their layer library (canton's Conv2D): truncated normal (redrawn beyond two
 * standard deviations) with std sqrt(2 / fan_in), biases zero.
 */
import { nn, noGrad, randn, tensor, type Generator, type Tensor } from "../../torch/index.js";

/** Which of the authors' two architectures: "rgb" (12-bit code per pixel) or "grey" (4-bit). */
export type ComDefendVariant = "rgb" | "grey";

/** Output widths of each conv layer, in order, per network and variant (the authors' code). */
export const COMDEFEND_WIDTHS: Record<ComDefendVariant, { com: readonly number[]; rec: readonly number[] }> = {
  rgb: { com: [16, 32, 64, 128, 256, 128, 64, 32, 12], rec: [32, 64, 128, 256, 128, 64, 32, 16, 3] },
  grey: { com: [32, 64, 128, 256, 128, 64, 64, 32, 4], rec: [32, 64, 128, 256, 128, 64, 64, 32, 1] },
};

/** Image channels of a variant. */
export const variantChannels = (variant: ComDefendVariant): number => (variant === "rgb" ? 3 : 1);

/** Code channels (bits per pixel) of a variant. */
export const codeChannels = (variant: ComDefendVariant): number => COMDEFEND_WIDTHS[variant].com.at(-1)!;

/** The variant for images with `channels` channels: 3 → "rgb", 1 → "grey". */
export function variantFor(channels: number): ComDefendVariant {
  if (channels === 3) return "rgb";
  if (channels === 1) return "grey";
  throw new RangeError(`ComDefend: expected images with 1 (grey) or 3 (RGB) channels, got ${channels}`);
}

/**
 * Fills `t` with N(0, std²) draws, each redrawn until it lies within two standard deviations (as
 * TensorFlow's truncated_normal), from the scope's init generator. The few values to redraw (about
 * 4.6 %) are replaced in order from fresh batches of draws.
 */
function truncatedNormal_(t: Tensor, std: number): void {
  const generator: Generator | undefined = nn.init.initGenerator();
  const options = generator ? { generator } : {};
  const values = noGrad(() => t.normal_(0, 1, generator)).toTypedArray() as Float32Array;
  let outside: number[] = [];
  values.forEach((v, i) => { if (Math.abs(v) > 2) outside.push(i); });
  while (outside.length > 0) {
    const fresh = randn([outside.length], options);
    const draws = fresh.toTypedArray() as Float32Array;
    fresh.dispose();
    const still: number[] = [];
    outside.forEach((i, k) => {
      if (Math.abs(draws[k]) > 2) still.push(i);
      else values[i] = draws[k];
    });
    outside = still;
  }
  for (let i = 0; i < values.length; i++) values[i] *= std;
  const filled = tensor(values, t.shape);
  noGrad(() => t.copy_(filled));
  filled.dispose();
}

/** A chain of 3x3 SAME convs from `input` through `widths`, ELU after all but the last. */
function convStack(input: number, widths: readonly number[]): nn.Sequential {
  const layers: nn.Module[] = [];
  let from = input;
  widths.forEach((to, i) => {
    const conv = new nn.Conv2d(from, to, 3, { padding: 1 });
    truncatedNormal_(conv.weight, Math.sqrt(2 / (from * 9)));
    noGrad(() => conv.bias!.zero_());
    layers.push(conv);
    if (i < widths.length - 1) layers.push(new nn.ELU());
    from = to;
  });
  return new nn.Sequential(...layers);
}

/** The conv layers of a stack, in order (what the authors' weight files list). */
export function convLayers(stack: nn.Sequential): nn.Conv2d[] {
  return stack.layers.filter((m): m is nn.Conv2d => m instanceof nn.Conv2d);
}

/** The compression network: image in [0, 1] → real-valued code (its sign is the bit). */
export class ComCNN extends nn.Module {
  readonly features: nn.Sequential;
  constructor(readonly variant: ComDefendVariant) {
    super();
    this.features = this.registerModule("features", convStack(variantChannels(variant), COMDEFEND_WIDTHS[variant].com));
  }
  forward(x: Tensor): Tensor {
    const channels = variantChannels(this.variant);
    if (x.ndim !== 4 || x.size(1) !== channels) throw new RangeError(`ComCNN(${this.variant}): expected images [N, ${channels}, H, W], got [${x.shape}]`);
    const centred = x.sub(0.5);
    const out = this.features.forward(centred);
    centred.dispose();
    return out;
  }
}

/** The reconstruction network: code in [0, 1] (bits at inference) → image in (0, 1). */
export class RecCNN extends nn.Module {
  readonly features: nn.Sequential;
  constructor(readonly variant: ComDefendVariant) {
    super();
    this.features = this.registerModule("features", convStack(codeChannels(variant), COMDEFEND_WIDTHS[variant].rec));
  }
  forward(code: Tensor): Tensor {
    const bits = codeChannels(this.variant);
    if (code.ndim !== 4 || code.size(1) !== bits) throw new RangeError(`RecCNN(${this.variant}): expected codes [N, ${bits}, H, W], got [${code.shape}]`);
    const out = this.features.forward(code);
    const y = out.sigmoid();
    out.dispose();
    return y;
  }
}

/** Both networks of one ComDefend model. */
export class ComDefendNets extends nn.Module {
  readonly com: ComCNN;
  readonly rec: RecCNN;
  constructor(readonly variant: ComDefendVariant) {
    super();
    this.com = this.registerModule("com", new ComCNN(variant));
    this.rec = this.registerModule("rec", new RecCNN(variant));
  }
  /** The training forward: rec(sigmoid(com(x) − noise)); see train.ts. */
  forward(x: Tensor): Tensor {
    return this.rec.forward(this.com.forward(x).sigmoid());
  }
}
