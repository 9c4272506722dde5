/**
 * CW-L2 (Carlini & Wagner, "Towards Evaluating the Robustness of Neural Networks", IEEE S&P 2017):
 * the smallest L2 perturbation that changes the class, found by minimising
 *   ‖x' − x‖₂² + c·max(z_y − max_{j≠y} z_j + κ, 0)      (targeted: max(max_{j≠t} z_j − z_t + κ, 0))
 * over x' = (tanh(w) + 1)/2, which keeps x' in [0, 1] without clipping, with Adam on w. A binary
 * search per sample over c finds the smallest weight that still succeeds: c is lowered after a
 * success and raised (x10 until a success bounds it) after a failure. The result is, per sample,
 * the successful iterate of smallest L2 seen in any search step; samples never broken are returned
 * unchanged. Unlike the l_inf attacks there is no budget: compare its L2 norms with PGD-L2's ε.
 * The original's early abort on a stalled objective is kept but made per sample (a stalled row stops
 * moving), so a row's result never depends on the others in its batch.
 * Defaults: 9 binary-search steps, up to 1000 Adam steps each, lr 0.01, c₀ = 0.01, κ = 0.
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import type { LogitsModel } from "../models/classifier.js";
import { full, keep, tidy, where, zerosLike, type Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions } from "./attack.js";
import { labelLogit, otherMax } from "./losses.js";
import { checkBoolean, checkInteger, checkNumber, checkPositive } from "./options.js";
import { perRow } from "./projection.js";

export interface CWL2Options extends CommonOptions {
  /** Binary-search steps over the constant c (default 9). */
  binarySteps?: number;
  /** Adam steps per binary-search step (default 1000; most rows stop early). */
  steps?: number;
  /** Adam learning rate in tanh space (default 0.01). */
  lr?: number;
  /** First value of c (default 0.01). */
  initialConst?: number;
  /** Confidence κ >= 0 (default 0). */
  kappa?: number;
  /** Stop a sample's descent when its objective stalls (checked every tenth of the steps; default true). */
  abortEarly?: boolean;
}

export interface ResolvedCWL2Options {
  binarySteps: number;
  steps: number;
  lr: number;
  initialConst: number;
  kappa: number;
  abortEarly: boolean;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPS = 1e-8;
/** c above this counts as "no upper bound found yet" (the original's 1e10). */
const UNBOUNDED = 1e10;

export class CWL2 extends Attack<ResolvedCWL2Options> {
  readonly name = "cw-l2";

  constructor(model: LogitsModel, options: CWL2Options = {}) {
    const resolved = {
      binarySteps: checkInteger("binarySteps", options.binarySteps ?? 9, 1),
      steps: checkInteger("steps", options.steps ?? 1000, 1),
      lr: checkPositive("lr", options.lr ?? 0.01),
      initialConst: checkPositive("initialConst", options.initialConst ?? 0.01),
      kappa: checkNumber("kappa", options.kappa ?? 0, 0),
      abortEarly: checkBoolean("abortEarly", options.abortEarly ?? true),
    };
    super(model, { ...options, ...resolved }, ["binarySteps", "steps", "lr", "initialConst", "kappa", "abortEarly"], options);
  }

  protected perturb({ x, y, goal }: BatchContext): Tensor {
    const o = this.options;
    const targeted = goal.kind === "targeted";
    const label = goal.kind === "targeted" ? goal.target : y;
    // margin > 0 means the goal is met: another class beats y (untargeted), or t beats the rest.
    const margin = (z: Tensor) => (targeted ? labelLogit(z, label).sub(otherMax(z, label)) : otherMax(z, label).sub(labelLogit(z, label)));
    const state = keepAll({
      w0: x.mul(2).sub(1).mul(1 - 1e-6).atanh(),
      c: perSample(x, o.initialConst),
      lower: perSample(x, 0),
      upper: perSample(x, UNBOUNDED),
      bestL2: perSample(x, Infinity),
      best: x.clone(),
    });
    try {
      for (let b = 0; b < o.binarySteps; b++) {
        let w = keep(state.w0.clone());
        let m = keep(zerosLike(w));
        let v = keep(zerosLike(w));
        let succeeded = keep(zerosLike(state.c).bool());
        // Early abort, per sample (the original stops the whole batch): every tenth of the steps,
        // a row whose objective fell by less than 0.01 % since the last check stops moving.
        let stopped = keep(zerosLike(state.c).bool());
        let lastObjective = keep(perSample(x, Infinity));
        const checkEvery = Math.max(1, Math.floor(o.steps / 10));
        for (let i = 1; i <= o.steps; i++) {
          const check = o.abortEarly && i % checkEvery === 0;
          const next = tidy(() => {
            const t = w.tanh();
            const adv = t.add(1).mul(0.5);
            // The hinge term c·max(κ − margin, 0), differentiated through the model.
            const hinge = (z: Tensor) => margin(z).neg().add(o.kappa).clamp(0, null).mul(state.c);
            const { loss: hingeLoss, grad: gAdv, logits } = this.lossGrad(adv, hinge);
            const l2sq = adv.sub(x).square().flatten(1).sum(1);
            const gw = gAdv.add(adv.sub(x).mul(2)).mul(t.square().rsub(1).mul(0.5));
            // Bookkeeping on this iterate (the one the logits belong to).
            const mg = margin(logits);
            const ok = mg.gt(0).logicalAnd(mg.ge(o.kappa)).logicalAnd(stopped.logicalNot());
            const better = ok.logicalAnd(l2sq.lt(state.bestL2));
            // Adam (bias-corrected) on w; elementwise, so each row evolves on its own.
            const m2 = m.mul(BETA1).add(gw, 1 - BETA1);
            const v2 = v.mul(BETA2).add(gw.square(), 1 - BETA2);
            const mHat = m2.div(1 - BETA1 ** i);
            const vHat = v2.div(1 - BETA2 ** i);
            const w2 = w.sub(mHat.div(vHat.sqrt().add(ADAM_EPS)), o.lr);
            const objective = l2sq.add(hingeLoss);
            const stall = check ? objective.gt(lastObjective.mul(0.9999)) : zerosLike(stopped);
            const frozen = perRow(stopped, x);
            return {
              w: where(frozen, w, w2),
              m: where(frozen, m, m2),
              v: where(frozen, v, v2),
              succeeded: succeeded.logicalOr(ok),
              bestL2: where(better, l2sq, state.bestL2),
              best: where(perRow(better, x), adv, state.best),
              stopped: stopped.logicalOr(stall),
              lastObjective: check ? objective : lastObjective.clone(),
            };
          });
          for (const old of [w, m, v, succeeded, stopped, lastObjective, state.bestL2, state.best]) old.dispose();
          ({ w, m, v, succeeded, stopped, lastObjective } = keepAll({ w: next.w, m: next.m, v: next.v, succeeded: next.succeeded, stopped: next.stopped, lastObjective: next.lastObjective }));
          state.bestL2 = keep(next.bestL2);
          state.best = keep(next.best);
          if (check && stopped.all()) break;
        }
        stopped.dispose();
        lastObjective.dispose();
        const search = tidy(() => {
          const upper = where(succeeded, state.upper.minimum(state.c), state.upper);
          const lower = where(succeeded, state.lower, state.lower.maximum(state.c));
          const bounded = upper.lt(UNBOUNDED);
          const c = where(bounded, lower.add(upper).mul(0.5), state.c.mul(10));
          return { upper, lower, c };
        });
        for (const old of [w, m, v, succeeded, state.upper, state.lower, state.c]) old.dispose();
        ({ upper: state.upper, lower: state.lower, c: state.c } = keepAll(search));
      }
      return state.best.clone();
    } finally {
      for (const t of Object.values(state)) t.dispose();
    }
  }
}

/** A float32 vector [N] (one value per row of x) filled with `value`. */
function perSample(x: Tensor, value: number): Tensor {
  return full([x.size(0)], value, { dtype: x.dtype, device: x.device });
}

function keepAll<T extends Record<string, Tensor>>(tensors: T): T {
  for (const t of Object.values(tensors)) keep(t);
  return tensors;
}
