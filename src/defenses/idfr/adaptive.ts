/**
 * The adaptive adversary of Algorithm 1 and 2 (`adversary: "adaptive"`): training AEs crafted at
 * every step through the current ID (and FR) and the frozen target, as adversarial training crafts
 * them through the current model (Madry et al. 2018), so the denoiser learns against the attack
 * that will be run on the whole pipeline rather than against AEs of the bare target. PGD with a
 * random start in the ball and K steps of ε/4; each row has its own ε (the config's radii cycled
 * over the images), so one batch mixes radii without splitting it.
 */
import { uniformPerSample } from "../../attacks/random.js";
import type { LogitsModel } from "../../models/classifier.js";
import { logitsOf } from "../../models/classifier.js";
import { enableGrad, F, grad, noGrad, tensor, tidy, type Tensor } from "../../torch/index.js";

export interface AdaptivePgdOptions {
  /** l_inf radius of each row. */
  eps: readonly number[];
  steps: number;
  /** Ids of the rows' random starts (e.g. image index and epoch mixed): fresh starts each epoch. */
  sampleIds: readonly number[];
  seed: number;
}

/**
 * PGD (random start, `steps` signed steps of ε/4, exact projection onto the ball ∩ [0, 1]) of the
 * cross entropy of `model` at `x` with labels `y`, each row at its own radius. Returns the last
 * iterate, detached. The gradient is taken only with respect to the input, so no parameter
 * gradient accumulates.
 */
export function adaptivePgd(model: LogitsModel, x: Tensor, y: Tensor, o: AdaptivePgdOptions): Tensor {
  const b = x.shape[0];
  if (o.eps.length !== b || o.sampleIds.length !== b) throw new RangeError(`adaptive PGD: expected ${b} radii and sample ids, got ${o.eps.length} and ${o.sampleIds.length}`);
  if (!Number.isInteger(o.steps) || o.steps < 1) throw new RangeError(`adaptiveSteps: expected a positive integer, got ${o.steps}`);
  return tidy(() => {
    const eps = tensor(Float32Array.from(o.eps), [b, ...x.shape.slice(1).map(() => 1)]).to(x.device);
    const step = eps.div(4);
    const lower = x.sub(eps).clamp(0, null);
    const upper = x.add(eps).clamp(null, 1);
    let adv = noGrad(() => x.add(uniformPerSample(x, [...o.sampleIds], o.seed).mul(2).sub(1).mul(eps)).clamp(lower, upper));
    for (let k = 0; k < o.steps; k++) {
      const next = tidy(() => {
        const g = enableGrad(() => {
          const input = adv.detach().requiresGrad_(true);
          const loss = F.crossEntropy(logitsOf(model, input), y);
          return grad(loss, [input])[0] as Tensor;
        });
        return noGrad(() => adv.add(g.sign().mul(step)).clamp(lower, upper));
      });
      adv.dispose();
      adv = next;
    }
    return adv.detach();
  });
}
