/**
 * Training a target classifier on the shared loop (./loop.ts): SGD+momentum or Adam,
 * cosine/step/cyclic schedules, augmentation from the data layer, validation accuracy per epoch.
 * Adversarial training ("fast-at": FGSM from a random start, Wong, Rice & Kolter 2020) needs the
 * attacks, which sit above this layer: `trainModel` in defenses/fast-at.ts passes them in as
 * `run.adversarial`.
 */
import { rmSync } from "node:fs";
import type { RunContext } from "../core/context.js";
import { ensureDir } from "../core/fs.js";
import { NO_AUGMENTATION, type Augmentation } from "../data/augment.js";
import { BatchLoader, type ArrayBatch } from "../data/loader.js";
import { toTensorBatch } from "../data/tensors.js";
import type { ImageSet } from "../data/types.js";
import { accuracy } from "../models/evaluate.js";
import { saveClassifier, type ModelInfo } from "../models/io.js";
import type { SplitClassifier } from "../models/split.js";
import { F, manualSeed, optim, tidy, type Generator, type Tensor } from "../torch/index.js";
import { seedFor } from "../core/seeds.js";
import { dataIdentity } from "./data-identity.js";
import { onDevice, runDevice } from "./device.js";
import { loopFiles, runTrainLoop, type LoopRecord } from "./loop.js";

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  optimizer: "sgd" | "adam";
  /** Peak learning rate. */
  lr: number;
  momentum: number;
  weightDecay: number;
  /** cosine (per batch, to 0), step (x gamma every stepEpochs), cyclic (0 -> lr -> 0), none. */
  schedule: "cosine" | "step" | "cyclic" | "none";
  stepEpochs: number;
  gamma: number;
  augmentation: Augmentation;
  /** "fast-at" trains on FGSM examples from a random start (Wong et al. 2020); see defenses/fast-at.ts. */
  mode: "standard" | "fast-at";
  /** Fast AT: l_inf radius and step (default 1.25 eps). */
  fastAtEps: number;
  fastAtAlpha?: number;
  seed: number;
  /** Loader worker threads (0 = build batches on the main thread); does not change the result. */
  workers: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 10, batchSize: 128, optimizer: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: "cosine",
  stepEpochs: 30, gamma: 0.1, augmentation: NO_AUGMENTATION, mode: "standard", fastAtEps: 8 / 255, seed: 0, workers: 1,
};

export type EpochRecord = LoopRecord<{ trainAccuracy: number; valAccuracy: number | null; lr: number }>;

/** Makes the training inputs of a batch from its clean images (adversarial training); runs inside the step's scope. */
export type AdversarialInputs = (model: SplitClassifier, x: Tensor, y: Tensor, generator?: Generator) => Tensor;

export interface TrainRun extends Partial<RunContext> {
  /** Folder for model.safetensors, model.json, checkpoint.safetensors and train-log.jsonl. */
  outDir: string;
  /** Recorded in model.json and in the checkpoint's data identity. */
  dataset?: string;
  classes?: string[];
  /** Called after each epoch's checkpoint is written. */
  onEpochEnd?: (record: EpochRecord) => void;
  /** Required for mode "fast-at" (defenses/fast-at.ts gives it). */
  adversarial?: AdversarialInputs;
}

function check(config: TrainConfig): void {
  const posInt = (k: keyof TrainConfig) => {
    const v = config[k] as number;
    if (!Number.isInteger(v) || v < 1) throw new TypeError(`${k}: expected a positive integer, got ${v}`);
  };
  posInt("epochs");
  posInt("batchSize");
  if (!(config.lr > 0)) throw new RangeError(`lr: expected a positive number, got ${config.lr}`);
  if (!["sgd", "adam"].includes(config.optimizer)) throw new TypeError(`optimizer: expected "sgd" or "adam", got ${JSON.stringify(config.optimizer)}`);
  if (!["cosine", "step", "cyclic", "none"].includes(config.schedule)) throw new TypeError(`schedule: expected cosine, step, cyclic or none, got ${JSON.stringify(config.schedule)}`);
  if (!["standard", "fast-at"].includes(config.mode)) throw new TypeError(`mode: expected "standard" or "fast-at", got ${JSON.stringify(config.mode)}`);
  if (config.mode === "fast-at" && !(config.fastAtEps > 0 && config.fastAtEps <= 1)) throw new RangeError(`fastAtEps: expected a number in (0, 1], got ${config.fastAtEps}`);
}

function makeScheduler(opt: optim.Optimizer, config: TrainConfig, totalSteps: number, stepsPerEpoch: number): optim.LRScheduler | null {
  const schedule = config.mode === "fast-at" ? "cyclic" : config.schedule;
  switch (schedule) {
    case "cosine": return new optim.CosineAnnealingLR(opt, totalSteps);
    case "step": return new optim.StepLR(opt, config.stepEpochs * stepsPerEpoch, config.gamma);
    case "cyclic": return new optim.CyclicLR(opt, { baseLr: 0, maxLr: config.lr, stepSizeUp: totalSteps / 2, stepSizeDown: totalSteps / 2 });
    case "none": return null;
  }
}

/**
 * Trains `model` on `data.train`, validating on `data.val` each epoch, and saves the result to
 * `run.outDir` (model.safetensors + model.json). Resumable (`run.resume`, refused when any setting
 * or the data differ); Ctrl-C stops after the current batch with the last epoch's checkpoint intact.
 */
export async function trainClassifier(model: SplitClassifier, data: { train: ImageSet; val?: ImageSet },
  overrides: Partial<TrainConfig>, run: TrainRun): Promise<{ info: ModelInfo; history: EpochRecord[] }> {
  const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...overrides };
  check(config);
  if (config.mode === "fast-at" && !run.adversarial) {
    throw new TypeError(`mode "fast-at" needs adversarial inputs: train with trainModel (defenses/fast-at.ts), which supplies them`);
  }
  const [c, h, w] = model.inputShape;
  const [n, dc, dh, dw] = data.train.shape;
  if (n === 0) throw new RangeError("the training set is empty");
  if (c !== dc || h !== dh || w !== dw) throw new RangeError(`training data is ${dc}x${dh}x${dw} but ${model.arch} expects ${c}x${h}x${w}`);
  if (data.train.classes.length > model.numClasses) throw new RangeError(`training data has ${data.train.classes.length} classes but the model has ${model.numClasses} outputs`);
  ensureDir(run.outDir, "the trained model");
  const device = runDevice(run.device);
  model.to(device);

  const loader = new BatchLoader(data.train, { batchSize: config.batchSize, seed: config.seed, augmentation: config.augmentation,
    workers: config.workers, dropLast: n > config.batchSize });
  const stepsPerEpoch = loader.batchesPerEpoch;
  const totalSteps = stepsPerEpoch * config.epochs;
  const params = model.parameters();
  const opt = config.optimizer === "sgd"
    ? new optim.SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.momentum > 0 })
    : new optim.Adam(params, { lr: config.lr, weightDecay: config.weightDecay });
  const scheduler = makeScheduler(opt, config, totalSteps, stepsPerEpoch);
  const { workers: _workers, ...result } = config; // the worker count does not change the batches
  const { arch, width, numClasses, mean, std } = model.config;
  const adversarial = config.mode === "fast-at" ? run.adversarial! : null;

  let history: EpochRecord[];
  try {
    history = await runTrainLoop<ArrayBatch, { valAccuracy: number | null }>({
      label: `train ${model.arch}`, epochs: config.epochs, batches: loader, module: model, optimizer: opt, scheduler, recordLr: true,
      settings: { arch, width, numClasses, mean, std, ...result, ...dataIdentity(data.train, run.dataset) },
      finishedFile: "model.safetensors",
      ctx: run,
      // The epoch's draws stay on the global generator, reseeded each epoch: a model's own draws
      // (dropout) cannot take a generator and share one stream with Fast AT's random starts, and
      // later code may read the state an epoch leaves, so splitting the streams would change numbers.
      beginEpoch: (epoch) => manualSeed(seedFor.epochDraws(config.seed, epoch)),
      step: (batch) => tidy(() => {
        const b = toTensorBatch(batch);
        const x = onDevice(b.x, device);
        const y = onDevice(b.y, device);
        const input = adversarial ? adversarial(model, x, y) : x;
        opt.zeroGrad();
        const logits = model.forward(input);
        const l = F.crossEntropy(logits, y);
        l.backward();
        opt.step();
        return { loss: l.item(), n: batch.labels.length, correct: logits.argmax(1).eq(y).sum().item() };
      }),
      validate: () => ({ valAccuracy: data.val ? accuracy((x) => model.forward(x), data.val, null, { device }) : null }),
      onEpochEnd: run.onEpochEnd as ((r: LoopRecord<{ valAccuracy: number | null }>) => void) | undefined,
    }) as EpochRecord[];
  } finally {
    opt.dispose();
    await loader.close(); // idle loader workers would otherwise live until the process exits
  }
  model.eval();
  const last = history[history.length - 1];
  const info = saveClassifier(run.outDir, model, {
    dataset: run.dataset, classes: run.classes ?? data.train.classes, accuracy: last?.valAccuracy ?? undefined, seed: config.seed,
    training: config.mode, epochs: config.epochs,
  });
  rmSync(loopFiles(run.outDir).checkpoint, { force: true });
  return { info, history };
}
