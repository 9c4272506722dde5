/** The adaptive adversary of Algorithm 1/2: AEs crafted through the current denoiser, inside the ball. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import type { ImageSet } from "../../src/data/types.js";
import { adaptivePgd } from "../../src/defenses/idfr/adaptive.js";
import { InputDenoiser } from "../../src/defenses/idfr/denoiser.js";
import { trainDenoiser, withAdaptiveRows } from "../../src/defenses/idfr/train-id.js";
import { AugmentedSet } from "../../src/defenses/idfr/training-data.js";
import { IdConfigSchema } from "../../src/defenses/idfr/config.js";
import { createClassifier } from "../../src/models/registry.js";
import { F, Generator, manualSeed, noGrad, nn, setNumThreads, tensor, tidy } from "../../src/torch/index.js";
import { cleanFloats, labelTensor } from "../../src/data/tensors.js";

setNumThreads(1);
const dir = mkdtempSync(join(tmpdir(), "idfr-adaptive-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const n = 16;
const set: ImageSet = {
  images: Uint8Array.from({ length: n * 28 * 28 }, (_, i) => ((i * 7919) % 251)),
  labels: Uint8Array.from({ length: n }, (_, i) => i % 10),
  shape: [n, 1, 28, 28],
  classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
};
manualSeed(11);
const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "fashion-mnist" }).eval();
for (const p of target.parameters()) p.requiresGrad_(false);

function randomDenoiser(seed: number): InputDenoiser {
  const g = new Generator(seed);
  // Not zero-initialised, so the denoiser is far from the identity and its gradient matters.
  const d = nn.init.withInitGenerator(g, () => new InputDenoiser({ channels: 1, width: 0.25, variant: "paper", zeroInitResidual: false }));
  g.dispose();
  return d.eval();
}

test("adaptive PGD stays in each row's ball and raises the pipeline's loss", () => {
  const denoiser = randomDenoiser(3);
  tidy(() => {
    const idx = Array.from({ length: 8 }, (_, i) => i);
    const x = tensor(cleanFloats(set, idx), [8, 1, 28, 28]);
    const y = labelTensor(set, idx);
    const eps = idx.map((i) => [4 / 255, 16 / 255][i % 2]);
    const pipeline = (z: ReturnType<typeof tensor>) => target.forward(denoiser.forward(z));
    const adv = adaptivePgd(pipeline, x, y, { eps, steps: 5, sampleIds: idx, seed: 1 });
    const delta = adv.sub(x).abs().reshape([8, -1]).max(1).toArray() as number[];
    delta.forEach((d, i) => assert.ok(d <= eps[i] + 1e-6 && d > eps[i] / 2, `row ${i}: ${d} vs ${eps[i]}`));
    assert.ok(adv.min().item() >= 0 && adv.max().item() <= 1);
    const loss = (z: ReturnType<typeof tensor>) => noGrad(() => F.crossEntropy(pipeline(z), y).item());
    assert.ok(loss(adv) > loss(x), `${loss(adv)} <= ${loss(x)}`);
  });
});

test("the crafted rows depend on the denoiser they are crafted through; Gaussian rows are untouched", () => {
  const data = new AugmentedSet(set, "craft", 1, 0.1);
  const rows = [0, 1, 2, 3, 16, 17, 18, 19];
  const config = IdConfigSchema.parse({ trainEps: [8 / 255], adaptiveSteps: 3 });
  const a = randomDenoiser(3);
  const b = randomDenoiser(4);
  tidy(() => {
    const g = new Generator(5);
    const batch = data.batch(rows, false, g);
    g.dispose();
    const throughA = withAdaptiveRows(batch.x, batch.y, rows, data, config, 0, (z) => target.forward(a.forward(z)), a);
    const throughB = withAdaptiveRows(batch.x, batch.y, rows, data, config, 0, (z) => target.forward(b.forward(z)), b);
    const bare = withAdaptiveRows(batch.x, batch.y, rows, data, config, 0, (z) => target.forward(z), a);
    const part = (t: typeof batch.x, start: number) => t.narrow(0, start, 4).toArray();
    assert.notDeepEqual(part(throughA, 0), part(throughB, 0));
    assert.notDeepEqual(part(throughA, 0), part(bare, 0));
    assert.notDeepEqual(part(throughA, 0), part(batch.x, 0));
    assert.deepEqual(part(throughA, 4), part(batch.x, 4));
    assert.deepEqual(part(throughB, 4), part(batch.x, 4));
  });
});

test("trainDenoiser with the adaptive adversary needs no static AEs and learns otherwise than the static one", async () => {
  const base = { epochs: 1, width: 0.25, batchSize: 8, lr: 0.01, trainEps: [8 / 255], adaptiveSteps: 2 };
  const adaptive = await trainDenoiser(target, set, null, IdConfigSchema.parse({ ...base, adversary: "adaptive" }), { outDir: join(dir, "a"), progress: "none" });
  const aes = new Float32Array(cleanFloats(set, Array.from({ length: n }, (_, i) => i)));
  const fixed = await trainDenoiser(target, set, aes, IdConfigSchema.parse(base), { outDir: join(dir, "s"), progress: "none" });
  const w = (d: InputDenoiser) => [...d.stateDict().values()].map((t) => t.toArray() as number[]).flat();
  assert.notDeepEqual(w(adaptive.denoiser), w(fixed.denoiser));
  assert.ok(Number.isFinite(adaptive.history[0].loss));
  await assert.rejects(trainDenoiser(target, set, null, IdConfigSchema.parse(base), { outDir: join(dir, "x"), progress: "none" }), /static adversary needs the training AEs/);
});

test("a denoiser for smoothing trains on unclipped Gaussian copies only", () => {
  const data = new AugmentedSet(set, "none", 2, 0.5, { clip: false });
  assert.equal(data.size, 2 * n);
  assert.equal(data.isAdversarial(0), false);
  tidy(() => {
    const g = new Generator(1);
    const { x } = data.batch([0, 1, 2, 3], false, g);
    g.dispose();
    assert.ok(x.min().item() < 0 && x.max().item() > 1, "noise is not clipped");
  });
  assert.throws(() => new AugmentedSet(set, "none", 0, 0.5), /gaussianRounds: expected at least 1 round/);
});

test("Algorithm 2 with the adaptive adversary re-crafts its AEs through ID and the current FR each epoch", async () => {
  const { trainRestorer } = await import("../../src/defenses/idfr/train-fr.js");
  const { FrConfigSchema } = await import("../../src/defenses/idfr/config.js");
  const denoiser = randomDenoiser(3);
  const config = FrConfigSchema.parse({ epochs: 2, batchSize: 8, lr: 0.01, adversary: "adaptive", adaptiveSteps: 2, trainEps: [8 / 255] });
  const adaptive = await trainRestorer(target, denoiser, set, "craft", config, { outDir: join(dir, "fr-a"), progress: "none" });
  assert.equal(adaptive.history.length, 2);
  assert.equal(adaptive.split.correct + adaptive.split.wrong, 2 * n);
  const fixed = await trainRestorer(target, denoiser, set, new Float32Array(cleanFloats(set, Array.from({ length: n }, (_, i) => i))),
    FrConfigSchema.parse({ ...config, adversary: "static" }), { outDir: join(dir, "fr-s"), progress: "none" });
  const w = (m: { stateDict(): Map<string, { toArray(): unknown }> }) => [...m.stateDict().values()].map((t) => t.toArray() as number[]).flat();
  assert.notDeepEqual(w(adaptive.restorer), w(fixed.restorer));
});

test("the stability loss trains against the target's class of the clean image", async () => {
  const r = await trainDenoiser(target, set, null, IdConfigSchema.parse({ epochs: 1, width: 0.25, batchSize: 8, rows: "gaussian", sigma: 0.25, idLoss: "stability" }),
    { outDir: join(dir, "stab"), progress: "none" });
  assert.ok(Number.isFinite(r.history[0].loss));
});
