/**
 * APGD, Auto-PGD (Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", ICML 2020, Algorithm 1), as AutoAttack's reference code runs it
 * for l_inf. A budget-aware PGD without a step size to tune:
 * - only the points the model classifies correctly (untargeted) or not yet as the target
 *   (targeted) are attacked; every restart attacks the points no earlier restart broke;
 * - start x⁰ = clip₀₁(x + ε·t/(‖t‖_inf + 10⁻¹²)) with t ~ U[−1, 1] per sample (seeded per sample
 *   id), step η = 2ε per sample;
 * - z = Π(xᵏ + η·sign(∇f(xᵏ))), xᵏ⁺¹ = Π(xᵏ + α(z − xᵏ) + (1 − α)(xᵏ − xᵏ⁻¹)), momentum α = 0.75
 *   (α = 1 on the first step);
 * - checkpoints: the first after ⌊0.22·N⌋ iterations, each next window shorter by ⌊0.03·N⌋ but at
 *   least ⌊0.06·N⌋ long (each at least 1), see {@link apgdCheckpoints}. At each, per sample, the
 *   step is halved and the iterate restarted from the best point (with its gradient) when
 *   (1) the loss rose in at most ρ·k of the k steps of the window (`<=`; the first iteration's
 *   loss counts as a rise when it is above 0, since the reference compares it with an unfilled
 *   zero), or (2) the step was not halved at the previous checkpoint and the best loss has not
 *   risen since (inactive at the first checkpoint);
 * - the best point moves on strict improvement (`>`); a point counts as broken as soon as any
 *   iterate meets the goal, and its result is the LAST iterate that did.
 * Returns that iterate for broken points and the clean input for the others (as the reference).
 * The loss f is the cross entropy ("apgd-ce") or the Difference of Logits Ratio ("apgd-dlr");
 * targeted: −CE towards t, or the targeted DLR. For an {@link EotModel} the gradient is the mean
 * over the draws, while the loss and the success check use the last draw (as the reference).
 * Defaults: ε = 8/255, 100 steps, 1 restart, ρ = 0.75, α = 0.75, loss "ce", seed 0.
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x. DLR needs >= 3 classes
 * (targeted: >= 4).
 */
import { logitsOf, type LogitsModel } from "../models/classifier.js";
import { enableGrad, full, grad, keep, tensor, tidy, where, type Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions, type Goal, type LossGrad } from "./attack.js";
import { EotModel } from "./eot.js";
import { crossEntropy, dlr, targetedCrossEntropy, targetedDlr } from "./losses.js";
import { checkChoice, checkInteger, checkNumber, invalidOption } from "./options.js";
import { linfBounds, perRow, projectLinf, type LinfBounds } from "./projection.js";
import { uniformPerSample } from "./random.js";
import { defaultWarningLog, zeroGradientMessage, type WarningLog } from "./sanity-checks.js";

export type APGDLoss = "ce" | "dlr";

export interface APGDOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
  /** Iterations N (default 100). */
  steps?: number;
  /** Random restarts, each on the samples not yet broken (default 1). */
  restarts?: number;
  /** The objective: cross entropy or DLR (default "ce"). */
  loss?: APGDLoss;
  /** Halve the step when at most this fraction of a window's steps raised the loss (default 0.75). */
  rho?: number;
  /** Momentum weight α (default 0.75). */
  momentum?: number;
  /** Seed of the random starts (default 0). */
  seed?: number;
  /**
   * Where warnings go (zero gradients at the start points of DLR runs, a sign of gradient
   * masking). Default: `process.emitWarning`.
   */
  log?: WarningLog;
}

export interface ResolvedAPGDOptions {
  eps: number;
  steps: number;
  restarts: number;
  loss: APGDLoss;
  rho: number;
  momentum: number;
  seed: number;
}

/**
 * The iteration counts after which APGD checks its step size, as AutoAttack schedules them: a
 * first window of max(⌊0.22·N⌋, 1) iterations, each next one shorter by max(⌊0.03·N⌋, 1) but at
 * least max(⌊0.06·N⌋, 1). For N = 100 these are the paper's ⌈p_j·N⌉ (22, 41, 57, 70, 80, 87, 93,
 * 99); for small N the integer windows differ from it.
 */
export function apgdCheckpoints(steps: number): number[] {
  // Same doubles as the reference's int(0.22 * n) etc. (0.22 * 100 = 22.000000000000004 -> 22).
  let window = Math.max(Math.floor(0.22 * steps), 1);
  const shortest = Math.max(Math.floor(0.06 * steps), 1);
  const decrease = Math.max(Math.floor(0.03 * steps), 1);
  const points: number[] = [];
  for (let at = window; at <= steps; at += window) {
    points.push(at);
    window = Math.max(window - decrease, shortest);
  }
  return points;
}

/** What happened at one checkpoint (for tests and diagnostics). */
export interface APGDCheckpoint {
  /** Iterations done so far. */
  iteration: number;
  /** Length k of the window that ended here. */
  window: number;
  /** Per sample: how many of the window's k loss comparisons were rises. */
  increases: number[];
  /** Per sample: whether the step was halved (and the iterate reset to the best point). */
  halved: boolean[];
  /** Per sample: the step size after this checkpoint. */
  stepSize: number[];
}

/** One run of Algorithm 1 on a batch, from a given start. */
export interface APGDSearch {
  eps: number;
  steps: number;
  rho: number;
  momentum: number;
  /** Per-row objective to maximise, from logits [N, C] to [N]. */
  objective: (logits: Tensor) => Tensor;
  /** Per row (bool [N]): whether logits meet the attack's goal (the point is broken). */
  reached: (logits: Tensor) => Tensor;
  /** Called with the number of rows whose gradient at the start is exactly zero (when > 0). */
  onZeroGradients?: (rows: number) => void;
  /** Called at each checkpoint (reads the state back: for tests and diagnostics only). */
  onCheckpoint?: (c: APGDCheckpoint) => void;
}

/** The outcome of {@link apgdSearch}: per row the last iterate that met the goal (else the start). */
export interface APGDSearchResult {
  adversarial: Tensor;
  /** Bool [N]: some iterate (or the start) met the goal. */
  reached: Tensor;
}

/**
 * The per-sample objective's gradient averaged over the model's draws (one unless an
 * {@link EotModel}), with the LAST draw's objective and logits, as AutoAttack's EOT loop keeps them.
 */
export function eotLossGrad(model: LogitsModel, x: Tensor, objective: (logits: Tensor) => Tensor): LossGrad {
  const draws = model instanceof EotModel ? model.samples : 1;
  return tidy(() => enableGrad(() => {
    let sum: Tensor | null = null;
    let last: { loss: Tensor; logits: Tensor } | null = null;
    for (let k = 0; k < draws; k++) {
      const step = tidy(() => {
        const input = x.detach().requiresGrad_(true);
        const logits = logitsOf(model, input);
        const loss = objective(logits);
        const [g] = grad(loss.sum(), [input]);
        return { loss: loss.detach(), grad: g as Tensor, logits: logits.detach() };
      });
      sum = sum === null ? step.grad : sum.add(step.grad);
      last = step;
    }
    const { loss, logits } = last as { loss: Tensor; logits: Tensor };
    return { loss, logits, grad: draws === 1 ? (sum as Tensor) : (sum as Tensor).div(draws) };
  }));
}

/**
 * Algorithm 1 from `start` (inside the ball around x), as in AutoAttack's `attack_single_run`
 * for l_inf. Returns new tensors owned by the caller's scope.
 */
export function apgdSearch(model: LogitsModel, x: Tensor, start: Tensor, o: APGDSearch): APGDSearchResult {
  const bounds = keepBounds(linfBounds(x, o.eps));
  const checkpoints = new Set(apgdCheckpoints(o.steps));
  const owned: Tensor[] = [];
  try {
    const first = eotLossGrad(model, start, o.objective);
    if (o.onZeroGradients) {
      const zero = tidy(() => first.grad.flatten(1).abs().sum(1).eq(0).sum().item());
      if (zero > 0) o.onZeroGradients(zero);
    }
    // Per-sample state: kept across iterations; each update disposes what it replaces.
    const s = keepState({
      current: start.clone(),
      previous: start.clone(),
      grad: first.grad,
      best: start.clone(),
      bestGrad: first.grad.clone(),
      bestLoss: first.loss,
      reached: o.reached(first.logits),
      found: start.clone(),
      step: perRowFull(x, 2 * o.eps),
      // The loss the next iteration's loss is compared with. The reference compares the first
      // iteration's loss with a not yet written entry of its loss history, i.e. with 0.
      lastLoss: full([x.size(0)], 0, { dtype: first.loss.dtype, device: x.device }),
      increases: full([x.size(0)], 0, { dtype: first.loss.dtype, device: x.device }),
      bestAtCheck: first.loss.clone(),
      // "Halved at the previous checkpoint" starts true, so rule (2) is off at the first checkpoint.
      halvedAtCheck: full([x.size(0)], 1, { device: x.device }).bool(),
    });
    owned.push(...Object.values(s));
    first.logits.dispose();
    let lastCheck = 0;
    for (let k = 0; k < o.steps; k++) {
      const alpha = k === 0 ? 1 : o.momentum;
      const next = tidy(() => {
        // The same operations in the same order as the reference, so the float rounding agrees.
        const z = projectLinf(s.current.add(s.grad.sign().mul(s.step)), bounds);
        const moved = s.current.add(z.sub(s.current).mul(alpha)).add(s.current.sub(s.previous).mul(1 - alpha));
        const current = projectLinf(moved, bounds);
        const { loss, grad: g, logits } = eotLossGrad(model, current, o.objective);
        const hit = o.reached(logits);
        const improved = loss.gt(s.bestLoss);
        return {
          current,
          previous: s.current.clone(),
          grad: g,
          lastLoss: loss,
          found: where(perRow(hit, x), current, s.found),
          reached: s.reached.logicalOr(hit),
          increases: s.increases.add(loss.gt(s.lastLoss).to(s.increases.dtype)),
          best: where(perRow(improved, x), current, s.best),
          bestGrad: where(perRow(improved, x), g, s.bestGrad),
          bestLoss: where(improved, loss, s.bestLoss),
        };
      });
      replace(s, next, owned);
      if (checkpoints.has(k + 1)) {
        const window = k + 1 - lastCheck;
        lastCheck = k + 1;
        const update = tidy(() => {
          // The reference compares with k·ρ as a float32 tensor.
          const oscillating = s.increases.le(Math.fround(window * o.rho));
          const stalled = s.halvedAtCheck.logicalNot().logicalAnd(s.bestAtCheck.ge(s.bestLoss));
          const halve = oscillating.logicalOr(stalled);
          const rows = perRow(halve, x);
          return {
            step: where(rows, s.step.div(2), s.step),
            current: where(rows, s.best, s.current),
            grad: where(rows, s.bestGrad, s.grad),
            halvedAtCheck: halve,
            bestAtCheck: s.bestLoss.clone(),
            increases: s.increases.mul(0),
          };
        });
        if (o.onCheckpoint) {
          const report = tidy(() => ({ increases: s.increases.toArray(), halved: update.halvedAtCheck.toArray().map(Boolean), stepSize: update.step.flatten().toArray() }));
          o.onCheckpoint({ iteration: k + 1, window, ...report });
        }
        replace(s, update, owned);
      }
    }
    return { adversarial: s.found.clone(), reached: s.reached.clone() };
  } finally {
    for (const t of owned) t.dispose();
    bounds.lower.dispose();
    bounds.upper.dispose();
  }
}

/** The random start of `apgdSearch`: x + ε·t/(‖t‖_inf + 10⁻¹²), t ~ U[−1, 1] per sample, clipped to [0, 1]. */
export function apgdStart(x: Tensor, eps: number, sampleIds: readonly number[], seed: number, stream: number): Tensor {
  return tidy(() => {
    const t = uniformPerSample(x, sampleIds, seed, stream).mul(2).sub(1);
    const scale = perRow(t.abs().flatten(1).max(1).add(1e-12), t);
    return x.add(t.div(scale).mul(eps)).clamp(0, 1);
  });
}

export class APGD extends Attack<ResolvedAPGDOptions> {
  readonly name: string;
  readonly #log: WarningLog;

  constructor(model: LogitsModel, options: APGDOptions = {}) {
    const resolved = {
      eps: checkNumber("eps", options.eps ?? 8 / 255, 0, 1),
      steps: checkInteger("steps", options.steps ?? 100, 1),
      restarts: checkInteger("restarts", options.restarts ?? 1, 1),
      loss: checkChoice("loss", options.loss ?? "ce", ["ce", "dlr"] as const),
      rho: checkNumber("rho", options.rho ?? 0.75, 0, 1),
      momentum: checkNumber("momentum", options.momentum ?? 0.75, 0, 1),
      seed: checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1),
    };
    if (options.log !== undefined && typeof options.log !== "function") throw invalidOption("log", "a function taking a message", options.log);
    const { log: _log, ...rest } = options;
    super(model, { ...rest, ...resolved }, ["eps", "steps", "restarts", "loss", "rho", "momentum", "seed", "log"], options);
    this.#log = options.log ?? defaultWarningLog;
    this.name = `apgd-${resolved.loss}`;
  }

  protected perturb(ctx: BatchContext): Tensor {
    const { x, y, goal, sampleIds } = ctx;
    const classes = tidy(() => this.logits(x.narrow(0, 0, Math.min(1, x.size(0)))).size(1));
    const objective = this.#objective(y, goal, classes);
    let zeroGradientRows = 0;
    const result = attackOpenRows(x, this.#open(x, y, goal), this.options.restarts, (rows, restart) => {
      const xs = x.indexSelect(0, rows.index);
      const ys = y.indexSelect(0, rows.index);
      const sub: Goal = goal.kind === "targeted" ? { kind: "targeted", target: goal.target.indexSelect(0, rows.index) } : goal;
      const start = apgdStart(xs, this.options.eps, rows.ids(sampleIds), this.options.seed, restart);
      return apgdSearch(this.model, xs, start, {
        ...this.options,
        objective: objective(ys, sub),
        reached: (logits) => this.achieved(logits, ys, sub),
        onZeroGradients: this.options.loss === "dlr" ? (n) => (zeroGradientRows += n) : undefined,
      });
    });
    if (zeroGradientRows > 0) this.#log(zeroGradientMessage(this.name, zeroGradientRows));
    return result;
  }

  /** Rows still to attack: those whose clean prediction does not meet the goal yet. */
  #open(x: Tensor, y: Tensor, goal: Goal): boolean[] {
    return tidy(() => this.achieved(this.logits(x), y, goal).logicalNot().toArray().map(Boolean));
  }

  #objective(y: Tensor, goal: Goal, classes: number): (y: Tensor, goal: Goal) => (z: Tensor) => Tensor {
    if (this.options.loss === "ce") {
      return (ys, g) => (g.kind === "targeted" ? (z) => targetedCrossEntropy(z, g.target) : (z) => crossEntropy(z, ys));
    }
    const needed = goal.kind === "targeted" ? 4 : 3;
    if (classes < needed) throw new RangeError(`loss: "dlr" needs at least ${needed} classes${goal.kind === "targeted" ? " when targeted" : ""}, the model has ${classes}`);
    return (ys, g) => (g.kind === "targeted" ? (z) => targetedDlr(z, ys, g.target) : (z) => dlr(z, ys));
  }
}

/** A set of rows of a batch, as an index tensor on the batch's device. */
export interface RowSet {
  rows: number[];
  index: Tensor;
  /** The sample ids of these rows. */
  ids(sampleIds: readonly number[]): number[];
}

/**
 * The restart loop AutoAttack's APGD attacks share: starting from the clean input, each round
 * runs `round` on the rows still `open` and, for the rows it broke, keeps its adversarial example
 * and closes them. Rows never broken keep the clean input. `open` is updated in place.
 */
export function attackOpenRows(x: Tensor, open: boolean[], rounds: number, round: (rows: RowSet, index: number) => APGDSearchResult): Tensor {
  let result = x.clone();
  for (let r = 0; r < rounds; r++) {
    const rows = open.flatMap((o, i) => (o ? [i] : []));
    if (rows.length === 0) break;
    const next = tidy(() => {
      const index = indexTensor(rows, x);
      const out = round({ rows, index, ids: (ids) => rows.map((i) => ids[i]) }, r);
      const broken = out.reached.toArray().map(Boolean);
      broken.forEach((b, j) => {
        if (b) open[rows[j]] = false;
      });
      const hit = broken.flatMap((b, j) => (b ? [j] : []));
      if (hit.length === 0) return null;
      const at = indexTensor(hit, x);
      return result.clone().indexPut_([index.indexSelect(0, at)], out.adversarial.indexSelect(0, at));
    });
    if (next !== null) {
      result.dispose();
      result = next;
    }
  }
  return result;
}

type State = Record<string, Tensor>;

function keepState<T extends State>(s: T): T {
  for (const t of Object.values(s)) keep(t);
  return s;
}

function keepBounds(b: LinfBounds): LinfBounds {
  keep(b.lower);
  keep(b.upper);
  return b;
}

/** Moves the tensors of `update` into `s`, freeing those they replace. */
function replace<T extends State>(s: T, update: Partial<T>, owned: Tensor[]): void {
  for (const [key, value] of Object.entries(update) as [keyof T & string, Tensor][]) {
    const old = s[key];
    keep(value);
    s[key] = value as T[keyof T & string];
    owned.push(value);
    const at = owned.indexOf(old);
    if (at >= 0) owned.splice(at, 1);
    old.dispose();
  }
}

/** A tensor shaped [N, 1, 1, 1] (for x [N, C, H, W]) filled with `value`. */
function perRowFull(x: Tensor, value: number): Tensor {
  return full([x.size(0), ...x.shape.slice(1).map(() => 1)], value, { dtype: x.dtype, device: x.device });
}

/** Row numbers as an int64 index tensor on x's device. */
export function indexTensor(rows: readonly number[], like: Tensor): Tensor {
  return tensor(BigInt64Array.from(rows, (r) => BigInt(r)), [rows.length], { device: like.device });
}
