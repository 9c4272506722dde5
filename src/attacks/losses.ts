/**
 * Per-sample attack objectives on logits [N, C] -> [N], all written as quantities the attacker
 * MAXIMISES. Keeping them per sample (summed, never averaged, before differentiation) makes each
 * row's gradient independent of the batch it sits in.
 */
import { F, type Tensor } from "../torch/index.js";

/** The logit of each row's label: z[i, label[i]] -> [N]. */
export function labelLogit(logits: Tensor, label: Tensor): Tensor {
  return logits.gather(1, label.unsqueeze(1)).squeeze(1);
}

/** The largest logit other than the label's: max_{j != label} z_j -> [N]. */
export function otherMax(logits: Tensor, label: Tensor): Tensor {
  const isLabel = F.oneHot(label, logits.size(1)).bool();
  return logits.maskedFill(isLabel, -Infinity).max(1);
}

/** Cross entropy per sample: raise it to move away from `label` (untargeted). */
export function crossEntropy(logits: Tensor, label: Tensor): Tensor {
  return F.crossEntropy(logits, label, { reduction: "none" });
}

/** Negative cross entropy towards `target`: raise it to move towards the target class. */
export function targetedCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  return F.crossEntropy(logits, target, { reduction: "none" }).neg();
}

/**
 * Carlini-Wagner margin, capped at the confidence κ: min(max_{j≠y} z_j − z_y, κ). Once a sample is
 * misclassified by κ its objective is flat, so the attack stops pushing it.
 */
export function cwMargin(logits: Tensor, label: Tensor, kappa: number): Tensor {
  return otherMax(logits, label).sub(labelLogit(logits, label)).clamp(null, kappa);
}

/** Targeted CW margin: min(z_t − max_{j≠t} z_j, κ). */
export function targetedCwMargin(logits: Tensor, target: Tensor, kappa: number): Tensor {
  return labelLogit(logits, target).sub(otherMax(logits, target)).clamp(null, kappa);
}

/**
 * Difference of Logits Ratio (Croce & Hein 2020, Eq. 6), untargeted:
 * −(z_y − max_{i≠y} z_i) / (z_π1 − z_π3), with π the logits sorted in decreasing order. It is
 * invariant to shifting and rescaling the logits, which defeats gradient masking by logit scaling.
 * Needs at least 3 classes.
 */
export function dlr(logits: Tensor, label: Tensor): Tensor {
  const sorted = logits.sort(1, true).values;
  const scale = sorted.select(1, 0).sub(sorted.select(1, 2)).add(1e-12);
  return otherMax(logits, label).sub(labelLogit(logits, label)).div(scale);
}

/**
 * Targeted DLR (Croce & Hein 2020, Eq. 7): −(z_y − z_t) / (z_π1 − (z_π3 + z_π4) / 2). Needs at
 * least 4 classes.
 */
export function targetedDlr(logits: Tensor, label: Tensor, target: Tensor): Tensor {
  const sorted = logits.sort(1, true).values;
  const scale = sorted.select(1, 0).sub(sorted.select(1, 2).add(sorted.select(1, 3)).mul(0.5)).add(1e-12);
  return labelLogit(logits, target).sub(labelLogit(logits, label)).div(scale);
}
