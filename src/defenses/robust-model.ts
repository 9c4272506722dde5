/**
 * The defense of an adversarially trained copy of the target (Fast AT, PGD AT): it replaces the
 * target, classifies with the robust model, purifies nothing, and the robust model is what
 * white-box attacks differentiate.
 */
import type { Classifier } from "../models/classifier.js";
import { noGrad, type Tensor } from "../torch/index.js";
import { classifyByLogits, type Defense } from "./defense.js";

export class RobustModelDefense implements Defense {
  readonly stochastic = false;
  constructor(readonly name: string, readonly target: Classifier, readonly robust: Classifier) {
    if (robust.numClasses !== target.numClasses) throw new RangeError(`${name}: the robust model has ${robust.numClasses} classes, the target ${target.numClasses}`);
  }
  /** The robust model: what this defense classifies with, so what a white-box attacker differentiates. */
  get whiteboxModel(): Classifier {
    return this.robust;
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
