/**
 * APGD, Auto-PGD (Croce & Hein, "Reliable evaluation of adversarial robustness with an ensemble of
 * diverse parameter-free attacks", ICML 2020, Algorithm 1). Norm: l_inf. A budget-aware PGD without
 * a step size to tune:
 * - start x⁰ = x + ε·t/‖t‖_inf with t ~ U[−1, 1] per sample (seeded per sample id), step η = 2ε;
 * - z = Π(xᵏ + η·sign(∇f(xᵏ))), xᵏ⁺¹ = Π(xᵏ + α(z − xᵏ) + (1 − α)(xᵏ − xᵏ⁻¹)), momentum α = 0.75
 *   (α = 1 on the first step);
 * - checkpoints w_j = ⌈p_j·N⌉ with p₀ = 0, p₁ = 0.22, p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06);
 *   at each, per sample, the step is halved and the iterate restarted from the best point x_max
 *   when (1) fewer than ρ = 0.75 of the steps since the last checkpoint raised the loss, or (2) the
 *   step was not halved at the last checkpoint and the best loss has not improved since.
 * The loss f is the cross entropy ("apgd-ce") or the Difference of Logits Ratio ("apgd-dlr");
 * targeted: −CE towards t, or the targeted DLR. With `restarts` > 1, samples not yet broken are
 * attacked again from new random starts. Returns, per sample, the last iterate that met the goal,
 * else the point of highest loss.
 * Defaults: ε = 8/255, 100 steps, 1 restart, ρ = 0.75, α = 0.75, loss "ce", seed 0.
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x. DLR needs >= 3 classes
 * (targeted: >= 4).
 */
import type { LogitsModel } from "../models/classifier.js";
import { full, keep, tensor, tidy, where, type Tensor } from "../torch/index.js";
import { Attack, type BatchContext, type CommonOptions, type Goal } from "./attack.js";
import { crossEntropy, dlr, targetedCrossEntropy, targetedDlr } from "./losses.js";
import { checkChoice, checkInteger, checkNumber } from "./options.js";
import { linfBounds, perRow, projectLinf, type LinfBounds } from "./projection.js";
import { uniformPerSample } from "./random.js";

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
  /** Fraction of loss-increasing steps below which the step is halved (default 0.75). */
  rho?: number;
  /** Momentum weight α (default 0.75). */
  momentum?: number;
  /** Seed of the random starts (default 0). */
  seed?: number;
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

/** The iterations after which APGD checks its step size: ⌈p_j·N⌉ for j >= 1, without repeats. */
export function apgdCheckpoints(steps: number): number[] {
  const p = [0, 0.22];
  while (p[p.length - 1] < 1) {
    const j = p.length - 1;
    p.push(p[j] + Math.max(p[j] - p[j - 1] - 0.03, 0.06));
  }
  // The small offset keeps float error (0.57 = 0.5700000000000001) from moving ⌈p·N⌉ up by one.
  const points = p.slice(1).map((q) => Math.ceil(q * steps - 1e-9)).filter((w) => w > 0 && w <= steps);
  return [...new Set(points)];
}

export class APGD extends Attack<ResolvedAPGDOptions> {
  readonly name: string;

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
    super(model, { ...options, ...resolved }, ["eps", "steps", "restarts", "loss", "rho", "momentum", "seed"], options);
    this.name = `apgd-${resolved.loss}`;
  }

  protected perturb(ctx: BatchContext): Tensor {
    const { x, y, goal, sampleIds } = ctx;
    // perturb runs inside the caller's scope: `result` needs no keep, only explicit disposal when replaced.
    let result = this.#once(x, y, goal, sampleIds, 0);
    for (let r = 1; r < this.options.restarts; r++) {
      const open = tidy(() => this.achieved(this.logits(result), y, goal).logicalNot().toArray());
      const rows = open.flatMap((o, i) => (o ? [i] : []));
      if (rows.length === 0) break;
      const next = tidy(() => {
        const index = indexTensor(rows, x);
        const sub = this.#once(x.indexSelect(0, index), y.indexSelect(0, index),
          goal.kind === "targeted" ? { kind: "targeted", target: goal.target.indexSelect(0, index) } : goal,
          rows.map((i) => sampleIds[i]), r);
        return result.clone().indexPut_([index], sub);
      });
      result.dispose();
      result = next;
    }
    return result;
  }

  #objective(y: Tensor, goal: Goal, classes: number): (z: Tensor) => Tensor {
    if (this.options.loss === "ce") return goal.kind === "targeted" ? (z) => targetedCrossEntropy(z, goal.target) : (z) => crossEntropy(z, y);
    const needed = goal.kind === "targeted" ? 4 : 3;
    if (classes < needed) throw new RangeError(`loss: "dlr" needs at least ${needed} classes${goal.kind === "targeted" ? " when targeted" : ""}, the model has ${classes}`);
    return goal.kind === "targeted" ? (z) => targetedDlr(z, y, goal.target) : (z) => dlr(z, y);
  }

  /** One run of Algorithm 1 from a random start drawn from stream `restart`. */
  #once(x: Tensor, y: Tensor, goal: Goal, sampleIds: number[], restart: number): Tensor {
    const o = this.options;
    const bounds = keepBounds(linfBounds(x, o.eps));
    const checkpoints = new Set(apgdCheckpoints(o.steps));
    const owned: Tensor[] = [];
    try {
      const start = tidy(() => {
        const t = uniformPerSample(x, sampleIds, o.seed, restart).mul(2).sub(1);
        const scale = t.flatten(1).abs().max(1).clamp(1e-12, null);
        return projectLinf(x.add(t.div(perRow(scale, t)), o.eps), bounds);
      });
      const classes = tidy(() => this.logits(x.narrow(0, 0, Math.min(1, x.size(0)))).size(1));
      const objective = this.#objective(y, goal, classes);
      const first = this.lossGrad(start, objective);
      // Per-sample state: kept across iterations; each update disposes what it replaces.
      const s = keepState({
        current: start,
        previous: start.clone(),
        grad: first.grad,
        loss: first.loss,
        best: start.clone(),
        bestGrad: first.grad.clone(),
        bestLoss: first.loss.clone(),
        broken: this.achieved(first.logits, y, goal),
        found: start.clone(),
        step: perRowFull(x, 2 * o.eps),
        increases: perRowFull(x, 0).flatten(),
        bestAtCheck: first.loss.clone(),
        halvedAtCheck: perRowFull(x, 0).flatten().bool(),
      });
      owned.push(...Object.values(s));
      first.logits.dispose();
      let lastCheck = 0;
      for (let k = 0; k < o.steps; k++) {
        const alpha = k === 0 ? 1 : o.momentum;
        const next = tidy(() => {
          const z = projectLinf(s.current.add(s.grad.sign().mul(s.step)), bounds);
          const moved = s.current.add(z.sub(s.current), alpha).add(s.current.sub(s.previous), 1 - alpha);
          const current = projectLinf(moved, bounds);
          const { loss, grad, logits } = this.lossGrad(current, objective);
          const hit = this.achieved(logits, y, goal);
          const improved = loss.gt(s.bestLoss);
          return {
            current,
            previous: s.current.clone(),
            grad,
            loss,
            found: where(perRow(hit, x), current, s.found),
            broken: s.broken.logicalOr(hit),
            increases: s.increases.add(loss.gt(s.loss).float()),
            best: where(perRow(improved, x), current, s.best),
            bestGrad: where(perRow(improved, x), grad, s.bestGrad),
            bestLoss: where(improved, loss, s.bestLoss),
          };
        });
        replace(s, next, owned);
        if (checkpoints.has(k + 1)) {
          const since = k + 1 - lastCheck;
          lastCheck = k + 1;
          const update = tidy(() => {
            const fewIncreases = s.increases.lt(o.rho * since);
            const stalled = s.halvedAtCheck.logicalNot().logicalAnd(s.bestAtCheck.ge(s.bestLoss));
            const halve = fewIncreases.logicalOr(stalled);
            const rows = perRow(halve, x);
            return {
              step: where(rows, s.step.mul(0.5), s.step),
              current: where(rows, s.best, s.current),
              grad: where(rows, s.bestGrad, s.grad),
              halvedAtCheck: halve,
              bestAtCheck: s.bestLoss.clone(),
              increases: s.increases.mul(0),
            };
          });
          replace(s, update, owned);
        }
      }
      return tidy(() => where(perRow(s.broken, x), s.found, s.best));
    } finally {
      for (const t of owned) t.dispose();
      bounds.lower.dispose();
      bounds.upper.dispose();
    }
  }
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
function indexTensor(rows: number[], like: Tensor): Tensor {
  return tensor(BigInt64Array.from(rows, (r) => BigInt(r)), [rows.length], { device: like.device });
}
