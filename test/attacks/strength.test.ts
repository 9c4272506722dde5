/**
 * Attack strength on a small CNN trained for a few seconds on 600 real digits and attacked on 100
 * others: the orderings the literature predicts, CW-L2's minimal perturbations, targeted success
 * and the worst case over attacks. All draws are seeded, so the counts are exact on a given
 * libtorch; the comparisons allow no slack.
 */
import assert from "node:assert/strict";
import { before, test } from "node:test";
import { makeAttack, randomTargets, type AttackName } from "../../src/attacks/index.js";
import { threatCandidate, worstCase } from "../../src/eval/index.js";
import { setNumThreads, tidy, type nn, type Tensor } from "../../src/torch/index.js";
import { accuracy, digits, toyDefense, trainCnn } from "./models.js";

setNumThreads(1);
const EPS = 0.1;
let model: nn.Sequential;
let x: Tensor;
let y: Tensor;

before(() => {
  const train = digits(0, 60);
  ({ x, y } = digits(100, 10));
  model = trainCnn(train.x, train.y);
  const acc = accuracy(model, x, y);
  assert.ok(acc >= 0.8, `the test CNN should reach 80 % on held-out digits, got ${acc}`);
});

/** Robust accuracy (count of correct predictions on the AEs) of an attack at ε. */
function robust(name: AttackName, options: Record<string, unknown> = {}): number {
  return makeAttack(name, model, { eps: EPS, preset: "standard", ...options } as never).evaluate(x, y).robustCorrect;
}

test("robust accuracy orders PGD <= BIM <= FGSM < clean, and APGD-CE, APGD-DLR <= PGD", () => {
  const clean = tidy(() => model.forward(x).argmax(1).eq(y).sum().item());
  const fgsm = robust("fgsm");
  const bim = robust("bim");
  // Madry's setting: more steps of a smaller size, from a random start.
  const pgd = robust("pgd", { steps: 40, stepSize: (2.5 * EPS) / 40, seed: 1 });
  const apgdCe = robust("apgd-ce", { steps: 50, seed: 1 });
  const apgdDlr = robust("apgd-dlr", { steps: 50, seed: 1 });
  const counts = JSON.stringify({ clean, fgsm, bim, pgd, apgdCe, apgdDlr });
  assert.ok(fgsm < clean, counts);
  assert.ok(bim <= fgsm, counts);
  assert.ok(pgd <= bim, counts);
  assert.ok(apgdCe <= pgd, counts);
  assert.ok(apgdDlr <= pgd, counts);
  // The iterative attacks are far stronger than one step here (not just equal).
  assert.ok(bim < fgsm - 10, counts);
});

test("CW-L2 succeeds with a mean L2 below the budget PGD-L2 needs for a lower success rate", () => {
  const budget = 1.5;
  const pgdL2 = makeAttack("pgd-l2", model, { eps: budget, steps: 20, seed: 1 }).evaluate(x, y);
  const cw = makeAttack("cw-l2", model, { eps: 0, binarySteps: 5, steps: 50, lr: 0.05, initialConst: 0.1 }).run(x, y);
  try {
    const l2 = cw.l2.filter((_, i) => cw.success[i]);
    const meanL2 = l2.reduce((a, b) => a + b, 0) / l2.length;
    const cwRate = l2.length / cw.success.length;
    const info = JSON.stringify({ cwRate, meanL2, pgdL2Rate: pgdL2.successRate, budget });
    assert.ok(cwRate >= pgdL2.successRate, info);
    assert.ok(meanL2 < budget, info);
    assert.ok(cwRate >= 0.9, info);
  } finally {
    cw.adversarial.dispose();
  }
});

test("targeted attacks reach the target far more often than chance", () => {
  tidy(() => {
    const target = randomTargets(y, 10, 3);
    const chance = 1 / 9;
    // How often an untargeted PGD happens to land on the target: the chance level in practice.
    const untargeted = makeAttack("pgd", model, { eps: 0.15, preset: "standard", seed: 2 }).run(x, y);
    const targets = target.toArray();
    const byAccident = untargeted.predictions.filter((p, i) => p === targets[i]).length / targets.length;
    for (const name of ["pgd", "cw", "apgd-ce"] as const) {
      const report = makeAttack(name, model, { eps: 0.15, preset: "standard", seed: 2, ...(name === "apgd-ce" ? { steps: 30 } : {}) }).evaluate(x, y, { target });
      const info = `${name}: targeted success ${report.successRate}, untargeted PGD on the target ${byAccident}`;
      assert.ok(report.successRate > 3 * chance, info);
      assert.ok(report.successRate > byAccident + 0.2, info);
    }
  });
});

test("the worst case over attacks is robust exactly where every attack fails, and <= each attack", () => {
  const defense = toyDefense(model, { stochastic: false });
  const specs = [
    { name: "fgsm", eps: EPS },
    { name: "pgd", eps: EPS, preset: "standard", seed: 4 },
    { name: "cw", eps: EPS, preset: "standard", seed: 4 },
  ] as const;
  // Each attack alone on the full batch, judged by the defense.
  const alone = specs.map((spec) => tidy(() => {
    const { name, ...options } = spec;
    const { adversarial } = makeAttack(name, model, options as never).run(x, y);
    return defense.classify(adversarial).eq(y).toArray().map(Boolean);
  }));
  const combined = worstCase(specs.map((s) => threatCandidate({ kind: "whitebox" }, defense, s as never)), defense, x, y);
  try {
    const clean = tidy(() => defense.classify(x).eq(y).toArray().map(Boolean));
    const expected = clean.map((ok, i) => ok && alone.every((a) => a[i]));
    assert.deepEqual(combined.robust, expected);
    for (const a of alone) assert.ok(combined.accuracy.correct <= a.filter(Boolean).length);
    // The kept AE of every broken sample does fool the defense.
    const fooled = tidy(() => defense.classify(combined.adversarial).ne(y).toArray().map(Boolean));
    combined.robust.forEach((r, i) => assert.equal(fooled[i], !r, `sample ${i} (${combined.brokenBy[i]})`));
    assert.equal(combined.perAttack.length, 3);
    assert.ok(combined.accuracy.ci95.low <= combined.accuracy.accuracy && combined.accuracy.accuracy <= combined.accuracy.ci95.high);
  } finally {
    combined.adversarial.dispose();
  }
});
