/** Feature Squeezing as Xu et al.'s detector: scores, the 5 % false-positive threshold, and how detection enters accuracy. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PGD } from "../../src/attacks/pgd.js";
import { FeatureSqueezingDetector, medianFilter, reduceBitDepth } from "../../src/defenses/baselines/index.js";
import { createClassifier } from "../../src/models/registry.js";
import { F, keep, manualSeed, randint, setNumThreads, tidy } from "../../src/torch/index.js";
import { scene } from "./images.js";

setNumThreads(1);
manualSeed(8);
const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 16, 16], width: 0.25 }).eval();
// 60 grey scenes with a little noise: distinct images with the structure the squeezers act on.
const clean = keep(tidy(() => scene(60, 1, 16).add(F.dropout(scene(60, 1, 16), 0.5, true).mul(0.05)).clamp(0, 1)));
const labels = keep(randint(0, 10, [60]));

test("the score is the largest L1 distance between softmax outputs before and after each squeezer alone", () => {
  const detector = new FeatureSqueezingDetector(target, { dataset: "mnist" });
  tidy(() => {
    const x = clean.narrow(0, 0, 5);
    const p = F.softmax(target.forward(x), 1);
    const d1 = p.sub(F.softmax(target.forward(reduceBitDepth(x, 1)), 1)).abs().sum(1);
    const d2 = p.sub(F.softmax(target.forward(medianFilter(x, 2)), 1)).abs().sum(1);
    const want = d1.maximum(d2).toArray() as number[];
    detector.scores(x).forEach((s, i) => assert.ok(Math.abs(s - want[i]) < 1e-6, `image ${i}: ${s} vs ${want[i]}`));
  });
});

test("the threshold fitted at 5 % flags at most 5 % of the images it was fitted on (Xu et al.'s rule)", () => {
  for (const fpr of [0.05, 0.1]) {
    const detector = new FeatureSqueezingDetector(target, { dataset: "mnist", falsePositiveRate: fpr });
    const threshold = detector.fit(clean);
    const sorted = detector.scores(clean).sort((a, b) => a - b);
    assert.equal(threshold, sorted[Math.ceil(60 * (1 - fpr)) - 1]);
    const flagged = detector.detect(clean).filter(Boolean).length;
    assert.ok(flagged / 60 <= fpr, `${flagged} of 60 flagged at fpr ${fpr}`);
  }
  assert.throws(() => new FeatureSqueezingDetector(target).detect(clean), /no threshold; call fit/);
});

test("a flagged AE counts as defended, a flagged clean image as an error", () => {
  const detector = new FeatureSqueezingDetector(target, { dataset: "mnist" });
  detector.fit(clean);
  tidy(() => {
    const adversarial = new PGD(target, { eps: 0.3, steps: 5 }).run(clean, labels).adversarial;
    const report = detector.evaluate(clean, labels, adversarial);
    const y = labels.toArray() as number[];
    const cleanFlags = detector.detect(clean);
    const advFlags = detector.detect(adversarial);
    const cleanPred = target.forward(clean).argmax(1).toArray() as number[];
    const advPred = target.forward(adversarial).argmax(1).toArray() as number[];
    const count = (f: (i: number) => boolean) => y.filter((_, i) => f(i)).length / 60;
    assert.equal(report.falsePositiveRate, count((i) => cleanFlags[i]));
    assert.equal(report.detectionRate, count((i) => advFlags[i]));
    assert.equal(report.cleanAccuracy, count((i) => cleanPred[i] === y[i] && !cleanFlags[i]));
    assert.equal(report.robustAccuracy, count((i) => advPred[i] === y[i] || advFlags[i]));
    assert.ok(report.falsePositiveRate <= 0.05);
  });
});
