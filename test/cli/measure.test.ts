/** The measurement module: one prediction path over tensors and image sets, Wilson intervals, success rates, norms. */
import assert from "node:assert/strict";
import { test } from "node:test";
import {
  accuracyOf, countCorrect, measureAttack, perturbationNorms, predict, predictClasses, setAccuracy, successRate, successRateOf,
  summarizeNorms, topClasses, wilsonInterval, Z95,
} from "../../src/eval/measure.js";
import type { ImageSet } from "../../src/data/types.js";
import { wilson95 } from "../../src/eval/results.js";
import { manualSeed, memory, nn, tensor, tidy, type Tensor } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";

/** 7 random 1x4x4 images with labels, and a seeded linear classifier over them. */
function fixture(): { set: ImageSet; model: nn.Sequential } {
  manualSeed(3);
  const images = Uint8Array.from({ length: 7 * 16 }, (_, i) => (i * 97 + 13) % 256);
  const set: ImageSet = { images, labels: Uint8Array.from([0, 1, 2, 0, 1, 2, 0]), shape: [7, 1, 4, 4], classes: ["a", "b", "c"] };
  return { set, model: new nn.Sequential(new nn.Flatten(), new nn.Linear(16, 3)) };
}

test("Wilson uses the exact 95 % quantile: 81/100 gives the textbook interval; z = 1.96 differs only in the 6th digit", () => {
  assert.equal(Z95.toFixed(2), "1.96");
  const { low, high } = wilsonInterval(81, 100);
  assertClose([low, high], [0.72224, 0.87488], 1e-4);
  const rounded = wilsonInterval(81, 100, 1.96);
  assert.ok(Math.abs(rounded.low - low) < 1e-5 && rounded.low !== low);
  assert.deepEqual(accuracyOf([1, 2, 3], [1, 2, 0]), { n: 3, correct: 2, accuracy: 2 / 3, ci95: wilsonInterval(2, 3) });
  assert.throws(() => accuracyOf([1], [1, 2]), /accuracy: 1 predictions but 2 labels/);
});

test("results records keep their interval numbers: wilson95 is the same Wilson interval as a [low, high] pair", () => {
  // Values written by the runner before the two intervals became one (440/500 is 88.0 %, the README's No defense clean cell).
  assert.deepEqual(wilson95(440, 500), [0.8485804013755894, 0.9056250998736309]);
  assert.equal(wilson95(10, 10)[1], 1);
  // At 0 successes the low end is exactly 0 (rounding used to leave 5.6e-17).
  assert.deepEqual(wilson95(0, 7), [0, 0.35433043506668743]);
  assert.deepEqual(wilson95(500, 500), [0.9923756595384479, 1]);
  const { low, high } = wilsonInterval(123, 456);
  assert.deepEqual(wilson95(123, 456), [low, high]);
});

test("predictions over an image set, over float images in its place and over a tensor agree, in any batch size", () => {
  const { set, model } = fixture();
  const floats = Float32Array.from(set.images, (v) => v / 255);
  const before = memory().numTensors;
  const fromSet = Array.from(predict(model, set, null, { batchSize: 3 }));
  const fromFloats = Array.from(predict(model, set, floats, { batchSize: 7 }));
  const fromTensor = tidy(() => predictClasses(model, tensor(floats, [7, 1, 4, 4]), { batchSize: 2, device: "cpu" }));
  const fromFunction = tidy(() => predictClasses((x: Tensor) => model.forward(x), tensor(floats, [7, 1, 4, 4]), 5));
  assert.equal(memory().numTensors, before);
  assert.deepEqual(fromFloats, fromSet);
  assert.deepEqual(fromTensor, fromSet);
  assert.deepEqual(fromFunction, fromSet);
  const correct = fromSet.filter((p, i) => p === set.labels[i]).length;
  assert.equal(countCorrect(model, set, null, { batchSize: 4 }), correct);
  assert.deepEqual(setAccuracy(model, set), { n: 7, correct, accuracy: correct / 7, ci95: wilsonInterval(correct, 7) });
  // A defense is judged by its classify(), not by its logits.
  const alwaysTwo = { classify: (x: Tensor) => tidy(() => x.flatten(1).sum(1).mul(0).add(2).long()) };
  assert.equal(countCorrect(alwaysTwo, set), 2);
  assert.throws(() => predict(model, set, new Float32Array(3)), /images: expected 112 values for 7 images, got 3/);
  assert.throws(() => predictClasses(model, tensor(floats, [7, 1, 4, 4]), { batchSize: 0 }), /batchSize: expected a positive integer, got 0/);
});

test("success rate: untargeted among the clean-correct images, targeted among all", () => {
  const labels = [0, 1, 2, 3];
  const clean = [0, 1, 0, 0]; // rows 2 and 3 already wrong
  assert.equal(successRate([1, 1, 2, 1], { labels, clean }), 1 / 2);
  assert.equal(successRate([0, 1, 1, 1], { labels, clean, targets: [0, 2, 1, 1] }), 3 / 4);
  assert.equal(successRateOf([true, true, true, true], { labels, clean }), 1);
  assert.equal(successRate([1], { labels: [0], clean: [1] }), 0, "no clean-correct image: 0, not NaN");
});

test("perturbation norms and measureAttack", () => {
  tidy(() => {
    const x = tensor([0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5], [2, 1, 2, 2]);
    const adv = tensor([0.1, 0, 0, -0.1, 0.5, 0.5, 0.5, 0.8], [2, 1, 2, 2]);
    const norms = perturbationNorms(x, adv);
    assertClose(norms.linf, [0.1, 0.3]);
    assertClose(norms.l2, [Math.SQRT2 * 0.1, 0.3]);
    assert.deepEqual(summarizeNorms([1, 3]), { mean: 2, max: 3 });
    assert.deepEqual(summarizeNorms([]), { mean: 0, max: 0 });
    // Judge: logits [-s, s] with s = first pixel - 0.05, so class 1 when the first pixel is above 0.05.
    const judge = (z: Tensor) => tidy(() => z.flatten(1).narrow(1, 0, 1).sub(0.05).mul(tensor([-1, 1], [1, 2])));
    const m = measureAttack(judge, x, tensor([0, 1], [2], "int64"), { adversarial: adv, success: [true, false], ...norms });
    assert.equal(m.n, 2);
    assert.equal(m.clean.correct, 2);
    assert.equal(m.robust.correct, 1);
    assert.equal(m.successRate, 0.5);
    assert.equal(m.sourceSuccessRate, 0.5);
    assertClose([m.linf.mean, m.linf.max], [0.2, 0.3]);
  });
});

test("topClasses gives each row's class and softmax probability", () => {
  tidy(() => {
    const rows = topClasses((x) => x, tensor([0, Math.log(3), 5, 5], [2, 2]));
    assert.deepEqual(rows.map((r) => r.index), [1, 0]);
    assertClose(rows.map((r) => r.probability), [0.75, 0.5]);
  });
});
