/**
 * BIM, the Basic Iterative Method (Kurakin, Goodfellow & Bengio, "Adversarial Examples in the
 * Physical World", ICLR 2017 workshop). Norm: l_inf. From x itself (no random start), `steps`
 * signed steps of the cross entropy (towards the target when targeted), each followed by the exact
 * projection onto the ε-ball ∩ [0, 1]; returns the last iterate.
 * Defaults (the paper's): ε = 8/255, step α = 1/255, steps = ⌈min(255ε + 4, 1.25·255ε)⌉ (at least 1).
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import type { Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions } from "./attack.js";
import { crossEntropy, targetedCrossEntropy } from "./losses.js";
import { checkInteger, checkNumber, checkPositive } from "./options.js";
import { signAscent } from "./sign-ascent.js";

export interface BIMOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
  /** Number of steps (default Kurakin's rule above). */
  steps?: number;
  /** Step size α (default 1/255). */
  stepSize?: number;
}

export interface ResolvedBIMOptions {
  eps: number;
  steps: number;
  stepSize: number;
}

export class BIM extends Attack<ResolvedBIMOptions> {
  readonly name = "bim";

  constructor(model: LogitsModel, options: BIMOptions = {}) {
    const eps = checkNumber("eps", options.eps ?? 8 / 255, 0, 1);
    const steps = checkInteger("steps", options.steps ?? Math.max(1, Math.ceil(Math.min(255 * eps + 4, 1.25 * 255 * eps) - 1e-9)), 1);
    const stepSize = checkPositive("stepSize", options.stepSize ?? 1 / 255, 1);
    super(model, { ...options, eps, steps, stepSize }, ["eps", "steps", "stepSize"], options);
  }

  protected perturb({ x, y, goal }: BatchContext): Tensor {
    const objective = (z: Tensor) => (goal.kind === "targeted" ? targetedCrossEntropy(z, goal.target) : crossEntropy(z, y));
    return signAscent(x, x, (adv) => this.lossGrad(adv, objective).grad, this.options);
  }
}
