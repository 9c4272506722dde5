/**
 * PGD-L2 (Madry et al., ICLR 2018, under the L2 norm). Starts at a uniform point of the L2 ball of
 * radius ε (drawn per sample from (seed, sample id)), then `steps` steps along the normalised
 * gradient x ← Π(x + α·∇/‖∇‖₂), where Π scales the perturbation back into the ball and clips to
 * [0, 1]. Returns the last iterate. The natural comparison for CW-L2: a fixed L2 budget instead of
 * a minimal perturbation.
 * Defaults: ε = 0.5, steps = 10, α = 2.5·ε/steps, random start on, seed 0.
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import { tidy, type Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions } from "./attack.js";
import { crossEntropy, targetedCrossEntropy } from "./losses.js";
import { checkBoolean, checkInteger, checkNumber, checkPositive } from "./options.js";
import { normalizeL2, perRow, projectL2 } from "./projection.js";
import { normalPerSample, uniformPerSample } from "./random.js";

export interface PGDL2Options extends CommonOptions {
  /** L2 budget >= 0 (default 0.5). */
  eps?: number;
  /** Number of steps (default 10). */
  steps?: number;
  /** Step length α in L2 (default 2.5·ε/steps). */
  stepSize?: number;
  /** Start from a uniform point of the L2 ball (default true). */
  randomStart?: boolean;
  /** Seed of the random starts (default 0). */
  seed?: number;
}

export interface ResolvedPGDL2Options {
  eps: number;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  seed: number;
}

export class PGDL2 extends Attack<ResolvedPGDL2Options> {
  readonly name = "pgd-l2";

  constructor(model: LogitsModel, options: PGDL2Options = {}) {
    const eps = checkNumber("eps", options.eps ?? 0.5, 0);
    const steps = checkInteger("steps", options.steps ?? 10, 1);
    const resolved = {
      eps,
      steps,
      stepSize: checkPositive("stepSize", options.stepSize ?? (eps > 0 ? (2.5 * eps) / steps : 0.01)),
      randomStart: checkBoolean("randomStart", options.randomStart ?? true),
      seed: checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1),
    };
    super(model, { ...options, ...resolved }, ["eps", "steps", "stepSize", "randomStart", "seed"], options);
  }

  protected perturb({ x, y, goal, sampleIds }: BatchContext): Tensor {
    const o = this.options;
    const objective = (z: Tensor) => (goal.kind === "targeted" ? targetedCrossEntropy(z, goal.target) : crossEntropy(z, y));
    let adv = o.randomStart ? l2BallStart(x, o.eps, sampleIds, o.seed) : x.clone();
    for (let i = 0; i < o.steps; i++) {
      const next = tidy(() => projectL2(x, adv.add(normalizeL2(this.lossGrad(adv, objective).grad), o.stepSize), o.eps));
      adv.dispose();
      adv = next;
    }
    return adv;
  }
}

/**
 * A uniform point of the L2 ball of radius ε around x, clipped to [0, 1]: a Gaussian direction
 * scaled to radius ε·u^(1/d), u ~ U(0, 1), d the number of pixels.
 */
function l2BallStart(x: Tensor, eps: number, sampleIds: number[], seed: number): Tensor {
  return tidy(() => {
    const direction = normalizeL2(normalPerSample(x, sampleIds, seed));
    const d = x.numel / Math.max(1, x.size(0));
    const u = uniformPerSample(x.flatten(1).narrow(1, 0, 1), sampleIds, seed, 1).flatten();
    const radius = u.pow(1 / d).mul(eps);
    return x.add(direction.mul(perRow(radius, x))).clamp(0, 1);
  });
}

