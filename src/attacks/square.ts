/**
 * Square Attack (Andriushchenko, Croce, Flammarion & Hein, "Square Attack: a query-efficient
 * black-box adversarial attack via random search", ECCV 2020), l_inf, score-based: it reads the
 * model's logits and never its gradients, so it also tests defenses whose forward pass cannot be
 * differentiated (or masks its gradients). It follows AutoAttack's `SquareAttack` (norm Linf):
 * - start from vertical stripes: every column of every channel moved to x ± ε (sign at random),
 *   clipped to [0, 1];
 * - at iteration i (0-based) the square's side is s = max(round(√(p·H·W)), 1) (halves to even, as
 *   Python rounds), at most min(H, W),
 *   where p halves from `pInit` at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000
 *   ({@link squareP}); its corner is drawn uniformly from {0, …, H − s − 1} × {0, …, W − s − 1}
 *   (the reference's `int((H − s)·u)`, which never picks the last position, except that it is 0
 *   when s = H) and each channel's sign at random. The candidate sets that window to x ± ε (clipped
 *   to [0, 1]) and keeps the rest of the current best point;
 * - a sample keeps the candidate only if its loss decreases (or it becomes misclassified), and
 *   stops as soon as its margin z_y − max_{j≠y} z_j is ≤ 0;
 * - the loss is that margin ("margin", default) or −CE ("ce"); targeted: margin
 *   max_{j≠t} z_j − z_t and loss CE towards t (the reference's targeted variant, whatever `loss`);
 * - with `restarts` > 1, the samples not yet broken are attacked again from new stripes.
 * As in AutoAttack (which passes `resc_schedule=False`), the schedule reads the iteration itself;
 * `rescaleSchedule: true` reads it rescaled to 10,000 iterations, the paper's and the reference
 * class's default.
 *
 * Randomness, and how it differs from the reference: the reference draws from torch's global
 * generator, the stripes of the whole batch first and then one window and one set of channel signs
 * per iteration, shared by every sample of the batch. Here every draw comes from explicit
 * generators seeded from `seed`: the stripes per sample (from its sample id and the restart), and
 * the windows and signs from one stream per restart, still shared by all samples at the same
 * iteration. A sample's result therefore does not depend on the batch around it, and nothing else's
 * random stream is touched; the numbers are the reference's in distribution, not draw for draw.
 *
 * Queries: each run of a sample costs 1 (the stripes) plus one per iteration it is still unbroken,
 * so at most `queries` + 1 per restart, as the reference counts them; a sample that is already
 * misclassified is not attacked (0). {@link Square.queryCounts} holds the counts of the last run.
 * Returns, per sample, the point that broke it, else its lowest-loss point (the reference returns
 * the clean input there; success and robust accuracy are the same either way).
 * Defaults: ε = 8/255, 5000 queries, pInit 0.8, 1 restart, loss "margin", seed 0, unscaled schedule.
 * Shapes: x float32 [N, C, H, W] in [0, 1], y int64 [N] -> x' like x.
 */
import { deriveSeed } from "../core/seeds.js";
import type { LogitsModel } from "../models/classifier.js";
import { cat, Generator, keep, rand, tensor, tidy, where, type Tensor } from "../torch/index.js";
import { Attack, type AttackResult, type BatchContext, type CommonOptions, type Goal, type RunOptions } from "./attack.js";
import { crossEntropy, labelLogit, otherMax } from "./losses.js";
import { checkBoolean, checkChoice, checkInteger, checkNumber } from "./options.js";

export type SquareLoss = "margin" | "ce";

export interface SquareOptions extends CommonOptions {
  /** l_inf budget in [0, 1] (default 8/255). */
  eps?: number;
  /** Iterations per restart, each one forward pass of the samples still unbroken (default 5000). */
  queries?: number;
  /** Initial fraction p of the pixels a square covers, in (0, 1] (default 0.8). */
  pInit?: number;
  /** Runs from new stripes, each on the samples not yet broken (default 1). */
  restarts?: number;
  /** The loss a candidate must lower: the margin z_y − max_{j≠y} z_j or −CE (default "margin"). */
  loss?: SquareLoss;
  /** Seed of the stripes, windows and signs (default 0). */
  seed?: number;
  /**
   * Read the p schedule at iteration·10000/queries (the paper's default) instead of at the
   * iteration itself (AutoAttack's setting; default false).
   */
  rescaleSchedule?: boolean;
}

export interface ResolvedSquareOptions {
  eps: number;
  queries: number;
  pInit: number;
  restarts: number;
  loss: SquareLoss;
  seed: number;
  rescaleSchedule: boolean;
}

/** What {@link Square.run} returns: the usual result plus each sample's query count. */
export interface SquareResult extends AttackResult {
  /** Per sample: forward passes spent on it, over all restarts (0 when it was misclassified already). */
  queries: number[];
}

/** The iterations after which p halves (the reference's `p_selection`). */
const P_STEPS = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000] as const;

/**
 * The fraction p of pixels the square covers at `iteration` (0-based): `pInit` halved once for each
 * of 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 that the iteration exceeds; with `rescale` the
 * iteration is first mapped to ⌊iteration / queries · 10000⌋.
 */
export function squareP(iteration: number, queries: number, pInit: number, rescale: boolean): number {
  const it = rescale ? Math.trunc((iteration / queries) * 10000) : iteration;
  const halvings = P_STEPS.filter((step) => it > step).length;
  return pInit / 2 ** halvings;
}

/** The side of the square for fraction p on a C×H×W image: max(round(√(p·C·H·W / C)), 1), at most min(H, W). */
export function squareSide(p: number, channels: number, height: number, width: number): number {
  const side = Math.max(roundHalfEven(Math.sqrt((p * channels * height * width) / channels)), 1);
  return Math.min(side, Math.min(height, width));
}

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * First parts of the seed-tree paths below the attack seed: (STRIPES, restart, id low, id high)
 * for a sample's stripes, (WINDOWS, restart) for a restart's windows and signs.
 */
const STRIPES = 0x53510001;
const WINDOWS = 0x53510002;
/** Iterations whose window draws are made at once (fixed, so the stream does not depend on the budget). */
const DRAW_CHUNK = 1024;

export class Square extends Attack<ResolvedSquareOptions> {
  readonly name = "square";
  #counts: number[] = [];
  #lastCounts: number[] = [];

  constructor(model: LogitsModel, options: SquareOptions = {}) {
    const resolved = {
      eps: checkNumber("eps", options.eps ?? 8 / 255, 0, 1),
      queries: checkInteger("queries", options.queries ?? 5000, 1),
      pInit: checkNumber("pInit", options.pInit ?? 0.8, 0, 1, false),
      restarts: checkInteger("restarts", options.restarts ?? 1, 1),
      loss: checkChoice("loss", options.loss ?? "margin", ["margin", "ce"] as const),
      seed: checkInteger("seed", options.seed ?? 0, 0, 2 ** 32 - 1),
      rescaleSchedule: checkBoolean("rescaleSchedule", options.rescaleSchedule ?? false),
    };
    super(model, { ...options, ...resolved }, ["eps", "queries", "pInit", "restarts", "loss", "seed", "rescaleSchedule"], options);
  }

  /** Per sample of the last {@link run} (or evaluate), in row order: forward passes spent on it. */
  get queryCounts(): readonly number[] {
    return this.#lastCounts;
  }

  override run(x: Tensor, y: Tensor, options: RunOptions = {}): SquareResult {
    this.#counts = [];
    const result = super.run(x, y, options);
    this.#lastCounts = this.#counts;
    return { ...result, queries: [...this.#counts] };
  }

  protected perturb(ctx: BatchContext): Tensor {
    const { x, y, goal, sampleIds } = ctx;
    if (x.ndim !== 4) throw new TypeError(`x: Square expects images [N, C, H, W], got shape [${x.shape}]`);
    const n = x.size(0);
    const counts = new Array<number>(n).fill(0);
    const bestLoss = new Array<number>(n).fill(Infinity);
    // Only samples the model still gets right are attacked (the reference checks the clean input first).
    const open = tidy(() => this.achieved(this.logits(x), y, goal).logicalNot().toArray()).map((v) => v !== 0);
    // perturb runs inside the caller's scope: `result` needs no keep, only disposal when replaced.
    let result = x.clone();
    for (let r = 0; r < this.options.restarts; r++) {
      const rows = open.flatMap((o, i) => (o ? [i] : []));
      if (rows.length === 0) break;
      const next = tidy(() => {
        const index = indexTensor(rows, x);
        const sub = this.#once(x.indexSelect(0, index), y.indexSelect(0, index), selectGoal(goal, index), rows.map((i) => sampleIds[i]), r);
        const broken = this.achieved(this.logits(sub.adversarial), y.indexSelect(0, index), selectGoal(goal, index)).toArray();
        // Rows to overwrite: the broken ones, and unbroken ones whose loss beats their earlier best.
        const take: number[] = [];
        rows.forEach((row, k) => {
          counts[row] += sub.queries[k];
          if (broken[k] !== 0) open[row] = false;
          if (broken[k] !== 0 || sub.loss[k] < bestLoss[row]) {
            bestLoss[row] = sub.loss[k];
            take.push(k);
          }
        });
        try {
          if (take.length === 0) return null;
          return result.clone().indexPut_([indexTensor(take.map((k) => rows[k]), x)], sub.adversarial.indexSelect(0, indexTensor(take, x)));
        } finally {
          sub.adversarial.dispose();
        }
      });
      if (next !== null) {
        result.dispose();
        result = next;
      }
    }
    this.#counts.push(...counts);
    return result;
  }

  /** Margin (≤ 0 once the goal is met) and loss (lower is better) per row, as the reference defines them. */
  #marginAndLoss(input: Tensor, y: Tensor, goal: Goal): { margin: Tensor; loss: Tensor } {
    const logits = this.logits(input);
    if (goal.kind === "targeted") {
      const margin = otherMax(logits, goal.target).sub(labelLogit(logits, goal.target));
      return { margin, loss: crossEntropy(logits, goal.target) };
    }
    const margin = labelLogit(logits, y).sub(otherMax(logits, y));
    return { margin, loss: this.options.loss === "margin" ? margin : crossEntropy(logits, y).neg() };
  }

  /**
   * One run of the random search from new stripes (restart `restart`) on every row of x: the best
   * points (kept: the caller disposes them), their final losses and the queries spent per row.
   */
  #once(x: Tensor, y: Tensor, goal: Goal, sampleIds: number[], restart: number): { adversarial: Tensor; loss: number[]; queries: number[] } {
    const o = this.options;
    const [n, c, h, w] = x.shape;
    // Tensors that live across iterations, freed at the end (all but `best`, which is returned).
    const owned: Tensor[] = [];
    const own = (t: Tensor): Tensor => {
      owned.push(keep(t));
      return t;
    };
    const windows = new WindowStream(deriveSeed(o.seed, WINDOWS, restart), 2 + c);
    // The open rows and their slices of x, y, the goal and the bounds, remade when rows close.
    let rows: number[] = [];
    let sub: Sub | null = null;
    try {
      const lower = own(x.sub(o.eps));
      const upper = own(x.add(o.eps));
      // State over all rows, updated in place for the rows still open.
      const best = own(x.add(this.#stripes(x, sampleIds, restart).mul(o.eps)).clamp(0, 1));
      const first = this.#marginAndLoss(best, y, goal);
      const marginMin = own(first.margin);
      // With the margin loss both are one tensor; the two are updated apart, so copy.
      const lossMin = own(first.loss === first.margin ? first.loss.clone() : first.loss);
      const queries = new Array<number>(n).fill(1);
      let margins = marginMin.toArray();
      for (let it = 0; it < o.queries; it++) {
        const open = margins.flatMap((m, i) => (m > 0 ? [i] : []));
        if (open.length === 0) break;
        if (sub === null || open.length !== rows.length) {
          if (sub !== null) disposeSub(sub);
          sub = null;
          rows = open;
          sub = keepSub(tidy(() => {
            const index = indexTensor(rows, x);
            return { index, x: x.indexSelect(0, index), y: y.indexSelect(0, index), goal: selectGoal(goal, index), lower: lower.indexSelect(0, index), upper: upper.indexSelect(0, index) };
          }));
        }
        const s = squareSide(squareP(it, o.queries, o.pInit, o.rescaleSchedule), c, h, w);
        const u = windows.next();
        // (H − s)·u in float32 then truncated, as the reference's random_int does.
        const top = Math.trunc(Math.fround((h - s) * u[0]));
        const left = Math.trunc(Math.fround((w - s) * u[1]));
        const step = new Float64Array(c * h * w);
        for (let ch = 0; ch < c; ch++) {
          const value = 2 * o.eps * Math.sign(2 * u[2 + ch] - 1);
          for (let i = top; i < top + s; i++) step.fill(value, (ch * h + i) * w + left, (ch * h + i) * w + left + s);
        }
        const current = sub;
        margins = tidy(() => {
          const bestNow = best.indexSelect(0, current.index);
          const delta = tensor(step, [1, c, h, w], { dtype: x.dtype, device: x.device });
          const candidate = bestNow.add(delta).maximum(current.lower).minimum(current.upper).clamp(0, 1);
          const { margin, loss } = this.#marginAndLoss(candidate, current.y, current.goal);
          const lossNow = lossMin.indexSelect(0, current.index);
          const improved = loss.lt(lossNow);
          lossMin.indexPut_([current.index], where(improved, loss, lossNow));
          const accept = improved.logicalOr(margin.le(0));
          const marginNow = marginMin.indexSelect(0, current.index);
          marginMin.indexPut_([current.index], where(accept, margin, marginNow));
          best.indexPut_([current.index], where(accept.view([-1, 1, 1, 1]), candidate, bestNow));
          return marginMin.toArray();
        });
        for (const row of rows) queries[row]++;
      }
      owned.splice(owned.indexOf(best), 1);
      return { adversarial: best, loss: lossMin.toArray(), queries };
    } finally {
      for (const t of owned) t.dispose();
      if (sub !== null) disposeSub(sub);
      windows.dispose();
    }
  }

  /** ±1 per (row, channel, column), broadcast over rows of pixels: each sample's own draw for this restart. */
  #stripes(x: Tensor, sampleIds: readonly number[], restart: number): Tensor {
    const [, c, , w] = x.shape;
    return tidy(() => {
      const rows = sampleIds.map((id) => {
        const generator = new Generator(deriveSeed(this.options.seed, STRIPES, restart, id % 2 ** 32, Math.floor(id / 2 ** 32)));
        try {
          return rand([1, c, 1, w], { generator });
        } finally {
          generator.dispose();
        }
      });
      // sign(2u − 1), as the reference's random_choice (0 when u is exactly 1/2).
      return cat(rows, 0).mul(2).sub(1).sign().to(x.dtype).to(x.device);
    });
  }
}

/**
 * The uniform draws of a restart's windows: row i holds the top and left of iteration i's square
 * and one sign draw per channel. Drawn on the CPU in fixed chunks, so iteration i reads the same
 * numbers whatever the budget and device.
 */
class WindowStream {
  readonly #generator: Generator;
  #buffer: Float32Array = new Float32Array(0);
  #at = 0;

  constructor(seed: number, readonly width: number) {
    this.#generator = new Generator(seed);
  }

  next(): Float32Array {
    if (this.#at * this.width >= this.#buffer.length) {
      this.#buffer = tidy(() => rand([DRAW_CHUNK, this.width], { generator: this.#generator }).toTypedArray() as Float32Array);
      this.#at = 0;
    }
    const row = this.#buffer.subarray(this.#at * this.width, (this.#at + 1) * this.width);
    this.#at++;
    return row;
  }

  dispose(): void {
    this.#generator.dispose();
  }
}

type Sub = { index: Tensor; x: Tensor; y: Tensor; goal: Goal; lower: Tensor; upper: Tensor };

function keepSub(sub: Sub): Sub {
  for (const t of subTensors(sub)) keep(t);
  return sub;
}

function disposeSub(sub: Sub): void {
  for (const t of subTensors(sub)) t.dispose();
}

function subTensors(sub: Sub): Tensor[] {
  return [sub.index, sub.x, sub.y, sub.lower, sub.upper, ...(sub.goal.kind === "targeted" ? [sub.goal.target] : [])];
}

function selectGoal(goal: Goal, index: Tensor): Goal {
  return goal.kind === "targeted" ? { kind: "targeted", target: goal.target.indexSelect(0, index) } : goal;
}

/** Row numbers as an int64 index tensor on x's device. */
function indexTensor(rows: readonly number[], like: Tensor): Tensor {
  return tensor(BigInt64Array.from(rows, (r) => BigInt(r)), [rows.length], { device: like.device });
}
