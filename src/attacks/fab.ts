/**
 * FAB, the Fast Adaptive Boundary attack (Croce & Hein, "Minimally distorted adversarial examples
 * with a fast adaptive boundary attack", ICML 2020), l_inf, as AutoAttack runs it. A minimum-norm
 * attack: it walks towards the decision boundary and keeps, per sample, the misclassified point
 * closest to the clean one. Each of `steps` iterations, at the current point x¹ with clean point x⁰:
 * - linearise the logit difference f_c − f_y around x¹ (its value and its input gradient w) and
 *   take the hyperplane w·z = b where the linearisation vanishes. Untargeted ("fab"): the full
 *   Jacobian (one backward per class), and the class c ≠ y whose hyperplane is nearest in l_inf,
 *   |f_c − f_y| / ‖∇f_c − ∇f_y‖₁. Targeted ("fab-t"): one backward of f_t − f_y;
 * - project x¹ and x⁰ onto that hyperplane within the box [0, 1] (exact minimal l_inf steps δ₁,
 *   δ₀, {@link projectLinfHyperplane});
 * - step x¹ ← clip((1 − α)(x¹ + ηδ₁) + α(x⁰ + ηδ₀)) with the bias towards the clean point
 *   α = min(‖δ₁‖/(‖δ₁‖ + ‖δ₀‖), α_max) and the overshoot η;
 * - when x¹ is misclassified, remember it if it is the closest so far and step back towards x⁰:
 *   x¹ ← x⁰ + β(x¹ − x⁰).
 * The first run starts at x⁰; restart r > 0 starts at x⁰ + (ε/2)·t/‖t‖_inf, t ~ U[−1, 1] per sample
 * (seeded by sample id), clipped to [0, 1]. FAB-T runs once per target class: the 2nd, 3rd, ...
 * highest clean logit, `targetClasses` of them (at most C − 1), each with `restarts` runs.
 * As in AutoAttack, only samples classified correctly are attacked, each run only attacks the
 * samples not yet broken, and a run breaks a sample only if its point is misclassified and within
 * ε in l_inf; every other sample comes back as its clean image. Any wrong class counts, also for
 * FAB-T (the target only steers the search), so FAB takes no targeted goal.
 * Defaults: ε = 8/255, 100 steps, 1 restart, untargeted, 9 target classes, α_max = 0.1, η = 1.05,
 * β = 0.9, seed 0 (AutoAttack's standard FAB-T: targeted, 1 restart, 9 targets).
 * Shapes: x float32 [N, ...] in [0, 1], y int64 [N] -> x' like x.
 */
import { logitsOf, type LogitsModel } from "../models/classifier.js";
import { cat, enableGrad, F, full, grad, stack, tensor, tidy, where, type Tensor } from "../torch/index.js";
import { Attack, type AttackResult, type BatchContext, type CommonOptions, type RunOptions } from "./attack.js";
import { EotModel } from "./eot.js";
import { checkBoolean, checkInteger, checkNumber } from "./options.js";
import { perRow } from "./projection.js";
import { uniformPerSample } from "./random.js";

export interface FABOptions extends CommonOptions {
  /** l_inf budget in [0, 1]: a sample counts as broken only within it; also sets the random-restart radius ε/2 (default 8/255). */
  eps?: number;
  /** Iterations per run (default 100). */
  steps?: number;
  /** Runs per target class (FAB-T) or in all (FAB); runs after the first start from a random point (default 1). */
  restarts?: number;
  /** FAB-T, steered towards the most likely wrong classes in turn (default false: FAB). */
  targeted?: boolean;
  /** FAB-T: how many target classes, from the 2nd highest clean logit down (default 9; at most C − 1 are used). */
  targetClasses?: number;
  /** Largest weight α of the step towards the clean point's projection (default 0.1). */
  alphaMax?: number;
  /** Overshoot η >= 1 of each projection step (default 1.05). */
  eta?: number;
  /** Backward step β in (0, 1] towards the clean point after a misclassified iterate (default 0.9). */
  beta?: number;
  /** Seed of the random restarts (default 0). */
  seed?: number;
}

export interface ResolvedFABOptions {
  eps: number;
  steps: number;
  restarts: number;
  targeted: boolean;
  targetClasses: number;
  alphaMax: number;
  eta: number;
  beta: number;
  seed: number;
}

const FAB_KEYS = ["eps", "steps", "restarts", "targeted", "targetClasses", "alphaMax", "eta", "beta", "seed"] as const;

/** Marks "no misclassified point found yet" in the best-distance vector (as large as in the reference). */
const NOT_FOUND = 1e10;

export class FAB extends Attack<ResolvedFABOptions> {
  readonly name: "fab" | "fab-t";

  constructor(model: LogitsModel, options: FABOptions = {}) {
    const resolved: ResolvedFABOptions = {
      eps: checkNumber("eps", options.eps ?? 8 / 255, 0, 1),
      steps: checkInteger("steps", options.steps ?? 100, 1),
      restarts: checkInteger("restarts", options.restarts ?? 1, 1),
      targeted: checkBoolean("targeted", options.targeted ?? false),
      targetClasses: checkInteger("targetClasses", options.targetClasses ?? 9, 1),
      alphaMax: checkNumber("alphaMax", options.alphaMax ?? 0.1, 0, 1),
      eta: checkNumber("eta", options.eta ?? 1.05, 1),
      beta: checkNumber("beta", options.beta ?? 0.9, 0, 1, false),
      seed: checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1),
    };
    super(model, { ...options, ...resolved }, FAB_KEYS, options);
    this.name = resolved.targeted ? "fab-t" : "fab";
  }

  /** As {@link Attack.run}; a targeted goal is refused, since FAB-T picks its own targets and any wrong class counts. */
  override run(x: Tensor, y: Tensor, options: RunOptions = {}): AttackResult {
    if (options.target !== undefined || options.goal?.kind === "targeted") {
      throw new TypeError(`${this.name}: expected an untargeted goal; FAB minimises the distance to any wrong class `
        + `(FAB-T steers towards the most likely wrong classes itself), so it takes no target classes`);
    }
    return super.run(x, y, options);
  }

  protected perturb(ctx: BatchContext): Tensor {
    const { x, y, sampleIds } = ctx;
    const o = this.options;
    const clean = this.logits(x);
    const classes = clean.size(1);
    // Ascending order of the clean logits: column C − k holds the k-th most likely class.
    const order = clean.sort(1).indices;
    const open = clean.argmax(1).eq(y).toArray().map(Boolean);
    const ranks = o.targeted ? Array.from({ length: Math.min(o.targetClasses, classes - 1) }, (_, i) => i + 2) : [0];
    const adversarial = x.clone();
    runs: for (let targetIndex = 0; targetIndex < ranks.length; targetIndex++) {
      for (let restart = 0; restart < o.restarts; restart++) {
        const rows = open.flatMap((v, i) => (v ? [i] : []));
        if (rows.length === 0) break runs;
        tidy(() => {
          const index = indexTensor(rows, x);
          const xs = x.indexSelect(0, index);
          const ys = y.indexSelect(0, index);
          const target = o.targeted ? order.indexSelect(0, index).select(1, classes - ranks[targetIndex]) : null;
          const stream = targetIndex * o.restarts + restart;
          const found = this.#singleRun(xs, ys, target, rows.map((i) => sampleIds[i]), restart > 0 ? stream : null);
          const broken = this.logits(found).argmax(1).ne(ys).logicalAnd(F.linfPerSample(found.sub(xs)).le(o.eps)).toArray();
          const local = broken.flatMap((b, i) => (b ? [i] : []));
          if (local.length === 0) return;
          adversarial.indexPut_([indexTensor(local.map((i) => rows[i]), x)], found.indexSelect(0, indexTensor(local, x)));
          for (const i of local) open[rows[i]] = false;
        });
      }
    }
    return adversarial;
  }

  /**
   * One run of FAB on samples the model classifies correctly: returns, per sample, the closest
   * misclassified iterate, or the clean point when none was. `stream` null: start at the clean point.
   */
  #singleRun(x0: Tensor, y: Tensor, target: Tensor | null, sampleIds: number[], stream: number | null): Tensor {
    const o = this.options;
    let state: RunState = tidy(() => ({
      current: stream === null ? x0.clone() : randomStart(x0, sampleIds, o.seed, stream, o.eps),
      best: x0.clone(),
      bestNorm: full([x0.size(0)], NOT_FOUND, { dtype: x0.dtype, device: x0.device }),
    }));
    try {
      for (let k = 0; k < o.steps; k++) {
        const next = tidy(() => this.#step(x0, y, target, state));
        disposeState(state);
        state = next;
      }
      const s = state;
      return tidy(() => where(perRow(s.bestNorm.lt(NOT_FOUND), x0), s.best, x0));
    } finally {
      disposeState(state);
    }
  }

  /** One FAB iteration from `s`; returns the new state (new tensors). */
  #step(x0: Tensor, y: Tensor, target: Tensor | null, s: RunState): RunState {
    const o = this.options;
    const n = x0.size(0);
    const { df, dg } = target === null ? this.#allDifferences(s.current, y) : this.#targetDifference(s.current, y, target);
    const dims = dg.size(2);
    // The nearest linearised boundary in l_inf: |f_c − f_y| / ‖∇f_c − ∇f_y‖₁.
    const nearest = df.abs().div(dg.abs().sum(2).add(1e-12)).argmin(1, true);
    const w = dg.gather(1, nearest.unsqueeze(2).expand([n, 1, dims])).squeeze(1);
    const current = s.current.flatten(1);
    const b = w.mul(current).sum(1).sub(df.gather(1, nearest).squeeze(1));
    const steps = projectLinfHyperplane(cat([current, x0.flatten(1)], 0), cat([w, w], 0), cat([b, b], 0));
    const lengths = steps.abs().max(1).clamp(1e-8, null);
    const fromCurrent = lengths.narrow(0, 0, n);
    const fromClean = lengths.narrow(0, n, n);
    const alpha = perRow(fromCurrent.div(fromCurrent.add(fromClean)).clamp(0, o.alphaMax), x0);
    const d1 = steps.narrow(0, 0, n).reshape(x0.shape);
    const d2 = steps.narrow(0, n, n).reshape(x0.shape);
    const moved = s.current.add(d1.mul(o.eta)).mul(alpha.rsub(1)).add(x0.add(d2.mul(o.eta)).mul(alpha)).clamp(0, 1);
    const misclassified = this.logits(moved).argmax(1).ne(y);
    const norm = F.linfPerSample(moved.sub(x0));
    const closer = misclassified.logicalAnd(norm.lt(s.bestNorm));
    return {
      best: where(perRow(closer, x0), moved, s.best),
      bestNorm: where(closer, norm, s.bestNorm),
      current: where(perRow(misclassified, x0), x0.add(moved.sub(x0).mul(o.beta)), moved),
    };
  }

  /** f_t − f_y and its input gradient (one backward): df [n, 1], dg [n, 1, D]. */
  #targetDifference(x: Tensor, y: Tensor, target: Tensor): Differences {
    const t = target.unsqueeze(1);
    const l = y.unsqueeze(1);
    const { loss, grad: g } = this.lossGrad(x, (z) => z.gather(1, t).sub(z.gather(1, l)).squeeze(1));
    return { df: loss.unsqueeze(1), dg: g.flatten(1).unsqueeze(1) };
  }

  /**
   * f_c − f_y for every class c and their input gradients, from the full Jacobian (one forward,
   * one backward per class; averaged over draws for an {@link EotModel}): df [n, C], dg [n, C, D].
   * The true class gets df = 1e10, so it is never the nearest boundary.
   */
  #allDifferences(x: Tensor, y: Tensor): Differences {
    const draws = this.model instanceof EotModel ? this.model.samples : 1;
    return tidy(() => {
      let sum: { logits: Tensor; jacobian: Tensor } | null = null;
      for (let k = 0; k < draws; k++) {
        const draw = tidy(() => enableGrad(() => {
          const input = x.detach().requiresGrad_(true);
          const logits = logitsOf(this.model, input);
          const [n, classes] = logits.shape;
          const unit = F.oneHot(tensor(BigInt64Array.from({ length: classes }, (_, c) => BigInt(c)), [classes], { device: logits.device }), classes).to(logits.dtype);
          const rows: Tensor[] = [];
          for (let c = 0; c < classes; c++) {
            const seed = unit.narrow(0, c, 1).expand([n, classes]).contiguous();
            const [g] = grad([logits], [input], [seed], { retainGraph: c < classes - 1 });
            rows.push((g as Tensor).flatten(1));
          }
          return { logits: logits.detach(), jacobian: stack(rows, 1) };
        }));
        sum = sum === null ? draw : { logits: sum.logits.add(draw.logits), jacobian: sum.jacobian.add(draw.jacobian) };
      }
      const total = sum as { logits: Tensor; jacobian: Tensor };
      const logits = draws === 1 ? total.logits : total.logits.div(draws);
      const jacobian = draws === 1 ? total.jacobian : total.jacobian.div(draws);
      const [n, classes, dims] = jacobian.shape;
      const label = y.unsqueeze(1);
      const df = logits.sub(logits.gather(1, label));
      const dg = jacobian.sub(jacobian.gather(1, label.unsqueeze(2).expand([n, 1, dims])));
      return { df: where(F.oneHot(y, classes).bool(), NOT_FOUND, df), dg };
    });
  }
}

/**
 * The smallest l_inf step δ (per row) that moves a point onto a hyperplane inside the box [0, 1]:
 * argmin ‖δ‖_inf subject to w·(p + δ) = b and 0 <= p + δ <= 1. Rows of `points` [M, D], `w`
 * [M, D], `b` [M]; returns δ [M, D]. When the box does not reach the hyperplane, δ moves every
 * coordinate with w ≠ 0 to the bound that goes furthest towards it. Coordinates with w = 0 never
 * move. Exact, by sorting: the best step of radius λ moves coordinate i by min(λ, room_i) against
 * the sign of w_i (room_i = its distance to that bound), so w·δ(λ) is piecewise linear and
 * monotone in λ; a binary search over the sorted rooms finds the piece holding b − w·p, and λ
 * follows in closed form. The operations and their order follow AutoAttack's `projection_linf`.
 */
export function projectLinfHyperplane(points: Tensor, w: Tensor, b: Tensor): Tensor {
  return tidy(() => {
    const [m, dims] = points.shape;
    // Orient each hyperplane so that the point lies on its positive side: then w·δ must decrease.
    const side = where(w.mul(points).sum(1).sub(b).ge(0), 1, -1).to(w.dtype);
    const ws = w.mul(side.unsqueeze(1));
    const bs = b.mul(side);
    const towardsOne = ws.lt(0).to(w.dtype);
    const moves = ws.ne(0).to(w.dtype);
    // The largest move of each coordinate (to 1 where w < 0, to 0 where w > 0) and its length.
    const farthest = towardsOne.sub(points).mul(moves);
    const room = towardsOne.sub(points.mul(towardsOne.mul(2).sub(1)));
    const ascending = room.sort(1).indices;
    const needed = bs.sub(ws.mul(points).sum(1));
    const most = ws.mul(farthest).sum(1);
    const descending = ascending.flip([1]);
    const wSorted = ws.gather(1, descending);
    // With the rooms in decreasing order, at λ = the k-th room: w·δ(λ) = reach[k] − slope[k]·λ.
    const slope = wSorted.abs().cumsum(1);
    const reach = wSorted.neg().mul(farthest.gather(1, descending)).cumsum(1).add(most.unsqueeze(1));
    const last = dims - 1;
    const atSmallestRoom = reach.select(1, last).sub(slope.select(1, last).mul(room.gather(1, ascending.narrow(1, 0, 1)).squeeze(1)));
    // Within every room: λ is below the smallest room, each coordinate moves by λ.
    const inside = needed.sub(atSmallestRoom).gt(0);
    // Reachable, with some coordinates stopped at their bound: search the piece.
    const clipped = needed.sub(most).gt(0).logicalAnd(inside.logicalNot());
    let low = filled(m, 0, w);
    let high = filled(m, last, w);
    for (let i = 0; i < Math.ceil(Math.log2(dims)); i++) {
      const mid = low.add(high).div(2).floor();
      const k = mid.long().unsqueeze(1);
      const at = ascending.gather(1, k.rsub(last));
      const value = reach.gather(1, k).sub(slope.gather(1, k).mul(room.gather(1, at))).squeeze(1);
      const below = needed.sub(value).gt(0);
      low = where(below, mid, low);
      high = where(below, high, mid);
    }
    const piece = low.long().unsqueeze(1);
    const lambdaInside = needed.sub(reach.select(1, last)).div(slope.select(1, last).neg()).clamp(0, null).unsqueeze(1);
    const stepInside = towardsOne.mul(2).sub(1).mul(lambdaInside);
    const lambda = needed.sub(reach.gather(1, piece).squeeze(1)).div(slope.gather(1, piece).squeeze(1).neg()).clamp(0, null).unsqueeze(1);
    const stepClipped = farthest.minimum(lambda.expand([m, dims])).mul(towardsOne)
      .add(farthest.maximum(lambda.neg().expand([m, dims])).mul(towardsOne.rsub(1)));
    const step = where(inside.unsqueeze(1), stepInside, where(clipped.unsqueeze(1), stepClipped, farthest));
    return step.mul(moves);
  });
}

interface RunState {
  /** The iterate x¹. */
  current: Tensor;
  /** The closest misclassified iterate so far (the clean point until one is found) and its l_inf distance. */
  best: Tensor;
  bestNorm: Tensor;
}

interface Differences {
  df: Tensor;
  dg: Tensor;
}

function disposeState(s: RunState): void {
  s.current.dispose();
  s.best.dispose();
  s.bestNorm.dispose();
}

/** x⁰ + (ε/2)·t/‖t‖_inf with t ~ U[−1, 1] drawn per sample, clipped to [0, 1]. */
function randomStart(x0: Tensor, sampleIds: number[], seed: number, stream: number, eps: number): Tensor {
  const t = uniformPerSample(x0, sampleIds, seed, stream).mul(2).sub(1);
  const scale = perRow(F.linfPerSample(t), t);
  return x0.add(t.div(scale).mul(eps * 0.5)).clamp(0, 1);
}

/** A vector [m] filled with `value`, in w's dtype and device. */
function filled(m: number, value: number, like: Tensor): Tensor {
  return full([m], value, { dtype: like.dtype, device: like.device });
}

/** Row numbers as an int64 index tensor on x's device. */
function indexTensor(rows: number[], like: Tensor): Tensor {
  return tensor(BigInt64Array.from(rows, (r) => BigInt(r)), [rows.length], { device: like.device });
}
