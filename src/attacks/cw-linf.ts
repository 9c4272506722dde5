/**
 * CW-l_inf: the Carlini-Wagner margin loss (Carlini & Wagner, "Towards Evaluating the Robustness
 * of Neural Networks", IEEE S&P 2017, loss f6) optimised under an l_inf budget by projected signed
 * steps, as Madry et al. (2018) run it and as the IDFR paper's tables report "CW". The objective,
 * maximised, is min(max_{j≠y} z_j − z_y, κ) untargeted and min(z_t − max_{j≠t} z_j, κ) targeted,
 * on logits z: it stops pushing a sample once it is misclassified by the confidence κ.
 * Defaults: ε = 8/255, steps = 20, α = 2.5·ε/steps, κ = 0, no random start (seed 0 when on).
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import type { Tensor } from "../torch/index.js";
import { Attack, type BatchContext } from "./attack.js";
import { cwMargin, targetedCwMargin } from "./losses.js";
import { checkNumber } from "./options.js";
import { resolvePgdLike, uniformStart, type PGDOptions, type ResolvedPGDOptions } from "./pgd.js";
import { signAscent } from "./sign-ascent.js";

export interface CWLinfOptions extends PGDOptions {
  /** Confidence κ >= 0: the margin at which a sample counts as done (default 0). */
  kappa?: number;
}

export interface ResolvedCWLinfOptions extends ResolvedPGDOptions {
  kappa: number;
}

export class CWLinf extends Attack<ResolvedCWLinfOptions> {
  readonly name = "cw";

  constructor(model: LogitsModel, options: CWLinfOptions = {}) {
    const resolved = { ...resolvePgdLike(options, { steps: 20, randomStart: false }), kappa: checkNumber("kappa", options.kappa ?? 0, 0) };
    super(model, { ...options, ...resolved }, ["eps", "steps", "stepSize", "randomStart", "seed", "kappa"], options);
  }

  protected perturb({ x, y, goal, sampleIds }: BatchContext): Tensor {
    const o = this.options;
    const objective = (z: Tensor) => (goal.kind === "targeted" ? targetedCwMargin(z, goal.target, o.kappa) : cwMargin(z, y, o.kappa));
    const start = o.randomStart ? uniformStart(x, o.eps, sampleIds, o.seed) : x;
    return signAscent(x, start, (adv) => this.lossGrad(adv, objective).grad, o);
  }
}
