/**
 * The self-supervised perturbation (SSP) of NRP, as the authors' `ssp.py` makes it: start from
 * N(0, I) noise (not from the image), then `steps` times move by `stepSize` along the sign of the
 * gradient of MSE(F(x'), F(x)), project into the l_inf ball of radius ε around x and clamp to
 * [0, 1]. No labels: it pushes the features of x' away from those of x.
 */
import { enableGrad, F, grad, noGrad, randn, tidy, type Generator, type Tensor } from "../../torch/index.js";

export interface SspOptions {
  eps: number;
  steps: number;
  stepSize: number;
  /** Source of the random start (default: the global generator). */
  generator?: Generator;
}

/** x' = SSP(x) for the feature map `features`; `x` is left as it was. */
export function selfSupervisedPerturbation(features: (x: Tensor) => Tensor, x: Tensor, o: SspOptions): Tensor {
  if (!(o.eps >= 0)) throw new RangeError(`ssp: expected a non-negative eps, got ${o.eps}`);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new TypeError(`ssp: expected a positive integer for steps, got ${o.steps}`);
  if (!(o.stepSize > 0)) throw new RangeError(`ssp: expected a positive stepSize, got ${o.stepSize}`);
  return tidy(() => {
    const clean = x.detach();
    const lower = clean.sub(o.eps);
    const upper = clean.add(o.eps);
    const target = noGrad(() => features(clean)).detach();
    let adv = randn(clean.shape, { dtype: clean.dtype, device: clean.device, generator: o.generator });
    for (let t = 0; t < o.steps; t++) {
      const next = tidy(() => {
        const g = enableGrad(() => {
          const input = adv.detach().requiresGrad_(true);
          return grad(F.mseLoss(features(input), target), [input])[0]!;
        });
        return noGrad(() => adv.add(g.sign().mul(o.stepSize)).maximum(lower).minimum(upper).clamp(0, 1));
      });
      adv.dispose();
      adv = next;
    }
    return adv;
  });
}
