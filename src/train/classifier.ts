/**
 * Training a target classifier: SGD+momentum or Adam, cosine/step/cyclic schedules, augmentation
 * from the data layer, validation accuracy per epoch, atomic checkpoints with resume, progress, a
 * JSON line per epoch, and fast adversarial training (Wong, Rice & Kolter 2020: FGSM from a random
 * start with step 1.25ε and a cyclic learning rate; "Fast AT" in the paper's tables).
 */
import { appendFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { NO_AUGMENTATION, type Augmentation } from "../data/augment.js";
import { BatchLoader } from "../data/loader.js";
import { toTensorBatch } from "../data/tensors.js";
import type { ImageSet } from "../data/types.js";
import { F, manualSeed, noGrad, optim, randLike, tidy, valueAndGrad, type Tensor } from "../torch/index.js";
import { loadCheckpoint, saveCheckpoint, withoutPrefix, withPrefix } from "./checkpoint.js";
import { Interrupted, interruptRequested, watchInterrupt } from "../core/interrupt.js";
import { Progress } from "../core/progress.js";
import { ensureDir } from "../core/fs.js";
import { accuracy } from "../models/evaluate.js";
import { saveClassifier, type ModelInfo } from "../models/io.js";
import type { SplitClassifier } from "../models/split.js";

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
  /** "fast-at" trains on FGSM examples from a random start (Wong et al. 2020). */
  mode: "standard" | "fast-at";
  /** Fast AT: l_inf radius and step (default 1.25 eps). */
  fastAtEps: number;
  fastAtAlpha?: number;
  seed: number;
  /** Loader worker threads (0 = build batches on the main thread). */
  workers: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 10, batchSize: 128, optimizer: "sgd", lr: 0.05, momentum: 0.9, weightDecay: 5e-4, schedule: "cosine",
  stepEpochs: 30, gamma: 0.1, augmentation: NO_AUGMENTATION, mode: "standard", fastAtEps: 8 / 255, seed: 0, workers: 1,
};

export interface EpochRecord {
  epoch: number;
  loss: number;
  trainAccuracy: number;
  valAccuracy: number | null;
  lr: number;
  imagesPerSecond: number;
  seconds: number;
}

export interface TrainRun {
  /** Folder for model.safetensors, model.json, checkpoint.safetensors and train-log.jsonl. */
  outDir: string;
  /** Continue from outDir/checkpoint.safetensors when it exists. */
  resume?: boolean;
  progress?: "bar" | "lines" | "none";
  /** Recorded in model.json. */
  dataset?: string;
  classes?: string[];
  /** Called after each epoch's checkpoint is written. */
  onEpochEnd?: (record: EpochRecord) => void;
}

interface CheckpointState {
  epoch: number;
  stepCount: number;
  history: EpochRecord[];
  arch: string;
  config: TrainConfig;
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

/** FGSM from a uniform random start inside the ε-ball (Wong et al. 2020), clipped to [0, 1]. */
function fastAtExample(model: SplitClassifier, x: Tensor, y: Tensor, eps: number, alpha: number): Tensor {
  return tidy(() => {
    const start = randLike(x).mul(2 * eps).sub(eps).add(x).clamp(0, 1);
    const { grad } = valueAndGrad((z) => F.crossEntropy(model.forward(z), y), start);
    return noGrad(() => start.add(grad.sign(), alpha).clamp(x.sub(eps), x.add(eps)).clamp(0, 1));
  });
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
 * `run.outDir` (model.safetensors + model.json). Resumable; Ctrl-C stops after the current batch
 * with the last epoch's checkpoint intact.
 */
export async function trainClassifier(model: SplitClassifier, data: { train: ImageSet; val?: ImageSet },
  overrides: Partial<TrainConfig>, run: TrainRun): Promise<{ info: ModelInfo; history: EpochRecord[] }> {
  const config: TrainConfig = { ...DEFAULT_TRAIN_CONFIG, ...overrides };
  check(config);
  const [c, h, w] = model.inputShape;
  const [, dc, dh, dw] = data.train.shape;
  if (c !== dc || h !== dh || w !== dw) throw new RangeError(`training data is ${dc}x${dh}x${dw} but ${model.arch} expects ${c}x${h}x${w}`);
  if (data.train.classes.length > model.numClasses) throw new RangeError(`training data has ${data.train.classes.length} classes but the model has ${model.numClasses} outputs`);
  ensureDir(run.outDir, "the trained model");
  const ckptPath = join(run.outDir, "checkpoint.safetensors");
  const logPath = join(run.outDir, "train-log.jsonl");

  const loader = new BatchLoader(data.train, { batchSize: config.batchSize, seed: config.seed, augmentation: config.augmentation,
    workers: config.workers, dropLast: data.train.shape[0] > config.batchSize });
  const stepsPerEpoch = loader.batchesPerEpoch;
  const totalSteps = stepsPerEpoch * config.epochs;
  const params = model.parameters();
  const opt = config.optimizer === "sgd"
    ? new optim.SGD(params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay, nesterov: config.momentum > 0 })
    : new optim.Adam(params, { lr: config.lr, weightDecay: config.weightDecay });
  const scheduler = makeScheduler(opt, config, totalSteps, stepsPerEpoch);

  let startEpoch = 0;
  let history: EpochRecord[] = [];
  if (run.resume) {
    const ckpt = loadCheckpoint<CheckpointState>(ckptPath);
    if (ckpt) {
      try {
        if (ckpt.state.arch !== model.arch) throw new Error(`${ckptPath}: checkpoint is for ${ckpt.state.arch}, not ${model.arch}`);
        model.loadStateDict(withoutPrefix(ckpt.tensors, "model"));
        opt.loadStateDict(withoutPrefix(ckpt.tensors, "optim"), ckpt.state.stepCount);
      } finally {
        for (const t of ckpt.tensors.values()) t.dispose();
      }
      startEpoch = ckpt.state.epoch;
      history = ckpt.state.history;
      if (scheduler) {
        scheduler.lastStep = ckpt.state.stepCount;
        opt.lr = scheduler.lrAt(ckpt.state.stepCount);
      }
    }
  } else if (existsSync(logPath)) rmSync(logPath);

  const progress = new Progress({ label: `train ${model.arch}`, total: totalSteps, mode: run.progress });
  const unwatch = watchInterrupt();
  const alpha = config.fastAtAlpha ?? 1.25 * config.fastAtEps;
  try {
    for (let epoch = startEpoch; epoch < config.epochs; epoch++) {
      manualSeed(config.seed * 1000 + epoch);
      model.train();
      const t0 = performance.now();
      let seen = 0;
      let lossSum = 0;
      let correct = 0;
      let b = 0;
      for await (const batch of loader.epoch(epoch)) {
        const [loss, right] = tidy(() => {
          const { x, y } = toTensorBatch(batch);
          const input = config.mode === "fast-at" ? fastAtExample(model, x, y, config.fastAtEps, alpha) : x;
          opt.zeroGrad();
          const logits = model.forward(input);
          const l = F.crossEntropy(logits, y);
          l.backward();
          opt.step();
          scheduler?.step();
          return [l.item(), logits.argmax(1).eq(y).sum().item()];
        });
        const n = batch.labels.length;
        seen += n;
        lossSum += loss * n;
        correct += right;
        b += 1;
        const secs = (performance.now() - t0) / 1000;
        progress.update(epoch * stepsPerEpoch + b, { epoch: `${epoch + 1}/${config.epochs}`, loss: lossSum / seen, acc: correct / seen, "img/s": seen / secs });
        if (interruptRequested()) throw new Interrupted(`training ${model.arch}`);
      }
      model.eval();
      const valAccuracy = data.val ? accuracy((x) => model.forward(x), data.val) : null;
      const seconds = (performance.now() - t0) / 1000;
      const record: EpochRecord = { epoch: epoch + 1, loss: lossSum / seen, trainAccuracy: correct / seen, valAccuracy, lr: opt.lr,
        imagesPerSecond: seen / seconds, seconds };
      history.push(record);
      appendFileSync(logPath, `${JSON.stringify(record)}\n`);
      progress.log(`epoch ${record.epoch}/${config.epochs}: loss ${record.loss.toFixed(4)}, train acc ${(100 * record.trainAccuracy).toFixed(2)} %` +
        (valAccuracy === null ? "" : `, val acc ${(100 * valAccuracy).toFixed(2)} %`) + `, ${record.imagesPerSecond.toFixed(0)} img/s`);
      const tensors = new Map([...withPrefix(model.stateDict(), "model"), ...withPrefix(opt.stateDict(), "optim")]);
      saveCheckpoint(ckptPath, tensors, { epoch: epoch + 1, stepCount: opt.stepCount, history, arch: model.arch, config } satisfies CheckpointState);
      run.onEpochEnd?.(record);
    }
  } finally {
    progress.stop();
    unwatch();
    opt.dispose();
    await loader.close(); // idle loader workers would otherwise live until the process exits
  }
  model.eval();
  const last = history[history.length - 1];
  const info = saveClassifier(run.outDir, model, {
    dataset: run.dataset, classes: run.classes ?? data.train.classes, accuracy: last?.valAccuracy ?? undefined, seed: config.seed,
    training: config.mode, epochs: config.epochs,
  });
  rmSync(ckptPath, { force: true });
  return { info, history };
}
