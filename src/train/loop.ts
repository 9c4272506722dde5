/**
 * The one training loop: target classifiers (standard and adversarial), and IDFR's Algorithm 1 (ID)
 * and Algorithm 2 (FR) all run through it. The caller brings a batch source, a synchronous step and
 * optional epoch and validation hooks; the loop does the rest the same way for all of them:
 * checkpoints (model + optimizer + schedule + history in one atomic safetensors file after every
 * epoch), a JSON line per epoch, resume with a check that the settings are the same, progress,
 * Ctrl-C between steps, and a guard against a loss that is no longer finite.
 */
import { appendFileSync, existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic, removeStaleTempFiles } from "../core/atomic-write.js";
import { engineSettings, type EngineSettings, type RunContext } from "../core/context.js";
import { ensureDir } from "../core/fs.js";
import { Interrupted, interruptRequested, watchInterrupt, yieldToEventLoop } from "../core/interrupt.js";
import { Progress } from "../core/progress.js";
import type { nn, optim, Tensor } from "../torch/index.js";
import type { BatchSource } from "./batches.js";
import { shareStartingPoint, startDataParallel } from "../distributed/training.js";
import { checkSameSettings, loadCheckpoint, saveCheckpoint, withoutPrefix, withPrefix, type TrainingSettings } from "./checkpoint.js";

export interface StepResult {
  loss: number;
  /** Rows in the step. */
  n: number;
  /** Rows classified correctly, when the step knows (the epoch record then has `trainAccuracy`). */
  correct?: number;
}

/** One line of the log: the epoch, its mean loss, any metrics, and its speed. */
export type LoopRecord<M extends object = Record<string, number>> = {
  epoch: number;
  loss: number;
  imagesPerSecond: number;
  seconds: number;
} & M;

/** Files of a run in its output folder. */
export interface LoopFiles {
  checkpoint: string;
  log: string;
}

export interface TrainLoopOptions<B = number, M extends object = Record<string, number>> {
  /** Shown in progress and messages, e.g. "train ID". */
  label: string;
  /**
   * File stem of the checkpoint and log: "id" -> id-checkpoint.safetensors, id-log.jsonl; without
   * it checkpoint.safetensors and train-log.jsonl.
   */
  name?: string;
  epochs: number;
  /** The batches of each epoch (a BatchLoader, or {@link indexBatches}). */
  batches: BatchSource<B>;
  /** The module being trained (checkpointed; train mode during steps, eval mode after). */
  module: nn.Module;
  optimizer: optim.Optimizer;
  /** Stepped once per step, after `step`; restored on resume. */
  scheduler?: optim.LRScheduler | null;
  /** One training step (synchronous: tensors are freed inside). */
  step: (batch: B, epoch: number, index: number) => StepResult;
  /** Called at the start of each epoch (e.g. to reseed or redraw pairs). */
  beginEpoch?: (epoch: number) => void;
  /** Metrics after each epoch, e.g. { cleanAcc, advAcc }. */
  validate?: (epoch: number) => M;
  /** Record the learning rate at the end of each epoch as `lr`. */
  recordLr?: boolean;
  /** Everything that makes the run what it is; a resume with any other value is refused, naming it. */
  settings: TrainingSettings;
  /** A file whose presence means the training finished (e.g. model.safetensors): resuming it is refused. */
  finishedFile?: string;
  /** Where (outDir; nothing is written without it), whether to resume, how to report, when to stop. */
  ctx?: Partial<RunContext>;
  /** Called after each epoch's checkpoint is written. */
  onEpochEnd?: (record: LoopRecord<M>) => void;
  /**
   * Early stopping: asked after each epoch's checkpoint with the history so far (that epoch last);
   * true ends the training there. A function of the history alone, so a resumed run reaches the
   * same decision from the checkpoint and does not train on.
   */
  stopAfter?: (history: readonly LoopRecord<M>[]) => boolean;
  /**
   * Tensors checkpointed beside the module's and the optimizer's (e.g. the best weights so far):
   * `save` lends them for the write; `load` gets them back on resume and must copy what it keeps.
   */
  extraState?: { save: () => Map<string, Tensor>; load: (tensors: Map<string, Tensor>) => void };
}

interface LoopState<M extends object> {
  epoch: number;
  stepCount: number;
  history: LoopRecord<M>[];
  settings: TrainingSettings;
  /**
   * The engine settings the epochs so far ran under, when the context gives them. Not compared on
   * resume (a resume on another machine is allowed), but a change is logged: the numbers will then
   * differ in the last bits from an uninterrupted run.
   */
  engine?: EngineSettings;
}

/** The checkpoint and log paths of a run named `name` in `outDir`. */
export function loopFiles(outDir: string, name?: string): LoopFiles {
  return name
    ? { checkpoint: join(outDir, `${name}-checkpoint.safetensors`), log: join(outDir, `${name}-log.jsonl`) }
    : { checkpoint: join(outDir, "checkpoint.safetensors"), log: join(outDir, "train-log.jsonl") };
}

/** Runs the loop to the end (or from a checkpoint to the end) and returns one record per epoch. */
export async function runTrainLoop<B, M extends object = Record<string, number>>(o: TrainLoopOptions<B, M>): Promise<LoopRecord<M>[]> {
  const ctx = o.ctx ?? {};
  const log = ctx.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stepsPerEpoch = o.batches.batchesPerEpoch;
  if (!Number.isInteger(o.epochs) || o.epochs < 1) throw new TypeError(`epochs: expected a positive integer, got ${o.epochs}`);
  if (stepsPerEpoch < 1) throw new RangeError(`${o.label}: the training set is empty`);
  // With WORLD_SIZE > 1 every rank trains its share of each batch; rank 0 alone reads and writes files.
  const dp = startDataParallel(o.module);
  const files = ctx.outDir && (!dp || dp.rank === 0) ? loopFiles(ctx.outDir, o.name) : null;
  const engine = ctx.deterministic === undefined ? undefined : engineSettings({ deterministic: ctx.deterministic, threads: ctx.threads });
  let start = 0;
  let history: LoopRecord<M>[] = [];
  if (ctx.outDir && files) {
    ensureDir(ctx.outDir, `${o.label}'s checkpoints and log`);
    const removed = removeStaleTempFiles(ctx.outDir);
    if (removed.length > 0) log(`removed ${removed.length} temp file(s) left in ${ctx.outDir} by a write that was killed`);
    if (ctx.resume) {
      const resumed = resume(o, files, ctx.outDir, log);
      if (resumed) ({ epoch: start, history } = resumed);
      if (resumed && o.stopAfter?.(history)) start = o.epochs; // it stopped early before the interruption
    } else {
      // A run without --resume starts over: an older checkpoint or log would describe another run.
      rmSync(files.checkpoint, { force: true });
      rmSync(files.log, { force: true });
    }
  }

  if (dp) {
    const shared = shareStartingPoint(dp, { epoch: start, history, stepCount: o.optimizer.stepCount }, o.optimizer, o.extraState);
    ({ epoch: start, history } = shared);
    if (o.scheduler && dp.rank !== 0 && shared.stepCount > 0) {
      o.scheduler.lastStep = shared.stepCount;
      o.optimizer.lr = o.scheduler.lrAt(shared.stepCount);
    }
  }
  const progress = new Progress({ label: o.label, total: o.epochs * stepsPerEpoch, mode: files || !dp ? ctx.progress : "none" });
  // The last validation metrics ride along in the progress line (e.g. clean and adversarial accuracy).
  let shown: Record<string, number | string> = {};
  const unwatch = watchInterrupt();
  const detach = dp?.attach(o.optimizer);
  const stopRequested = () => interruptRequested() || ctx.signal?.aborted === true;
  const lastSaved = () => (files && history.length > 0 ? history[history.length - 1].epoch : 0);
  try {
    for (let epoch = start; epoch < o.epochs; epoch++) {
      o.beginEpoch?.(epoch);
      o.module.train();
      const t0 = performance.now();
      let seen = 0;
      let lossSum = 0;
      let correct = 0;
      let counted = false;
      let b = 0;
      for await (const batch of o.batches.epoch(epoch)) {
        const r = dp ? dp.counted(o.step(batch, epoch, b)) : o.step(batch, epoch, b);
        o.scheduler?.step();
        b += 1;
        if (!Number.isFinite(r.loss)) {
          throw new Error(`${o.label}: the loss became ${r.loss} at epoch ${epoch + 1}, step ${b}; lower the learning rate` +
            (lastSaved() > 0 ? ` (the checkpoint of epoch ${lastSaved()} is intact)` : ""));
        }
        seen += r.n;
        lossSum += r.loss * r.n;
        if (r.correct !== undefined) {
          correct += r.correct;
          counted = true;
        }
        const accuracy: Record<string, number> = counted ? { acc: correct / seen } : {};
        progress.update(epoch * stepsPerEpoch + b, { epoch: `${epoch + 1}/${o.epochs}`, loss: lossSum / seen, ...accuracy, ...shown,
          "img/s": seen / ((performance.now() - t0) / 1000) });
        await yieldToEventLoop();
        if (stopRequested()) throw new Interrupted(o.label, interruptedDetail(files, lastSaved(), o.epochs, epoch, b));
      }
      if (dp) {
        dp.broadcastBuffers();
        [lossSum, seen, correct] = dp.sum([lossSum, seen, correct]);
      }
      o.module.eval();
      const metrics = o.validate?.(epoch) ?? ({} as M);
      shown = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [METRIC_NAMES[k] ?? (k.startsWith("val") ? k : `val ${k}`), v ?? "n/a"]));
      const seconds = (performance.now() - t0) / 1000;
      const record = {
        epoch: epoch + 1, loss: lossSum / seen, ...(counted ? { trainAccuracy: correct / seen } : {}), ...metrics,
        ...(o.recordLr ? { lr: o.optimizer.lr } : {}), imagesPerSecond: seen / seconds, seconds,
      } as LoopRecord<M>;
      history.push(record);
      if (files) {
        const tensors = new Map([...withPrefix(o.module.stateDict(), "module"), ...withPrefix(o.optimizer.stateDict(), "optim"),
          ...withPrefix(o.extraState?.save() ?? new Map<string, Tensor>(), "extra")]);
        saveCheckpoint(files.checkpoint, tensors, { epoch: epoch + 1, stepCount: o.optimizer.stepCount, history, settings: o.settings,
          ...(engine ? { engine } : {}) } satisfies LoopState<M>);
        appendFileSync(files.log, `${JSON.stringify(record)}\n`);
      }
      progress.log(`${o.label} epoch ${epoch + 1}/${o.epochs}: ${formatRecord(record)}`);
      o.onEpochEnd?.(record);
      if (o.stopAfter?.(history)) {
        progress.log(`${o.label}: stopped early after epoch ${epoch + 1} of ${o.epochs}`);
        break;
      }
    }
  } finally {
    progress.stop();
    unwatch();
    detach?.();
  }
  o.module.eval();
  return history;
}

/** Loads the checkpoint into the module, optimizer and schedule; null when there is none. */
function resume<B, M extends object>(o: TrainLoopOptions<B, M>, files: LoopFiles, outDir: string, log: (line: string) => void):
  { epoch: number; history: LoopRecord<M>[] } | null {
  const saved = loadCheckpoint<Partial<LoopState<M>>>(files.checkpoint);
  if (!saved) {
    if (o.finishedFile && existsSync(join(outDir, o.finishedFile))) {
      throw new Error(`nothing to resume in ${outDir}: the training finished; ${o.finishedFile} is there (rerun without --resume to train again)`);
    }
    log(`no checkpoint in ${outDir}; ${o.label} starts from the beginning`);
    return null;
  }
  try {
    const { epoch, stepCount, history, settings } = saved.state;
    if (settings === undefined || epoch === undefined || stepCount === undefined || history === undefined) {
      throw new Error(`checkpoint ${files.checkpoint} does not record its settings (an older idfr wrote it); rerun without --resume`);
    }
    const now = o.ctx?.deterministic === undefined ? undefined : engineSettings({ deterministic: o.ctx.deterministic, threads: o.ctx.threads });
    if (saved.state.engine && now && JSON.stringify(saved.state.engine) !== JSON.stringify(now)) {
      log(`${o.label}: resuming under other engine settings (${JSON.stringify(now)}, the checkpoint's ${JSON.stringify(saved.state.engine)}); ` +
        "the results may differ in the last bits from an uninterrupted run");
    }
    checkSameSettings(files.checkpoint, settings, o.settings);
    o.module.loadStateDict(withoutPrefix(saved.tensors, "module"));
    o.optimizer.loadStateDict(withoutPrefix(saved.tensors, "optim"), stepCount);
    o.extraState?.load(withoutPrefix(saved.tensors, "extra"));
    if (o.scheduler) {
      o.scheduler.lastStep = stepCount;
      o.optimizer.lr = o.scheduler.lrAt(stepCount);
    }
    // The log may hold epochs after the checkpoint (a kill between the two writes): rewrite it from
    // the checkpoint's history, so each epoch appears once.
    writeFileAtomic(files.log, history.map((r) => `${JSON.stringify(r)}\n`).join(""));
    log(`resuming ${o.label} from ${files.checkpoint}: epoch ${epoch} of ${o.epochs} done`);
    return { epoch, history };
  } finally {
    for (const t of saved.tensors.values()) t.dispose();
  }
}

function interruptedDetail(files: LoopFiles | null, savedEpoch: number, epochs: number, epoch: number, steps: number): string {
  const dropped = `the ${steps} step(s) of epoch ${epoch + 1} since then are not kept`;
  if (!files) return `nothing was saved (no output folder)`;
  if (savedEpoch === 0) return `stopped in epoch ${epoch + 1} before the first checkpoint; nothing to resume, rerun to start over`;
  return `the last checkpoint is intact: epoch ${savedEpoch} of ${epochs} in ${files.checkpoint} (${dropped}); rerun with --resume to continue`;
}

/** Short names of the classifier's metrics in progress and epoch lines. */
const METRIC_NAMES: Record<string, string> = { trainAccuracy: "train acc", valAccuracy: "val acc" };

/** "loss 0.1234, train acc 95.00 %, val acc n/a, lr 0.05, 1234 img/s, 12.3 s" */
function formatRecord(record: Record<string, unknown>): string {
  const names = METRIC_NAMES;
  return Object.entries(record).filter(([k]) => k !== "epoch").map(([k, v]) => {
    if (typeof v !== "number") return `${names[k] ?? k} n/a`;
    if (k === "imagesPerSecond") return `${v.toFixed(0)} img/s`;
    if (k === "seconds") return `${v.toFixed(1)} s`;
    if (k === "lr") return `lr ${v.toPrecision(3)}`;
    if (/acc/i.test(k)) return `${names[k] ?? k} ${(100 * v).toFixed(2)} %`;
    return `${names[k] ?? k} ${v.toFixed(4)}`;
  }).join(", ");
}

/** Removes a finished loop's checkpoint (its result has been saved elsewhere). */
export function clearCheckpoint(outDir: string | undefined, name?: string): void {
  if (outDir) rmSync(loopFiles(outDir, name).checkpoint, { force: true });
}
