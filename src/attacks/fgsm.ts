/**
 * FGSM, the Fast Gradient Sign Method (Goodfellow, Shlens & Szegedy, "Explaining and Harnessing
 * Adversarial Examples", ICLR 2015). Norm: l_inf. One step:
 *   untargeted x' = clip[0,1](x + ε·sign(∇_x CE(f(x), y)))
 *   targeted   x' = clip[0,1](x − ε·sign(∇_x CE(f(x), t)))
 * Defaults: ε = 8/255. Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import type { Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions } from "./attack.js";
import { crossEntropy, targetedCrossEntropy } from "./losses.js";
import { checkNumber } from "./options.js";

export interface FGSMOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
}

export interface ResolvedFGSMOptions {
  eps: number;
}

export class FGSM extends Attack<ResolvedFGSMOptions> {
  readonly name = "fgsm";

  constructor(model: LogitsModel, options: FGSMOptions = {}) {
    super(model, { ...options, eps: checkNumber("eps", options.eps ?? 8 / 255, 0, 1) }, ["eps"], options);
  }

  protected perturb({ x, y, goal }: BatchContext): Tensor {
    const { grad } = this.lossGrad(x, (z) => (goal.kind === "targeted" ? targetedCrossEntropy(z, goal.target) : crossEntropy(z, y)));
    return x.add(grad.sign(), this.options.eps).clamp(0, 1);
  }
}
