/**
 * Expectation over Transformation (Athalye et al. 2018): against a randomised defense, ascend the
 * gradient of the EXPECTED loss, estimated by averaging the loss (hence its gradient) over several
 * random draws of the defense. Wrap the model with {@link withEot}; every attack's gradient step
 * then runs `samples` forward/backward passes and averages them.
 */
import { logitsOf, type LogitsModel } from "../models/classifier.js";
import type { Tensor } from "../torch/index.js";
import { checkInteger } from "./options.js";

/** A LogitsModel whose gradient attacks average over `samples` random draws. */
export class EotModel {
  constructor(readonly inner: LogitsModel, readonly samples: number) {
    checkInteger("eotSamples", samples, 1);
  }

  /** One random draw of the wrapped model's logits. */
  forward(x: Tensor): Tensor {
    return logitsOf(this.inner, x);
  }
}

/** Wraps a randomised model so that attacks average their gradients over `samples` draws. */
export function withEot(model: LogitsModel, samples: number): EotModel {
  return new EotModel(model, samples);
}
