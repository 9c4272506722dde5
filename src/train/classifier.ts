/**
 * Training a target classifier on the shared loop (./loop.ts): SGD+momentum or Adam,
 * cosine/step/cyclic schedules, augmentation from the data layer, validation accuracy per epoch,
 * and optional early stopping on a measure taken after each epoch.
 * Adversarial training ("fast-at": FGSM from a random start, Wong, Rice & Kolter 2020) needs the
 * attacks, which sit above this layer: `trainModel` in defenses/fast-at.ts passes them in as
 * `run.adversarial`, and its catastrophic-overfitting check (PGD accuracy) as `run.earlyStopping`.
 */
import { rmSync } from "node:fs";
import type { RunContext } from "../core/context.js";
import { ensureDir } from "../core/fs.js";
import { NO_AUGMENTATION, type Augmentation } from "../data/augment.js";
import { BatchLoader, type ArrayBatch } from "../data/loader.js";
import { toTensorBatch } from "../data/tensors.js";
import type { ImageSet } from "../data/types.js";
import { accuracyOverRanks } from "../models/evaluate-ranks.js";
import { saveClassifier, type ModelInfo } from "../models/io.js";
import type { Classifier } from "../models/classifier.js";
import type { SplitClassifier } from "../models/split.js";
import { F, Generator, keep, noGrad, optim, randnLike, tidy, tensor, type Tensor } from "../torch/index.js";
import { seedFor } from "../core/seeds.js";
import { localRows } from "../distributed/data-parallel.js";
import { perRankSeed } from "../distributed/default-group.js";
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
  /**
   * cosine (per batch, to 0), step (x gamma every stepEpochs), cyclic (one cycle per run, per
   * batch: 0 linearly up to lr at the middle of training, then linearly down to 0, PyTorch's
   * CyclicLR as Wong et al.'s code sets it; always used in mode "fast-at"), none.
   */
  schedule: "cosine" | "step" | "cyclic" | "none";
  stepEpochs: number;
  gamma: number;
  augmentation: Augmentation;
  /**
   * "fast-at" trains on FGSM examples from a random start (Wong et al. 2020; see defenses/fast-at.ts),
   * "pgd-at" on PGD examples (Madry et al. 2018; see defenses/pgd-at.ts), both given as
   * `run.adversarial`; "gaussian" on x + N(0, noiseSigma²), unclipped (Cohen et al. 2019's base
   * classifier for randomized smoothing).
   */
  mode: "standard" | "fast-at" | "pgd-at" | "gaussian";
  /** Mode "gaussian": the noise's standard deviation on the [0, 1] scale. */
  noiseSigma?: number;
  /** Mode "pgd-at": PGD steps per batch (recorded with the run's settings; the inputs come from `run.adversarial`). */
  pgdSteps?: number;
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

export type EpochRecord = LoopRecord<{ trainAccuracy: number; valAccuracy: number | null; lr: number } & Record<string, number | null>>;

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
  /** Measure after each epoch and stop when it collapses (Fast AT's PGD check). */
  earlyStopping?: EarlyStopping;
}

/**
 * Early stopping on a measure taken after each epoch (higher is better): training stops after the
 * first epoch whose measure falls more than `maxDrop` below the best earlier epoch's, and the model
 * keeps the weights of that best epoch (the latest one among equals). Without a stop the last
 * epoch's weights are kept. Wong et al.'s code (`--early-stop`) measures PGD accuracy on a
 * training batch and stops on a fall of more than 0.2 from the previous epoch, keeping that
 * previous epoch; measuring against the best epoch instead also catches a collapse spread over
 * two epochs, and is the same rule whenever accuracy had been rising.
 */
export interface EarlyStopping {
  /** Key of the measure in each epoch's record, e.g. "pgdAccuracy". */
  metric: string;
  /** Measures the model after an epoch, in eval mode (must not change the training's random stream). */
  measure: (model: Classifier) => number;
  /** The largest fall below the best epoch's measure that does not stop training. */
  maxDrop: number;
  /** Everything that decides the measure, recorded with the run's settings (a resume with others is refused). */
  settings: Record<string, unknown>;
}

/**
 * The early-stopping rule of {@link EarlyStopping} over per-epoch measures (epoch 1 first):
 * whether training stops after the last epoch, and the index of the epoch whose weights are kept
 * (the best one before the last when it stops, else the best overall, latest among equals).
 */
export function earlyStopDecision(values: readonly number[], maxDrop: number): { stop: boolean; best: number } {
  if (values.length === 0) throw new RangeError("earlyStopDecision: expected at least one epoch's measure");
  const bestOf = (n: number) => {
    let best = 0;
    for (let i = 1; i < n; i++) if (values[i] >= values[best]) best = i;
    return best;
  };
  const last = values.length - 1;
  if (last > 0) {
    const before = bestOf(last);
    if (values[last] < values[before] - maxDrop) return { stop: true, best: before };
  }
  return { stop: false, best: bestOf(values.length) };
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
  if (!["standard", "fast-at", "pgd-at", "gaussian"].includes(config.mode)) throw new TypeError(`mode: expected "standard", "fast-at", "pgd-at" or "gaussian", got ${JSON.stringify(config.mode)}`);
  if (config.mode === "gaussian" && !(typeof config.noiseSigma === "number" && config.noiseSigma > 0 && Number.isFinite(config.noiseSigma))) {
    throw new RangeError(`noiseSigma: expected a positive noise level for mode "gaussian", got ${config.noiseSigma}`);
  }
  if (config.mode === "fast-at" && !(config.fastAtEps > 0 && config.fastAtEps <= 1)) throw new RangeError(`fastAtEps: expected a number in (0, 1], got ${config.fastAtEps}`);
}

function checkEarlyStopping(e: EarlyStopping): void {
  if (typeof e.metric !== "string" || e.metric.length === 0) throw new TypeError(`earlyStopping.metric: expected a record key, got ${JSON.stringify(e.metric)}`);
  if (["loss", "epoch", "trainAccuracy", "valAccuracy", "lr", "seconds", "imagesPerSecond"].includes(e.metric)) {
    throw new TypeError(`earlyStopping.metric: expected a key of its own, got ${JSON.stringify(e.metric)} (the record already has it)`);
  }
  if (!(e.maxDrop >= 0)) throw new RangeError(`earlyStopping.maxDrop: expected a non-negative number, got ${e.maxDrop}`);
}

/**
 * The best epoch's weights for {@link EarlyStopping}, kept in memory and in each checkpoint (so a
 * resumed run still has them): the weights themselves, plus the epoch and its measure.
 */
class BestWeights {
  epoch = 0;
  value = -Infinity;
  weights = new Map<string, Tensor>();
  /** Keeps a copy of the model's weights as epoch `epoch`'s. */
  take(model: SplitClassifier, epoch: number, value: number): void {
    this.dispose();
    this.weights = noGrad(() => new Map([...model.stateDict()].map(([k, t]) => [k, keep(t.detach().clone())] as [string, Tensor])));
    this.epoch = epoch;
    this.value = value;
  }
  /** For the checkpoint: the weights under "weights." and the epoch and measure as float64 scalars. */
  save(): Map<string, Tensor> {
    if (this.epoch === 0) return new Map();
    const meta = keep(tensor(Float64Array.of(this.epoch, this.value), [2], "float64"));
    this.#meta?.dispose();
    this.#meta = meta;
    return new Map([...[...this.weights].map(([k, t]) => [`weights.${k}`, t] as [string, Tensor]), ["meta", meta]]);
  }
  load(tensors: Map<string, Tensor>): void {
    const meta = tensors.get("meta");
    if (!meta) return;
    const [epoch, value] = meta.toArray() as number[];
    this.dispose();
    this.weights = noGrad(() => new Map([...tensors].filter(([k]) => k.startsWith("weights."))
      .map(([k, t]) => [k.slice("weights.".length), keep(t.clone())] as [string, Tensor])));
    this.epoch = epoch;
    this.value = value;
  }
  #meta: Tensor | undefined;
  dispose(): void {
    for (const t of this.weights.values()) t.dispose();
    this.weights = new Map();
    this.#meta?.dispose();
    this.#meta = undefined;
  }
}

/**
 * The learning-rate schedule of a run of `totalSteps` batches, stepped once per batch; mode
 * "fast-at" always takes the cyclic one (Wong et al.: step i of T trains at lr·(1 − |2i/T − 1|)).
 */
export function learningRateScheduler(opt: optim.Optimizer, config: TrainConfig, totalSteps: number, stepsPerEpoch: number): optim.LRScheduler | null {
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
  if ((config.mode === "fast-at" || config.mode === "pgd-at") && !run.adversarial) {
    throw new TypeError(`mode "${config.mode}" needs adversarial inputs: train with trainModel (defenses/fast-at.ts), which supplies them`);
  }
  const stopping = run.earlyStopping;
  if (stopping) checkEarlyStopping(stopping);
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
  const scheduler = learningRateScheduler(opt, config, totalSteps, stepsPerEpoch);
  const { workers: _workers, ...result } = config; // the worker count does not change the batches
  const { arch, width, numClasses, mean, std } = model.config;
  const adversarial = config.mode === "fast-at" || config.mode === "pgd-at" ? run.adversarial!
    : config.mode === "gaussian" ? gaussianInputs(config.noiseSigma!) : null;

  const epochDraws: { generator: Generator | null } = { generator: null };
  const best = new BestWeights();
  const measuresOf = (h: readonly Record<string, unknown>[]) => h.map((r) => r[stopping!.metric] as number);
  let history: EpochRecord[];
  try {
    history = await runTrainLoop<ArrayBatch, { valAccuracy: number | null }>({
      label: `train ${model.arch}`, epochs: config.epochs, batches: loader, module: model, optimizer: opt, scheduler, recordLr: true,
      settings: { arch, width, numClasses, mean, std, ...result, ...dataIdentity(data.train, run.dataset),
        ...(stopping ? { earlyStopping: { metric: stopping.metric, maxDrop: stopping.maxDrop, ...stopping.settings } } : {}) },
      finishedFile: "model.safetensors",
      ctx: run,
      // The epoch's draws (dropout masks, Fast AT's random starts) come from one generator per
      // epoch, on the model's device, in the order the steps make them.
      beginEpoch: (epoch) => {
        epochDraws.generator?.dispose();
        epochDraws.generator = new Generator(perRankSeed(seedFor.epochDraws(config.seed, epoch)), device);
        model.useGenerator(epochDraws.generator);
      },
      step: (batch) => tidy(() => {
        const b = toTensorBatch(batch);
        const x = onDevice(localRows(b.x), device);
        const y = onDevice(localRows(b.y), device);
        const input = adversarial ? adversarial(model, x, y, epochDraws.generator!) : x;
        opt.zeroGrad();
        const logits = model.forward(input);
        const l = F.crossEntropy(logits, y);
        l.backward();
        opt.step();
        return { loss: l.item(), n: batch.labels.length, correct: logits.argmax(1).eq(y).sum().item() };
      }),
      validate: (epoch) => {
        const valAccuracy = data.val ? accuracyOverRanks((x) => model.forward(x), data.val, null, { device }) : null;
        if (!stopping) return { valAccuracy };
        const value = stopping.measure(model);
        // A collapsed epoch never becomes the best; any other epoch at least as good as the best does.
        if (!(value < best.value - stopping.maxDrop) && value >= best.value) best.take(model, epoch + 1, value);
        return { valAccuracy, [stopping.metric]: value };
      },
      stopAfter: stopping ? (h) => earlyStopDecision(measuresOf(h), stopping.maxDrop).stop : undefined,
      extraState: stopping ? { save: () => best.save(), load: (t) => best.load(t) } : undefined,
      onEpochEnd: run.onEpochEnd as ((r: LoopRecord<{ valAccuracy: number | null }>) => void) | undefined,
    }) as EpochRecord[];
    model.eval();
    let kept = history[history.length - 1];
    if (stopping && earlyStopDecision(measuresOf(history), stopping.maxDrop).stop) {
      if (best.epoch === 0) throw new Error(`train ${model.arch}: stopped early but the best epoch's weights are missing from the checkpoint`);
      model.loadStateDict(best.weights);
      kept = history[best.epoch - 1];
      (run.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(
        `train ${model.arch}: ${stopping.metric} fell from ${kept[stopping.metric]} (epoch ${best.epoch}) to ${history[history.length - 1][stopping.metric]} ` +
        `(epoch ${history.length}); keeping epoch ${best.epoch}'s weights`);
    }
    const info = saveClassifier(run.outDir, model, {
      dataset: run.dataset, classes: run.classes ?? data.train.classes, accuracy: kept?.valAccuracy ?? undefined, seed: config.seed,
      training: config.mode, epochs: config.epochs,
      ...(stopping ? { epochsTrained: history.length, keptEpoch: kept?.epoch } : {}),
    });
    rmSync(loopFiles(run.outDir).checkpoint, { force: true });
    return { info, history };
  } finally {
    model.useGenerator(undefined);
    epochDraws.generator?.dispose();
    best.dispose();
    opt.dispose();
    await loader.close(); // idle loader workers would otherwise live until the process exits
  }
}

/**
 * Gaussian data augmentation for a smoothing base classifier (Cohen et al. 2019): x + N(0, σ²I),
 * not clipped, drawn from the epoch's generator.
 */
export function gaussianInputs(sigma: number): AdversarialInputs {
  return (_model, x, _y, generator) => tidy(() => x.add(randnLike(x, { generator }).mul(sigma)));
}
