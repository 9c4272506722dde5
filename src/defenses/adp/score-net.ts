/**
 * ADP's score network: NCSNv2 (Song & Ermon 2020), the unconditional RefineNet that the ADP
 * authors train by denoising score matching and use as it stands. Four stages of two pre-activation
 * residual blocks (widths ngf, 2ngf, 2ngf, 2ngf; stage 2 halves the resolution by a mean pool, stages 3
 * and 4 widen the receptive field by dilations 2 and 4 instead), then four RefineNet blocks (residual
 * conv units, multi-resolution fusion by bilinear upsampling, chained residual max pooling) back to
 * full resolution, InstanceNorm++, ELU and a 3x3 conv to the image channels.
 *
 * The forward pass does NOT divide by σ: ADP's copy of NCSNv2 replaces the per-σ division by a
 * division by one, so `forward(x)` is the raw network output, trained to be -ε for x = x₀ + σε
 * (see train.ts) and used directly as the score in purification. Parameter names follow the
 * authors' PyTorch modules (`res1.0.normalize1.alpha`, `refine4.output_convs.3_2_conv.weight`, ...)
 * so that their checkpoints map one to one.
 */
import { F, nn, ones, tensor, type Tensor } from "../../torch/index.js";

/** Architecture of a score network. */
export interface ScoreNetOptions {
  /** Image channels. */
  channels: number;
  /** Base width (NCSNv2 on CIFAR-10: 128). */
  ngf: number;
  /** The σ ladder, largest first (kept as the `sigmas` buffer, as the authors' module does). */
  sigmas: readonly number[];
}

/** ELU (α = 1), NCSNv2's nonlinearity. */
const elu = (x: Tensor): Tensor => F.elu(x);

/**
 * InstanceNorm++ without class conditioning: instance normalisation, plus the channel means
 * (standardised across channels) added back with a learned weight α, so that the colour shifts
 * instance normalisation removes are not lost; then γ·h + β.
 */
export class InstanceNormPlus extends nn.Module {
  alpha: Tensor;
  gamma: Tensor;
  beta: Tensor;
  constructor(readonly features: number) {
    super();
    this.alpha = this.registerParameter("alpha", nn.init.normal_(ones([features]), 1, 0.02));
    this.gamma = this.registerParameter("gamma", nn.init.normal_(ones([features]), 1, 0.02));
    this.beta = this.registerParameter("beta", ones([features]).mul_(0));
  }
  forward(x: Tensor): Tensor {
    const c = this.features;
    const means = x.mean([2, 3]);
    const m = means.mean(-1, true);
    // torch.var's default is the unbiased estimate (divide by C - 1).
    const v = means.sub(m).square().sum(-1, true).div(Math.max(1, c - 1));
    const standardised = means.sub(m).div(v.add(1e-5).sqrt());
    // Instance normalisation (biased variance, eps 1e-5) as batch normalisation of one image whose
    // channels are the N·C instances: one op instead of a chain of reductions.
    const [n, , hh, ww] = x.shape as [number, number, number, number];
    const normed = F.batchNorm(x.reshape([1, n * c, hh, ww]), null, null, { training: true, eps: 1e-5 }).reshape([n, c, hh, ww]);
    const h = normed.add(standardised.reshape([-1, c, 1, 1]).mul(this.alpha.reshape([1, c, 1, 1])));
    return h.mul(this.gamma.reshape([1, c, 1, 1])).add(this.beta.reshape([1, c, 1, 1]));
  }
}

/** Modules registered under "0", "1", ... like a PyTorch ModuleList. */
class ModuleList<M extends nn.Module> extends nn.Module {
  readonly items: M[];
  constructor(items: M[]) {
    super();
    this.items = items.map((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    return x;
  }
}

const conv3 = (i: number, o: number, bias = true, dilation = 1) => new nn.Conv2d(i, o, 3, { padding: dilation, dilation, bias });

/** A conv followed by 2x2 mean pooling (the authors' ConvMeanPool; `adjust_padding` unused at our sizes). */
class ConvMeanPool extends nn.Module {
  readonly conv: nn.Conv2d;
  constructor(i: number, o: number, k: number) {
    super();
    this.conv = this.registerModule("conv", new nn.Conv2d(i, o, k, { padding: Math.floor(k / 2) }));
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(this.conv.forward(x), 2);
  }
}

/** Pre-activation residual block: norm, ELU, conv, norm, ELU, conv, plus a (projected) shortcut. */
export class ResidualBlock extends nn.Module {
  readonly normalize1: InstanceNormPlus;
  readonly conv1: nn.Conv2d;
  readonly normalize2: InstanceNormPlus;
  readonly conv2: nn.Module;
  readonly shortcut: nn.Module | null;
  constructor(inDim: number, outDim: number, resample: "down" | null, dilation: number | null) {
    super();
    const d = dilation ?? 1;
    if (resample === "down") {
      this.conv1 = conv3(inDim, inDim, true, d);
      this.normalize2 = new InstanceNormPlus(inDim);
      this.conv2 = dilation !== null ? conv3(inDim, outDim, true, d) : new ConvMeanPool(inDim, outDim, 3);
    } else {
      this.conv1 = conv3(inDim, outDim, true, d);
      this.normalize2 = new InstanceNormPlus(outDim);
      this.conv2 = conv3(outDim, outDim, true, d);
    }
    let shortcut: nn.Module | null = null;
    if (outDim !== inDim || resample !== null) {
      if (dilation !== null) shortcut = conv3(inDim, outDim, true, d);
      else if (resample === "down") shortcut = new ConvMeanPool(inDim, outDim, 1);
      else shortcut = new nn.Conv2d(inDim, outDim, 1);
    }
    this.normalize1 = new InstanceNormPlus(inDim);
    // Registration order is the authors' (conv1, normalize2, conv2, shortcut, normalize1).
    this.registerModule("conv1", this.conv1);
    this.registerModule("normalize2", this.normalize2);
    this.registerModule("conv2", this.conv2);
    this.shortcut = shortcut ? this.registerModule("shortcut", shortcut) : null;
    this.registerModule("normalize1", this.normalize1);
  }
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(elu(this.normalize1.forward(x)));
    h = this.conv2.forward(elu(this.normalize2.forward(h)));
    return h.add(this.shortcut ? this.shortcut.forward(x) : x);
  }
}

/** Residual conv units: `blocks` times (ELU, conv) x `stages` plus the block's input. */
class RcuBlock extends nn.Module {
  readonly convs: nn.Conv2d[][] = [];
  constructor(features: number, blocks: number, stages: number) {
    super();
    for (let i = 0; i < blocks; i++) {
      const row: nn.Conv2d[] = [];
      for (let j = 0; j < stages; j++) row.push(this.registerModule(`${i + 1}_${j + 1}_conv`, conv3(features, features, false)));
      this.convs.push(row);
    }
  }
  forward(x: Tensor): Tensor {
    for (const row of this.convs) {
      const residual = x;
      for (const conv of row) x = conv.forward(elu(x));
      x = x.add(residual);
    }
    return x;
  }
}

/** Chained residual pooling: ELU, then twice (5x5 stride-1 max pool, conv) each added to the result. */
class CrpBlock extends nn.Module {
  readonly convs: ModuleList<nn.Conv2d>;
  constructor(features: number, stages: number) {
    super();
    this.convs = this.registerModule("convs", new ModuleList(Array.from({ length: stages }, () => conv3(features, features, false))));
  }
  forward(x: Tensor): Tensor {
    x = elu(x);
    let path = x;
    for (const conv of this.convs.items) {
      path = conv.forward(F.maxPool2d(path, 5, { stride: 1, padding: 2 }));
      x = x.add(path);
    }
    return x;
  }
}

/** Multi-resolution fusion: a conv per input, each resized (bilinear, corners aligned) and summed. */
class MsfBlock extends nn.Module {
  readonly convs: ModuleList<nn.Conv2d>;
  constructor(inPlanes: readonly number[], features: number) {
    super();
    this.convs = this.registerModule("convs", new ModuleList(inPlanes.map((p) => conv3(p, features))));
  }
  fuse(xs: readonly Tensor[], size: [number, number]): Tensor {
    let sum: Tensor | null = null;
    this.convs.items.forEach((conv, i) => {
      let h = conv.forward(xs[i]!);
      if (h.size(2) !== size[0] || h.size(3) !== size[1]) h = F.interpolate(h, { size, mode: "bilinear", alignCorners: true });
      sum = sum ? sum.add(h) : h;
    });
    return sum!;
  }
  forward(x: Tensor): Tensor {
    return this.fuse([x], [x.size(2), x.size(3)]);
  }
}

/** A RefineNet block: RCUs on each input, fusion, chained residual pooling, output RCUs. */
class RefineBlock extends nn.Module {
  readonly adapt_convs: ModuleList<RcuBlock>;
  readonly output_convs: RcuBlock;
  readonly msf: MsfBlock | null;
  readonly crp: CrpBlock;
  constructor(inPlanes: readonly number[], features: number, start = false, end = false) {
    super();
    this.adapt_convs = this.registerModule("adapt_convs", new ModuleList(inPlanes.map((p) => new RcuBlock(p, 2, 2))));
    this.output_convs = this.registerModule("output_convs", new RcuBlock(features, end ? 3 : 1, 2));
    this.msf = start ? null : this.registerModule("msf", new MsfBlock(inPlanes, features));
    this.crp = this.registerModule("crp", new CrpBlock(features, 2));
  }
  refine(xs: readonly Tensor[], size: [number, number]): Tensor {
    const hs = xs.map((x, i) => this.adapt_convs.items[i]!.forward(x));
    const h = this.msf ? this.msf.fuse(hs, size) : hs[0]!;
    return this.output_convs.forward(this.crp.forward(h));
  }
  forward(x: Tensor): Tensor {
    return this.refine([x], [x.size(2), x.size(3)]);
  }
}

/** The geometric σ ladder from `begin` down to `end` in `count` steps (NCSNv2's `get_sigmas`). */
export function geometricSigmas(begin: number, end: number, count: number): number[] {
  if (!(begin > 0 && end > 0)) throw new RangeError(`geometricSigmas: expected positive sigmas, got ${begin} and ${end}`);
  if (!Number.isInteger(count) || count < 1) throw new TypeError(`geometricSigmas: expected a positive integer count, got ${count}`);
  if (count === 1) return [begin];
  const a = Math.log(begin), b = Math.log(end);
  return Array.from({ length: count }, (_, i) => Math.exp(a + ((b - a) * i) / (count - 1)));
}

/** NCSNv2 (the 32x32 / 28x28 variant: 4 stages, dilations 2 and 4). */
export class ScoreNet extends nn.Module {
  readonly channels: number;
  readonly ngf: number;
  readonly sigmas: Tensor;
  readonly begin_conv: nn.Conv2d;
  readonly normalizer: InstanceNormPlus;
  readonly end_conv: nn.Conv2d;
  readonly res: ModuleList<ResidualBlock>[];
  readonly refines: RefineBlock[];

  constructor(o: ScoreNetOptions) {
    super();
    if (!Number.isInteger(o.channels) || o.channels < 1) throw new TypeError(`ScoreNet: expected a positive integer for channels, got ${o.channels}`);
    if (!Number.isInteger(o.ngf) || o.ngf < 2) throw new TypeError(`ScoreNet: expected an integer of at least 2 for ngf, got ${o.ngf}`);
    const c = o.channels, n = o.ngf;
    this.channels = c;
    this.ngf = n;
    this.sigmas = this.registerBuffer("sigmas", tensor(Float32Array.from(o.sigmas)));
    this.begin_conv = this.registerModule("begin_conv", conv3(c, n));
    this.normalizer = this.registerModule("normalizer", new InstanceNormPlus(n));
    this.end_conv = this.registerModule("end_conv", conv3(n, c));
    this.res = [
      new ModuleList([new ResidualBlock(n, n, null, null), new ResidualBlock(n, n, null, null)]),
      new ModuleList([new ResidualBlock(n, 2 * n, "down", null), new ResidualBlock(2 * n, 2 * n, null, null)]),
      new ModuleList([new ResidualBlock(2 * n, 2 * n, "down", 2), new ResidualBlock(2 * n, 2 * n, null, 2)]),
      new ModuleList([new ResidualBlock(2 * n, 2 * n, "down", 4), new ResidualBlock(2 * n, 2 * n, null, 4)]),
    ].map((m, i) => this.registerModule(`res${i + 1}`, m));
    this.refines = [
      new RefineBlock([2 * n], 2 * n, true),
      new RefineBlock([2 * n, 2 * n], 2 * n),
      new RefineBlock([2 * n, 2 * n], n),
      new RefineBlock([n, n], n, false, true),
    ].map((m, i) => this.registerModule(`refine${i + 1}`, m));
  }

  /** The raw network output at x in [0, 1] (NCHW); the score ADP uses, never divided by σ. */
  forward(x: Tensor): Tensor {
    if (x.ndim !== 4 || x.size(1) !== this.channels) throw new RangeError(`ScoreNet: expected input [N, ${this.channels}, H, W], got [${x.shape}]`);
    if (x.size(2) % 2 || x.size(3) % 2) throw new RangeError(`ScoreNet: expected even image height and width, got ${x.size(2)}x${x.size(3)}`);
    // The authors' data are in [0, 1] with rescaled = false, so the network sees 2x - 1.
    let h = this.begin_conv.forward(x.mul(2).sub(1));
    const layers: Tensor[] = [];
    for (const stage of this.res) {
      for (const block of stage.items) h = block.forward(h);
      layers.push(h);
    }
    const [l1, l2, l3, l4] = layers as [Tensor, Tensor, Tensor, Tensor];
    const size = (t: Tensor): [number, number] => [t.size(2), t.size(3)];
    const [r1, r2, r3, r4] = this.refines as [RefineBlock, RefineBlock, RefineBlock, RefineBlock];
    const ref1 = r1.refine([l4], size(l4));
    const ref2 = r2.refine([l3, ref1], size(l3));
    const ref3 = r3.refine([l2, ref2], size(l2));
    const out = r4.refine([l1, ref3], size(l1));
    return this.end_conv.forward(elu(this.normalizer.forward(out)));
  }
}
