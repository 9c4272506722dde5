/**
 * Evaluation split across the ranks of a multi-process run (`idfr launch`): the images of a cell
 * (models/evaluate-ranks.ts) and of an attack are shared out by rank and the results gathered, so
 * every rank, and results.json, holds what one process would compute.
 */
import type { Attack, AttackResult } from "../attacks/attack.js";
import { defaultGroup, allGatherRows, allReduceNumbers, myShare } from "../distributed/index.js";
import { tensor, tidy, type Tensor } from "../torch/index.js";
export { countCorrectOverRanks, predictOverRanks } from "../models/evaluate-ranks.js";

/**
 * `attack.run` on all of x, with each rank attacking its contiguous share (sample ids stay the
 * images' positions, so random starts and targets are those of one process) and the results
 * gathered; seconds is the slowest rank's. Alone, or with fewer images than ranks, every rank
 * attacks them all.
 */
export function runAttackOverRanks(attack: Attack<object>, x: Tensor, y: Tensor, target?: Tensor): AttackResult {
  const group = defaultGroup();
  const n = x.shape[0];
  if (!group || group.worldSize === 1 || n < group.worldSize) return attack.run(x, y, target ? { target, firstId: 0 } : { firstId: 0 });
  const { start, count } = myShare(n);
  const part = tidy(() => {
    const r = attack.run(x.narrow(0, start, count), y.narrow(0, start, count),
      target ? { target: target.narrow(0, start, count), firstId: start } : { firstId: start });
    return { ...r, adversarial: r.adversarial.to("cpu").contiguous() };
  });
  const rowLength = part.adversarial.numel / count;
  const pixels = allGatherRows(group, part.adversarial.toTypedArray() as Float32Array, rowLength);
  part.adversarial.dispose();
  const stats = allGatherRows(group, Float64Array.from(part.success.flatMap((s, i) => [s ? 1 : 0, part.predictions[i], part.linf[i], part.l2[i]])), 4);
  const column = (k: number) => Array.from({ length: n }, (_, i) => stats[i * 4 + k]);
  const adversarial = tidy(() => {
    const t = tensor(pixels, x.shape);
    return t.device === x.device ? t : t.to(x.device);
  });
  return {
    adversarial, success: column(0).map((v) => v === 1), predictions: column(1), linf: column(2), l2: column(3),
    seconds: allReduceNumbers(group, [part.seconds], "max")[0],
  };
}
