/**
 * The epoch loop shared by IDFR's training algorithms: synchronous steps over index batches,
 * validation after each epoch, a JSON line per epoch, atomic checkpoints of the trained module and
 * its optimizer, resume, progress and Ctrl-C.
 */
import { appendFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { nn, optim } from "../torch/index.js";
import { loadCheckpoint, saveCheckpoint, withoutPrefix, withPrefix } from "./checkpoint.js";
import { Interrupted, interruptRequested, watchInterrupt } from "../core/interrupt.js";
import { Progress } from "../core/progress.js";

export interface StepResult {
  loss: number;
  /** Rows in the step. */
  n: number;
}

export interface LoopRecord {
  epoch: number;
  loss: number;
  imagesPerSecond: number;
  seconds: number;
  [metric: string]: number;
}

export interface TrainLoopOptions {
  label: string;
  epochs: number;
  stepsPerEpoch: number;
  module: nn.Module;
  optimizer: optim.Optimizer;
  /** Runs one training step (synchronous: tensors are freed inside). */
  step: (epoch: number, index: number) => StepResult;
  /** Metrics after each epoch, e.g. { cleanAcc, advAcc }. */
  validate?: (epoch: number) => Record<string, number>;
  /** Called at the start of each epoch (e.g. to reseed or redraw pairs). */
  beginEpoch?: (epoch: number) => void;
  /** Where checkpoint and log go; without it nothing is written. */
  outDir?: string;
  /** File stem of the checkpoint and log ("id" -> id-checkpoint.safetensors, id-log.jsonl). */
  name: string;
  resume?: boolean;
  progress?: "bar" | "lines" | "none";
  /** Recorded in the checkpoint; a resume with a different value is refused. */
  fingerprint: string;
}

interface LoopState {
  epoch: number;
  stepCount: number;
  history: LoopRecord[];
  fingerprint: string;
}

export function runTrainLoop(o: TrainLoopOptions): LoopRecord[] {
  const ckpt = o.outDir ? join(o.outDir, `${o.name}-checkpoint.safetensors`) : null;
  const log = o.outDir ? join(o.outDir, `${o.name}-log.jsonl`) : null;
  if (o.outDir) mkdirSync(o.outDir, { recursive: true });
  let start = 0;
  let history: LoopRecord[] = [];
  if (ckpt && o.resume) {
    const saved = loadCheckpoint<LoopState>(ckpt);
    if (saved) {
      try {
        if (saved.state.fingerprint !== o.fingerprint) {
          throw new Error(`${ckpt}: the checkpoint was made with other settings; delete it or rerun without --resume`);
        }
        o.module.loadStateDict(withoutPrefix(saved.tensors, "module"));
        o.optimizer.loadStateDict(withoutPrefix(saved.tensors, "optim"), saved.state.stepCount);
      } finally {
        for (const t of saved.tensors.values()) t.dispose();
      }
      start = saved.state.epoch;
      history = saved.state.history;
    }
  } else if (log) rmSync(log, { force: true });

  const progress = new Progress({ label: o.label, total: o.epochs * o.stepsPerEpoch, mode: o.progress });
  // The last validation metrics ride along in the progress line (e.g. clean and adversarial accuracy).
  let shown: Record<string, number> = {};
  const unwatch = watchInterrupt();
  try {
    for (let epoch = start; epoch < o.epochs; epoch++) {
      o.beginEpoch?.(epoch);
      o.module.train();
      const t0 = performance.now();
      let seen = 0;
      let lossSum = 0;
      for (let b = 0; b < o.stepsPerEpoch; b++) {
        const { loss, n } = o.step(epoch, b);
        if (!Number.isFinite(loss)) throw new Error(`${o.label}: the loss became ${loss} at epoch ${epoch + 1}, step ${b + 1}; lower the learning rate`);
        seen += n;
        lossSum += loss * n;
        progress.update(epoch * o.stepsPerEpoch + b + 1, { epoch: `${epoch + 1}/${o.epochs}`, loss: lossSum / seen, ...shown, "img/s": seen / ((performance.now() - t0) / 1000) });
        if (interruptRequested()) throw new Interrupted(o.label);
      }
      o.module.eval();
      const metrics = o.validate?.(epoch) ?? {};
      shown = Object.fromEntries(Object.entries(metrics).map(([k, v]) => [`val ${k}`, v]));
      const seconds = (performance.now() - t0) / 1000;
      const record: LoopRecord = { epoch: epoch + 1, loss: lossSum / seen, ...metrics, imagesPerSecond: seen / seconds, seconds };
      history.push(record);
      progress.log(`${o.label} epoch ${epoch + 1}/${o.epochs}: ` + Object.entries(record).filter(([k]) => k !== "epoch")
        .map(([k, v]) => `${k} ${k.endsWith("Acc") ? (100 * v).toFixed(2) + " %" : v.toFixed(k === "loss" ? 4 : 1)}`).join(", "));
      if (log) appendFileSync(log, `${JSON.stringify(record)}\n`);
      if (ckpt) {
        const tensors = new Map([...withPrefix(o.module.stateDict(), "module"), ...withPrefix(o.optimizer.stateDict(), "optim")]);
        saveCheckpoint(ckpt, tensors, { epoch: epoch + 1, stepCount: o.optimizer.stepCount, history, fingerprint: o.fingerprint } satisfies LoopState);
      }
    }
  } finally {
    progress.stop();
    unwatch();
  }
  o.module.eval();
  return history;
}

/** Removes a finished loop's checkpoint (its result has been saved elsewhere). */
export function clearCheckpoint(outDir: string | undefined, name: string): void {
  if (outDir) rmSync(join(outDir, `${name}-checkpoint.safetensors`), { force: true });
}
