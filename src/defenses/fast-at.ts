/**
 * "Fast AT" (Wong, Rice & Kolter 2020) as a defense row: a copy of the target architecture trained
 * with FGSM-from-random-start adversarial training replaces the target. Its `target` stays the
 * undefended model, so white-box AEs are made there (defense unseen), while adaptive attacks use
 * the robust model itself.
 */
import type { Classifier } from "../models/classifier.js";
import { noGrad, type Tensor } from "../torch/index.js";
import { classifyByLogits, type Defense } from "./defense.js";

export class FastAtDefense implements Defense {
  readonly name = "fast-at";
  readonly stochastic = false;
  constructor(readonly target: Classifier, readonly robust: Classifier) {
    if (robust.numClasses !== target.numClasses) throw new RangeError(`fast-at: the robust model has ${robust.numClasses} classes, the target ${target.numClasses}`);
  }
  purify(x: Tensor): Tensor {
    return x.clone();
  }
  attackForward(x: Tensor): Tensor {
    return this.robust.eval().forward(x);
  }
  logits(x: Tensor): Tensor {
    return noGrad(() => this.attackForward(x));
  }
  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }
}
