/** Threat models: which model each one differentiates, EOT against a random defense, evaluation counts. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { FGSM, makeAttack, robustAccuracy, withEot, EotModel } from "../../src/attacks/index.js";
import { attackedModel, craftAdversarial, evaluateThreat } from "../../src/eval/index.js";
import { F, keep, manualSeed, noGrad, rand, setNumThreads, tidy, valueAndGrad } from "../../src/torch/index.js";
import { smallCnn, toyDefense } from "./models.js";

setNumThreads(1);
manualSeed(11);
const target = smallCnn(1, 12, 10).eval();
const surrogate = smallCnn(1, 12, 10).eval();
const x = keep(rand([5, 1, 12, 12]));
const y = keep(noGrad(() => target.forward(x).argmax(1)));
const pgd = { name: "pgd", eps: 0.05, steps: 3, stepSize: 0.02, seed: 9 } as const;

test("white-box attacks the undefended target; transfer attacks the surrogate", () => {
  const defense = toyDefense(target, { stochastic: true });
  tidy(() => {
    const direct = (m: typeof target) => makeAttack("pgd", m, { eps: 0.05, steps: 3, stepSize: 0.02, seed: 9 }).run(x, y).adversarial.toArray();
    const white = craftAdversarial({ kind: "whitebox" }, defense, pgd, x, y).adversarial.toArray();
    const transfer = craftAdversarial({ kind: "transfer", surrogate }, defense, pgd, x, y).adversarial.toArray();
    assert.deepEqual(white, direct(target));
    assert.deepEqual(transfer, direct(surrogate));
    assert.notDeepEqual(transfer, white);
  });
  // Neither touched the defended pipeline.
  assert.deepEqual(defense.calls, { withGrad: 0, withoutGrad: 0 });
  assert.throws(() => attackedModel({ kind: "transfer" } as never, defense), /surrogate: expected a classifier for the transfer threat model, got undefined/);
  assert.throws(() => attackedModel({ kind: "grey" } as never, defense), /threat.kind: expected "transfer", "whitebox" or "adaptive", got "grey"/);
});

test("adaptive attacks differentiate the whole pipeline, once per step when it is deterministic", () => {
  const defense = toyDefense(target, { stochastic: false });
  assert.ok(!(attackedModel({ kind: "adaptive" }, defense) instanceof EotModel));
  tidy(() => craftAdversarial({ kind: "adaptive", eotSamples: 4 }, defense, pgd, x, y));
  assert.equal(defense.calls.withGrad, 3);
});

test("adaptive attacks on a stochastic defense average the gradient over eotSamples draws (EOT)", () => {
  const defense = toyDefense(target, { stochastic: true, sigma: 0.2 });
  const model = attackedModel({ kind: "adaptive", eotSamples: 6 }, defense);
  assert.ok(model instanceof EotModel && model.samples === 6);
  tidy(() => craftAdversarial({ kind: "adaptive", eotSamples: 6 }, defense, pgd, x, y));
  assert.equal(defense.calls.withGrad, 3 * 6);

  // FGSM through EOT steps along the sign of the mean gradient of the draws, draw for draw.
  tidy(() => {
    const eps = 0.05;
    const forward = (z: typeof x) => defense.attackForward(z);
    manualSeed(21);
    let sum = null as null | ReturnType<typeof rand>;
    for (let k = 0; k < 6; k++) {
      const g = valueAndGrad((z) => F.crossEntropy(forward(z), y, { reduction: "sum" }), x).grad;
      sum = sum === null ? g : sum.add(g);
    }
    const expected = x.add(sum!.div(6).sign(), eps).clamp(0, 1).toArray();
    manualSeed(21);
    const actual = new FGSM(withEot(forward, 6), { eps }).run(x, y).adversarial.toArray();
    assert.deepEqual(actual, expected);
    // A single draw gives a different step: the averaging is what made them equal.
    manualSeed(21);
    const single = new FGSM(forward, { eps }).run(x, y).adversarial.toArray();
    assert.notDeepEqual(single, expected);
  });
});

test("evaluateThreat and robustAccuracy report counts, accuracy and a 95 % Wilson interval judged by the defense", () => {
  const defense = toyDefense(target, { stochastic: false });
  const result = evaluateThreat({ kind: "whitebox" }, defense, { name: "pgd", eps: 0.1, steps: 5, seed: 1 }, x, y);
  assert.equal(result.threat, "whitebox");
  assert.equal(result.attack, "pgd");
  assert.equal(result.clean.n, 5);
  assert.equal(result.clean.correct, 5);
  assert.equal(result.robust.correct, result.fooled.filter((f) => !f).length);
  assert.ok(result.robust.correct < 5, "PGD at 0.1 breaks the random CNN");
  assert.ok(result.robust.ci95.low <= result.robust.accuracy && result.robust.accuracy <= result.robust.ci95.high);
  assert.ok(result.meanLinf > 0 && result.meanLinf <= 0.1 + 1e-6);
  tidy(() => {
    const plain = robustAccuracy(target, x, y);
    assert.deepEqual({ n: plain.n, correct: plain.correct, accuracy: plain.accuracy }, { n: 5, correct: 5, accuracy: 1 });
    assert.equal(robustAccuracy(defense, x, y).correct, 5);
  });
});
