/**
 * What every baseline owes the evaluation: inputs left untouched, logits = target(purify(x)),
 * classify = argmax, an attack gradient equal to the target's gradient at purify(x) (identity BPDA),
 * and no leaked tensors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BASELINE_NAMES, createBaseline } from "../../src/defenses/baselines/index.js";
import { createClassifier } from "../../src/models/registry.js";
import { F, gradOf, keep, manualSeed, memory, noGrad, setNumThreads, tensor, tidy, type Tensor } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";
import { scene } from "./images.js";

setNumThreads(1);
manualSeed(5);
const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 16, 16] }).eval();
const x = keep(scene(3, 3, 16));
const y = keep(tensor(BigInt64Array.from([1n, 4n, 7n]), [3]));
// Short TVM solves keep the suite quick; the contract does not depend on the iteration count.
const make = (name: string) => createBaseline(name, target, { tvm: { iterations: 10 } });

test("the registry lists the paper's purification baselines and rejects other names", () => {
  assert.deepEqual([...BASELINE_NAMES], ["feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm"]);
  for (const name of BASELINE_NAMES) assert.equal(make(name).name, name);
  assert.throws(() => createBaseline("nrp", target), /unknown baseline "nrp"; expected one of feature-squeezing, jpeg-q25/);
});

for (const name of BASELINE_NAMES) {
  test(`${name}: leaves its input untouched and classifies target(purify(x))`, () => {
    tidy(() => {
      const before = x.toArray();
      const d = make(name);
      manualSeed(7);
      const purified = d.purify(x);
      manualSeed(7);
      const logits = d.logits(x);
      manualSeed(7);
      const classes = d.classify(x);
      manualSeed(7);
      d.attackForward(x);
      assert.deepEqual(x.toArray(), before, "the input was modified");
      assert.deepEqual(purified.shape, x.shape);
      assert.ok(purified.min().item() >= 0 && purified.max().item() <= 1);
      assert.ok(purified.sub(x).abs().max().item() > 0, "purification changed nothing");
      assertClose(logits.toArray(), noGrad(() => target.forward(purified)).toArray(), 1e-5, "logits");
      assert.equal(logits.requiresGrad, false);
      assert.deepEqual(classes.toArray(), logits.argmax(1).toArray());
    });
  });

  test(`${name}: attackForward is target(purify(x)) forward with the target's gradient at purify(x) (BPDA)`, () => {
    tidy(() => {
      const d = make(name);
      const loss = (logits: Tensor) => F.crossEntropy(logits, y, { reduction: "sum" });
      // Same seed before each: TVM draws the same mask in both.
      manualSeed(8);
      const value = noGrad(() => d.attackForward(x));
      manualSeed(8);
      const gBpda = gradOf((v) => loss(d.attackForward(v)), x);
      manualSeed(8);
      const purified = d.purify(x);
      const gTarget = gradOf((v) => loss(target.forward(v)), purified);
      assertClose(value.toArray(), noGrad(() => target.forward(purified)).toArray(), 1e-5, "attackForward value");
      assert.ok(gTarget.abs().sum().item() > 0, "the target's gradient is zero: the check would be vacuous");
      assertClose(gBpda.toArray(), gTarget.toArray(), 1e-5, "gradient");
    });
  });
}

test("no tensors are leaked by purify, logits, classify and attackForward", () => {
  const defenses = BASELINE_NAMES.map(make);
  const run = () => {
    for (const d of defenses) {
      d.purify(x).dispose();
      d.logits(x).dispose();
      d.classify(x).dispose();
      d.attackForward(x).dispose();
    }
  };
  run();
  const before = memory().numTensors;
  for (let i = 0; i < 3; i++) run();
  assert.equal(memory().numTensors, before);
});
