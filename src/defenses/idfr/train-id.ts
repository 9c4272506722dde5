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
import { F, Generator, nn, noGrad, optim, tensor, tidy, type Tensor } from "../../torch/index.js";
import { seedFor } from "../../core/seeds.js";
import { localRows } from "../../distributed/data-parallel.js";
import { indexBatches } from "../../train/batches.js";
import { weightsFingerprint } from "../../models/io.js";
import { dataIdentity } from "../../train/data-identity.js";
import { onDevice, runDevice } from "../../train/device.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import { checkIdConfig, type IdConfig } from "./config.js";
import { InputDenoiser } from "./denoiser.js";
import { AugmentedSet, type AdversarialRows } from "./training-data.js";
import { adaptivePgd } from "./adaptive.js";

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

/**
 * Trains a new denoiser for `target` (Algorithm 1). The target is frozen throughout. `adversarial`
 * holds the static AEs; with `adversary: "adaptive"` or `rows: "gaussian"` it is not read (pass null).
 */
export async function trainDenoiser(target: Classifier, train: ImageSet, adversarial: Float32Array | null, config: IdConfig, run: IdfrTrainRun = {}):
  Promise<{ denoiser: InputDenoiser; history: LoopRecord[] }> {
  checkIdConfig(config);
  const device = runDevice(run.device);
  // The layers' constructors draw their initial weights from the scope's generator.
  const init = new Generator(seedFor.weights(config.seed));
  const denoiser = nn.init.withInitGenerator(init, () => new InputDenoiser({ channels: target.inputShape[0], width: config.width, variant: config.variant })).to(device);
  init.dispose();
  const data = new AugmentedSet(train, adversarialRows(config, adversarial), config.gaussianRounds, config.sigma, { clip: config.rows !== "gaussian" });
  const needClean = config.idLoss !== "ce";
  const adam = new optim.Adam(denoiser.parameters(), { lr: config.lr });
  let order: Uint32Array = new Uint32Array(0);
  let currentEpoch = 0;
  // The epoch's Gaussian copies draw from their own generator, seeded as the global one used to be.
  const epochDraws: { generator: Generator | null } = { generator: null };
  try {
    const history = await withFrozenAsync(target, () => runTrainLoop({
      label: "train ID", name: "id", epochs: config.epochs, batches: indexBatches(Math.ceil(data.size / config.batchSize)),
      module: denoiser, optimizer: adam, ctx: run,
      settings: { ...config, target: target.arch, targetWeights: weightsFingerprint(target), ...dataIdentity(train, run.dataset) },
      beginEpoch: (epoch) => {
        currentEpoch = epoch;
        order = new Rng(seedFor.idOrder(config.seed, epoch)).permutation(data.size);
        epochDraws.generator?.dispose();
        epochDraws.generator = new Generator(seedFor.epochDraws(config.seed, epoch));
      },
      step: (b) => tidy(() => {
        const rows = order.subarray(b * config.batchSize, (b + 1) * config.batchSize);
        const batch = data.batch(rows, needClean, epochDraws.generator!);
        const yAll = onDevice(batch.y, device);
        let xAll = onDevice(batch.x, device);
        // Adaptive rows are crafted for the whole batch on every rank (the same draws), then each rank keeps its share.
        if (config.adversary === "adaptive" && config.rows !== "gaussian") xAll = withAdaptiveRows(xAll, yAll, rows, data, config, currentEpoch, (z) => target.forward(denoiser.forward(z)), denoiser);
        const x = localRows(xAll);
        const y = localRows(yAll);
        adam.zeroGrad();
        const out = denoiser.forward(x);
        const loss = config.idLoss === "ce"
          ? F.crossEntropy(target.forward(out), y)
          : config.idLoss === "stability"
            ? F.crossEntropy(target.forward(out), noGrad(() => target.forward(onDevice(localRows(batch.clean!), device)).argmax(1)))
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

/** The adversarial rows of an ID training set: static AEs, crafted at each step, or none. */
function adversarialRows(config: IdConfig, adversarial: Float32Array | null): AdversarialRows {
  if (config.rows === "gaussian") return "none";
  if (config.adversary === "adaptive") return "craft";
  if (!adversarial) throw new TypeError(`trainDenoiser: the static adversary needs the training AEs (got none); craft them with craftTrainingAdversarials`);
  return adversarial;
}

/**
 * The batch with its adversarial rows (which hold the clean images) replaced by PGD AEs crafted
 * through the current `pipeline`, with the denoiser in eval mode while crafting. Each row's radius
 * is the config's radii cycled over the images (as the static AEs), its random start drawn from
 * (seed, image, epoch).
 */
export function withAdaptiveRows(x: Tensor, y: Tensor, rows: ArrayLike<number>, data: AugmentedSet, config: Pick<IdConfig, "trainEps" | "adaptiveSteps" | "seed">,
  epoch: number, pipeline: (z: Tensor) => Tensor, denoiser: { train(on?: boolean): unknown }): Tensor {
  const picked: number[] = [];
  for (let k = 0; k < rows.length; k++) if (data.isAdversarial(rows[k])) picked.push(k);
  if (picked.length === 0) return x;
  const index = onDevice(tensor(BigInt64Array.from(picked, (k) => BigInt(k)), [picked.length], "int64"), x.device);
  const sources = picked.map((k) => data.source(rows[k]));
  denoiser.train(false);
  try {
    const adv = adaptivePgd(pipeline, x.indexSelect(0, index), y.indexSelect(0, index), {
      eps: sources.map((i) => config.trainEps[i % config.trainEps.length]), steps: config.adaptiveSteps,
      sampleIds: sources.map((i) => i * 1000 + epoch), seed: seedFor.weights(config.seed),
    });
    return x.indexCopy(0, index, adv);
  } finally {
    denoiser.train(true);
  }
}
