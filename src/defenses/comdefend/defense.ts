/**
 * ComDefend as a defense (Jia et al., CVPR 2019): the image is compressed by ComCNN to a code,
 * the code is binarised as bits = [sigmoid(code − N(0, s²)) > threshold] (the authors' s = 1,
 * threshold 0.5), RecCNN rebuilds the image from the bits, and the unchanged target classifies it.
 * The noise makes the defense random, so adaptive attacks average over draws (EOT); with s = 0 it
 * is deterministic.
 *
 * Adaptive attacks (BPDA, Athalye et al. 2018): the threshold has no useful gradient, so
 * `attackForward` forwards the real bits and passes the gradient straight through the threshold,
 * as the identity on the noisy code (`bpda: "identity"`, the default) or as the sigmoid's
 * derivative (`"sigmoid"`). ComCNN, RecCNN and the target are differentiated exactly.
 */
import type { Classifier } from "../../models/classifier.js";
import { noGrad, randnLike, tidy, type Generator, type Tensor } from "../../torch/index.js";
import { checkChoice, checkInteger, checkNumber } from "../../core/validate.js";
import { classifyByLogits, type Defense } from "../defense.js";
import { checkImages } from "../baselines/purifier-defense.js";
import { variantChannels, type ComDefendNets } from "./networks.js";
import { toTiles } from "./patches.js";

/** How the adaptive attack's gradient crosses the threshold. */
export type ComDefendBpda = "identity" | "sigmoid";

/** Options of {@link ComDefendDefense}; defaults are the authors'. */
export interface ComDefendOptions {
  /** Std of the noise subtracted from the code at inference (default 1); 0 makes it deterministic. */
  noise?: number;
  /** A bit is 1 where sigmoid(noisy code) exceeds this (default 0.5). */
  threshold?: number;
  /** Images larger than this are purified as patch x patch tiles (the authors' ImageNet path: 32); 0 (default) purifies them whole. */
  patch?: number;
  /** Gradient through the threshold in `attackForward` (default "identity"). */
  bpda?: ComDefendBpda;
  /**
   * Where the noise is drawn from (on the networks' device); default libtorch's global generator.
   * Its stream moves on with every call.
   */
  generator?: Generator;
  /** Row name in result tables (default "comdefend"). */
  name?: string;
}

export class ComDefendDefense implements Defense {
  readonly name: string;
  readonly stochastic: boolean;
  readonly noise: number;
  readonly threshold: number;
  readonly patch: number;
  readonly bpda: ComDefendBpda;
  readonly generator: Generator | undefined;

  constructor(readonly target: Classifier, readonly nets: ComDefendNets, options: ComDefendOptions = {}) {
    this.noise = checkNumber("noise", options.noise ?? 1, 0);
    this.threshold = checkNumber("threshold", options.threshold ?? 0.5, 0, 1, false);
    if (this.threshold >= 1) throw new RangeError(`threshold: expected a number in (0, 1), got ${this.threshold}`);
    this.patch = checkInteger("patch", options.patch ?? 0, 0);
    this.bpda = checkChoice("bpda", options.bpda ?? "identity", ["identity", "sigmoid"] as const);
    this.generator = options.generator;
    this.name = options.name ?? "comdefend";
    this.stochastic = this.noise > 0;
    const channels = variantChannels(nets.variant);
    if (target.inputShape[0] !== channels) {
      throw new RangeError(`ComDefend: the ${nets.variant} networks take ${channels}-channel images, the target takes ${target.inputShape[0]}`);
    }
    nets.eval().requiresGrad_(false);
  }

  /** The noisy code z = code − N(0, s²) of images (whole images; gradient recorded if x has one). */
  noisyCode(x: Tensor): Tensor {
    const code = this.nets.com.forward(x);
    if (this.noise === 0) return code;
    const draw = randnLike(code, this.generator ? { generator: this.generator } : {});
    return code.sub(draw.mul(this.noise));
  }

  /** The bits {0, 1} of a noisy code: sigmoid(z) > threshold. */
  bitsOf(z: Tensor): Tensor {
    return z.sigmoid().gt(this.threshold).to(z.dtype);
  }

  /** The code bits of whole images (one random draw), without gradient. */
  bits(x: Tensor): Tensor {
    checkImages(x, `${this.name}: bits`);
    return noGrad(() => tidy(() => this.bitsOf(this.noisyCode(x.detach()))));
  }

  /** Runs `fn` on the whole batch, or tile by tile when the patch mode applies to its size. */
  private perTile(x: Tensor, fn: (tiles: Tensor) => Tensor): Tensor {
    const [, , h, w] = x.shape;
    if (this.patch === 0 || (h <= this.patch && w <= this.patch)) return fn(x);
    const tiled = toTiles(x, this.patch);
    return tiled.merge(fn(tiled.tiles));
  }

  /** RecCNN(bits(ComCNN(x))) in (0, 1); `x` is left as it was and no gradient is recorded. */
  purify(x: Tensor): Tensor {
    checkImages(x, `${this.name}: purify`);
    return noGrad(() => tidy(() => this.perTile(x.detach(), (t) => this.nets.rec.forward(this.bitsOf(this.noisyCode(t))))));
  }

  logits(x: Tensor): Tensor {
    return noGrad(() => tidy(() => this.target.forward(this.purify(x))));
  }

  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }

  /**
   * target(RecCNN(bits)) with the real bits forward; backward, d bits / d z is 1 ("identity") or
   * sigmoid'(z) ("sigmoid"). Written as bits + (g(z) − g(z).detach()), whose value is exactly the
   * bits.
   */
  attackForward(x: Tensor): Tensor {
    checkImages(x, `${this.name}: attackForward`);
    return tidy(() => {
      const purified = this.perTile(x, (t) => {
        const z = this.noisyCode(t);
        const relaxed = this.bpda === "identity" ? z : z.sigmoid();
        const bits = this.bitsOf(z.detach()).add(relaxed.sub(relaxed.detach()));
        return this.nets.rec.forward(bits);
      });
      return this.target.forward(purified);
    });
  }
}
