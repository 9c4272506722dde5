/**
 * Threat models: which model the attacker differentiates when the target is a defense.
 * - `transfer` (black-box): AEs are made on a surrogate classifier (other architecture or seed,
 *   same data) and applied to the defense.
 * - `whitebox`: AEs are made on the classifier the defense classifies with, its preprocessing
 *   unseen (the IDFR paper's Table 4): the undefended target for purifiers and IDFR, the robust
 *   model itself for a defense that replaces the target (Fast AT; `Defense.whiteboxModel`).
 * - `adaptive`: AEs are made through the whole defended pipeline (`defense.attackForward`: exact
 *   gradients where it is differentiable, BPDA elsewhere); for a stochastic defense the gradient is
 *   averaged over `eotSamples` draws (EOT).
 * Evaluation then classifies the AEs with the defense.
 */
import { whiteboxModelOf, type Defense } from "../defenses/defense.js";
import type { LogitsModel } from "../models/classifier.js";
import type { Tensor } from "../torch/index.js";
import type { Attack, AttackResult, RunOptions } from "../attacks/attack.js";
import { withEot } from "../attacks/eot.js";
import { checkInteger, invalidOption } from "../attacks/options.js";
import { makeAttack, type AttackName, type MakeAttackOptions } from "../attacks/presets.js";
import { accuracyOf, predictClasses, type RobustAccuracy } from "./measure.js";

export type ThreatModel =
  | { kind: "transfer"; surrogate: LogitsModel }
  | { kind: "whitebox" }
  | { kind: "adaptive"; eotSamples?: number };

/** Default draws per gradient for adaptive attacks on stochastic defenses. */
export const DEFAULT_EOT_SAMPLES = 10;

/** Builds the attack once the attacked model is known: a factory, or a name with makeAttack options. */
export type AttackSpec = ((model: LogitsModel) => Attack<object>) | { [N in AttackName]: { name: N } & MakeAttackOptions<N> }[AttackName];

/** The model the attacker differentiates under `threat` against `defense`. */
export function attackedModel(threat: ThreatModel, defense: Defense): LogitsModel {
  switch (threat.kind) {
    case "transfer":
      if (threat.surrogate === undefined || threat.surrogate === null) throw invalidOption("surrogate", "a classifier for the transfer threat model", threat.surrogate);
      return threat.surrogate;
    case "whitebox":
      return whiteboxModelOf(defense);
    case "adaptive": {
      const eotSamples = checkInteger("eotSamples", threat.eotSamples ?? DEFAULT_EOT_SAMPLES, 1);
      // eval() reaches the protected classifier, so batch norm and dropout are frozen while attacking.
      const pipeline = { forward: (x: Tensor) => defense.attackForward(x), eval: () => defense.target.eval() };
      return defense.stochastic ? withEot(pipeline, eotSamples) : pipeline;
    }
  }
  throw invalidOption("threat.kind", '"transfer", "whitebox" or "adaptive"', (threat as { kind: unknown }).kind);
}

/** The attack object a spec describes, aimed at `model`. */
export function buildAttack(spec: AttackSpec, model: LogitsModel): Attack<object> {
  if (typeof spec === "function") return spec(model);
  const { name, ...options } = spec;
  return makeAttack(name, model, options as MakeAttackOptions<typeof name>);
}

/** Adversarial examples for `x` under a threat model (the result's `success` refers to the attacked model). */
export function craftAdversarial(threat: ThreatModel, defense: Defense, attack: AttackSpec, x: Tensor, y: Tensor, run: RunOptions = {}): AttackResult {
  return buildAttack(attack, attackedModel(threat, defense)).run(x, y, run);
}

/** The outcome of one attack under one threat model, judged by the defense. */
export interface ThreatEvaluation {
  threat: ThreatModel["kind"];
  attack: string;
  /** The defense's accuracy on the clean inputs and on the AEs. */
  clean: RobustAccuracy;
  robust: RobustAccuracy;
  /** Per sample: the defense misclassifies the AE. */
  fooled: boolean[];
  meanLinf: number;
  meanL2: number;
  seconds: number;
}

/** Crafts AEs under `threat` and measures the defense's clean and robust accuracy. The AEs are freed. */
export function evaluateThreat(threat: ThreatModel, defense: Defense, attack: AttackSpec, x: Tensor, y: Tensor, run: RunOptions = {}): ThreatEvaluation {
  const built = buildAttack(attack, attackedModel(threat, defense));
  const result = built.run(x, y, run);
  try {
    const labels = y.toArray();
    const clean = accuracyOf(predictClasses(defense, x), labels);
    const adversarialClasses = predictClasses(defense, result.adversarial);
    const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : 0);
    return {
      threat: threat.kind,
      attack: built.name,
      clean,
      robust: accuracyOf(adversarialClasses, labels),
      fooled: adversarialClasses.map((p, i) => p !== labels[i]),
      meanLinf: mean(result.linf),
      meanL2: mean(result.l2),
      seconds: result.seconds,
    };
  } finally {
    result.adversarial.dispose();
  }
}
