/**
 * SOAP's purification (the paper's Algorithm 1; the authors' `purify` in `defenses.py`): for each
 * radius e · δ, e = 0..E, `steps` signed gradient steps of size s that lower the aux loss, starting
 * from the input itself, each projected onto the radius and into [0, 1]; then, per sample, the
 * candidate whose aux loss is lowest (the input itself, e = 0, among them; ties go to the smaller
 * radius, as argmin does). Deterministic. With `select: "batch"`, one radius for the whole batch by
 * its mean aux loss, as the authors' code ends up doing.
 */
import { enableGrad, gradOf, noGrad, tidy, where, type Tensor } from "../../torch/index.js";
import { auxLossPerSample } from "./aux.js";
import type { SoapAuxName, SoapPurifySettings } from "./config.js";
import type { SoapModel } from "./models.js";

/** Purified images and what purification saw. */
export interface SoapPurification {
  /** The purified images, [N, C, H, W] in [0, 1]. */
  images: Tensor;
  /** The chosen radius multiple e of each sample, int64 [N]. */
  radius: Tensor;
  /** Aux loss of each sample before and after, [N]. */
  before: Tensor;
  after: Tensor;
}

/** `steps` sign steps of size `stepSize` that lower the aux loss, within `eps` of `x` and inside [0, 1]. */
export function auxDescent(model: SoapModel, aux: SoapAuxName, x: Tensor, eps: number, stepSize: number, steps: number): Tensor {
  return tidy(() => {
    let delta = x.mul(0);
    for (let t = 0; t < steps; t++) {
      const next = tidy(() => {
        const g = enableGrad(() => gradOf((z) => auxLossPerSample(model, aux, z).sum(), x.add(delta)));
        const stepped = delta.sub(g.sign().mul(stepSize)).clamp(-eps, eps);
        return x.add(stepped).clamp(0, 1).sub(x);
      });
      delta.dispose();
      delta = next;
    }
    return x.add(delta);
  });
}

/** SOAP purification of a batch with `model` in eval mode; no gradient is recorded. */
export function soapPurify(model: SoapModel, aux: SoapAuxName, x: Tensor, settings: SoapPurifySettings): SoapPurification {
  model.eval();
  return noGrad(() => tidy(() => {
    const input = x.detach();
    const before = auxLossPerSample(model, aux, input);
    let best = input.clone();
    let bestLoss = before.clone();
    let radius = bestLoss.mul(0).long();
    for (let e = 1; e <= settings.radii; e++) {
      const eps = e * settings.delta;
      if (eps === 0) break; // every candidate would be the input itself
      const [nb, nl, nr] = tidy(() => {
        const candidate = auxDescent(model, aux, input, eps, settings.stepSize, settings.steps);
        const loss = auxLossPerSample(model, aux, candidate);
        const better = settings.select === "sample"
          ? loss.lt(bestLoss)
          : loss.mean().lt(bestLoss.mean()).expand([loss.size(0)]);
        const mask4 = better.reshape([-1, 1, 1, 1]);
        return [where(mask4, candidate, best), where(better, loss, bestLoss), where(better, e, radius)];
      });
      best.dispose(); bestLoss.dispose(); radius.dispose();
      [best, bestLoss, radius] = [nb, nl, nr];
    }
    return { images: best, radius, before, after: bestLoss };
  }));
}
