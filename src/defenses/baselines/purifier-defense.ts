/**
 * The shape every input-purification baseline shares: defended logits = target(purify(x)), and an
 * attack path that runs the same purification forward but passes gradients straight through it
 * (BPDA with the identity, Athalye et al. 2018), as ART's preprocessors do by default. Subclasses
 * supply only the purification itself.
 */
import type { Classifier } from "../../models/classifier.js";
import { noGrad, tidy, type Tensor } from "../../torch/index.js";
import { classifyByLogits, type Defense } from "../defense.js";

/** Throws unless `x` is an NCHW float batch whose channel count the purifier can handle. */
export function checkImages(x: Tensor, what: string): void {
  if (x.ndim !== 4) throw new RangeError(`${what}: expected NCHW images (a 4-d tensor), got shape [${x.shape}]`);
  if (x.dtype !== "float32" && x.dtype !== "float64") throw new TypeError(`${what}: expected float images in [0, 1], got dtype ${x.dtype}`);
}

/** A defense that purifies its input and classifies the result with an unchanged target. */
export abstract class PurifierDefense implements Defense {
  abstract readonly name: string;
  abstract readonly stochastic: boolean;

  constructor(readonly target: Classifier) {}

  /**
   * The purification proper, on a detached NCHW batch; called without gradient recording. It must
   * return a new tensor (never `x` itself, never a view that writes through to it).
   */
  protected abstract transform(x: Tensor): Tensor;

  /** Purified copy of `x` in [0, 1]; `x` is left as it was and no gradient is recorded. */
  purify(x: Tensor): Tensor {
    checkImages(x, `${this.name}: purify`);
    return noGrad(() => tidy(() => this.transform(x.detach())));
  }

  /** Logits of target(purify(x)), without gradient. */
  logits(x: Tensor): Tensor {
    return noGrad(() => tidy(() => this.target.forward(this.purify(x))));
  }

  /** Predicted classes (int64 [N]). */
  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }

  /**
   * Logits whose value is target(purify(x)) and whose gradient with respect to x is the target's
   * gradient at purify(x): x + (purify(x) - x).detach() is purify(x) forward and the identity
   * backward, which is BPDA for a purifier that approximately preserves its input.
   */
  attackForward(x: Tensor): Tensor {
    return tidy(() => {
      const purified = this.purify(x);
      const straightThrough = x.add(purified.sub(x.detach()));
      return this.target.forward(straightThrough);
    });
  }
}
