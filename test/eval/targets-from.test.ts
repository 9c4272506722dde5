/**
 * Targets and surrogates loaded from model folders (`"from": DIR`) instead of trained: the loaded
 * model is the saved one, it is checked against the data with errors naming the key, relative
 * folders are taken from the config file's folder, and cache keys follow the folder's weights.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { runContext } from "../../src/core/context.js";
import { DIGIT_CLASSES } from "../../src/data/embedded.js";
import { ArtifactCache } from "../../src/eval/cache.js";
import { ConfigError, parseExperiment, readExperiment, type ExperimentInput } from "../../src/eval/config.js";
import { loadExperimentData, type ExperimentData } from "../../src/eval/experiment-data.js";
import { Materializer } from "../../src/eval/materialize.js";
import { presetConfigs } from "../../src/eval/presets.js";
import { runExperiment, runKeys } from "../../src/eval/runner.js";
import { predict } from "../../src/models/evaluate.js";
import { saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { manualSeed, noGrad, setNumThreads, tensor, type Tensor } from "../../src/torch/index.js";

setNumThreads(1);

/** A freshly built classifier with weights drawn from `seed`, saved as a model folder for MNIST. */
function savedModel(dir: string, seed: number, o: { arch?: string; inputShape?: [number, number, number]; numClasses?: number } = {}) {
  manualSeed(seed);
  const model = createClassifier(o.arch ?? "small-cnn", { numClasses: o.numClasses ?? 10, inputShape: o.inputShape ?? [1, 28, 28], width: 0.25 });
  const numClasses = o.numClasses ?? 10;
  saveClassifier(dir, model, { dataset: "mnist", classes: numClasses === 10 ? DIGIT_CLASSES : DIGIT_CLASSES.slice(0, numClasses) });
  return model.eval();
}

const base = (from: string, surrogate: string = from): ExperimentInput => ({
  name: "from",
  dataset: { name: "mnist" },
  targets: [{ from, surrogate: { from: surrogate } }],
  defenses: ["none"],
  attacks: ["fgsm"],
  eps: ["8/255"],
  threats: ["whitebox"],
  evalImages: 40,
});

function configProblems(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail("the config was accepted");
}

async function dataProblems(config: ReturnType<typeof parseExperiment>): Promise<string> {
  try {
    await loadExperimentData(config);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.message;
  }
  assert.fail("the data and models were accepted");
}

describe("targets from model folders", () => {
  it("materialises the saved model: same logits, nothing trained, its accuracy in the results", async () => {
    const root = mkdtempSync(join(tmpdir(), "idfr-from-"));
    const saved = savedModel(join(root, "target"), 7);
    const other = savedModel(join(root, "other"), 8);
    const config = parseExperiment(base(join(root, "target")));
    assert.equal(config.targets[0].arch, "small-cnn", "the architecture comes from model.json");
    assert.equal(config.targets[0].width, 0.25);

    const data = await loadExperimentData(config);
    const out = join(root, "run");
    const make = new Materializer(config, data, runKeys(config, data), new ArtifactCache(out), runContext({ log: () => {}, progress: "none", outDir: out }));
    const target = await make.target(0);
    const set = data.evalSet;
    const x = tensor(Float32Array.from(set.images.subarray(0, 8 * 784), (v) => v / 255), [8, 1, 28, 28]);
    const logits = (m: { forward(input: Tensor): Tensor }) => noGrad(() => m.forward(x).toTypedArray() as Float32Array);
    assert.deepEqual(logits(target), logits(saved));
    assert.notDeepEqual(logits(other), logits(saved), "another model's logits differ (the comparison can fail)");
    x.dispose();

    const { records, stats } = await runExperiment(config, { outDir: join(root, "run2"), progress: "none" });
    assert.equal(stats.modelsTrained, 0);
    const clean = records.find((r) => r.threat === "clean")!;
    const correct = predict(saved, set).reduce((n, p, k) => n + (p === set.labels[k] ? 1 : 0), 0);
    assert.equal(clean.accuracy, correct / set.shape[0]);
    assert.equal(clean.target, "small-cnn");
  });

  it("refuses a missing folder, a folder without model.json, arch with from, and neither, naming the key", () => {
    const root = mkdtempSync(join(tmpdir(), "idfr-from-"));
    mkdirSync(join(root, "empty"));
    assert.match(configProblems(() => parseExperiment(base(join(root, "nothing")), "c.json")),
      new RegExp(`targets\\.0\\.from: ${join(root, "nothing")}: no such folder; expected a model folder`));
    assert.match(configProblems(() => parseExperiment(base(join(root, "empty")), "c.json")),
      /targets\.0\.from: .*empty: not a model folder \(no model\.json\)/);
    assert.match(configProblems(() => parseExperiment({ ...base(root), targets: [{ arch: "small-cnn", from: root, surrogate: { arch: "small-cnn" } }] })),
      /targets\.0: give either arch \(a model to train\) or from \(a model folder to load\), not both/);
    assert.match(configProblems(() => parseExperiment({ ...base(root), targets: [{ arch: "small-cnn", surrogate: { epochs: 2 } }] })),
      /targets\.0\.surrogate\.arch: expected an architecture to train \(small-cnn, .*\) or "from": a model folder to load/);
    assert.match(configProblems(() => parseExperiment({ ...base(root), targets: [{ arch: "small-cnn", runAtDataSize: true, surrogate: { arch: "small-cnn" } }] })),
      /targets\.0\.runAtDataSize: only for a model loaded with "from"/);
  });

  it("refuses a model that does not fit the data, naming the key, the folder and the mismatch", async () => {
    const root = mkdtempSync(join(tmpdir(), "idfr-from-"));
    savedModel(join(root, "ten"), 1);
    savedModel(join(root, "five"), 1, { numClasses: 5 });
    const problems = await dataProblems(parseExperiment(base(join(root, "ten"), join(root, "five"))));
    assert.match(problems, new RegExp(`targets\\.0\\.surrogate\\.from: ${join(root, "five")}: the model does not fit mnist: it has 5 classes, mnist has 10`));
    assert.doesNotMatch(problems, /targets\.0\.from/, "the target fits");
  });

  it("runs a model at the data's size only when asked (runAtDataSize)", async () => {
    const root = mkdtempSync(join(tmpdir(), "idfr-from-"));
    const saved = savedModel(join(root, "r18"), 3, { arch: "resnet18", inputShape: [1, 32, 32] });
    assert.match(await dataProblems(parseExperiment(base(join(root, "r18")))),
      /targets\.0\.from: .*r18: the model does not fit mnist: it takes 1x32x32 images, mnist has 1x28x28 \(set "runAtDataSize": true to run it at 28x28\)/);
    const entry = { from: join(root, "r18"), runAtDataSize: true };
    const config = parseExperiment({ ...base(root), targets: [{ ...entry, surrogate: entry }] });
    const data = await loadExperimentData(config);
    const loaded = data.loaded!.targets[0]!;
    assert.deepEqual(loaded.model.info.inputShape, [1, 28, 28]);
    assert.equal(data.loaded!.surrogates[0], loaded, "one folder is loaded once");
    const x = tensor(Float32Array.from({ length: 2 * 784 }, (_, i) => (i % 17) / 16), [2, 1, 28, 28]);
    const at28 = createClassifier("resnet18", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 });
    at28.loadStateDict(saved.stateDict());
    assert.deepEqual(noGrad(() => loaded.model.forward(x).toTypedArray()), noGrad(() => at28.eval().forward(x).toTypedArray()), "the saved weights, at 28x28");
    x.dispose();
  });

  it("takes a relative folder from the config file's folder (presets: the working folder)", () => {
    const root = mkdtempSync(join(tmpdir(), "idfr-from-"));
    savedModel(join(root, "models", "t"), 1);
    mkdirSync(join(root, "configs"));
    writeFileSync(join(root, "configs", "c.json"), JSON.stringify(base("../models/t")));
    assert.equal(readExperiment(join(root, "configs", "c.json")).targets[0].from, join(root, "models", "t"));
    assert.match(configProblems(() => parseExperiment(base("../models/t"), "inline")), /targets\.0\.from: .*models\/t: no such folder/);
    assert.equal(parseExperiment(base("models/t"), "inline", { baseDir: root }).targets[0].surrogate.from, join(root, "models", "t"));
  });

  it("keys follow the folder's weights, not its path", async () => {
    const root = mkdtempSync(join(tmpdir(), "idfr-from-"));
    savedModel(join(root, "a"), 1);
    savedModel(join(root, "s"), 2);
    const keysOf = async (dir: string) => {
      const config = parseExperiment(base(dir, join(root, "s")));
      const k = runKeys(config, await loadExperimentData(config));
      return { target: k.target(0), surrogate: k.surrogate(0), defense: k.defense("none", 0), evalKey: k.evalKey };
    };
    const first = await keysOf(join(root, "a"));
    assert.deepEqual(await keysOf(join(root, "a")), first);
    cpSync(join(root, "a"), join(root, "moved"), { recursive: true });
    assert.deepEqual(await keysOf(join(root, "moved")), first, "a moved folder keeps its keys");
    savedModel(join(root, "a"), 9); // new weights in the same folder
    const changed = await keysOf(join(root, "a"));
    assert.notEqual(changed.target, first.target);
    assert.notEqual(changed.defense, first.defense);
    assert.equal(changed.surrogate, first.surrogate, "the surrogate's folder did not change");
    assert.equal(changed.evalKey, first.evalKey);
    // A trained entry keeps the key it had before `from` existed (a spec hash of the entry itself).
    const trained = parseExperiment({ ...base(root), targets: [{ arch: "small-cnn", surrogate: { arch: "small-cnn", seed: 1 } }] });
    const key = (data: Partial<ExperimentData>) => runKeys(trained, data as ExperimentData).target(0);
    assert.equal(key({ key: { name: "mnist", splitSeed: 0, splits: {} } }), key({ key: { name: "mnist", splitSeed: 0, splits: {} }, loaded: { targets: [undefined], surrogates: [undefined] } }));
  });
});

describe("paper-imagenet preset", () => {
  function modelJson(dir: string, arch: string, side: number): void {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "model.json"), JSON.stringify({ arch, numClasses: 1000, inputShape: [3, side, side] }));
  }

  it("one config per input size, each target pretrained from its folder, its surrogate the other at the same size", () => {
    const root = mkdtempSync(join(tmpdir(), "idfr-imagenet-"));
    modelJson(join(root, "r50"), "resnet50", 224);
    modelJson(join(root, "inc"), "inception-v3", 299);
    const warnings: string[] = [];
    const [r50, inc] = presetConfigs("paper-imagenet", { root, targetResnet50: join(root, "r50"), targetInception: join(root, "inc"), warn: (l) => warnings.push(l) });
    assert.deepEqual(warnings, []);
    assert.deepEqual([r50.name, r50.dataset.imageSize, r50.targets[0].arch, r50.targets[0].from, r50.targets[0].surrogate.arch, r50.targets[0].surrogate.from],
      ["paper-imagenet-resnet50", 224, "resnet50", join(root, "r50"), "inception-v3", join(root, "inc")]);
    assert.deepEqual([inc.name, inc.dataset.imageSize, inc.targets[0].arch, inc.targets[0].surrogate.arch], ["paper-imagenet-inception-v3", 299, "inception-v3", "resnet50"]);
    assert.equal(r50.targets[0].surrogate.runAtDataSize, true);
    // The paper's 25,000 / 5,000 / 10,000, and all 10,000 test images evaluated.
    assert.deepEqual([r50.dataset.trainImages, r50.dataset.split, r50.evalImages], [25000, { val: 5000, test: 10000 }, 10000]);
  });

  it("trains from scratch, with a warning, where no pretrained folder is given", () => {
    const warnings: string[] = [];
    const [r50] = presetConfigs("paper-imagenet", { root: "/data/imagenet", warn: (l) => warnings.push(l) });
    assert.equal(r50.targets[0].from, undefined);
    assert.equal(r50.targets[0].epochs, 90);
    assert.equal(warnings.length, 2);
    assert.match(warnings[0], /no pretrained ResNet50 given \(--target-resnet50 DIR\); it will be trained from scratch/);
    assert.match(warnings[1], /no pretrained InceptionV3 given \(--target-inception DIR\)/);
  });
});
