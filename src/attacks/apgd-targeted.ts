/**
 * APGD-T (Croce & Hein 2020, §4; AutoAttack's `APGDAttack_targeted`): APGD on the targeted DLR
 * loss −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2), aimed in turn at the classes the model ranks 2nd,
 * 3rd, ... (`targetClasses` of them, default 9) by its logits on the clean points. Each target
 * (with `restarts` random starts, default 1) attacks only the points no earlier target broke, and
 * its targets come from a fresh forward of those points. The success criterion stays untargeted:
 * a point is broken as soon as the model predicts anything but its label. Broken points get the
 * last iterate that was misclassified, the others the clean input (as the reference).
 * With a targeted goal (`run(x, y, { target })`) it attacks the given class instead, with the
 * same loss, and a point counts as broken once it is classified as its target.
 * Norm: l_inf. Defaults: ε = 8/255, 100 steps, 9 target classes, 1 restart, ρ = 0.75, seed 0.
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x. Needs >= 4 classes and
 * targetClasses <= classes − 1.
 */
import type { LogitsModel } from "../models/classifier.js";
import { tidy, type Tensor } from "../torch/index.js";
import { apgdSearch, apgdStart, attackOpenRows } from "./apgd.js";
import { Attack, type BatchContext, type CommonOptions } from "./attack.js";
import { targetedDlr } from "./losses.js";
import { checkInteger, checkNumber, invalidOption } from "./options.js";
import { checkClasses, defaultWarningLog, zeroGradientMessage, type WarningLog } from "./sanity-checks.js";

export interface APGDTargetedOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
  /** Iterations per target and restart (default 100). */
  steps?: number;
  /** Random restarts per target class (default 1). */
  restarts?: number;
  /** How many of the highest-ranked other classes to aim at, in order (default 9). */
  targetClasses?: number;
  /** Halve the step when at most this fraction of a window's steps raised the loss (default 0.75). */
  rho?: number;
  /** Momentum weight α (default 0.75). */
  momentum?: number;
  /** Seed of the random starts (default 0). */
  seed?: number;
  /** Where warnings go (zero gradients at start points). Default: `process.emitWarning`. */
  log?: WarningLog;
}

export interface ResolvedAPGDTargetedOptions {
  eps: number;
  steps: number;
  restarts: number;
  targetClasses: number;
  rho: number;
  momentum: number;
  seed: number;
}

export class APGDTargeted extends Attack<ResolvedAPGDTargetedOptions> {
  readonly name = "apgd-t";
  readonly #log: WarningLog;

  constructor(model: LogitsModel, options: APGDTargetedOptions = {}) {
    const resolved = {
      eps: checkNumber("eps", options.eps ?? 8 / 255, 0, 1),
      steps: checkInteger("steps", options.steps ?? 100, 1),
      restarts: checkInteger("restarts", options.restarts ?? 1, 1),
      targetClasses: checkInteger("targetClasses", options.targetClasses ?? 9, 1),
      rho: checkNumber("rho", options.rho ?? 0.75, 0, 1),
      momentum: checkNumber("momentum", options.momentum ?? 0.75, 0, 1),
      seed: checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1),
    };
    if (options.log !== undefined && typeof options.log !== "function") throw invalidOption("log", "a function taking a message", options.log);
    const { log: _log, ...rest } = options;
    super(model, { ...rest, ...resolved }, ["eps", "steps", "restarts", "targetClasses", "rho", "momentum", "seed", "log"], options);
    this.#log = options.log ?? defaultWarningLog;
  }

  protected perturb(ctx: BatchContext): Tensor {
    const { x, y, goal, sampleIds } = ctx;
    const o = this.options;
    const classes = tidy(() => this.logits(x.narrow(0, 0, Math.min(1, x.size(0)))).size(1));
    const fixed = goal.kind === "targeted" ? goal.target : null;
    checkClasses(classes, ["apgd-t"], { "apgd-t": fixed ? 1 : o.targetClasses });
    const open = tidy(() => this.achieved(this.logits(x), y, goal).logicalNot().toArray().map(Boolean));
    let zeroGradientRows = 0;
    // Round r aims at rank ⌊r / restarts⌋ + 2 with restart r mod restarts; its random start comes from stream r.
    const rounds = (fixed ? 1 : o.targetClasses) * o.restarts;
    const result = attackOpenRows(x, open, rounds, (rows, r) => {
      const xs = x.indexSelect(0, rows.index);
      const ys = y.indexSelect(0, rows.index);
      const target = fixed ? fixed.indexSelect(0, rows.index) : rankedClass(this.logits(xs), Math.floor(r / o.restarts) + 2);
      const start = apgdStart(xs, o.eps, rows.ids(sampleIds), o.seed, r);
      return apgdSearch(this.model, xs, start, {
        ...o,
        objective: (z) => targetedDlr(z, ys, target),
        reached: (z) => (fixed ? z.argmax(1).eq(target) : z.argmax(1).ne(ys)),
        onZeroGradients: (n) => (zeroGradientRows += n),
      });
    });
    if (zeroGradientRows > 0) this.#log(zeroGradientMessage(this.name, zeroGradientRows));
    return result;
  }
}

/**
 * Per row, the class with the `rank`-th largest logit (rank 1 = the top class), taken as the
 * reference does: the `rank`-th index from the end of an ascending sort.
 */
export function rankedClass(logits: Tensor, rank: number): Tensor {
  const classes = logits.size(1);
  return logits.sort(1).indices.select(1, classes - rank);
}
