/**
 * Algorithm 1: training the input denoiser. The training set is the attack model's AEs of the
 * training images plus Gaussian-augmented clean copies drawn anew each epoch; the loss is
 * CE(f(ID(x')), y) through the frozen target (Eq. 3), or the L1 distance between the target's
 * embeddings of ID(x') and of the clean x ("feature-l1", the authors' code). Adam.
 */
import type { RunContext } from "../../core/context.js";
import { Rng } from "../../data/random.js";
import type { ImageSet } from "../../data/types.js";
import type { Classifier } from "../../models/classifier.js";
import { accuracyOverRanks } from "../../models/evaluate-ranks.js";
import { withFrozenAsync } from "../../models/freeze.js";
import { F, Generator, nn, noGrad, optim, tidy, type Tensor } from "../../torch/index.js";
import { seedFor } from "../../core/seeds.js";
import { localRows } from "../../distributed/data-parallel.js";
import { indexBatches } from "../../train/batches.js";
import { weightsFingerprint } from "../../models/io.js";
import { dataIdentity } from "../../train/data-identity.js";
import { onDevice, runDevice } from "../../train/device.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import { checkIdConfig, type IdConfig } from "./config.js";
import { InputDenoiser } from "./denoiser.js";
import { AugmentedSet } from "./training-data.js";

/** Validation images with their adversarial examples (made like the training AEs). */
export interface ValidationSet {
  clean: ImageSet;
  adversarial: Float32Array;
}

/**
 * Where and how an IDFR stage trains (outDir for id-checkpoint.safetensors and id-log.jsonl, resume,
 * progress, device: the target must already be there), plus validation data and the dataset's name.
 */
export interface IdfrTrainRun extends Partial<RunContext> {
  val?: ValidationSet;
  /** Recorded with the data identity that a resume compares. */
  dataset?: string;
}

/** Trains a new denoiser for `target` (Algorithm 1). The target is frozen throughout. */
export async function trainDenoiser(target: Classifier, train: ImageSet, adversarial: Float32Array, config: IdConfig, run: IdfrTrainRun = {}):
  Promise<{ denoiser: InputDenoiser; history: LoopRecord[] }> {
  checkIdConfig(config);
  const device = runDevice(run.device);
  // The layers' constructors draw their initial weights from the scope's generator.
  const init = new Generator(seedFor.weights(config.seed));
  const denoiser = nn.init.withInitGenerator(init, () => new InputDenoiser({ channels: target.inputShape[0], width: config.width, variant: config.variant })).to(device);
  init.dispose();
  const data = new AugmentedSet(train, adversarial, config.gaussianRounds, config.sigma);
  const adam = new optim.Adam(denoiser.parameters(), { lr: config.lr });
  let order: Uint32Array = new Uint32Array(0);
  // The epoch's Gaussian copies draw from their own generator, seeded as the global one used to be.
  const epochDraws: { generator: Generator | null } = { generator: null };
  try {
    const history = await withFrozenAsync(target, () => runTrainLoop({
      label: "train ID", name: "id", epochs: config.epochs, batches: indexBatches(Math.ceil(data.size / config.batchSize)),
      module: denoiser, optimizer: adam, ctx: run,
      settings: { ...config, target: target.arch, targetWeights: weightsFingerprint(target), ...dataIdentity(train, run.dataset) },
      beginEpoch: (epoch) => {
        order = new Rng(seedFor.idOrder(config.seed, epoch)).permutation(data.size);
        epochDraws.generator?.dispose();
        epochDraws.generator = new Generator(seedFor.epochDraws(config.seed, epoch));
      },
      step: (b) => tidy(() => {
        const rows = order.subarray(b * config.batchSize, (b + 1) * config.batchSize);
        const batch = data.batch(rows, config.idLoss === "feature-l1", epochDraws.generator!);
        const x = onDevice(localRows(batch.x), device);
        adam.zeroGrad();
        const out = denoiser.forward(x);
        const loss = config.idLoss === "ce"
          ? F.crossEntropy(target.forward(out), onDevice(localRows(batch.y), device))
          : F.l1Loss(target.embed(out), noGrad(() => target.embed(onDevice(localRows(batch.clean!), device))));
        loss.backward();
        adam.step();
        return { loss: loss.item(), n: rows.length };
      }),
      validate: run.val ? () => {
        const val = run.val!;
        const defended = (x: Tensor) => target.forward(denoiser.forward(x));
        return { cleanAcc: accuracyOverRanks(defended, val.clean, null, { device }), advAcc: accuracyOverRanks(defended, val.clean, val.adversarial, { device }) };
      } : undefined,
    }));
    return { denoiser, history };
  } finally {
    adam.dispose();
    epochDraws.generator?.dispose();
  }
}
