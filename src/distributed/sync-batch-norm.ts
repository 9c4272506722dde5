/**
 * Synchronised batch norm (PyTorch's SyncBatchNorm) for a data-parallel run: in training mode every
 * BatchNorm2d normalises with the statistics of the global batch, not of its rank's rows, so a
 * model with batch norm trains on N ranks as it would in one process on the whole batch (the
 * running statistics are then the same on every rank, too).
 *
 * Each rank sums x per channel over its rows; an all-reduce of these (no gradient) gives the global
 * mean c. Then each rank sums x − c and (x − c)², and these sums go through a differentiable
 * all-reduce (c is a constant there: the mean c + E[x − c] and the variance E[(x−c)²] − E[x−c]²
 * are exact for any constant, and with c the mean the variance does not cancel). Its backward sums the gradients that reach the statistics
 * on every rank, which is what makes the parameter gradients those of the global batch: a rank's
 * loss depends on the other ranks' rows through the shared mean and variance.
 *
 * The data-parallel gradient is a weighted sum (a rank's loss is the mean over its rows, weighted
 * by rows/globalRows): the statistics' gradient is weighted the same way before the sum and
 * unweighted after it, so uneven shares stay exact. A rank with no rows of a short batch (it
 * computes on one row with weight 0) contributes nothing to the statistics.
 */
import { cat, full, nn, noGrad, type Tensor } from "../torch/index.js";
import type { ProcessGroup } from "./process-group.js";

/** This rank's rows and the global batch's, for the current step (null: the step did not cut its batch). */
export type ShareOfStep = () => { local: number; global: number } | null;

/** Forward exactly `x`, backward the gradient times `a`. */
function scaleGradient(x: Tensor, a: number): Tensor {
  const fixed = x.detach();
  return fixed.add(x.sub(fixed).mul(a));
}

/** Batch norm of `x` with the global batch's statistics (training mode), updating the running ones as PyTorch does. */
function syncedBatchNorm(bn: nn.BatchNorm2d, x: Tensor, group: ProcessGroup, share: ShareOfStep): Tensor {
  if (x.ndim !== 4 || x.size(1) !== bn.numFeatures) throw new RangeError(`BatchNorm2d(${bn.numFeatures}): expected input [N, ${bn.numFeatures}, H, W], got [${x.shape}]`);
  const c = bn.numFeatures;
  const rows = share();
  const weight = rows ? rows.local / rows.global : 1 / group.worldSize;
  // The global mean first, as a constant shift c (no gradient: the formulas below are exact for any
  // constant c, and with c the mean the variance E[(x−c)²] − E[x−c]² does not cancel), and the
  // global count of values per channel (summed, not derived from the batch's rows: the module may
  // see more rows than the batch has, e.g. clean and adversarial copies together). A rank with no
  // rows of a short batch contributes nothing. Both stay tensors, so nothing waits for the host.
  const count = x.numel / c;
  const plain = noGrad(() => {
    const sums = cat([x.detach().sum([0, 2, 3]), full([1], count, { dtype: x.dtype, device: x.device })], 0);
    return weight === 0 ? sums.zero_() : sums;
  });
  group.allReduce([plain], "sum");
  const total = plain.narrow(0, c, 1);
  const shift = plain.narrow(0, 0, c).div(total);
  const centred = x.sub(shift.view([1, c, 1, 1]));
  let local = cat([centred.sum([0, 2, 3]), centred.square().sum([0, 2, 3])], 0);
  if (weight === 0) local = local.mul(0);
  const summed = scaleGradient(group.allReduceSumDifferentiable(scaleGradient(local, weight === 0 ? 0 : 1 / weight)), weight);
  const meanShifted = summed.narrow(0, 0, c).div(total);
  const variance = summed.narrow(0, c, c).div(total).sub(meanShifted.square()).clamp(0);
  const mean = meanShifted.add(shift);
  let y = x.sub(mean.view([1, c, 1, 1])).mul(variance.add(bn.eps).rsqrt().view([1, c, 1, 1]));
  if (bn.weight) y = y.mul(bn.weight.view([1, c, 1, 1]));
  if (bn.bias) y = y.add(bn.bias.view([1, c, 1, 1]));
  if (bn.training && bn.runningMean && bn.runningVar) {
    const [runningMean, runningVar, m] = [bn.runningMean, bn.runningVar, bn.momentum];
    noGrad(() => {
      const unbiased = total.div(total.sub(1).clamp(1));
      runningMean.mul_(1 - m).add_(mean.detach().mul(m));
      runningVar.mul_(1 - m).add_(variance.detach().mul(unbiased).mul(m));
    });
  }
  if (bn.training && bn.numBatchesTracked) {
    const counter = bn.numBatchesTracked;
    noGrad(() => counter.add_(1));
  }
  return y;
}

/**
 * Makes every BatchNorm2d in `module` normalise with the global batch's statistics while it is in
 * training mode (in eval mode it uses its running statistics, as before). Returns the undo.
 */
export function synchronizeBatchNorm(module: nn.Module, group: ProcessGroup, share: ShareOfStep): () => void {
  const norms = module.namedModules().map(([, m]) => m).filter((m): m is nn.BatchNorm2d => m instanceof nn.BatchNorm2d);
  if (norms.some((m) => Object.hasOwn(m, "forward"))) throw new Error("synchronizeBatchNorm: a batch norm of this model has its forward replaced already (fast path, or synchronised twice)");
  for (const bn of norms) {
    const own = bn.forward.bind(bn);
    bn.forward = (x: Tensor): Tensor => (bn.training || bn.runningMean === null ? syncedBatchNorm(bn, x, group, share) : own(x));
  }
  return () => {
    for (const bn of norms) delete (bn as Partial<nn.BatchNorm2d>).forward;
  };
}
