/**
 * ADP's purification (Yoon et al. 2021, Algorithm 1 as their `purification/adp.py` runs it). From
 * x₀ = clamp(x + N(0, σ²)), each step takes s = s(x) and a probe s' = s(x + ε s), the per-sample
 * z = <s, s'> / <s, s> and the adaptive step α = clamp(λ ε / (1 - z), αmin, αmax), then
 * x ← clamp(x + α s, 0, 1). A sample stops for good at the first step whose α is at most the
 * threshold (it takes no step then); the loop ends when every sample has stopped or after the last step.
 *
 * For adaptive attacks, {@link adpUnroll} replays the same steps differentiably with the noise, the
 * α values and the stop mask held constant, so the gradient flows through every score call of the
 * update (the probe calls only set α and carry none).
 */
import { noGrad, ones, tidy, where, type Tensor } from "../../torch/index.js";
import type { AdpPurifySettings } from "./config.js";

/** A score function on NCHW images in [0, 1]. */
export type ScoreFn = (x: Tensor) => Tensor;

/** What each step of a purification decided, per sample ([N] each). */
export interface AdpStep {
  /** z = <s, s(x + ε s)> / <s, s>. */
  z: Tensor;
  /** α after clamping. */
  alpha: Tensor;
  /** The step actually taken: α where the sample still runs, else 0. */
  applied: Tensor;
}

export interface AdpTrace {
  /** The purified images. */
  images: Tensor;
  /** One entry per step evaluated (the last may have applied nothing, when every sample stopped there). */
  steps: AdpStep[];
}

type StepSettings = Pick<AdpPurifySettings, "maxSteps" | "lambda" | "probe" | "minStep" | "maxStep" | "stopBelow" | "authorsGrid">;

/** z and α for scores s = s(x) and sProbe = s(x + ε s), per sample. */
export function adaptiveStep(s: Tensor, sProbe: Tensor, o: Pick<AdpPurifySettings, "lambda" | "probe" | "minStep" | "maxStep">): { z: Tensor; alpha: Tensor } {
  return tidy(() => {
    const z = s.mul(sProbe).flatten(1).sum(1).div(s.square().flatten(1).sum(1));
    const alpha = z.rsub(1).reciprocal().mul(o.lambda * o.probe).clamp(o.minStep, o.maxStep);
    return { z, alpha };
  });
}

const perSample = (v: Tensor, x: Tensor): Tensor => v.reshape([x.size(0), ...x.shape.slice(1).map(() => 1)]);

/** x₀ = clamp(x + noise, 0, 1), mapped onto the authors' grid when asked. */
export function noisyStart(x: Tensor, noise: Tensor, authorsGrid: boolean): Tensor {
  return tidy(() => {
    const x0 = x.add(noise).clamp(0, 1);
    return authorsGrid ? x0.mul(255 / 256).add(1 / 512) : x0;
  });
}

/** One update x ← clamp(x + a s) (with the grid's inverse map first when asked). */
function update(x: Tensor, s: Tensor, applied: Tensor, authorsGrid: boolean): Tensor {
  const moved = x.add(s.mul(perSample(applied, x)));
  return (authorsGrid ? moved.mul(256 / 255).sub(1 / 510) : moved).clamp(0, 1);
}

/**
 * The purification steps from the noisy start x₀, without gradient: the purified images and every
 * step's z, α and the step applied.
 */
export function adpSteps(score: ScoreFn, x0: Tensor, o: StepSettings): AdpTrace {
  return noGrad(() => tidy(() => {
    const steps: AdpStep[] = [];
    let x = x0;
    let active = ones([x0.size(0)], { dtype: "bool", device: x0.device });
    for (let i = 0; i < o.maxSteps; i++) {
      const next = tidy(() => {
        const s = score(x);
        const { z, alpha } = adaptiveStep(s, score(x.add(s.mul(o.probe))), o);
        // NaN α (a zero score) compares false, so such a sample stops.
        const stillActive = active.logicalAnd(alpha.gt(o.stopBelow));
        const applied = where(stillActive, alpha, 0);
        const any = stillActive.any();
        return { z, alpha, applied, stillActive, any, moved: any ? update(x, s, applied, o.authorsGrid) : null };
      });
      active.dispose();
      active = next.stillActive;
      steps.push({ z: next.z, alpha: next.alpha, applied: next.applied });
      if (!next.moved) break;
      if (x !== x0) x.dispose();
      x = next.moved;
    }
    return { images: x === x0 ? x0.clone() : x, steps };
  }));
}

/**
 * The purification replayed with gradient: x₀ = clamp(x + noise), then x ← clamp(x + a_t s(x)) for
 * the recorded steps a_t ([N] each, constants). Its value equals {@link adpSteps}' images for the
 * same noise and steps; its gradient runs through every score call.
 */
export function adpUnroll(score: ScoreFn, x: Tensor, noise: Tensor, applied: readonly Tensor[], authorsGrid = false): Tensor {
  return tidy(() => {
    let h = noisyStart(x, noise, authorsGrid);
    for (const a of applied) {
      if (!a.any()) break;
      h = update(h, score(h), a.detach(), authorsGrid);
    }
    return h;
  });
}
