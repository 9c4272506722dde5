/** The "No defense" row: the target classifier as it is. */
import type { Classifier } from "../models/classifier.js";
import { noGrad, type Tensor } from "../torch/index.js";
import { classifyByLogits, type Defense } from "./defense.js";

export class NoDefense implements Defense {
  readonly name = "none";
  readonly stochastic = false;
  constructor(readonly target: Classifier) {}
  purify(x: Tensor): Tensor {
    return x.clone();
  }
  logits(x: Tensor): Tensor {
    return noGrad(() => this.target.eval().forward(x));
  }
  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }
  attackForward(x: Tensor): Tensor {
    return this.target.forward(x);
  }
}
