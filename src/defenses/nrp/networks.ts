/**
 * The purifiers of NRP (Naseer et al., "A Self-supervised Approach for Adversarial Robustness",
 * CVPR 2020) as the authors' `networks.py` defines them, and the critic they are trained against.
 *
 * - {@link NrpNet} (`NRP`): conv C->nf, nb RRDB blocks (each three residual dense blocks of five 3x3
 *   convs growing by gc, LeakyReLU 0.2, residual scale 0.2; the RRDB scales its own residual by 0.2
 *   too), a trunk conv nf->C. No batch norm, no output activation, no global skip. PyTorch's default
 *   initialisation (the authors' file does not reinitialise these convs). 16,550,275 parameters at
 *   nf 64, nb 23, gc 32 for three channels.
 * - {@link NrpResG} (`NRP_resG`): conv C->nf + LeakyReLU 0.1, nb residual blocks without BN
 *   (conv-ReLU-conv, identity skip, weights Kaiming-normal scaled by 0.1 and zero biases, as
 *   BasicSR's `ResidualBlock_noBN`), a last conv nf->C. 1,702,211 parameters at nf 64, nb 23.
 * - {@link NrpCritic}: the official repository ships no training code and no discriminator; NRP
 *   builds on ESRGAN, whose critic (BasicSR's `Discriminator_VGG_128`) this follows: a 3x3 conv, then
 *   stages of [4x4 stride-2 conv, BN, LeakyReLU 0.2, 3x3 conv doubling the width (at most 8 nf), BN,
 *   LeakyReLU], then Linear->100->1. Where ESRGAN flattens a 4x4 map of a 128x128 input, this one
 *   averages over space, so that any image size works; the number of stages follows the image size
 *   (five for 128 px and more, three for 28 px).
 *
 * The image channel count follows the data (1 for Fashion-MNIST; the authors' file hard-codes 3
 * output channels of `NRP`).
 */
import { cat, F, nn, noGrad, tidy, type Tensor } from "../../torch/index.js";

const { Conv2d, LeakyReLU, BatchNorm2d, Linear, AdaptiveAvgPool2d, Flatten, Sequential, Module, chain } = nn;

/** Sizes of a purifier: image channels, trunk width nf, block count nb and (NRP only) growth gc. */
export interface PurifierSizes {
  channels: number;
  nf: number;
  nb: number;
  gc: number;
}

export type PurifierArch = "nrp" | "nrp-resg";

const conv3 = (inC: number, outC: number): InstanceType<typeof Conv2d> => new Conv2d(inC, outC, 3, { padding: 1 });

/** BasicSR's ResidualDenseBlock_5C: five dense 3x3 convs, the last back to nf, scaled by 0.2 onto the input. */
export class ResidualDenseBlock extends Module {
  readonly convs: InstanceType<typeof Conv2d>[];
  constructor(nf: number, gc: number) {
    super();
    this.convs = [0, 1, 2, 3, 4].map((i) => this.registerModule(`conv${i + 1}`, conv3(nf + i * gc, i === 4 ? nf : gc)));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const features = [x];
      for (let i = 0; i < 4; i++) {
        features.push(chain(cat(features, 1), this.convs[i], (t) => F.leakyRelu(t, 0.2)));
      }
      return this.convs[4].forward(cat(features, 1)).mul(0.2).add(x);
    });
  }
}

/** Residual-in-residual dense block: three dense blocks, their output scaled by 0.2 onto the input. */
export class Rrdb extends Module {
  readonly blocks: ResidualDenseBlock[];
  constructor(nf: number, gc: number) {
    super();
    this.blocks = [1, 2, 3].map((i) => this.registerModule(`RDB${i}`, new ResidualDenseBlock(nf, gc)));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => chain(x, ...this.blocks).mul(0.2).add(x));
  }
}

/** The `NRP` purifier (RRDB trunk). Parameter names match the authors' state dict. */
export class NrpNet extends Module {
  readonly conv_first: InstanceType<typeof Conv2d>;
  readonly RRDB_trunk: InstanceType<typeof Sequential>;
  readonly trunk_conv: InstanceType<typeof Conv2d>;
  constructor(readonly sizes: PurifierSizes) {
    super();
    const { channels, nf, nb, gc } = sizes;
    this.conv_first = this.registerModule("conv_first", conv3(channels, nf));
    this.RRDB_trunk = this.registerModule("RRDB_trunk", new Sequential(...Array.from({ length: nb }, () => new Rrdb(nf, gc))));
    this.trunk_conv = this.registerModule("trunk_conv", conv3(nf, channels));
  }
  forward(x: Tensor): Tensor {
    return chain(x, this.conv_first, this.RRDB_trunk, this.trunk_conv);
  }
}

/** BasicSR's ResidualBlock_noBN: x + conv2(relu(conv1(x))), weights Kaiming-normal x 0.1, biases 0. */
export class ResidualBlockNoBn extends Module {
  readonly conv1: InstanceType<typeof Conv2d>;
  readonly conv2: InstanceType<typeof Conv2d>;
  constructor(nf: number) {
    super();
    this.conv1 = this.registerModule("conv1", conv3(nf, nf));
    this.conv2 = this.registerModule("conv2", conv3(nf, nf));
    noGrad(() => {
      for (const c of [this.conv1, this.conv2]) {
        nn.init.kaimingNormal_(c.weight, 0, "fanIn");
        c.weight.mul_(0.1);
        c.bias!.zero_();
      }
    });
  }
  forward(x: Tensor): Tensor {
    return tidy(() => chain(x, this.conv1, (t) => t.relu(), this.conv2).add(x));
  }
}

/** The `NRP_resG` purifier (residual generator). Parameter names match the authors' state dict. */
export class NrpResG extends Module {
  readonly conv_first: InstanceType<typeof Conv2d>;
  readonly recon_trunk: InstanceType<typeof Sequential>;
  readonly conv_last: InstanceType<typeof Conv2d>;
  constructor(readonly sizes: PurifierSizes) {
    super();
    const { channels, nf, nb } = sizes;
    this.conv_first = this.registerModule("conv_first", conv3(channels, nf));
    this.recon_trunk = this.registerModule("recon_trunk", new Sequential(...Array.from({ length: nb }, () => new ResidualBlockNoBn(nf))));
    this.conv_last = this.registerModule("conv_last", conv3(nf, channels));
  }
  forward(x: Tensor): Tensor {
    return chain(x, this.conv_first, (t) => F.leakyRelu(t, 0.1), this.recon_trunk, this.conv_last);
  }
}

/** A purifier of either architecture (weights drawn from the current init generator). */
export function makePurifier(arch: PurifierArch, sizes: PurifierSizes): NrpNet | NrpResG {
  for (const k of ["channels", "nf", "nb", "gc"] as const) {
    if (!Number.isInteger(sizes[k]) || sizes[k] < 1) throw new TypeError(`NRP purifier: expected a positive integer for ${k}, got ${sizes[k]}`);
  }
  if (arch === "nrp") return new NrpNet(sizes);
  if (arch === "nrp-resg") return new NrpResG(sizes);
  throw new TypeError(`NRP purifier: expected arch "nrp" or "nrp-resg", got ${JSON.stringify(arch)}`);
}

/** Stride-2 stages of the critic for an image of side `side`: halve while the map stays at least 2 px wide, at most 5 (ESRGAN's). */
export function criticStages(side: number): number {
  let stages = 0;
  while (stages < 5 && Math.floor(side / 2 ** (stages + 1)) >= 2) stages++;
  return Math.max(1, stages);
}

/** ESRGAN's VGG-style critic with global average pooling: one realness score per image, [N, 1]. */
export class NrpCritic extends Module {
  readonly body: InstanceType<typeof Sequential>;
  constructor(channels: number, nf: number, side: number) {
    super();
    const layers: nn.Module[] = [conv3(channels, nf), new LeakyReLU(0.2)];
    let width = nf;
    for (let s = 0; s < criticStages(side); s++) {
      const next = Math.min(width * 2, 8 * nf);
      layers.push(new Conv2d(width, width, 4, { stride: 2, padding: 1, bias: false }), new BatchNorm2d(width), new LeakyReLU(0.2));
      layers.push(new Conv2d(width, next, 3, { padding: 1, bias: false }), new BatchNorm2d(next), new LeakyReLU(0.2));
      width = next;
    }
    layers.push(new AdaptiveAvgPool2d(1), new Flatten(), new Linear(width, 100), new LeakyReLU(0.2), new Linear(100, 1));
    this.body = this.registerModule("body", new Sequential(...layers));
  }
  forward(x: Tensor): Tensor {
    return this.body.forward(x);
  }
}
