/**
 * Bit-depth reduction as a defense on its own (Xu et al. 2018's first squeezer): each pixel is
 * rounded to 4 bits (2 bits for one-channel images, where digits survive coarser levels), then the
 * target classifies it. Rounding has a zero gradient almost everywhere, so adaptive attacks pass
 * the gradient straight through it (BPDA with the identity).
 */
import type { Classifier } from "../../models/classifier.js";
import type { Tensor } from "../../torch/index.js";
import { checkInteger } from "../../core/validate.js";
import type { DefenseEntry } from "../registry.js";
import { PurifierDefense } from "./purifier-defense.js";
import { reduceBitDepth } from "./squeezers.js";

/** Rounds every pixel to `bits` bits before the target sees it. */
export class BitDepthDefense extends PurifierDefense {
  readonly name = "bit-depth";
  readonly stochastic = false;
  readonly bits: number;

  constructor(target: Classifier, bits = target.inputShape[0] === 1 ? 2 : 4) {
    super(target);
    this.bits = checkInteger("bit-depth bits", bits, 1, 16);
  }

  protected transform(x: Tensor): Tensor {
    return reduceBitDepth(x, this.bits);
  }
}

/** The registry entry of {@link BitDepthDefense}. */
export const bitDepthDefense: DefenseEntry = {
  name: "bit-depth", label: "Bit depth", description: "pixels rounded to 4 bits (2 for grey images)", adaptive: "bpda", group: "baseline",
  create: (env) => new BitDepthDefense(env.target),
};
