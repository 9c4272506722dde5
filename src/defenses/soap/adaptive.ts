/**
 * An aux-aware BPDA attack on SOAP, beside the generic adaptive attacks (which differentiate
 * {@link SoapDefense.attackForward}: BPDA with the identity through purification, exact through the
 * model). Each step purifies the current point, then ascends
 *
 *   CE(model(p), y) − β · aux(p),   p = purify(x + δ),
 *
 * at p and applies the gradient to δ (BPDA: ∂p/∂δ taken as the identity), an l∞ sign step projected
 * to ε and [0, 1]. The aux term keeps the purified point where the aux loss is already low, so the
 * purifier has less reason to move it: the authors' "auxiliary-aware" adversary (their
 * `second_order` loss CE − 100β · aux) evaluated on the purification trajectory, as Croce et al.
 * (2022) attack SOAP. β = 0 is plain BPDA-PGD from the input.
 */
import { checkInteger, checkNumber } from "../../core/validate.js";
import { F, noGrad, tidy, valueAndGrad, type Tensor } from "../../torch/index.js";
import { auxLossPerSample } from "./aux.js";
import type { SoapDefense } from "./defense.js";

export interface AuxAwareBpdaOptions {
  eps: number;
  steps: number;
  stepSize: number;
  /** Weight of the aux loss (already multiplied out; the authors' β · 100). */
  beta: number;
}

/** Adversarial examples for `defense` by aux-aware BPDA-PGD (deterministic: no random start). */
export function auxAwareBpda(defense: SoapDefense, x: Tensor, y: Tensor, o: AuxAwareBpdaOptions): Tensor {
  checkNumber("eps", o.eps, 0);
  checkInteger("steps", o.steps, 0);
  checkNumber("stepSize", o.stepSize, 0);
  checkNumber("beta", o.beta, 0);
  const model = defense.model.eval();
  return tidy(() => {
    let adv = x.detach().clone();
    for (let t = 0; t < o.steps; t++) {
      const next = tidy(() => {
        const purified = defense.purify(adv);
        const { grad } = valueAndGrad((p) => {
          const ce = F.crossEntropy(model.forward(p), y, { reduction: "sum" });
          return o.beta === 0 ? ce : ce.sub(auxLossPerSample(model, defense.aux, p).sum().mul(o.beta));
        }, purified);
        return noGrad(() => adv.add(grad.sign().mul(o.stepSize)).clamp(x.sub(o.eps), x.add(o.eps)).clamp(0, 1));
      });
      adv.dispose();
      adv = next;
    }
    return adv;
  });
}
