import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { createClassifier, loadClassifier, saveClassifier, TorchScriptClassifier, ScriptModule, manualSeed, noGrad, rand, tensor, tidy } from "../../src/index.js";
import { assertClose, values } from "../helpers.js";

describe("classifiers split into encoder and head", () => {
  const cases = [
    ["small-cnn", [1, 28, 28], 1, 512],
    ["vgg16", [3, 32, 32], 0.25, 128],
    ["resnet18", [3, 32, 32], 0.25, 128],
    ["resnet50", [3, 32, 32], 0.125, 256],
    ["inception-v3", [3, 75, 75], 0.125, 256],
  ] as const;
  for (const [arch, shape, width, dim] of cases) {
    it(`${arch}: embed gives [N, ${dim}], head gives logits, forward = head ∘ embed`, () => {
      manualSeed(0);
      const m = createClassifier(arch, { numClasses: 7, inputShape: shape, width }).eval();
      assert.equal(m.embeddingDim, dim);
      tidy(() => noGrad(() => {
        const x = rand([2, ...shape]);
        const h = m.embed(x);
        assert.deepEqual(h.shape, [2, dim]);
        assert.ok(values(h).every((v) => v >= 0), "the embedding is post-ReLU");
        assertClose(values(m.forward(x)), values(m.head(h)));
        assert.deepEqual(m.forward(x).shape, [2, 7]);
      }));
    });
  }
  it("published parameter counts at width 1 (VGG16 and ResNet18 CIFAR variants, 10 classes)", () => {
    assert.equal(createClassifier("vgg16", { numClasses: 10, inputShape: [3, 32, 32] }).parameterCount(), 14_724_042);
    assert.equal(createClassifier("resnet18", { numClasses: 10, inputShape: [3, 32, 32] }).parameterCount(), 11_173_962);
  });
  it("normalisation happens inside: inputs stay in [0, 1]", () => {
    manualSeed(0);
    const a = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" }).eval();
    const b = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 }).eval();
    b.loadStateDict(a.stateDict());
    tidy(() => noGrad(() => {
      const x = rand([1, 1, 28, 28]);
      const normalized = x.sub(0.1307).div(0.3081);
      assertClose(values(a.forward(x)), values(b.forward(normalized)), 1e-4);
    }));
  });
  it("bad configurations and inputs give errors naming the problem", () => {
    assert.throws(() => createClassifier("vgg19", { numClasses: 10, inputShape: [3, 32, 32] }), /arch: expected one of small-cnn, vgg16/);
    assert.throws(() => createClassifier("vgg16", { numClasses: 10, inputShape: [3, 28, 28] }), /at least 32x32/);
    assert.throws(() => createClassifier("small-cnn", { numClasses: 1, inputShape: [1, 28, 28] }), /numClasses/);
    assert.throws(() => createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], normalization: "nope" }), /unknown dataset "nope"/);
    const m = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 });
    assert.throws(() => m.forward(rand([1, 3, 28, 28])), /expected images \[N, 1, 28, 28\]/);
    assert.throws(() => m.head(rand([1, 10])), /head expects embeddings \[N, 512\]/);
  });
  it("save and load a model folder: identical logits; errors for a missing or mismatched folder", () => {
    manualSeed(0);
    const dir = mkdtempSync(join(tmpdir(), "idfr-model-"));
    const m = createClassifier("resnet18", { numClasses: 4, inputShape: [3, 32, 32], width: 0.125, normalization: "cifar10" }).eval();
    saveClassifier(dir, m, { dataset: "cifar10", classes: ["a", "b", "c", "d"], accuracy: 0.5, seed: 0 });
    const info = JSON.parse(readFileSync(join(dir, "model.json"), "utf8"));
    assert.equal(info.arch, "resnet18");
    assert.equal(info.embeddingDim, 64);
    const back = loadClassifier(dir);
    tidy(() => noGrad(() => {
      const x = rand([2, 3, 32, 32]);
      assert.deepEqual(values(back.forward(x)), values(m.forward(x)));
    }));
    assert.throws(() => loadClassifier(join(dir, "nope")), /not a model folder/);
  });
});

describe("a user's TorchScript classifier", () => {
  const fixture = new URL("../fixtures/", import.meta.url);
  const expected = JSON.parse(readFileSync(new URL("split_cnn.json", fixture), "utf8")) as { input_shape: number[]; input: number[]; logits: number[] };
  const load = () => TorchScriptClassifier.load(new URL("split_encoder.pt", fixture).pathname, new URL("split_head.pt", fixture).pathname,
    { numClasses: 10, inputShape: [1, 28, 28] });
  it("wraps encoder and head files: embedding width found, logits as PyTorch computed them", () => {
    const m = load();
    assert.equal(m.embeddingDim, 512);
    const x = tensor(expected.input, expected.input_shape);
    assertClose(values(noGrad(() => m.forward(x))), expected.logits, 1e-5);
  });
  it("gives the same logits as the same weights loaded into the TypeScript small-cnn", () => {
    const enc = ScriptModule.load(new URL("split_encoder.pt", fixture).pathname);
    const head = ScriptModule.load(new URL("split_head.pt", fixture).pathname);
    const state = new Map([
      ...[...enc.namedParameters(), ...enc.namedBuffers()].filter(([k]) => k.startsWith("net.")).map(([k, t]) => [`encoder.${k.replace(/^net\./, "")}`, t] as const),
      ...[...head.namedParameters(), ...head.namedBuffers()].map(([k, t]) => [`head.${k.replace(/^fc\./, "")}`, t] as const),
    ]);
    const ts = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
    ts.loadStateDict(state);
    const x = tensor(expected.input, expected.input_shape);
    assertClose(values(noGrad(() => ts.eval().forward(x))), values(noGrad(() => load().forward(x))), 1e-5);
  });
  it("rejects files that do not fit the declared classes", () => {
    assert.throws(() => TorchScriptClassifier.load(new URL("split_encoder.pt", fixture).pathname, new URL("split_head.pt", fixture).pathname,
      { numClasses: 5, inputShape: [1, 28, 28] }), /head gives 10 logits, expected 5 classes/);
  });
});
