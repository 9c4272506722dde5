/** PGD AT's training inputs, Gaussian-noise training, and the adaptive-fmnist preset's config. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ImageSet } from "../../src/data/types.js";
import { pgdAtInputs } from "../../src/defenses/pgd-at.js";
import { defenseEntry } from "../../src/defenses/registry.js";
import { parseExperiment } from "../../src/eval/config.js";
import { presetConfigs } from "../../src/eval/presets.js";
import { createClassifier } from "../../src/models/registry.js";
import { gaussianInputs, trainClassifier } from "../../src/train/classifier.js";
import { F, Generator, manualSeed, noGrad, rand, setNumThreads, tidy, zeros } from "../../src/torch/index.js";

setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), "idfr-pgd-at-"));
after(() => rmSync(dir, { recursive: true, force: true }));
manualSeed(2);
const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "fashion-mnist" });

test("PGD AT inputs stay in the ball, raise the loss and follow the generator", () => {
  tidy(() => {
    const g0 = new Generator(9);
    const x = rand([6, 1, 28, 28], { generator: g0 });
    g0.dispose();
    const y = zeros([6], { dtype: "int64" }).add(3);
    const eps = 8 / 255;
    const make = (seed: number) => {
      const g = new Generator(seed);
      try {
        return pgdAtInputs(eps, 3)(model, x, y, g);
      } finally {
        g.dispose();
      }
    };
    const a = make(1);
    assert.ok(a.sub(x).abs().max().item() <= eps + 1e-6);
    assert.ok(a.min().item() >= 0 && a.max().item() <= 1);
    assert.deepEqual(a.toArray(), make(1).toArray());
    assert.notDeepEqual(a.toArray(), make(2).toArray());
    const loss = (z: typeof x) => noGrad(() => F.crossEntropy(model.forward(z), y).item());
    assert.ok(loss(a) > loss(x));
    assert.throws(() => pgdAtInputs(0, 3), /eps: expected a radius in \(0, 1\], got 0/);
    assert.throws(() => pgdAtInputs(eps, 0), /steps: expected a positive integer, got 0/);
  });
});

test("Gaussian training inputs add unclipped N(0, sigma^2) noise", () => {
  tidy(() => {
    const x = zeros([50, 1, 28, 28]);
    const g = new Generator(4);
    const noisy = gaussianInputs(0.5)(model, x, zeros([50], { dtype: "int64" }), g);
    g.dispose();
    const std = Math.sqrt(noisy.mul(noisy).mean().item());
    assert.ok(Math.abs(std - 0.5) < 0.01, `std ${std}`);
    assert.ok(noisy.min().item() < 0, "not clipped");
  });
});

test("mode gaussian needs a noise level", async () => {
  const set: ImageSet = { images: new Uint8Array(4 * 784), labels: Uint8Array.of(0, 1, 2, 3), shape: [4, 1, 28, 28], classes: Array.from({ length: 10 }, (_, i) => `${i}`) };
  await assert.rejects(trainClassifier(model, { train: set }, { mode: "gaussian", epochs: 1, workers: 0 }, { outDir: join(dir, "g"), progress: "none" }),
    /noiseSigma: expected a positive noise level for mode "gaussian", got undefined/);
  await assert.rejects(trainClassifier(model, { train: set }, { mode: "pgd-at", epochs: 1, workers: 0 }, { outDir: join(dir, "p"), progress: "none" }),
    /mode "pgd-at" needs adversarial inputs/);
});

test("the adaptive-fmnist preset compares five rows under AutoAttack standard, transfer and white-box", () => {
  const [c] = presetConfigs("adaptive-fmnist");
  assert.deepEqual(c.defenses, ["none", "fast-at", "pgd-at", "id+fr", "id+fr-adaptive"]);
  assert.deepEqual(c.adaptive.attacks, ["autoattack"]);
  assert.equal(c.adaptive.attackOptions.version, "standard");
  assert.deepEqual(c.threats, ["transfer", "whitebox", "adaptive"]);
  assert.deepEqual(c.eps, [4 / 255, 8 / 255, 16 / 255]);
  assert.equal(c.idfrAdaptive.id.adaptiveSteps, 3);
  assert.equal(defenseEntry("id+fr-adaptive").section?.key, "idfrAdaptive");
  assert.equal(defenseEntry("pgd-at").whitebox, "own");
  assert.throws(() => parseExperiment({ ...c, pgdAt: { stepz: 3 } }), /pgdAt: Unrecognized key: "stepz"/);
  assert.throws(() => parseExperiment({ ...c, idfrAdaptive: { id: { adversary: "sometimes" } } }), /idfrAdaptive\.id\.adversary/);
});
