/**
 * SOAP's purification (the paper's Algorithm 1; the authors' `purify` in `defenses.py`): for each
 * radius e · δ, e = 0..E, `steps` signed gradient steps of size s that lower the aux loss, starting
 * from the input itself, each projected onto the radius and into [0, 1]; then, per sample, the
 * candidate whose aux loss is lowest (the input itself, e = 0, among them; ties go to the smaller
 * radius, as argmin does). Deterministic. With `select: "batch"`, one radius for the whole batch by
 * its mean aux loss, as the authors' code ends up doing.
 */
import { enableGrad, gradOf, noGrad, tensor, tidy, where, type Tensor } from "../../torch/index.js";
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

/**
 * `steps` sign steps of size `stepSize` that lower the aux loss, within `eps` of `x` and inside
 * [0, 1]; `eps` is one radius, or one per sample ([N, 1, 1, 1]). Samples do not interact (the model
 * is in eval mode), so several radii run as one batch of copies.
 */
export function auxDescent(model: SoapModel, aux: SoapAuxName, x: Tensor, eps: number | Tensor, stepSize: number, steps: number): Tensor {
  return tidy(() => {
    const low = typeof eps === "number" ? -eps : eps.neg();
    let delta = x.mul(0);
    for (let t = 0; t < steps; t++) {
      const next = tidy(() => {
        const g = enableGrad(() => gradOf((z) => auxLossPerSample(model, aux, z).sum(), x.add(delta)));
        const stepped = delta.sub(g.sign().mul(stepSize)).clamp(low, eps);
        return x.add(stepped).clamp(0, 1).sub(x);
      });
      delta.dispose();
      delta = next;
    }
    return x.add(delta);
  });
}

/** Rows per batched aux descent: radii are searched together, as many as fit in this many copies. */
export const SOAP_CHUNK_ROWS = 512;

/**
 * SOAP purification of a batch with `model` in eval mode; no gradient is recorded. The radii are
 * searched in batches of copies of the input (at most `chunkRows` rows each); the result is the
 * same as one radius at a time.
 */
export function soapPurify(model: SoapModel, aux: SoapAuxName, x: Tensor, settings: SoapPurifySettings, chunkRows = SOAP_CHUNK_ROWS): SoapPurification {
  model.eval();
  const n = x.size(0);
  const perChunk = Math.max(1, Math.floor(chunkRows / Math.max(1, n)));
  return noGrad(() => tidy(() => {
    const input = x.detach();
    const before = auxLossPerSample(model, aux, input);
    let best = input.clone();
    let bestLoss = before.clone();
    let radius = bestLoss.mul(0).long();
    // Radius 0 is the input itself; so is every radius when δ = 0.
    const radii = settings.delta > 0 ? Array.from({ length: settings.radii }, (_, i) => i + 1) : [];
    for (let c = 0; c < radii.length; c += perChunk) {
      const es = radii.slice(c, c + perChunk);
      const k = es.length;
      const [candidates, losses] = tidy(() => {
        const copies = k === 1 ? input : input.repeat([k, 1, 1, 1]);
        const eps = tensor(Float32Array.from(es.flatMap((e) => new Array<number>(n).fill(e * settings.delta))), [k * n, 1, 1, 1]).to(input.device);
        const cand = auxDescent(model, aux, copies, eps, settings.stepSize, settings.steps);
        return [cand, auxLossPerSample(model, aux, cand)];
      });
      es.forEach((e, j) => {
        const [nb, nl, nr] = tidy(() => {
          const candidate = candidates.narrow(0, j * n, n);
          const loss = losses.narrow(0, j * n, n);
          // Strictly lower, so ties keep the smaller radius (argmin's first minimum).
          const better = settings.select === "sample"
            ? loss.lt(bestLoss)
            : loss.mean().lt(bestLoss.mean()).expand([n]);
          return [where(better.reshape([-1, 1, 1, 1]), candidate, best), where(better, loss, bestLoss), where(better, e, radius)];
        });
        best.dispose(); bestLoss.dispose(); radius.dispose();
        [best, bestLoss, radius] = [nb, nl, nr];
      });
      candidates.dispose(); losses.dispose();
    }
    return { images: best, radius, before, after: bestLoss };
  }));
}
