/**
 * Measurement: what the runner, `idfr attack`, `idfr classify` and library users compute from a
 * model (or defense) and images. Predictions, accuracy and the 95 % Wilson interval are the
 * models layer's one path (models/evaluate.ts, which trainers use too); this module adds what an
 * attack adds: success rates, perturbation norms, the whole measurement of one attack, and
 * top-class confidences.
 */
import type { AttackResult } from "../attacks/attack.js";
import {
  accuracyOf, predictClasses, type PredictOptions, type Predictor, type RobustAccuracy,
} from "../models/evaluate.js";
import { F, noGrad, tidy, type Tensor } from "../torch/index.js";

export {
  accuracy, accuracyFromCount, accuracyOf, classesOf, countCorrect, predict, predictClasses, robustAccuracy, setAccuracy,
  wilsonInterval, Z95, type PredictOptions, type Predictor, type RobustAccuracy,
} from "../models/evaluate.js";
export { checkModelFitsData, modelDataMismatches, type DataFacts, type FitsDataOptions, type ModelDataFacts } from "../models/fits-data.js";

/** Mean and maximum of per-sample norms. */
export interface NormSummary {
  mean: number;
  max: number;
}

/** Per-sample perturbation norms ‖x_adv − x‖_inf and ‖x_adv − x‖_2. */
export function perturbationNorms(x: Tensor, adversarial: Tensor): { linf: number[]; l2: number[] } {
  if (x.shape.join("x") !== adversarial.shape.join("x")) throw new RangeError(`perturbationNorms: images [${x.shape}] but adversarial examples [${adversarial.shape}]`);
  return tidy(() => noGrad(() => {
    const delta = adversarial.sub(x.to(adversarial.device));
    return { linf: F.linfPerSample(delta).toArray(), l2: F.l2PerSample(delta).toArray() };
  }));
}

/** Mean and max of `values` (0 and 0 when empty). */
export function summarizeNorms(values: readonly number[]): NormSummary {
  return { mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0, max: Math.max(0, ...values) };
}

/** Fraction of the rows where `among` holds that `hits` holds (0 when no row qualifies). */
function fractionAmong(hits: readonly boolean[], among: readonly boolean[]): number {
  let base = 0;
  let count = 0;
  for (let i = 0; i < among.length; i++) {
    if (!among[i]) continue;
    base += 1;
    if (hits[i]) count += 1;
  }
  return base === 0 ? 0 : count / base;
}

/** The attack's goal for success rates: labels and clean predictions, and per-row targets for a targeted attack. */
export interface SuccessGoal {
  labels: readonly number[];
  /** The judged model's classes for the clean images. */
  clean: readonly number[];
  /** Targeted attack: the class each row should reach. */
  targets?: readonly number[] | null;
}

/**
 * Attack success from per-row successes: untargeted, the share of the clean-correct rows that were
 * fooled; targeted, the share of all rows that reached their target.
 */
export function successRateOf(success: readonly boolean[], goal: SuccessGoal): number {
  const among = goal.targets ? goal.labels.map(() => true) : goal.labels.map((y, i) => goal.clean[i] === y);
  return fractionAmong(success, among);
}

/** Attack success judged by adversarial predictions: wrong class (untargeted) or the target (targeted); see {@link successRateOf}. */
export function successRate(adversarial: readonly number[], goal: SuccessGoal): number {
  const targets = goal.targets;
  const success = targets ? adversarial.map((p, i) => p === targets[i]) : adversarial.map((p, i) => p !== goal.labels[i]);
  return successRateOf(success, goal);
}

/** What one attack did to a judged model (or defense). */
export interface AttackMeasurement {
  n: number;
  clean: RobustAccuracy;
  robust: RobustAccuracy;
  /** Success judged by the judged model (see {@link successRate}). */
  successRate: number;
  /** The same judged by the model the AEs were made on (equal to successRate for white-box). */
  sourceSuccessRate: number;
  linf: NormSummary;
  l2: NormSummary;
}

/**
 * Measures an attack's result on `judge`: clean and robust accuracy with intervals, success rates
 * (on the judge and on the attacked model) and perturbation norms. `targets` for a targeted attack.
 */
export function measureAttack(judge: Predictor, x: Tensor, y: Tensor, result: Pick<AttackResult, "adversarial" | "success" | "linf" | "l2">,
  options: PredictOptions & { targets?: Tensor } = {}): AttackMeasurement {
  const { targets, ...predict } = options;
  const labels = y.toArray();
  const goal: SuccessGoal = { labels, clean: predictClasses(judge, x, predict), targets: targets ? targets.toArray() : null };
  const adversarial = predictClasses(judge, result.adversarial, predict);
  return {
    n: labels.length,
    clean: accuracyOf(goal.clean, labels),
    robust: accuracyOf(adversarial, labels),
    successRate: successRate(adversarial, goal),
    sourceSuccessRate: successRateOf(result.success, goal),
    linf: summarizeNorms(result.linf),
    l2: summarizeNorms(result.l2),
  };
}

/** The most likely class of each row and its softmax probability. */
export interface TopClass {
  index: number;
  probability: number;
}

/** Top class and its probability for every row of `x`, from logits (no gradient recorded). */
export function topClasses(logits: (x: Tensor) => Tensor, x: Tensor): TopClass[] {
  return tidy(() => noGrad(() => {
    const p = F.softmax(logits(x), 1);
    const index = p.argmax(1);
    const probability = p.gather(1, index.unsqueeze(1)).squeeze(1);
    const ks = index.toArray();
    const ps = probability.toArray();
    return ks.map((k, i) => ({ index: k, probability: ps[i] }));
  }));
}
