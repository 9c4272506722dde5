/** Option checks, presets, the APGD schedule, the losses' values and the Wilson interval. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { APGD, apgdCheckpoints, BIM, CWL2, FGSM, losses, makeAttack, parseEps, PGD, PGDL2, presetOptions, randomTargets, wilsonInterval, withEot } from "../../src/attacks/index.js";
import { rand, setNumThreads, tensor, tidy } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";
import { LinearModel } from "./models.js";

setNumThreads(1);
const model = new LinearModel([[1, 0], [0, 1], [1, 1], [-1, 0]], [0, 0, 0, 0]);

test("bad options throw errors that name the option and the value", () => {
  assert.throws(() => new PGD(model, { eps: -1 }), { name: "RangeError", message: "eps: expected a number in [0, 1], got -1" });
  assert.throws(() => new FGSM(model, { eps: 2 }), /^RangeError: eps: expected a number in \[0, 1\], got 2$/);
  assert.throws(() => new BIM(model, { steps: 0 }), /steps: expected a positive integer, got 0/);
  assert.throws(() => new PGD(model, { steps: 2.5 }), /steps: expected a positive integer, got 2.5/);
  assert.throws(() => new PGD(model, { stepSize: 0 }), /stepSize: expected a number in \(0, 1\], got 0/);
  assert.throws(() => new PGD(model, { seed: -3 }), /seed: expected an integer in \[0, 4294967295\], got -3/);
  assert.throws(() => new PGD(model, { randomStart: "yes" as never }), { name: "TypeError", message: 'randomStart: expected true or false, got "yes"' });
  assert.throws(() => new PGDL2(model, { eps: Number.NaN }), /eps: expected a number >= 0, got NaN/);
  assert.throws(() => new CWL2(model, { lr: -0.1 }), /lr: expected a positive number, got -0.1/);
  assert.throws(() => new CWL2(model, { binarySteps: 0 }), /binarySteps: expected a positive integer, got 0/);
  assert.throws(() => new APGD(model, { loss: "hinge" as never }), /loss: expected one of "ce", "dlr", got "hinge"/);
  assert.throws(() => new APGD(model, { rho: 1.5 }), /rho: expected a number in \[0, 1\], got 1.5/);
  assert.throws(() => new PGD(model, { batchSize: 0 }), /batchSize: expected a positive integer, got 0/);
  assert.throws(() => new PGD(model, { stepsize: 0.1 } as never), /PGD: unknown option "stepsize"/);
  assert.throws(() => new PGD(42 as never), /model: expected a function from images to logits or an object with forward\(\), got 42/);
  assert.throws(() => withEot(model, 0), /eotSamples: expected a positive integer, got 0/);
  assert.throws(() => makeAttack("deepfool" as "fgsm", model, { eps: 0.1 }), /attack: expected one of "fgsm", .*"apgd-dlr", .*"autoattack", got "deepfool"/);
  assert.throws(() => makeAttack("bim", model, { eps: 0.1, preset: "madry" as never }), /preset: expected one of "paper", "reference-code", "standard", "standard-20", got "madry"/);
  assert.throws(() => makeAttack("pgd", model, { eps: -0.5 }), /eps: expected a number in \[0, 1\], got -0.5/);
});

test("run() rejects inputs and targets that do not fit", () => {
  tidy(() => {
    const x = rand([3, 2]);
    const y = tensor([0, 1, 2], [3], "int64");
    const fgsm = new FGSM(model, { eps: 0.1 });
    assert.throws(() => fgsm.run(x.mul(3), y), /x: pixel values must lie in \[0, 1\]/);
    assert.throws(() => fgsm.run(x, tensor([0, 1, 2], [3], "float32")), /y: expected int64 labels of shape \[3\], got float32/);
    assert.throws(() => fgsm.run(x, y, { target: tensor([1, 2], [2], "int64") }), /target: expected int64 classes of shape \[3\]/);
    assert.throws(() => fgsm.run(x, y, { target: tensor([1, 1, 0], [3], "int64") }), /target: row 1 asks for its own true label/);
    assert.throws(() => fgsm.run(x, y, { sampleIds: [1, 2] }), /sampleIds: expected 3 ids/);
    assert.throws(() => new APGD(new LinearModel([[1, 0], [0, 1]], [0, 0]), { loss: "dlr" }).run(rand([1, 2]), tensor([0], [1], "int64")), /loss: "dlr" needs at least 3 classes/);
  });
});

test("parseEps reads fractions and decimals and rejects the rest", () => {
  assert.equal(parseEps("8/255"), 8 / 255);
  assert.equal(parseEps(" 16 / 255 "), 16 / 255);
  assert.equal(parseEps("0.031"), 0.031);
  assert.equal(parseEps("0"), 0);
  assert.throws(() => parseEps("8/2"), /eps: expected a number in \[0, 1\], got "8\/2"/);
  assert.throws(() => parseEps("-0.1"), /eps: expected a number such as 0.031 or a fraction such as 8\/255, got "-0.1"/);
  assert.throws(() => parseEps("eight"), /eps: expected a number such as 0.031/);
});

test("presets give the paper's, the reference code's and the standard step settings", () => {
  assert.deepEqual(presetOptions("bim", "paper", 8 / 255), { steps: 20, stepSize: 0.03 });
  assert.deepEqual(presetOptions("cw", "paper", 8 / 255), { steps: 20, stepSize: 0.03 });
  assert.deepEqual(presetOptions("bim", "reference-code", 8 / 255), { steps: 10, stepSize: 0.01 });
  assert.deepEqual(presetOptions("cw", "reference-code", 8 / 255), { steps: 10, stepSize: 0.01 });
  assert.deepEqual(presetOptions("pgd", "standard", 0.04), { steps: 10, stepSize: 0.01, randomStart: true });
  assert.deepEqual(presetOptions("fgsm", "paper", 0.04), {});
  const bim = makeAttack("bim", model, { eps: 8 / 255, preset: "paper" }) as BIM;
  assert.deepEqual({ ...bim.options }, { eps: 8 / 255, steps: 20, stepSize: 0.03 });
  // Overrides win over the preset.
  const pgd = makeAttack("pgd", model, { eps: 0.04, preset: "standard", steps: 3 }) as PGD;
  assert.equal(pgd.options.steps, 3);
  assert.equal(pgd.options.stepSize, 0.01);
  assert.equal(makeAttack("apgd-dlr", model, { eps: 0.1 }).name, "apgd-dlr");
  // Kurakin's default schedule for BIM: min(255ε + 4, 1.25·255ε) steps of 1/255.
  assert.equal(new BIM(model, { eps: 8 / 255 }).options.steps, 10);
  assert.equal(new BIM(model, { eps: 16 / 255 }).options.steps, 20);
});

test("APGD checkpoints: AutoAttack's integer windows, which at N = 100 are the paper's p0 = 0, p1 = 0.22, p(j+1) = p(j) + max(p(j) − p(j−1) − 0.03, 0.06)", () => {
  // p = 0.22, 0.41, 0.57, 0.70, 0.80, 0.87, 0.93, 0.99, 1.05 -> ceil(100 p)
  assert.deepEqual(apgdCheckpoints(100), [22, 41, 57, 70, 80, 87, 93, 99]);
  // N = 10: first window max(⌊2.2⌋, 1) = 2, then shorter by max(⌊0.3⌋, 1) = 1 down to max(⌊0.6⌋, 1) = 1.
  assert.deepEqual(apgdCheckpoints(10), [2, 3, 4, 5, 6, 7, 8, 9, 10]);
  // N = 50: windows 11, 10, 9, 8, 7 (the next, 6, would end at 51).
  assert.deepEqual(apgdCheckpoints(50), [11, 21, 30, 38, 45]);
  assert.deepEqual(apgdCheckpoints(1), [1]);
});

test("losses: CW margin, DLR and targeted DLR match hand-computed values", () => {
  tidy(() => {
    const z = tensor([3, 1, 2, 0.5, /**/ 0, 4, 1, 2], [2, 4]);
    const y = tensor([0, 3], [2], "int64");
    const t = tensor([2, 1], [2], "int64");
    // margin max_{j≠y} z_j − z_y: row 0: 2 − 3 = −1; row 1: 4 − 2 = 2 (capped at κ = 1.5).
    assertClose(losses.cwMargin(z, y, 1.5).toArray(), [-1, 1.5]);
    // sorted desc: row 0: 3, 2, 1, 0.5; row 1: 4, 2, 1, 0.
    // DLR = −(z_y − max_{i≠y} z_i)/(z_π1 − z_π3): row 0: −(3 − 2)/(3 − 1) = −0.5; row 1: −(2 − 4)/(4 − 1) = 2/3.
    assertClose(losses.dlr(z, y).toArray(), [-0.5, 2 / 3]);
    // targeted: −(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2): row 0: −(3 − 2)/(3 − 0.75) = −0.4444; row 1: −(2 − 4)/(4 − 0.5) = 0.5714.
    assertClose(losses.targetedDlr(z, y, t).toArray(), [-1 / 2.25, 2 / 3.5]);
    assertClose(losses.targetedCwMargin(z, t, 10).toArray(), [2 - 3, 4 - 2]);
  });
});

test("Wilson interval matches the textbook values", () => {
  const { low, high } = wilsonInterval(81, 100);
  assertClose([low, high], [0.7222, 0.8749], 2e-4, "81/100");
  assert.deepEqual(wilsonInterval(0, 0), { low: 0, high: 1 });
  assert.equal(wilsonInterval(0, 10).low, 0);
  assert.ok(wilsonInterval(10, 10).high === 1 && wilsonInterval(10, 10).low > 0.69);
  assert.throws(() => wilsonInterval(11, 10), /correct: expected an integer in \[0, 10\], got 11/);
});

test("random targets differ from the labels and do not depend on the batch", () => {
  tidy(() => {
    const y = tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [10], "int64");
    const t = randomTargets(y, 10, 4).toArray();
    assert.ok(t.every((c, i) => c !== i && c >= 0 && c < 10));
    assert.ok(new Set(t.map((c, i) => (c - i + 10) % 10)).size > 1, "targets are not a fixed shift");
    const alone = randomTargets(y.narrow(0, 7, 1), 10, 4, [7]).toArray();
    assert.deepEqual(alone, [t[7]]);
  });
});
