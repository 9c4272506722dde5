/**
 * FGSM, the Fast Gradient Sign Method (Goodfellow, Shlens & Szegedy, "Explaining and Harnessing
 * Adversarial Examples", ICLR 2015). Norm: l_inf. One step:
 *   untargeted x' = clip[0,1](x + ε·sign(∇_x CE(f(x), y)))
 *   targeted   x' = clip[0,1](x − ε·sign(∇_x CE(f(x), t)))
 * With `randomStart` it steps from a uniform point of the ε-ball instead, by α (default 1.25·ε),
 * and projects back onto the ball: the example of fast adversarial training (Wong, Rice & Kolter,
 * "Fast is better than free", ICLR 2020).
 * Defaults: ε = 8/255, no random start. Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import type { Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions } from "./attack.js";
import { crossEntropy, targetedCrossEntropy } from "./losses.js";
import { checkBoolean, checkInteger, checkNumber, checkPositive } from "./options.js";
import { uniformStart } from "./pgd.js";

export interface FGSMOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
  /** Start from a uniform point of the ε-ball (default false). */
  randomStart?: boolean;
  /** Step α from the random start (default 1.25·ε, Wong et al.'s choice); plain FGSM steps by ε. */
  stepSize?: number;
  /** Seed of the random starts (default 0). */
  seed?: number;
}

export interface ResolvedFGSMOptions {
  eps: number;
  randomStart: boolean;
  stepSize: number;
  seed: number;
}

/**
 * One FGSM step from `start`: start + α·sign(grad), projected onto the l_inf ball of radius ε
 * around `x` and clipped to [0, 1]. Fast adversarial training calls it with its own random start.
 */
export function fgsmStep(x: Tensor, start: Tensor, grad: Tensor, eps: number, stepSize: number): Tensor {
  return start.add(grad.sign(), stepSize).clamp(x.sub(eps), x.add(eps)).clamp(0, 1);
}

export class FGSM extends Attack<ResolvedFGSMOptions> {
  readonly name = "fgsm";

  constructor(model: LogitsModel, options: FGSMOptions = {}) {
    const eps = checkNumber("eps", options.eps ?? 8 / 255, 0, 1);
    const randomStart = checkBoolean("randomStart", options.randomStart ?? false);
    // ε = 0 is a valid budget (the input comes back unchanged), and then so is a step of 0.
    const step = options.stepSize ?? (randomStart ? 1.25 * eps : eps);
    const stepSize = eps === 0 ? checkNumber("stepSize", step, 0, 1) : checkPositive("stepSize", step, 1);
    const seed = checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1);
    super(model, { ...options, eps, randomStart, stepSize, seed }, ["eps", "randomStart", "stepSize", "seed"], options);
  }

  protected perturb({ x, y, goal, sampleIds }: BatchContext): Tensor {
    const o = this.options;
    const objective = (z: Tensor) => (goal.kind === "targeted" ? targetedCrossEntropy(z, goal.target) : crossEntropy(z, y));
    if (!o.randomStart) return x.add(this.lossGrad(x, objective).grad.sign(), o.eps).clamp(0, 1);
    const start = uniformStart(x, o.eps, sampleIds, o.seed).clamp(0, 1);
    return fgsmStep(x, start, this.lossGrad(start, objective).grad, o.eps, o.stepSize);
  }
}
