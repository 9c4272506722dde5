/**
 * The base of every attack. A subclass implements one batch of its algorithm (`perturb`); the base
 * does the rest: input checks, eval mode for the duration of the attack (restored in `finally`),
 * targeted label handling, batching, per-sample ids for reproducible random draws, gradients
 * (averaged over draws for an {@link EotModel}) and per-sample statistics.
 */
import { logitsOf, type LogitsModel } from "../models/classifier.js";
import { accuracyOf } from "../models/evaluate.js";
import { cat, enableGrad, F, grad, noGrad, tidy, type Tensor } from "../torch/index.js";
import { EotModel } from "./eot.js";
import { checkInteger, checkKnownKeys, invalidOption } from "./options.js";

/** What the attacker wants: any wrong class, or one given class per sample. */
export type Goal = { kind: "untargeted" } | { kind: "targeted"; target: Tensor };

/** Options every attack accepts. */
export interface CommonOptions {
  /** Rows per forward/backward pass (default 128). Results do not depend on it. */
  batchSize?: number;
}

/** Per-call options of {@link Attack.run}. */
export interface RunOptions {
  /** Untargeted (default) or targeted with an int64 [N] tensor of target classes. */
  goal?: Goal;
  /** Shorthand for `goal: { kind: "targeted", target }`. */
  target?: Tensor;
  /**
   * Ids of the samples, one per row, from which random draws are derived (default
   * `firstId + row`). Give each sample the same id wherever it is attacked (e.g. its index in the
   * dataset) and its result does not depend on the batch around it.
   */
  sampleIds?: ArrayLike<number>;
  /** Id of the first row when `sampleIds` is not given (default 0). */
  firstId?: number;
}

/** The outcome of one attack run; `adversarial` belongs to the caller (dispose it). */
export interface AttackResult {
  /** Adversarial examples, shaped like the input, in [0, 1]. */
  adversarial: Tensor;
  /** Per sample: the attacked model now predicts a wrong class (untargeted) or the target (targeted). */
  success: boolean[];
  /** Per sample: the attacked model's class for the adversarial example. */
  predictions: number[];
  /** Per sample: ‖x_adv − x‖_inf and ‖x_adv − x‖_2. */
  linf: number[];
  l2: number[];
  /** Wall time of the attack itself, in seconds (statistics excluded). */
  seconds: number;
}

/** Summary of {@link Attack.evaluate}: accuracies, success, norms and speed on the attacked model. */
export interface AttackReport {
  attack: string;
  goal: Goal["kind"];
  n: number;
  /** Samples classified correctly before and after the attack. */
  cleanCorrect: number;
  robustCorrect: number;
  cleanAccuracy: number;
  robustAccuracy: number;
  /** Successes over all samples, and over the samples that were classified correctly before. */
  successRate: number;
  successRateOnCorrect: number;
  meanLinf: number;
  maxLinf: number;
  meanL2: number;
  maxL2: number;
  seconds: number;
  imagesPerSecond: number;
}

/** Everything `perturb` needs about one batch. Tensors live for the duration of the call. */
export interface BatchContext {
  /** Clean images [B, ...] in [0, 1]. */
  x: Tensor;
  /** True labels, int64 [B]. */
  y: Tensor;
  goal: Goal;
  /** Sample ids of the rows, for per-sample random draws. */
  sampleIds: number[];
}

/** Per-sample objective value, its gradient with respect to the input, and the logits. */
export interface LossGrad {
  loss: Tensor;
  grad: Tensor;
  logits: Tensor;
}

const COMMON_KEYS = ["batchSize"] as const;

/**
 * An adversarial attack configured once (`new PGD(model, { eps: 8 / 255 })`) and run on batches
 * (`attack.run(x, y)`). `O` is the attack's fully resolved option type.
 */
export abstract class Attack<O extends object> {
  /** Short name used in reports ("pgd", "apgd-ce", ...). */
  abstract readonly name: string;
  readonly options: Readonly<O>;
  readonly batchSize: number;

  /**
   * @param model what the attack differentiates: a classifier, a defense's `attackForward`, any
   *   function from images to logits, or an {@link EotModel}.
   * @param options the resolved options (subclasses fill defaults and check values first).
   * @param known option keys the subclass accepts, so that misspelt keys are reported.
   * @param raw the options as the user gave them.
   */
  protected constructor(readonly model: LogitsModel, options: O & CommonOptions, known: readonly string[], raw: object) {
    if (model === null || (typeof model !== "function" && typeof (model as { forward?: unknown }).forward !== "function")) {
      throw invalidOption("model", "a function from images to logits or an object with forward()", model);
    }
    checkKnownKeys(new.target.name, raw, [...known, ...COMMON_KEYS]);
    this.batchSize = checkInteger("batchSize", options.batchSize ?? 128, 1);
    this.options = Object.freeze({ ...options });
  }

  /** One batch of the algorithm: returns adversarial examples for `ctx.x` (a new tensor). */
  protected abstract perturb(ctx: BatchContext): Tensor;

  /**
   * Attacks a batch x (float32 [N, ...] in [0, 1]) with labels y (int64 [N]). Splits it into
   * `batchSize` chunks, runs the model in eval mode (its previous mode is restored afterwards),
   * and reports per-sample success and norms.
   */
  run(x: Tensor, y: Tensor, options: RunOptions = {}): AttackResult {
    const goal = resolveGoal(options);
    const n = checkInputs(x, y, goal);
    const ids = resolveIds(options, n);
    const restore = enterEval(this.model);
    try {
      const started = performance.now();
      const parts: Tensor[] = [];
      try {
        for (let start = 0; start < n; start += this.batchSize) {
          const size = Math.min(this.batchSize, n - start);
          parts.push(tidy(() => {
            const ctx: BatchContext = {
              x: x.narrow(0, start, size),
              y: y.narrow(0, start, size),
              goal: goal.kind === "targeted" ? { kind: "targeted", target: goal.target.narrow(0, start, size) } : goal,
              sampleIds: ids.slice(start, start + size),
            };
            return noGrad(() => this.perturb(ctx)).detach();
          }));
        }
      } catch (err) {
        for (const p of parts) p.dispose();
        throw err;
      }
      // An empty batch has no chunks: its (empty) adversarial batch is the input's copy.
      const adversarial = parts.length === 0 ? x.clone() : parts.length === 1 ? parts[0] : tidy(() => cat(parts, 0));
      if (parts.length > 1) for (const p of parts) p.dispose();
      const seconds = (performance.now() - started) / 1000;
      try {
        return { adversarial, seconds, ...this.#statistics(x, y, goal, adversarial) };
      } catch (err) {
        adversarial.dispose();
        throw err;
      }
    } finally {
      restore();
    }
  }

  /**
   * Runs the attack and summarises it: clean and robust accuracy on the attacked model, success
   * rates, mean and max norms, and speed. The adversarial examples are freed.
   */
  evaluate(x: Tensor, y: Tensor, options: RunOptions = {}): AttackReport {
    const goal = resolveGoal(options);
    const result = this.run(x, y, options);
    try {
      const restore = enterEval(this.model);
      let clean: number[];
      try {
        clean = this.#predict(x);
      } finally {
        restore();
      }
      // Accuracies through the one measurement module (models/evaluate.ts) that every command uses.
      const labels = y.toArray();
      const n = labels.length;
      const before = accuracyOf(clean, labels);
      const after = accuracyOf(result.predictions, labels);
      const successesOnCorrect = result.success.filter((s, i) => s && clean[i] === labels[i]).length;
      return {
        attack: this.name,
        goal: goal.kind,
        n,
        cleanCorrect: before.correct,
        robustCorrect: after.correct,
        cleanAccuracy: before.accuracy,
        robustAccuracy: after.accuracy,
        successRate: ratio(result.success.filter(Boolean).length, n),
        successRateOnCorrect: ratio(successesOnCorrect, before.correct),
        meanLinf: mean(result.linf),
        maxLinf: Math.max(0, ...result.linf),
        meanL2: mean(result.l2),
        maxL2: Math.max(0, ...result.l2),
        seconds: result.seconds,
        imagesPerSecond: result.seconds > 0 ? n / result.seconds : Infinity,
      };
    } finally {
      result.adversarial.dispose();
    }
  }

  /**
   * The per-sample objective, its gradient with respect to `x` and the logits, with gradient
   * recording on. For an {@link EotModel} the objective and its gradient are averaged over the
   * model's draws (and the logits too). The objective must return one value per row; rows are
   * summed before differentiation so each row's gradient is its own.
   */
  protected lossGrad(x: Tensor, objective: (logits: Tensor) => Tensor): LossGrad {
    const draws = this.model instanceof EotModel ? this.model.samples : 1;
    return tidy(() => enableGrad(() => {
      let total: LossGrad | null = null;
      for (let k = 0; k < draws; k++) {
        const step = tidy(() => {
          const input = x.detach().requiresGrad_(true);
          const logits = logitsOf(this.model, input);
          const loss = objective(logits);
          const [g] = grad(loss.sum(), [input]);
          return { loss: loss.detach(), grad: g as Tensor, logits: logits.detach() };
        });
        total = total === null ? step : { loss: total.loss.add(step.loss), grad: total.grad.add(step.grad), logits: total.logits.add(step.logits) };
      }
      const sum = total as LossGrad;
      return draws === 1 ? sum : { loss: sum.loss.div(draws), grad: sum.grad.div(draws), logits: sum.logits.div(draws) };
    }));
  }

  /** The attacked model's logits without gradient (one draw for a random model). */
  protected logits(x: Tensor): Tensor {
    return noGrad(() => logitsOf(this.model, x));
  }

  /** Per row: whether `logits` already meet the goal (wrong class, or the target class). */
  protected achieved(logits: Tensor, y: Tensor, goal: Goal): Tensor {
    const predicted = logits.argmax(1);
    return goal.kind === "targeted" ? predicted.eq(goal.target) : predicted.ne(y);
  }

  #predict(x: Tensor): number[] {
    const n = x.size(0);
    const out: number[] = [];
    for (let start = 0; start < n; start += this.batchSize) {
      const size = Math.min(this.batchSize, n - start);
      out.push(...tidy(() => this.logits(x.narrow(0, start, size)).argmax(1).toArray()));
    }
    return out;
  }

  #statistics(x: Tensor, y: Tensor, goal: Goal, adversarial: Tensor): Omit<AttackResult, "adversarial" | "seconds"> {
    const predictions = this.#predict(adversarial);
    const wanted = goal.kind === "targeted" ? goal.target.toArray() : y.toArray();
    const success = predictions.map((p, i) => (goal.kind === "targeted" ? p === wanted[i] : p !== wanted[i]));
    const { linf, l2 } = tidy(() => {
      const delta = adversarial.sub(x);
      return { linf: F.linfPerSample(delta).toArray(), l2: F.l2PerSample(delta).toArray() };
    });
    return { success, predictions, linf, l2 };
  }
}

function ratio(a: number, b: number): number {
  return b === 0 ? 0 : a / b;
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

function resolveGoal(options: RunOptions): Goal {
  if (options.target !== undefined && options.goal !== undefined) {
    throw new TypeError("run: give either `goal` or its shorthand `target`, not both");
  }
  if (options.target !== undefined) return { kind: "targeted", target: options.target };
  const goal = options.goal ?? { kind: "untargeted" };
  if (goal.kind !== "untargeted" && goal.kind !== "targeted") throw invalidOption("goal.kind", '"untargeted" or "targeted"', (goal as { kind: unknown }).kind);
  return goal;
}

function resolveIds(options: RunOptions, n: number): number[] {
  if (options.sampleIds !== undefined) {
    if (options.sampleIds.length !== n) throw new RangeError(`sampleIds: expected ${n} ids (one per row), got ${options.sampleIds.length}`);
    const ids = Array.from(options.sampleIds);
    ids.forEach((id, i) => checkInteger(`sampleIds[${i}]`, id, 0));
    return ids;
  }
  const first = checkInteger("firstId", options.firstId ?? 0, 0);
  return Array.from({ length: n }, (_, i) => first + i);
}

/** Checks images, labels and targets; returns the batch size. */
function checkInputs(x: Tensor, y: Tensor, goal: Goal): number {
  if (x.ndim < 2 || (x.dtype !== "float32" && x.dtype !== "float64")) {
    throw new TypeError(`x: expected a float32 batch [N, ...] of images in [0, 1], got ${x.dtype} [${x.shape}]`);
  }
  const n = x.size(0);
  if (y.ndim !== 1 || y.dtype !== "int64" || y.size(0) !== n) {
    throw new TypeError(`y: expected int64 labels of shape [${n}], got ${y.dtype} [${y.shape}]`);
  }
  if (n > 0) {
    const [lo, hi] = tidy(() => [x.min().item(), x.max().item()]);
    if (!(lo >= 0 && hi <= 1)) throw new RangeError(`x: pixel values must lie in [0, 1], got values in [${lo}, ${hi}]`);
  }
  if (goal.kind === "targeted") {
    const t = goal.target;
    if (t.ndim !== 1 || t.dtype !== "int64" || t.size(0) !== n) {
      throw new TypeError(`target: expected int64 classes of shape [${n}], got ${t.dtype} [${t.shape}]`);
    }
    const clash = tidy(() => t.eq(y).toArray().indexOf(1));
    if (clash >= 0) throw new RangeError(`target: row ${clash} asks for its own true label; a targeted attack needs a different class`);
  }
  return n;
}

/**
 * Puts a model with `eval()` into eval mode and returns how to undo it: models exposing a boolean
 * `training` (nn modules) get `train(true)` back if they were training. An EotModel is unwrapped.
 */
function enterEval(model: LogitsModel): () => void {
  const inner = model instanceof EotModel ? model.inner : model;
  if (typeof inner !== "object" || inner === null) return () => {};
  const m = inner as { training?: unknown; train?: (on: boolean) => unknown; eval?: () => unknown };
  if (typeof m.eval !== "function") return () => {};
  const wasTraining = m.training === true;
  m.eval();
  return () => {
    if (wasTraining && typeof m.train === "function") m.train(true);
  };
}
