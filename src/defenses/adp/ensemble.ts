/**
 * Combining the classifier's outputs over ADP's noise draws, as the authors' `utils/accuracy.py`
 * scores them: the sum of softmax probabilities (the paper's numbers), the sum of logits, or votes
 * (one per draw for its argmax). Each returns scores whose argmax is the ensemble's decision.
 */
import { F, tidy, type Tensor } from "../../torch/index.js";
import type { AdpAggregate } from "./config.js";

/**
 * Ensemble scores from K logit tensors ([N, C] each): "softmax" gives log of the mean probability
 * (a proper log-probability), "logits" the mean logits, "vote" each class's share of the votes
 * (ties go to the lowest class index, as torch.argmax breaks them).
 */
export function aggregateLogits(draws: readonly Tensor[], mode: AdpAggregate): Tensor {
  if (draws.length === 0) throw new RangeError("aggregateLogits: expected at least one draw, got none");
  return tidy(() => {
    const k = draws.length;
    if (mode === "logits") return draws.reduce((a, b) => a.add(b)).div(k);
    if (mode === "softmax") return draws.map((d) => F.softmax(d, 1)).reduce((a, b) => a.add(b)).div(k).clamp(1e-30, null).log();
    if (mode === "vote") return draws.map((d) => F.oneHot(d.argmax(1), d.size(1)).float()).reduce((a, b) => a.add(b)).div(k);
    throw new TypeError(`aggregateLogits: expected "softmax", "logits" or "vote" for mode, got ${JSON.stringify(mode)}`);
  });
}
