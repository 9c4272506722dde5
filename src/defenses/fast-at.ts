/**
 * "Fast AT" (Wong, Rice & Kolter 2020) as a defense row: a copy of the target architecture trained
 * with FGSM-from-random-start adversarial training replaces the target. Its `target` stays the
 * undefended model, so white-box AEs are made there (defense unseen), while adaptive attacks use
 * the robust model itself.
 */
import { fgsmStep } from "../attacks/fgsm.js";
import type { ImageSet } from "../data/types.js";
import type { Classifier } from "../models/classifier.js";
import type { ModelInfo } from "../models/io.js";
import type { SplitClassifier } from "../models/split.js";
import { F, noGrad, randLike, tidy, valueAndGrad, type Generator, type Tensor } from "../torch/index.js";
import { trainClassifier, type AdversarialInputs, type EpochRecord, type TrainConfig, type TrainRun } from "../train/classifier.js";
import { classifyByLogits, type Defense } from "./defense.js";

/**
 * Fast AT's training inputs (Wong et al. 2020): FGSM from a uniform random start in the ε-ball, by
 * α (default 1.25ε), projected back and clipped to [0, 1]. The model stays in training mode (as in
 * the paper's code), and the start is drawn from `generator` when the caller passes one, else from
 * the engine's global generator that the training loop seeds each epoch, so the same seed gives
 * the same weights.
 */
export function fastAtInputs(eps: number, alpha = 1.25 * eps): AdversarialInputs {
  return (model: SplitClassifier, x: Tensor, y: Tensor, generator?: Generator) => tidy(() => {
    const start = randLike(x, { generator }).mul(2 * eps).sub(eps).add(x).clamp(0, 1);
    const { grad } = valueAndGrad((z) => F.crossEntropy(model.forward(z), y), start);
    return noGrad(() => fgsmStep(x, start, grad, eps, alpha));
  });
}

/**
 * Trains a classifier in either mode: "standard", or "fast-at" with {@link fastAtInputs} (whose
 * cyclic schedule the trainer picks). The entry point for callers that take `mode` from the user.
 */
export function trainModel(model: SplitClassifier, data: { train: ImageSet; val?: ImageSet }, overrides: Partial<TrainConfig>,
  run: TrainRun): Promise<{ info: ModelInfo; history: EpochRecord[] }> {
  const adversarial = overrides.mode === "fast-at" ? fastAtInputs(overrides.fastAtEps ?? 8 / 255, overrides.fastAtAlpha) : undefined;
  return trainClassifier(model, data, overrides, { ...run, adversarial });
}

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
