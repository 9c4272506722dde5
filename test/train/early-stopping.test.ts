import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { allocLabels, allocPixels, type ImageSet } from "../../src/data/types.js";
import { loadClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import type { SplitClassifier } from "../../src/models/split.js";
import { manualSeed, nn, optim, type Tensor } from "../../src/torch/index.js";
import { DEFAULT_TRAIN_CONFIG, earlyStopDecision, learningRateScheduler, trainClassifier, type EarlyStopping, type TrainConfig } from "../../src/train/classifier.js";

/** 64 random 1x12x12 images of 4 classes (deterministic). */
function images(): ImageSet {
  const n = 64;
  const pixels = allocPixels(n * 144);
  let s = 12345;
  for (let i = 0; i < pixels.length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    pixels[i] = s % 256;
  }
  const labels = allocLabels(n, 4);
  for (let i = 0; i < n; i++) labels[i] = i % 4;
  return { images: pixels, labels, shape: [n, 1, 12, 12], classes: ["a", "b", "c", "d"] };
}
const train = images();
const model = () => {
  manualSeed(0);
  return createClassifier("small-cnn", { numClasses: 4, inputShape: [1, 12, 12], width: 0.25 });
};
const config: Partial<TrainConfig> = { epochs: 5, batchSize: 32, workers: 0, seed: 2, lr: 0.05 };
const quiet = { progress: "none" as const, log: () => {} };

/** An early-stopping rule whose measure after the k-th call (from `first`) is values[k]; a call past `limit` throws. */
function scripted(values: number[], first = 0, limit = values.length): EarlyStopping & { calls: number } {
  const rule = {
    calls: first,
    metric: "scripted", maxDrop: 0.2, settings: { script: values },
    measure: () => {
      if (rule.calls >= limit) throw new Error("measured more epochs than scripted");
      return values[rule.calls++];
    },
  };
  return rule;
}

const weightsOf = (m: { stateDict(): Map<string, Tensor> }) => new Map([...m.stateDict()].map(([k, t]) => [k, t.toArray() as number[]]));

describe("the cyclic learning rate (Wong et al.'s one cycle, per batch)", () => {
  it("rises linearly from 0 to the peak at mid-training and falls linearly back to 0", () => {
    const p = new nn.Linear(2, 2).parameters();
    const opt = new optim.SGD(p, { lr: 0.2 });
    const total = 40;
    // mode "fast-at" takes the cyclic schedule whatever `schedule` says.
    const sched = learningRateScheduler(opt, { ...DEFAULT_TRAIN_CONFIG, lr: 0.2, mode: "fast-at", schedule: "cosine" }, total, 8)!;
    const formula = (i: number) => 0.2 * (1 - Math.abs((2 * i) / total - 1));
    assert.equal(opt.lr, 0); // the first batch trains at lr 0, as PyTorch's CyclicLR starts
    for (const [i, want] of [[1, 0.01], [10, 0.1], [20, 0.2], [30, 0.1], [39, 0.01], [40, 0]] as const) {
      assert.ok(Math.abs(sched.lrAt(i) - want) < 1e-12, `step ${i}: ${sched.lrAt(i)} vs ${want}`);
      assert.ok(Math.abs(sched.lrAt(i) - formula(i)) < 1e-12);
    }
    for (let i = 0; i < 5; i++) sched.step();
    assert.ok(Math.abs(opt.lr - formula(5)) < 1e-12);
    opt.dispose();
  });
});

describe("early stopping on a measure after each epoch", () => {
  it("stops after the first epoch that falls more than maxDrop below the best, keeping the best epoch", () => {
    assert.deepEqual(earlyStopDecision([0.3], 0.2), { stop: false, best: 0 });
    assert.deepEqual(earlyStopDecision([0.3, 0.4, 0.45, 0.2], 0.2), { stop: true, best: 2 });
    assert.deepEqual(earlyStopDecision([0.3, 0.4, 0.35], 0.2), { stop: false, best: 1 });
    // A fall of exactly maxDrop does not stop; among equals the later epoch is kept.
    assert.deepEqual(earlyStopDecision([0.5, 0.5, 0.25], 0.25), { stop: false, best: 1 });
    // Measured against the best epoch, not only the previous one: 0.5 -> 0.35 -> 0.2 stops at the third.
    assert.deepEqual(earlyStopDecision([0.5, 0.35, 0.2], 0.2), { stop: true, best: 0 });
    assert.throws(() => earlyStopDecision([], 0.2), /expected at least one epoch's measure/);
  });

  it("ends training at the collapse and saves the best epoch's weights, recording the measure per epoch", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-early-"));
    const snapshots: Map<string, number[]>[] = [];
    const m = model();
    const { history, info } = await trainClassifier(m, { train }, config, {
      outDir: dir, ...quiet, earlyStopping: scripted([0.3, 0.5, 0.45, 0.1, 0.6]), onEpochEnd: () => snapshots.push(weightsOf(m)),
    });
    assert.deepEqual(history.map((r) => r.epoch), [1, 2, 3, 4]);
    assert.deepEqual(history.map((r) => r.scripted), [0.3, 0.5, 0.45, 0.1]);
    assert.equal(info.epochsTrained, 4);
    assert.equal(info.keptEpoch, 2);
    assert.deepEqual(weightsOf(m), snapshots[1]);
    assert.deepEqual(weightsOf(loadClassifier(dir) as unknown as SplitClassifier), snapshots[1]);
    assert.notDeepEqual(snapshots[3], snapshots[1]);
  });

  it("keeps the last epoch's weights when nothing collapses", async () => {
    const m = model();
    const snapshots: Map<string, number[]>[] = [];
    const { history, info } = await trainClassifier(m, { train }, { ...config, epochs: 3 }, {
      outDir: mkdtempSync(join(tmpdir(), "idfr-early-")), ...quiet, earlyStopping: scripted([0.5, 0.35, 0.45]), onEpochEnd: () => snapshots.push(weightsOf(m)),
    });
    assert.equal(history.length, 3);
    assert.equal(info.keptEpoch, 3);
    assert.deepEqual(weightsOf(m), snapshots[2]);
  });

  it("survives a resume: the best weights come back from the checkpoint, and a stop decided before the interruption holds", async () => {
    const values = [0.3, 0.5, 0.45, 0.1, 0.6];
    const reference = model();
    await trainClassifier(reference, { train }, config, { outDir: mkdtempSync(join(tmpdir(), "idfr-early-")), ...quiet, earlyStopping: scripted(values) });

    // Interrupted after epoch 2 (the best): the resumed run measures epochs 3 and 4 and restores epoch 2 from the checkpoint.
    const dir = mkdtempSync(join(tmpdir(), "idfr-early-"));
    await assert.rejects(trainClassifier(model(), { train }, config, {
      outDir: dir, ...quiet, earlyStopping: scripted(values), onEpochEnd: (r) => { if (r.epoch === 2) process.emit("SIGINT"); },
    }), /interrupted; the last checkpoint is intact: epoch 2 of 5/);
    const resumed = model();
    const again = await trainClassifier(resumed, { train }, config, { outDir: dir, resume: true, ...quiet, earlyStopping: scripted(values, 2) });
    assert.deepEqual(again.history.map((r) => r.scripted), [0.3, 0.5, 0.45, 0.1]);
    assert.deepEqual(weightsOf(resumed), weightsOf(reference));

    // Killed after the checkpoint of the collapsed epoch 4, before the model was saved: the resume trains no further epoch.
    const dir2 = mkdtempSync(join(tmpdir(), "idfr-early-"));
    await assert.rejects(trainClassifier(model(), { train }, config, {
      outDir: dir2, ...quiet, earlyStopping: scripted(values), onEpochEnd: (r) => { if (r.epoch === 4) throw new Error("killed"); },
    }), /killed/);
    const last = model();
    const done = await trainClassifier(last, { train }, config, { outDir: dir2, resume: true, ...quiet, earlyStopping: scripted(values, 4, 4) }); // a 5th measure would throw
    assert.equal(done.history.length, 4);
    assert.equal(done.info.keptEpoch, 2);
    assert.deepEqual(weightsOf(last), weightsOf(reference));
  });

  it("refuses to resume with other early-stopping settings", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-early-"));
    await assert.rejects(trainClassifier(model(), { train }, config, {
      outDir: dir, ...quiet, earlyStopping: scripted([0.3, 0.5]), onEpochEnd: (r) => { if (r.epoch === 1) process.emit("SIGINT"); },
    }), /interrupted/);
    await assert.rejects(trainClassifier(model(), { train }, config, { outDir: dir, resume: true, ...quiet, earlyStopping: { ...scripted([0.3, 0.5], 1), maxDrop: 0.3 } }),
      /was made with earlyStopping .*"maxDrop":0\.2.*this run asks for earlyStopping .*"maxDrop":0\.3/);
  });
});
