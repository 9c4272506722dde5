/**
 * Caches cannot mix runs: training AEs, models, defenses, AE sets and cells are keyed on the data's
 * content, the weights they were made on, the attack settings and the seed.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { imagesFingerprint } from "../../src/core/fingerprint.js";
import type { ImageSet } from "../../src/data/types.js";
import { craftTrainingAdversarials } from "../../src/defenses/idfr/training-data.js";
import { defend } from "../../src/defenses/idfr/pipeline.js";
import { readDefenseManifest } from "../../src/defenses/idfr/defense.js";
import { parseExperiment } from "../../src/eval/config.js";
import type { ExperimentData } from "../../src/eval/experiment-data.js";
import { planCells, runKeys } from "../../src/eval/runner.js";
import { createClassifier } from "../../src/models/registry.js";
import { weightsFingerprint } from "../../src/models/io.js";
import { loadSafetensors, manualSeed, setNumThreads } from "../../src/torch/index.js";

setNumThreads(1);

function images(seed: number, n = 6): ImageSet {
  const images = new Uint8Array(n * 28 * 28);
  let s = seed * 2654435761 + 1;
  for (let i = 0; i < images.length; i++) images[i] = (s = (s * 1103515245 + 12345) >>> 0) >>> 24;
  return { images, labels: Uint8Array.from({ length: n }, (_, i) => i % 10), shape: [n, 1, 28, 28], classes: Array.from({ length: 10 }, (_, i) => String(i)) };
}

function model(seed: number) {
  manualSeed(seed);
  return createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 }).eval();
}

const recipe = { attack: "fgsm" as const, eps: [8 / 255], preset: "paper" as const };

test("a defense folder's cached training AEs from another target or dataset are not reused", () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-aes-"));
  const cachePath = join(dir, "train-aes.safetensors");
  const [a, b] = [model(1), model(2)];
  const [setA, setB] = [images(1), images(2)];
  const fromA = craftTrainingAdversarials(a, setA, recipe, { cachePath, progress: "none" });
  // Same recipe and image count, another target: crafted again, equal to what target b gives.
  const onB = craftTrainingAdversarials(b, setA, recipe, { cachePath, progress: "none" });
  const freshB = craftTrainingAdversarials(b, setA, recipe, { progress: "none" });
  assert.notDeepEqual(onB, fromA, "target a's AEs were reused for target b");
  assert.deepEqual(onB, freshB);
  // Another dataset of the same size and shape: crafted again.
  const otherData = craftTrainingAdversarials(b, setB, recipe, { cachePath, progress: "none" });
  assert.deepEqual(otherData, craftTrainingAdversarials(b, setB, recipe, { progress: "none" }));
  const { tensors, metadata } = loadSafetensors(cachePath);
  for (const t of tensors.values()) t.dispose();
  assert.match(metadata.recipe, new RegExp(`"data":"${imagesFingerprint(setB)}","model":"${weightsFingerprint(b)}"`));
  // Unchanged inputs: the cache answers, with the same values.
  assert.deepEqual(craftTrainingAdversarials(b, setB, recipe, { cachePath, progress: "none" }), otherData);
});

test("a defense folder trained for another target or other images is retrained on --resume, not reused", async () => {
  const out = mkdtempSync(join(tmpdir(), "idfr-defend-"));
  const tiny = { id: { epochs: 1, width: 0.25, attack: "fgsm" as const, trainEps: [8 / 255] }, fr: { epochs: 1 }, resume: true, progress: "none" as const, outDir: out };
  const lines: string[] = [];
  const log = (l: string) => lines.push(l);
  const [a, b] = [model(1), model(2)];
  const first = await defend(a, images(1, 12), { ...tiny, log });
  assert.ok(first.idHistory.length > 0);
  assert.equal(readDefenseManifest(out).target.weights, weightsFingerprint(a));
  const again = await defend(a, images(1, 12), { ...tiny, log });
  assert.equal(again.idHistory.length, 0, "same target and images: the finished folder is reused");
  assert.ok(lines.some((l) => /reusing the trained ID/.test(l)));
  const otherTarget = await defend(b, images(1, 12), { ...tiny, log });
  assert.ok(otherTarget.idHistory.length > 0 && otherTarget.frHistory.length > 0, "another target: ID and FR retrained");
  const otherData = await defend(b, images(2, 12), { ...tiny, log });
  assert.ok(otherData.idHistory.length > 0, "other training images: ID retrained");
});

test("fingerprints follow content: pixels, labels and weights", () => {
  const set = images(3);
  const relabelled = { ...set, labels: set.labels.map((l) => (l + 1) % 10) };
  assert.equal(imagesFingerprint(set), imagesFingerprint(images(3)));
  assert.notEqual(imagesFingerprint(set), imagesFingerprint(images(4)));
  assert.notEqual(imagesFingerprint(set), imagesFingerprint(relabelled));
  assert.equal(weightsFingerprint(model(5)), weightsFingerprint(model(5)));
  assert.notEqual(weightsFingerprint(model(5)), weightsFingerprint(model(6)));
});

test("every runner key changes with the data's content, and none without it", () => {
  const config = parseExperiment({
    name: "keys", dataset: { name: "mnist" }, targets: [{ arch: "small-cnn", surrogate: { arch: "small-cnn", seed: 1 } }],
    defenses: ["none", "id+fr"], attacks: ["bim"], eps: ["8/255"], threats: ["transfer", "whitebox", "adaptive"],
  });
  const data = (fingerprint: string) => ({ key: { name: "mnist", splitSeed: 0, splits: { train: { n: 6, fingerprint }, test: { n: 6, fingerprint } } } }) as unknown as ExperimentData;
  const keysOf = (fingerprint: string, c = config) => {
    const k = runKeys(c, data(fingerprint));
    return [k.evalKey, k.target(0), k.surrogate(0), k.defense("id+fr", 0), ...planCells(c, k).flatMap((cell) => [cell.key, cell.ae?.key ?? ""])].filter(Boolean);
  };
  const one = keysOf("aaaa");
  assert.deepEqual(keysOf("aaaa"), one);
  const other = new Set(keysOf("bbbb"));
  assert.ok(one.every((k) => !other.has(k)), "a key survived a change of data");
  // Attack settings and the seed are part of the AE and cell keys too.
  const stepped = new Set(keysOf("aaaa", parseExperiment({ ...config, attackOptions: { steps: 3 } })));
  assert.ok(planCells(config, runKeys(config, data("aaaa"))).filter((c) => c.ae && c.ae.threat !== "adaptive").every((c) => !stepped.has(c.ae!.key)));
  const reseeded = new Set(keysOf("aaaa", { ...config, seed: 1 }));
  assert.ok(one.every((k) => !reseeded.has(k)));
});
