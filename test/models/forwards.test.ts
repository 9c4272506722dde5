import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { InputDenoiser } from "../../src/defenses/idfr/denoiser.js";
import { createClassifier } from "../../src/models/registry.js";
import { gradOf, manualSeed, memory, noGrad, rand } from "../../src/torch/index.js";

const src = new URL("../../src/", import.meta.url).pathname;
const forwardFiles = ["models/split.ts", "models/resnet.ts", "models/vgg.ts", "models/inception.ts", "models/small-cnn.ts",
  "models/conv-bn-relu.ts", "defenses/idfr/denoiser.ts", "defenses/idfr/restorer.ts"];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : []);
}

describe("model forwards read like PyTorch", () => {
  it("no forward frees tensors by hand (nn.chain and tidy do it)", () => {
    for (const file of forwardFiles) {
      assert.doesNotMatch(readFileSync(join(src, file), "utf8"), /\.dispose\(\)/, `${file} calls dispose()`);
    }
  });
  it("one ConvBnRelu serves the classifiers and the denoiser", () => {
    const defining = sources(src).filter((f) => /class ConvBnRelu\b/.test(readFileSync(f, "utf8")));
    assert.deepEqual(defining.map((f) => f.slice(src.length)), ["models/conv-bn-relu.ts"]);
  });
  const archs: [string, [number, number, number], number][] = [
    ["small-cnn", [1, 28, 28], 0.25], ["vgg16", [3, 32, 32], 0.125], ["resnet18", [3, 32, 32], 0.125],
    ["resnet50", [3, 32, 32], 0.0625], ["inception-v3", [3, 75, 75], 0.0625],
  ];
  for (const [arch, shape, width] of archs) {
    it(`${arch}: a forward leaves only its output alive, in training, eval and under autograd`, () => {
      manualSeed(0);
      const model = createClassifier(arch, { numClasses: 4, inputShape: shape, width });
      const x = rand([2, ...shape]);
      const live = memory().numTensors;
      model.train().forward(x).dispose();
      noGrad(() => model.eval().forward(x)).dispose();
      gradOf((z) => model.forward(z).sum(), x).dispose();
      assert.equal(memory().numTensors, live);
      model.dispose();
    });
  }
  it("the input normalisation moves with to() and stays out of the state dict", () => {
    const model = createClassifier("small-cnn", { numClasses: 3, inputShape: [1, 12, 12], width: 0.125, normalization: { mean: [0.5], std: [0.25] } });
    assert.ok(![...model.stateDict().keys()].some((k) => k === "mean" || k === "std"));
    const old = model.mean;
    model.to("float64");
    assert.equal(model.mean.dtype, "float64");
    assert.ok(old.isDisposed);
    assert.equal(noGrad(() => model.eval().forward(rand([1, 1, 12, 12]).double())).dtype, "float64");
    model.dispose();
    assert.ok(model.std.isDisposed);
  });
  it("the denoiser (both variants): a forward leaves only its output alive", () => {
    for (const variant of ["paper", "reference-code"] as const) {
      manualSeed(0);
      const id = new InputDenoiser({ channels: 3, width: 0.25, variant, zeroInitResidual: false });
      const x = rand([2, 3, 15, 15]);
      const live = memory().numTensors;
      id.train().forward(x).dispose();
      gradOf((z) => id.eval().forward(z).sum(), x).dispose();
      assert.equal(memory().numTensors, live);
    }
  });
});
