/**
 * SOAP's joint training (the authors' `train_with_auxiliary`): CE + α · aux on every batch, SGD
 * with momentum and weight decay, the learning rate divided by 1/γ every `lrStep` epochs, batches
 * of a fresh permutation each epoch with the last partial batch dropped (their `drop_last`). Runs
 * through the project's training loop: checkpoints, resume, progress, Ctrl-C, NaN guard.
 *
 * Differences from their code: CIFAR's random crop and flip (which they apply for the rotation
 * task only) are not applied; random draws come from generators of our own.
 */
import type { RunContext } from "../../core/context.js";
import { deriveSeed, seedFor } from "../../core/seeds.js";
import { Rng } from "../../data/random.js";
import { cleanFloats, labelTensor } from "../../data/tensors.js";
import type { ImageSet } from "../../data/types.js";
import { Generator, nn, optim, tensor, tidy } from "../../torch/index.js";
import { indexBatches } from "../../train/batches.js";
import { dataIdentity } from "../../train/data-identity.js";
import { onDevice, runDevice } from "../../train/device.js";
import { runTrainLoop, type LoopRecord } from "../../train/loop.js";
import { jointLoss } from "./aux.js";
import type { ResolvedSoapSettings } from "./config.js";
import { SoapModel, type SoapModelConfig } from "./models.js";

/** The first path part of SOAP's seeds in the seed tree ("SOAP" in ASCII), then 0 order, 1 tensor draws, 2 crops. */
const SOAP_STREAM = 0x534f4150;

/** Per-epoch means of the two parts of the joint loss, beside the loop's total. */
export type SoapEpochMetrics = { trainCe: number; trainAux: number };

/** A new SOAP model with weights drawn from a generator seeded by `seed` (the layers' default init). */
export function newSoapModel(config: SoapModelConfig, seed: number): SoapModel {
  const init = new Generator(seedFor.weights(seed));
  try {
    return nn.init.withInitGenerator(init, () => new SoapModel(config));
  } finally {
    init.dispose();
  }
}

/** Trains `model` (already on the run's device) jointly on `train`; returns one record per epoch. */
export async function trainSoapModel(model: SoapModel, train: ImageSet, settings: ResolvedSoapSettings, run: Partial<RunContext> & { dataset?: string } = {}):
  Promise<LoopRecord<SoapEpochMetrics>[]> {
  const device = runDevice(run.device);
  const n = train.shape[0];
  if (n === 0) throw new RangeError("soap: the training set is empty");
  const batchSize = Math.min(settings.batchSize, n);
  const steps = Math.floor(n / batchSize);
  const sgd = new optim.SGD(model.parameters(), { lr: settings.lr, momentum: settings.momentum, weightDecay: settings.weightDecay });
  // The loop steps the schedule per batch; lrStep epochs of steps make the authors' per-epoch StepLR.
  const schedule = new optim.StepLR(sgd, settings.lrStep * steps, settings.lrGamma);
  const draws: { order: Uint32Array; generator: Generator | null; rng: Rng | null } = { order: new Uint32Array(0), generator: null, rng: null };
  const sums = { ce: 0, aux: 0, batches: 0 };
  const [, h, w] = [train.shape[1], train.shape[2], train.shape[3]];
  try {
    return await runTrainLoop<number, SoapEpochMetrics>({
      label: `train SOAP (${settings.model}, ${settings.aux})`, name: "soap", epochs: settings.epochs, batches: indexBatches(steps),
      module: model, optimizer: sgd, scheduler: schedule, ctx: run, recordLr: true,
      settings: { ...settings, purify: undefined, soap: model.soap, ...dataIdentity(train, run.dataset) },
      beginEpoch: (epoch) => {
        draws.order = new Rng(deriveSeed(settings.seed, SOAP_STREAM, 0, epoch)).permutation(n);
        draws.generator?.dispose();
        draws.generator = new Generator(deriveSeed(settings.seed, SOAP_STREAM, 1, epoch), device);
        draws.rng = new Rng(deriveSeed(settings.seed, SOAP_STREAM, 2, epoch));
        Object.assign(sums, { ce: 0, aux: 0, batches: 0 });
      },
      step: (b) => tidy(() => {
        const rows = draws.order.subarray(b * batchSize, (b + 1) * batchSize);
        const x = onDevice(tensor(cleanFloats(train, rows), [rows.length, train.shape[1], h, w]), device);
        const y = onDevice(labelTensor(train, rows), device);
        sgd.zeroGrad();
        const joint = jointLoss(model, settings.aux, x, y, settings.auxWeight, draws.generator!, draws.rng!);
        joint.loss.backward();
        sgd.step();
        sums.ce += joint.ce;
        sums.aux += joint.aux;
        sums.batches += 1;
        return { loss: joint.loss.item(), n: rows.length, correct: joint.correct };
      }),
      validate: () => ({ trainCe: sums.ce / sums.batches, trainAux: sums.aux / sums.batches }),
    });
  } finally {
    sgd.dispose();
    draws.generator?.dispose();
  }
}
