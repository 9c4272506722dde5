import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadDataset } from "../../src/data/datasets.js";
import { createClassifier } from "../../src/models/registry.js";
import { loadClassifier } from "../../src/models/io.js";
import { manualSeed, noGrad, rand, tidy } from "../../src/torch/index.js";
import { trainClassifier } from "../../src/train/classifier.js";
import { trainModel } from "../../src/defenses/fast-at.js";
import { values } from "../helpers.js";

const digits = await loadDataset("mnist", { limit: 1500 });
const small = () => {
  manualSeed(0);
  return createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
};

describe("training a target classifier", () => {
  it("a small CNN on 1,500 embedded MNIST digits reaches a useful test accuracy in 3 epochs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-train-"));
    const { info, history } = await trainClassifier(small(), { train: digits.splits.train, val: digits.splits.test },
      { epochs: 3, batchSize: 64, workers: 0 }, { outDir: dir, progress: "none", dataset: "mnist" });
    console.log(`small-cnn on 1,500 digits, 3 epochs: test accuracy ${info.accuracy}`);
    // Measured: 95.6 % on the 1,000 test digits (2 threads); the bound leaves room for other thread counts.
    assert.ok(info.accuracy! > 0.92, `test accuracy ${info.accuracy}`);
    assert.equal(history.length, 3);
    assert.ok(history[2].loss < history[0].loss, "loss falls");
    const log = readFileSync(join(dir, "train-log.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(log.length, 3);
    assert.ok(existsSync(join(dir, "model.safetensors")) && !existsSync(join(dir, "checkpoint.safetensors")));
    const model = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    assert.equal(model.dataset, "mnist");
    assert.equal(model.classes.length, 10);
  });
  it("an interrupted run resumes from its checkpoint and ends with the same weights as an uninterrupted one", async () => {
    const data = { train: digits.splits.train, val: digits.splits.val };
    const config = { epochs: 2, batchSize: 100, workers: 0, seed: 3 };
    const straightDir = mkdtempSync(join(tmpdir(), "idfr-straight-"));
    await trainClassifier(small(), data, config, { outDir: straightDir, progress: "none" });

    const dir = mkdtempSync(join(tmpdir(), "idfr-resume-"));
    // Ctrl-C during epoch 2: the run stops with epoch 1's checkpoint intact.
    await assert.rejects(trainClassifier(small(), data, config, {
      outDir: dir, progress: "none", onEpochEnd: (r) => { if (r.epoch === 1) process.emit("SIGINT"); },
    }), /interrupted; the last checkpoint is intact/);
    assert.ok(existsSync(join(dir, "checkpoint.safetensors")));
    assert.ok(!existsSync(join(dir, "model.json")));
    const { history } = await trainClassifier(small(), data, config, { outDir: dir, resume: true, progress: "none" });
    assert.deepEqual(history.map((h) => h.epoch), [1, 2]);
    const a = loadClassifier(straightDir);
    const b = loadClassifier(dir);
    tidy(() => noGrad(() => {
      const x = rand([4, 1, 28, 28]);
      assert.deepEqual(values(b.forward(x)), values(a.forward(x)));
    }));
  });
  it("fast adversarial training runs with a cyclic schedule that returns to zero", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-fastat-"));
    const { history, info } = await trainModel(small(), { train: digits.splits.val! }, { epochs: 2, batchSize: 50, workers: 0, mode: "fast-at", lr: 0.05 },
      { outDir: dir, progress: "none" });
    assert.equal(info.training, "fast-at");
    assert.ok(history[0].lr > 0);
    assert.ok(Math.abs(history[1].lr) < 1e-9, `final lr ${history[1].lr}`);
  });
  it("rejects bad settings and mismatched data", async () => {
    const dir = mkdtempSync(join(tmpdir(), "idfr-bad-"));
    await assert.rejects(trainClassifier(small(), { train: digits.splits.val! }, { epochs: 0 }, { outDir: dir }), /epochs: expected a positive integer/);
    const rgb = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 28, 28], width: 0.25 });
    await assert.rejects(trainClassifier(rgb, { train: digits.splits.val! }, {}, { outDir: dir }), /training data is 1x28x28 but small-cnn expects 3x28x28/);
    await assert.rejects(trainClassifier(small(), { train: digits.splits.val! }, { mode: "fast-at" }, { outDir: dir }), /mode "fast-at" needs adversarial inputs: train with trainModel/);
  });
});
