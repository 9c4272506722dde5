/**
 * Projections onto the threat sets. For l_inf the ε-ball and the [0, 1] box are both boxes, so
 * one elementwise clamp between precomputed bounds is the exact projection onto their
 * intersection. For L2, projecting onto the ball and then clipping to [0, 1] never leaves the ball
 * (clipping moves each coordinate towards x, which lies in the box).
 */
import { F, type Tensor } from "../torch/index.js";

/** Per-element bounds of the l_inf ball of radius eps around x intersected with [0, 1]. */
export interface LinfBounds {
  lower: Tensor;
  upper: Tensor;
}

/** max(x − ε, 0) and min(x + ε, 1). */
export function linfBounds(x: Tensor, eps: number): LinfBounds {
  return { lower: x.sub(eps).clamp(0, null), upper: x.add(eps).clamp(null, 1) };
}

/** The exact projection of `adv` onto the l_inf ball ∩ [0, 1] described by `bounds`. */
export function projectLinf(adv: Tensor, bounds: LinfBounds): Tensor {
  return adv.clamp(bounds.lower, bounds.upper);
}

/** Reshapes a per-sample vector [N] to broadcast over a batch shaped like `like` ([N, 1, 1, 1]). */
export function perRow(v: Tensor, like: Tensor): Tensor {
  return v.reshape([v.size(0), ...like.shape.slice(1).map(() => 1)]);
}

/** Scales each row of `delta` so that its L2 norm is at most `eps`, then clips x + delta to [0, 1]. */
export function projectL2(x: Tensor, adv: Tensor, eps: number): Tensor {
  const delta = adv.sub(x);
  const norms = F.l2PerSample(delta);
  const factor = norms.add(1e-12).reciprocal().mul(eps).clamp(null, 1);
  return x.add(delta.mul(perRow(factor, delta))).clamp(0, 1);
}

/** Each row divided by its L2 norm (rows of zeros stay zero). */
export function normalizeL2(g: Tensor): Tensor {
  return g.div(perRow(F.l2PerSample(g).add(1e-12), g));
}
