/**
 * The worst case over several attacks, per sample: a sample counts as robust only if the judged
 * model classifies it correctly clean and under every attack. Attacks run in the order given, each
 * only on the samples still robust; the first AE that fools the judge is kept. Because random
 * draws follow sample ids (see `RunOptions.sampleIds`), running an attack on the remaining rows
 * gives those rows exactly what the full batch would have given them.
 */
import type { Defense } from "../defenses/defense.js";
import { cat, tensor, tidy, type Tensor } from "../torch/index.js";
import type { RunOptions } from "../attacks/attack.js";
import { accuracyOf, predictClasses, type Predictor, type RobustAccuracy } from "./measure.js";
import { attackedModel, buildAttack, type AttackSpec, type ThreatModel } from "./threat.js";

/** One attack of the combination: makes AEs for rows x (labels y, sample ids). */
export interface Candidate {
  name: string;
  craft(x: Tensor, y: Tensor, sampleIds: number[]): Tensor;
}

/** A candidate from an attack spec under a threat model against a defense (named after the attack unless `name` is given). */
export function threatCandidate(threat: ThreatModel, defense: Defense, attack: AttackSpec, name?: string): Candidate {
  const built = buildAttack(attack, attackedModel(threat, defense));
  return {
    name: name ?? `${built.name} (${threat.kind})`,
    craft: (x, y, sampleIds) => {
      const result = built.run(x, y, { sampleIds });
      return result.adversarial;
    },
  };
}

export interface WorstCaseResult {
  /** Per sample: the first AE that fooled the judge; for robust samples, the last attack's AE. Caller disposes. */
  adversarial: Tensor;
  /** Per sample: correct clean and under every attack. */
  robust: boolean[];
  /** Per sample: "clean" when misclassified without attack, else the first attack that fooled the judge, or null. */
  brokenBy: (string | null)[];
  accuracy: RobustAccuracy;
  /** Per attack: rows it ran on and rows it broke. */
  perAttack: { name: string; attacked: number; broken: number }[];
}

/** Runs `candidates` in order and keeps, per sample, the first AE that `judge` misclassifies. */
export function worstCase(candidates: readonly Candidate[], judge: Predictor, x: Tensor, y: Tensor, options: Pick<RunOptions, "sampleIds" | "firstId"> = {}): WorstCaseResult {
  const n = x.size(0);
  const ids = options.sampleIds ? Array.from(options.sampleIds) : Array.from({ length: n }, (_, i) => (options.firstId ?? 0) + i);
  if (ids.length !== n) throw new RangeError(`sampleIds: expected ${n} ids, got ${ids.length}`);
  const labels = y.toArray();
  const clean = predictClasses(judge, x);
  const brokenBy: (string | null)[] = clean.map((p, i) => (p === labels[i] ? null : "clean"));
  // Per-row AE, filled as attacks run; rows not reached keep x.
  const rows: (Tensor | null)[] = new Array(n).fill(null);
  const perAttack: WorstCaseResult["perAttack"] = [];
  try {
    for (const candidate of candidates) {
      const open = brokenBy.flatMap((b, i) => (b === null ? [i] : []));
      if (open.length === 0) {
        perAttack.push({ name: candidate.name, attacked: 0, broken: 0 });
        continue;
      }
      const picked = tidy(() => {
        const index = tensor(BigInt64Array.from(open, (i) => BigInt(i)), [open.length], { device: x.device });
        return { x: x.indexSelect(0, index), y: y.indexSelect(0, index) };
      });
      try {
        const adversarial = candidate.craft(picked.x, picked.y, open.map((i) => ids[i]));
        try {
          const predicted = predictClasses(judge, adversarial);
          let broken = 0;
          open.forEach((row, k) => {
            rows[row]?.dispose();
            rows[row] = tidy(() => adversarial.narrow(0, k, 1).clone());
            if (predicted[k] !== labels[row]) {
              brokenBy[row] = candidate.name;
              broken++;
            }
          });
          perAttack.push({ name: candidate.name, attacked: open.length, broken });
        } finally {
          adversarial.dispose();
        }
      } finally {
        picked.x.dispose();
        picked.y.dispose();
      }
    }
    const adversarial = tidy(() => cat(rows.map((r, i) => r ?? x.narrow(0, i, 1)), 0));
    const robust = brokenBy.map((b) => b === null);
    const correct = robust.filter(Boolean).length;
    return { adversarial, robust, brokenBy, accuracy: { ...accuracyOf(robust.map((r) => (r ? 1 : 0)), robust.map(() => 1)), correct }, perAttack };
  } finally {
    for (const r of rows) r?.dispose();
  }
}
