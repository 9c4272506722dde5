/**
 * "Fast AT" (Wong, Rice & Kolter, "Fast is better than free: Revisiting adversarial training",
 * ICLR 2020) as a defense row: a copy of the target architecture, adversarially trained, replaces
 * the target. Training follows their CIFAR-10 code (`train_fgsm.py`): FGSM from a uniform random
 * start in the ε-ball with step α = 1.25ε, a cyclic learning rate (one cycle, 0 → max at mid-training
 * → 0, per batch), 15 epochs by default, and early stopping: after each epoch, PGD accuracy on a
 * fixed batch; when it collapses (catastrophic overfitting) training stops and the best epoch's
 * weights are kept (see {@link FastAtSettingsSchema} and train/classifier.ts `EarlyStopping`).
 *
 * The robust model is the classifier this defense uses, so it is also its `whiteboxModel`:
 * white-box AEs (defense unseen) are made on the robust model itself, as the IDFR paper's Table 4
 * attacks Fast AT, and adaptive attacks differentiate it too. `target` stays the undefended model
 * the row is compared with.
 */
import { PGD } from "../attacks/pgd.js";
import { fgsmStep } from "../attacks/fgsm.js";
import { limitSet } from "../data/splits.js";
import { cleanFloats, labelTensor } from "../data/tensors.js";
import type { ImageSet } from "../data/types.js";
import type { Classifier } from "../models/classifier.js";
import type { ModelInfo } from "../models/io.js";
import type { SplitClassifier } from "../models/split.js";
import { F, noGrad, randLike, tensor, tidy, valueAndGrad, type Generator, type Tensor } from "../torch/index.js";
import {
  trainClassifier, type AdversarialInputs, type EarlyStopping, type EpochRecord, type TrainConfig, type TrainRun,
} from "../train/classifier.js";
import { RobustModelDefense } from "./robust-model.js";
import { pgdAtInputs } from "./pgd-at.js";
import { fastAtSettings, type FastAtEarlyStop, type FastAtSettings } from "./fast-at-settings.js";

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

/** Record key of the PGD check's accuracy in each epoch's record. */
export const PGD_CHECK_METRIC = "pgdAccuracy";

/**
 * Fast AT's catastrophic-overfitting check as an early-stopping rule: PGD accuracy at radius `eps`
 * on a fixed batch of `check.images` images of `images` (class-balanced, drawn once with
 * `check.seed`). Differences from Wong et al.'s check, which attacks the first training batch of
 * each epoch with the model in training mode: the batch is fixed (validation images when there are
 * some), the model is in eval mode, and with several restarts an image counts as robust only if it
 * survives all of them. PGD draws its starts from its own seed, so the check leaves the training's
 * random stream as it was.
 */
export function pgdCheck(images: ImageSet, eps: number, check: FastAtEarlyStop): EarlyStopping {
  const batch = limitSet(images, check.images, check.seed);
  const indices = Array.from({ length: batch.shape[0] }, (_, i) => i);
  const pixels = cleanFloats(batch, indices);
  const labels = Array.from(batch.labels);
  return {
    metric: PGD_CHECK_METRIC,
    maxDrop: check.maxDrop,
    settings: { checkImages: batch.shape[0], steps: check.steps, restarts: check.restarts, stepSize: check.stepSize, eps, seed: check.seed },
    measure: (model) => {
      const device = model.parameters()[0]?.device ?? "cpu";
      const robust = labels.map(() => true);
      tidy(() => {
        const x = tensor(pixels, batch.shape).to(device);
        const y = labelTensor(batch, indices).to(device);
        for (let r = 0; r < check.restarts; r++) {
          const pgd = new PGD(model, { eps, steps: check.steps, stepSize: check.stepSize, randomStart: true, seed: check.seed + r });
          const result = pgd.run(x, y);
          result.adversarial.dispose();
          result.predictions.forEach((p, i) => { if (p !== labels[i]) robust[i] = false; });
        }
      });
      return robust.filter(Boolean).length / labels.length;
    },
  };
}

/**
 * Trains a classifier in either mode: "standard", or "fast-at" with {@link fastAtInputs}, the
 * cyclic schedule, and (unless `fastAt.earlyStop.enabled` is false) the {@link pgdCheck} after each
 * epoch on the validation images (the training images when there are none). In mode "fast-at",
 * `overrides.epochs` and `overrides.fastAtEps` win over `fastAt.epochs` and `fastAt.eps`. The
 * entry point for callers that take `mode` from the user.
 */
export function trainModel(model: SplitClassifier, data: { train: ImageSet; val?: ImageSet }, overrides: Partial<TrainConfig>,
  run: TrainRun, fastAt: Partial<FastAtSettings> = {}): Promise<{ info: ModelInfo; history: EpochRecord[] }> {
  if (overrides.mode === "pgd-at") {
    return trainClassifier(model, data, overrides, { ...run, adversarial: pgdAtInputs(overrides.fastAtEps ?? 8 / 255, overrides.pgdSteps ?? 7) });
  }
  if (overrides.mode !== "fast-at") return trainClassifier(model, data, overrides, run);
  const settings = fastAtSettings({ ...fastAt, ...(overrides.fastAtEps !== undefined ? { eps: overrides.fastAtEps } : {}) });
  const config: Partial<TrainConfig> = { ...overrides, epochs: overrides.epochs ?? settings.epochs, fastAtEps: settings.eps };
  const adversarial = fastAtInputs(settings.eps, overrides.fastAtAlpha);
  const earlyStopping = settings.earlyStop.enabled ? pgdCheck(data.val ?? data.train, settings.eps, settings.earlyStop) : undefined;
  return trainClassifier(model, data, config, { ...run, adversarial, earlyStopping });
}

export class FastAtDefense extends RobustModelDefense {
  constructor(target: Classifier, robust: Classifier) {
    super("fast-at", target, robust);
  }
}
