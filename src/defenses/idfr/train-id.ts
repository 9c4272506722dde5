/**
 * Algorithm 1: training the input denoiser. The training set is the attack model's AEs of the
 * training images plus Gaussian-augmented clean copies drawn anew each epoch; the loss is
 * CE(f(ID(x')), y) through the frozen target (Eq. 3), or the L1 distance between the target's
 * embeddings of ID(x') and of the clean x ("feature-l1", the authors' code). Adam.
 */
import { Rng } from "../../data/random.js";
import type { ImageSet } from "../../data/types.js";
import type { Classifier } from "../../models/classifier.js";
import { accuracy } from "../../models/evaluate.js";
import { withFrozen } from "../../models/freeze.js";
import { F, manualSeed, noGrad, optim, tidy, type Tensor } from "../../torch/index.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import { checkIdConfig, type IdConfig } from "./config.js";
import { InputDenoiser } from "./denoiser.js";
import { AugmentedSet } from "./training-data.js";

/** Validation images with their adversarial examples (made like the training AEs). */
export interface ValidationSet {
  clean: ImageSet;
  adversarial: Float32Array;
}

export interface IdTrainRun {
  outDir?: string;
  resume?: boolean;
  progress?: "bar" | "lines" | "none";
  val?: ValidationSet;
}

/** Trains a new denoiser for `target` (Algorithm 1). The target is frozen throughout. */
export function trainDenoiser(target: Classifier, train: ImageSet, adversarial: Float32Array, config: IdConfig, run: IdTrainRun = {}):
  { denoiser: InputDenoiser; history: LoopRecord[] } {
  checkIdConfig(config);
  manualSeed(config.seed);
  const denoiser = new InputDenoiser({ channels: target.inputShape[0], width: config.width, variant: config.variant });
  const data = new AugmentedSet(train, adversarial, config.gaussianRounds, config.sigma);
  const adam = new optim.Adam(denoiser.parameters(), { lr: config.lr });
  const steps = Math.ceil(data.size / config.batchSize);
  let order: Uint32Array = new Uint32Array(0);
  try {
    const history = withFrozen(target, () => runTrainLoop({
      label: "train ID", name: "id", epochs: config.epochs, stepsPerEpoch: steps, module: denoiser, optimizer: adam,
      outDir: run.outDir, resume: run.resume, progress: run.progress,
      fingerprint: JSON.stringify({ config, n: train.shape[0], target: target.arch }),
      beginEpoch: (epoch) => {
        order = new Rng(config.seed * 7919 + epoch).permutation(data.size);
        manualSeed(config.seed * 1000 + epoch);
      },
      step: (_epoch, b) => tidy(() => {
        const rows = order.subarray(b * config.batchSize, (b + 1) * config.batchSize);
        const { x, y, clean } = data.batch(rows, config.idLoss === "feature-l1");
        adam.zeroGrad();
        const out = denoiser.forward(x);
        const loss = config.idLoss === "ce"
          ? F.crossEntropy(target.forward(out), y)
          : F.l1Loss(target.embed(out), noGrad(() => target.embed(clean!)));
        loss.backward();
        adam.step();
        return { loss: loss.item(), n: rows.length };
      }),
      validate: run.val ? () => {
        const val = run.val!;
        const defended = (x: Tensor) => target.forward(denoiser.forward(x));
        return { cleanAcc: accuracy(defended, val.clean), advAcc: accuracy(defended, val.clean, val.adversarial) };
      } : undefined,
    }));
    return { denoiser, history };
  } finally {
    adam.dispose();
  }
}
