/**
 * Adaptive evaluation repeated with different seeds, as the issue asks of ADP's adaptive rows (and as
 * Croce et al. 2022 report randomised defenses): each run draws new defense noise and new attack
 * starts; the result holds each run's robust accuracy, their mean ± standard deviation, and the
 * per-sample worst case (a sample counts only if it survives every run). Works for any defense.
 */
import type { Attack } from "../../attacks/attack.js";
import { withEot } from "../../attacks/eot.js";
import { deriveSeed } from "../../core/seeds.js";
import type { LogitsModel } from "../../models/classifier.js";
import { tidy, type Tensor } from "../../torch/index.js";
import type { Defense } from "../defense.js";

export interface RepeatedRun {
  /** The seed of the run (defense draws and attack starts). */
  seed: number;
  /** Robust accuracy of the run. */
  accuracy: number;
  /** Per sample: the defense still classifies the AE correctly. */
  robust: boolean[];
}

export interface RepeatedAdaptive {
  runs: RepeatedRun[];
  mean: number;
  /** Sample standard deviation over runs (0 for one run). */
  std: number;
  /** Fraction of samples robust in every run. */
  worstCase: number;
}

export interface RepeatOptions {
  /** Runs (default 3). */
  runs?: number;
  /** Root seed; run r uses deriveSeed(seed, r) (default 0). */
  seed?: number;
  /** EOT draws per gradient for a stochastic defense (default 10). */
  eotSamples?: number;
}

/** Mean, sample standard deviation and per-sample worst case of runs. */
export function summarizeRuns(runs: RepeatedRun[]): RepeatedAdaptive {
  if (runs.length === 0) throw new RangeError("summarizeRuns: expected at least one run, got none");
  const acc = runs.map((r) => r.accuracy);
  const mean = acc.reduce((a, b) => a + b, 0) / acc.length;
  const std = acc.length > 1 ? Math.sqrt(acc.reduce((a, b) => a + (b - mean) ** 2, 0) / (acc.length - 1)) : 0;
  const n = runs[0]!.robust.length;
  let survive = 0;
  for (let i = 0; i < n; i++) if (runs.every((r) => r.robust[i])) survive++;
  return { runs, mean, std, worstCase: n ? survive / n : 0 };
}

/**
 * Runs the adaptive attack `runs` times: run r builds the defense with `defenseFor(seed_r)` (its
 * random draws seeded by seed_r), attacks its differentiable pipeline (averaged over `eotSamples`
 * draws when it is random) with `attackFor(model, seed_r)`, and classifies the AEs with the defense.
 */
export function repeatAdaptiveEvaluation(defenseFor: (seed: number) => Defense, attackFor: (model: LogitsModel, seed: number) => Attack<object>,
  x: Tensor, y: Tensor, o: RepeatOptions = {}): RepeatedAdaptive {
  const count = o.runs ?? 3;
  if (!Number.isInteger(count) || count < 1) throw new TypeError(`repeatAdaptiveEvaluation: expected a positive integer for runs, got ${count}`);
  const labels = y.toArray() as number[];
  const runs: RepeatedRun[] = [];
  for (let r = 0; r < count; r++) {
    const seed = deriveSeed(o.seed ?? 0, r);
    const defense = defenseFor(seed);
    const pipeline = { forward: (t: Tensor) => defense.attackForward(t), eval: () => defense.target.eval() };
    const model: LogitsModel = defense.stochastic ? withEot(pipeline, o.eotSamples ?? 10) : pipeline;
    const predictions = tidy(() => {
      const result = attackFor(model, seed).run(x, y);
      try {
        return defense.classify(result.adversarial).toArray() as number[];
      } finally {
        result.adversarial.dispose();
      }
    });
    const robust = predictions.map((p, i) => p === labels[i]);
    runs.push({ seed, accuracy: robust.filter(Boolean).length / Math.max(1, robust.length), robust });
  }
  return summarizeRuns(runs);
}
