/**
 * PGD, Projected Gradient Descent with a random start (Madry, Makelov, Schmidt, Tsipras & Vladu,
 * "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018). Norm: l_inf.
 * Starts at a uniform draw from the ε-ball (clipped to [0, 1]), then `steps` signed steps of the
 * cross entropy (towards the target when targeted), each followed by the exact projection;
 * returns the last iterate. Each sample's start is drawn from (seed, sample id), so a sample gives
 * the same result alone or in any batch (see `RunOptions.sampleIds`).
 * Defaults: ε = 8/255, steps = 10, α = 2.5·ε/steps (Madry's rule), random start on, seed 0.
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import type { Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions } from "./attack.js";
import { crossEntropy, targetedCrossEntropy } from "./losses.js";
import { checkBoolean, checkInteger, checkNumber, checkPositive } from "./options.js";
import { uniformPerSample } from "./random.js";
import { signAscent } from "./sign-ascent.js";

export interface PGDOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
  /** Number of steps (default 10). */
  steps?: number;
  /** Step size α (default 2.5·ε/steps). */
  stepSize?: number;
  /** Start from a uniform point of the ε-ball (default true). */
  randomStart?: boolean;
  /** Seed of the random starts (default 0). */
  seed?: number;
}

export interface ResolvedPGDOptions {
  eps: number;
  steps: number;
  stepSize: number;
  randomStart: boolean;
  seed: number;
}

/** Resolves and checks the options PGD and CW-l_inf share. */
export function resolvePgdLike(options: PGDOptions, defaults: { steps: number; randomStart: boolean }): ResolvedPGDOptions {
  const eps = checkNumber("eps", options.eps ?? 8 / 255, 0, 1);
  const steps = checkInteger("steps", options.steps ?? defaults.steps, 1);
  const stepSize = checkPositive("stepSize", options.stepSize ?? (eps > 0 ? (2.5 * eps) / steps : 1 / 255), 1);
  return {
    eps,
    steps,
    stepSize,
    randomStart: checkBoolean("randomStart", options.randomStart ?? defaults.randomStart),
    seed: checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1),
  };
}

/** A uniform point of the l_inf ball around x (before clipping), drawn per sample. */
export function uniformStart(x: Tensor, eps: number, sampleIds: number[], seed: number): Tensor {
  const u = uniformPerSample(x, sampleIds, seed);
  try {
    return x.add(u.mul(2).sub(1), eps);
  } finally {
    u.dispose();
  }
}

export class PGD extends Attack<ResolvedPGDOptions> {
  readonly name = "pgd";

  constructor(model: LogitsModel, options: PGDOptions = {}) {
    super(model, { ...options, ...resolvePgdLike(options, { steps: 10, randomStart: true }) }, ["eps", "steps", "stepSize", "randomStart", "seed"], options);
  }

  protected perturb({ x, y, goal, sampleIds }: BatchContext): Tensor {
    const o = this.options;
    const objective = (z: Tensor) => (goal.kind === "targeted" ? targetedCrossEntropy(z, goal.target) : crossEntropy(z, y));
    const start = o.randomStart ? uniformStart(x, o.eps, sampleIds, o.seed) : x;
    return signAscent(x, start, (adv) => this.lossGrad(adv, objective).grad, o);
  }
}
