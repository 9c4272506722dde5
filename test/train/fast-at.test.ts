import assert from "node:assert/strict";
import { test } from "node:test";
import { FGSM } from "../../src/attacks/fgsm.js";
import { fastAtInputs } from "../../src/defenses/fast-at.js";
import { createClassifier } from "../../src/models/registry.js";
import { Generator, manualSeed, rand, randint, tidy } from "../../src/torch/index.js";
import { LinearModel } from "../attacks/models.js";

const W = [[0.5, -1.0, 0.25, 2.0], [-0.75, 0.5, 1.5, -0.5], [1.0, 1.25, -2.0, 0.3]];
const B = [0.1, -0.2, 0.05];

test("FGSM with a random start: steps α from a uniform point of the ε-ball, stays in the ball, and is reproducible per seed", () => {
  const model = new LinearModel(W, B);
  const eps = 0.1;
  tidy(() => {
    manualSeed(1);
    const x = rand([64, 4]);
    const y = randint(0, 3, [64]);
    const plain = new FGSM(model, { eps }).run(x, y).adversarial;
    const random = new FGSM(model, { eps, randomStart: true, seed: 5 }).run(x, y).adversarial;
    const again = new FGSM(model, { eps, randomStart: true, seed: 5 }).run(x, y).adversarial;
    const other = new FGSM(model, { eps, randomStart: true, seed: 6 }).run(x, y).adversarial;
    assert.ok(random.sub(x).abs().max().item() <= eps + 1e-6, "inside the ε-ball");
    assert.ok(random.min().item() >= 0 && random.max().item() <= 1, "inside [0, 1]");
    assert.deepEqual(again.toArray(), random.toArray());
    assert.notDeepEqual(other.toArray(), random.toArray());
    // The random start moves the result off plain FGSM's corner of the ball.
    assert.notDeepEqual(random.toArray(), plain.toArray());
  });
  assert.throws(() => new FGSM(model, { eps, stepSize: 0 }), /stepSize: expected a number in \(0, 1\], got 0/);
});

test("Fast AT's training inputs stay in the ε-ball around the batch and in [0, 1]", () => {
  manualSeed(0);
  const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  const eps = 8 / 255;
  tidy(() => {
    const x = rand([8, 1, 28, 28]);
    const y = randint(0, 10, [8]);
    const adv = fastAtInputs(eps)(model, x, y);
    assert.deepEqual(adv.shape, x.shape);
    const dist = adv.sub(x).abs().max().item();
    assert.ok(dist <= eps + 1e-6 && dist > eps / 2, `l_inf distance ${dist}`);
    assert.ok(adv.min().item() >= 0 && adv.max().item() <= 1);
  });
});

test("Fast AT's random start from an explicit generator is the start the global generator gives after the same seed", () => {
  manualSeed(0);
  const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  const eps = 8 / 255;
  tidy(() => {
    const x = rand([4, 1, 28, 28]);
    const y = randint(0, 10, [4]);
    manualSeed(21);
    const viaGlobal = fastAtInputs(eps)(model, x, y).toArray();
    manualSeed(3);
    const generator = new Generator(21);
    assert.deepEqual(fastAtInputs(eps)(model, x, y, generator).toArray(), viaGlobal);
    assert.notDeepEqual(fastAtInputs(eps)(model, x, y, generator).toArray(), viaGlobal); // the stream moved on
    generator.dispose();
  });
});

test("a tiny Fast AT run trains through the PGD check each epoch and keeps what the check measured", async () => {
  const { mkdtempSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const { loadDataset } = await import("../../src/data/datasets.js");
  const { limitSet } = await import("../../src/data/splits.js");
  const { loadClassifier } = await import("../../src/models/io.js");
  const { pgdCheck, trainModel, PGD_CHECK_METRIC } = await import("../../src/defenses/fast-at.js");
  const { fastAtSettings } = await import("../../src/defenses/fast-at-settings.js");
  const ds = await loadDataset("mnist", { limit: 400 });
  const train = limitSet(ds.splits.train, 96, 0);
  const val = limitSet(ds.splits.val ?? ds.splits.test, 24, 0);
  manualSeed(0);
  const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  const dir = mkdtempSync(join(tmpdir(), "idfr-fast-at-"));
  const settings = fastAtSettings({ epochs: 2, eps: 0.1, earlyStop: { images: 16, steps: 3 } });
  const { history, info } = await trainModel(model, { train, val }, { mode: "fast-at", batchSize: 32, workers: 0, lr: 0.05, seed: 1 },
    { outDir: dir, progress: "none", log: () => {} }, settings);
  assert.equal(history.length, 2, "the settings' epochs are used when the caller gives none");
  for (const r of history) {
    const v = r[PGD_CHECK_METRIC];
    assert.ok(typeof v === "number" && v >= 0 && v <= 1 && Number.isInteger(v * 16), `epoch ${r.epoch}: ${v}`);
  }
  // lr at the end of each epoch (3 steps each, 6 in all): 0.05 * (1 - |2i/6 - 1|) at i = 3, 6.
  assert.ok(Math.abs(history[0].lr - 0.05) < 1e-12 && Math.abs(history[1].lr) < 1e-12);
  assert.equal(info.training, "fast-at");
  assert.equal(info.keptEpoch, 2);
  // The last record's measure is the check's value on the saved model, measured again independently.
  const saved = loadClassifier(dir);
  assert.equal(pgdCheck(val, 0.1, settings.earlyStop).measure(saved), history[1][PGD_CHECK_METRIC]);
});

test("Fast AT's settings default to Wong et al.'s: 15 epochs, early stopping by 5-step PGD at 2/255 with a 0.2 drop", async () => {
  const { fastAtSettings, FastAtSettingsSchema } = await import("../../src/defenses/fast-at-settings.js");
  const s = fastAtSettings({ eps: "8/255" });
  assert.equal(s.epochs, 15);
  assert.equal(s.eps, 8 / 255);
  assert.deepEqual(s.earlyStop, { enabled: true, images: 128, steps: 5, restarts: 1, stepSize: 2 / 255, maxDrop: 0.2, seed: 0 });
  assert.throws(() => fastAtSettings({ earlyStop: { maxDrop: 2 } }), /maxDrop/);
  assert.throws(() => fastAtSettings({ earlyStop: { step: 3 } }), /step/);
  for (const key of Object.keys(FastAtSettingsSchema.shape)) assert.ok(FastAtSettingsSchema.shape[key as "eps"].description, `${key} is described`);
});
