/** On-disk descriptions carry a version; files written before it are read as version 1. */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { readDefenseManifest } from "../../src/defenses/idfr/defense.js";
import { RESULTS_VERSION, validateResults } from "../../src/eval/results.js";
import { readModelInfo, saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed, setNumThreads } from "../../src/torch/index.js";

setNumThreads(1);

const record = { dataset: "mnist", target: "small-cnn", defense: "none", threat: "clean", attack: "none", eps: 0, n: 10, accuracy: 0.9, ci95: [0.6, 0.98], seconds: 1 };

test("results.json: version 2 objects and version-1 arrays are read; other versions and bad records are named", () => {
  assert.equal(RESULTS_VERSION, 2);
  assert.deepEqual(validateResults([record]), [record]);
  assert.deepEqual(validateResults({ version: 2, records: [record] }), [record]);
  assert.throws(() => validateResults({ version: 3, records: [] }, "r.json"), /^Error: r\.json: unsupported version 3/);
  assert.throws(() => validateResults([record, { ...record, accuracy: 2 }], "r.json"), /r\.json: record 1: "accuracy": Too big/);
  assert.throws(() => validateResults({ version: 2, records: [{ ...record, threat: "gray-box" }] }, "r.json"), /record 0: "threat": Invalid option/);
});

test("model.json is written with version 1 and read without one as version 1; bad fields are named", () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-model-"));
  manualSeed(0);
  saveClassifier(dir, createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 }));
  const path = join(dir, "model.json");
  const written = JSON.parse(readFileSync(path, "utf8"));
  assert.equal(written.version, 1);
  delete written.version;
  writeFileSync(path, JSON.stringify(written));
  assert.equal(readModelInfo(dir).version, 1);
  writeFileSync(path, JSON.stringify({ ...written, numClasses: 1 }));
  assert.throws(() => readModelInfo(dir), /model\.json: numClasses: Too small/);
  writeFileSync(path, JSON.stringify({ ...written, version: 7 }));
  assert.throws(() => readModelInfo(dir), /model\.json: version: Invalid input: expected 1/);
});

test("defense.json without a version is read as version 1", () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-defense-"));
  const manifest = { format: "idfr-defense", target: { arch: "small-cnn", embeddingDim: 128, numClasses: 10, inputShape: [1, 28, 28] }, denoiser: { channels: 1, width: 0.5 }, restorer: null };
  writeFileSync(join(dir, "defense.json"), JSON.stringify(manifest));
  assert.equal(readDefenseManifest(dir).version, 1);
  writeFileSync(join(dir, "defense.json"), JSON.stringify({ ...manifest, denoiser: { channels: 0, width: 0.5 } }));
  assert.throws(() => readDefenseManifest(dir), /defense\.json: denoiser\.channels: Too small/);
});
