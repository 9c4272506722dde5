import assert from "node:assert/strict";
import { appendFileSync, existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadDataset } from "../../src/data/datasets.js";
import { limitSet } from "../../src/data/splits.js";
import { subset } from "../../src/data/types.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed, nn, optim } from "../../src/torch/index.js";
import { indexBatches } from "../../src/train/batches.js";
import { trainClassifier, type TrainConfig } from "../../src/train/classifier.js";
import { runTrainLoop } from "../../src/train/loop.js";
import { cleanFloats } from "../../src/data/tensors.js";
import { PAPER_ID_CONFIG } from "../../src/defenses/idfr/config.js";
import { trainDenoiser } from "../../src/defenses/idfr/train-id.js";

const digits = await loadDataset("mnist", { limit: 300 });
const train = digits.splits.train;
const small = (width = 0.25) => {
  manualSeed(0);
  return createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width, normalization: "mnist" });
};
const quiet = { progress: "none" as const, log: () => {} };
const config: Partial<TrainConfig> = { epochs: 2, batchSize: 100, workers: 0, seed: 3, lr: 0.05 };

/** A folder holding the checkpoint of epoch 1 of 2 (the run was stopped by Ctrl-C in epoch 2). */
async function interruptedRun(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "idfr-resume-"));
  await assert.rejects(trainClassifier(small(), { train }, config, {
    outDir: dir, dataset: "mnist", ...quiet, onEpochEnd: (r) => { if (r.epoch === 1) process.emit("SIGINT"); },
  }), /interrupted; the last checkpoint is intact: epoch 1 of 2/);
  assert.ok(existsSync(join(dir, "checkpoint.safetensors")));
  return dir;
}

describe("resuming a training run", () => {
  it("refuses other training settings, naming the checkpoint and each differing setting with both values", async () => {
    const dir = await interruptedRun();
    const ckpt = join(dir, "checkpoint.safetensors").replace(/[.]/g, "\\.");
    const resume = (overrides: Partial<TrainConfig>, width = 0.25, set = train) =>
      trainClassifier(small(width), { train: set }, { ...config, ...overrides }, { outDir: dir, dataset: "mnist", resume: true, ...quiet });
    await assert.rejects(resume({ lr: 0.1, batchSize: 64 }),
      new RegExp(`checkpoint ${ckpt} was made with batchSize 100, lr 0\\.05; this run asks for batchSize 64, lr 0\\.1; rerun without --resume or with the same settings`));
    await assert.rejects(resume({ optimizer: "adam", seed: 4 }), /was made with optimizer sgd, seed 3; this run asks for optimizer adam, seed 4;/);
    await assert.rejects(resume({}, 0.5), /was made with width 0\.25; this run asks for width 0\.5;/);
    await assert.rejects(resume({}, 0.25, limitSet(train, 200, 0)), /was made with images 300, digest [0-9a-f]{16}; this run asks for images 200, digest [0-9a-f]{16};/);
    await assert.rejects(trainClassifier(small(), { train }, config, { outDir: dir, dataset: "fashion-mnist", resume: true, ...quiet }),
      /was made with dataset mnist; this run asks for dataset fashion-mnist;/);
  });

  it("rewrites the log from the checkpoint, so that an epoch logged after the last checkpoint is not logged twice", async () => {
    const dir = await interruptedRun();
    // A run killed between writing epoch 2's log line and its checkpoint leaves this behind.
    appendFileSync(join(dir, "train-log.jsonl"), `${JSON.stringify({ epoch: 2, loss: 9 })}\n`);
    const lines: string[] = [];
    const { history } = await trainClassifier(small(), { train }, config, { outDir: dir, dataset: "mnist", resume: true, progress: "none", log: (l) => lines.push(l) });
    assert.deepEqual(history.map((h) => h.epoch), [1, 2]);
    const logged = readFileSync(join(dir, "train-log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(logged.map((r) => r.epoch), [1, 2]);
    assert.notEqual(logged[1].loss, 9);
    assert.match(lines.join("\n"), /resuming train small-cnn from .*checkpoint\.safetensors: epoch 1 of 2 done/);
  });

  it("says there is nothing to resume in a finished folder instead of training again", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-finished-"));
    await trainClassifier(small(), { train }, { ...config, epochs: 1 }, { outDir: dir, ...quiet });
    await assert.rejects(trainClassifier(small(), { train }, { ...config, epochs: 1 }, { outDir: dir, resume: true, ...quiet }),
      new RegExp(`nothing to resume in ${dir}: the training finished; model\\.safetensors is there`));
  });

  it("starts from the beginning, and says so, when a resumable run has no checkpoint yet", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-fresh-"));
    const lines: string[] = [];
    const { history } = await trainClassifier(small(), { train }, { ...config, epochs: 1 }, { outDir: dir, resume: true, progress: "none", log: (l) => lines.push(l) });
    assert.equal(history.length, 1);
    assert.match(lines.join("\n"), new RegExp(`no checkpoint in ${dir}; train small-cnn starts from the beginning`));
  });

  it("ID training names the settings that differ from its checkpoint's too", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-resume-id-"));
    const images = limitSet(train, 20, 0);
    const aes = cleanFloats(images, Array.from({ length: 20 }, (_, i) => i));
    const id = { ...PAPER_ID_CONFIG, epochs: 1, width: 0.25, batchSize: 10 };
    await trainDenoiser(small(), images, aes, id, { outDir: dir, dataset: "mnist", ...quiet });
    assert.ok(existsSync(join(dir, "id-checkpoint.safetensors")));
    await assert.rejects(trainDenoiser(small(), images, aes, { ...id, lr: 0.002, sigma: 0.2 }, { outDir: dir, dataset: "mnist", resume: true, ...quiet }),
      /id-checkpoint\.safetensors was made with lr 0\.01, sigma 0\.1; this run asks for lr 0\.002, sigma 0\.2; rerun without --resume or with the same settings/);
  });

  it("ID training refuses a checkpoint made for another target of the same architecture", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-resume-id-target-"));
    const images = limitSet(train, 20, 0);
    const aes = cleanFloats(images, Array.from({ length: 20 }, (_, i) => i));
    const id = { ...PAPER_ID_CONFIG, epochs: 1, width: 0.25, batchSize: 10 };
    await trainDenoiser(small(), images, aes, id, { outDir: dir, dataset: "mnist", ...quiet });
    manualSeed(1);
    const other = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
    await assert.rejects(trainDenoiser(other, images, aes, id, { outDir: dir, dataset: "mnist", resume: true, ...quiet }),
      /id-checkpoint\.safetensors was made with targetWeights [0-9a-f]{16}; this run asks for targetWeights [0-9a-f]{16}/);
  });

  it("an empty training set is refused in words, not by a scheduler", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-empty-"));
    await assert.rejects(trainClassifier(small(), { train: subset(train, []) }, config, { outDir: dir, ...quiet }), /^RangeError: the training set is empty$/);
    const module = new nn.Linear(2, 2);
    await assert.rejects(runTrainLoop({ label: "train ID", epochs: 1, batches: indexBatches(0), module, optimizer: new optim.Adam(module.parameters(), { lr: 0.1 }),
      step: () => ({ loss: 0, n: 0 }), settings: {} }), /train ID: the training set is empty/);
  });
});
