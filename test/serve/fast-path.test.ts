/**
 * The inference fast path: batch norm folded into the preceding conv (eval mode), convs and linear
 * layers on oneDNN, libtorch's inference mode: the plain path's outputs within 1e-5, for every
 * built-in architecture and the input denoiser; gradients still flow (attacks); training mode and
 * restore() bring the plain layers back.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { InputDenoiser } from "../../src/defenses/idfr/index.js";
import { enableFastPath } from "../../src/models/fast-path.js";
import { createClassifier } from "../../src/models/index.js";
import { Generator, inferenceMode, manualSeed, memory, nn, noGrad, rand, tidy, type Tensor } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";
import { randomizeBatchNorm } from "./fixture.js";

/** d(sum(w · model(x)))/dx for fixed random weights w; the model's own gradients are cleared. */
function inputGrad(model: nn.Module & { forward(x: Tensor): Tensor }, x: Tensor): number[] {
  const g = tidy(() => {
    const input = x.detach().requiresGrad_(true);
    const out = model.forward(input);
    out.mul(rand(out.shape, { generator: new Generator(5) })).sum().backward();
    return input.grad!.toArray();
  });
  model.zeroGrad();
  return g;
}

function compare(name: string, model: nn.Module & { forward(x: Tensor): Tensor }, shape: number[], pairs: number, layers: number): void {
  randomizeBatchNorm(model, 7);
  model.eval();
  const x = rand(shape, { generator: new Generator(3) });
  const plain = tidy(() => noGrad(() => model.forward(x).toArray()));
  const plainGrad = inputGrad(model, x);
  assert.ok(plainGrad.some((v) => v !== 0), `${name}: a gradient to compare`);
  const tensorsBefore = memory().numTensors;
  const foldOnly = enableFastPath(model, { oneDnn: false });
  assert.equal(foldOnly.pairs, pairs, `${name}: folded pairs`);
  assert.equal(foldOnly.oneDnnLayers, 0);
  assertClose(tidy(() => noGrad(() => model.forward(x).toArray())), plain, 1e-5, `${name} folded`);
  foldOnly.restore();
  const fold = enableFastPath(model);
  try {
    assert.equal(fold.pairs, pairs, `${name}: folded pairs`);
    assert.equal(fold.oneDnnLayers, layers, `${name}: convs and linear layers on oneDNN`);
    assertClose(tidy(() => noGrad(() => model.forward(x).toArray())), plain, 1e-5, `${name} fast path, no-grad`);
    assertClose(tidy(() => inferenceMode(() => model.forward(x).toArray())), plain, 1e-5, `${name} fast path, inference mode`);
    // With autograd on (attacks), the input gradient is the plain path's.
    assertClose(inputGrad(model, x), plainGrad, 1e-4, `${name} input gradient`);
    // The folded layers are not the plain ones: the check above could not pass by doing nothing.
    const bn = model.namedModules().find(([, m]) => m instanceof nn.BatchNorm2d)![1];
    assert.ok(Object.hasOwn(bn, "forward"), `${name}: batch norm replaced`);
    model.train();
    assert.throws(() => enableFastPath(model), /already on the fast path/);
  } finally {
    fold.restore();
  }
  assert.equal(memory().numTensors, tensorsBefore, `${name}: restore() frees the folded weights`);
  model.eval();
  assert.ok(!model.namedModules().some(([, m]) => Object.hasOwn(m, "forward")), `${name}: restore() gives the forwards back`);
  assertClose(tidy(() => noGrad(() => model.forward(x).toArray())), plain, 0, `${name} restored`);
  x.dispose();
}

test("small CNN, ResNet18, VGG16 and the input denoiser on the fast path equal the plain path within 1e-5", () => {
  manualSeed(0);
  // Layers on oneDNN: every conv and linear layer (the heads included).
  compare("small-cnn", createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 }), [5, 1, 28, 28], 4, 6);
  compare("resnet18", createClassifier("resnet18", { numClasses: 10, inputShape: [3, 16, 16], width: 0.125 }), [3, 3, 16, 16], 20, 21);
  compare("vgg16", createClassifier("vgg16", { numClasses: 10, inputShape: [3, 32, 32], width: 0.125 }), [3, 3, 32, 32], 13, 14);
  compare("denoiser", new InputDenoiser({ channels: 3, width: 0.25, zeroInitResidual: false }), [2, 3, 16, 16], 8, 9);
  compare("batch of one", createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 }), [1, 1, 28, 28], 4, 6);
});

test("in training mode a folded model runs the plain layers and its batch norm keeps learning statistics", () => {
  manualSeed(1);
  const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25 });
  const fold = enableFastPath(model.eval());
  try {
    const bn = model.namedModules().find(([, m]) => m instanceof nn.BatchNorm2d)![1] as nn.BatchNorm2d;
    const mean0 = bn.runningMean!.toArray();
    model.train();
    tidy(() => noGrad(() => model.forward(rand([4, 1, 28, 28]))));
    assert.notDeepEqual(bn.runningMean!.toArray(), mean0, "training mode updates the running mean");
  } finally {
    fold.restore();
  }
});
