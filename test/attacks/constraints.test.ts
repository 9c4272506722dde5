/**
 * Invariants every attack must keep, on a small random CNN: the budget and the [0, 1] box,
 * ε = 0 returning the input, batch consistency, no leaked tensors, and the model's mode restored.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ATTACK_NAMES, attackEntry, makeAttack, nextClassTargets, type AttackName } from "../../src/attacks/index.js";
import { keep, manualSeed, memory, nn, noGrad, rand, setNumThreads, tensor, tidy, type Tensor } from "../../src/torch/index.js";
import { smallCnn } from "./models.js";

// Tiny tensors: one thread avoids OpenMP barrier stalls when the cores are busy, and is as fast.
setNumThreads(1);
manualSeed(3);
const model = smallCnn(1, 12, 10).eval();
const x = keep(rand([6, 1, 12, 12]));
// Labels are the model's own predictions: every sample starts correctly classified, so every
// attack has to move it.
const y = keep(noGrad(() => model.forward(x).argmax(1)));
const EPS = 0.05;
const L2_EPS = 0.5;

/** Short runs of every attack, so the suite stays fast. */
const FAST: Record<AttackName, Record<string, unknown>> = {
  fgsm: {},
  bim: { steps: 4, stepSize: 0.02 },
  pgd: { steps: 4, stepSize: 0.02, seed: 5 },
  cw: { steps: 4, stepSize: 0.02, randomStart: true, seed: 5 },
  "cw-l2": { binarySteps: 3, steps: 50, lr: 0.1, initialConst: 10 },
  "pgd-l2": { steps: 4, seed: 5 },
  "apgd-ce": { steps: 8, seed: 5 },
  "apgd-dlr": { steps: 8, restarts: 2, seed: 5 },
  "apgd-t": { steps: 4, targetClasses: 2, seed: 5 },
  fab: { steps: 4, seed: 5 },
  "fab-t": { steps: 4, targetClasses: 2, seed: 5 },
  square: { queries: 10, seed: 5 },
  autoattack: { version: "custom", attacks: ["apgd-ce", "apgd-t", "fab-t", "square"], steps: 4, restarts: 1, targetClasses: 2, queries: 10, seed: 5, log: () => {} },
};

/** Attacks that, as AutoAttack's code, return the clean input for every sample they do not break. */
const KEEPS_CLEAN = new Set<AttackName>(["apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t", "autoattack"]);

const budget = (name: AttackName) => (name === "pgd-l2" ? L2_EPS : EPS);
const attack = (name: AttackName, eps = budget(name), extra: Record<string, unknown> = {}) =>
  makeAttack(name, model, { eps, preset: "standard", ...FAST[name], ...extra } as never);

for (const name of ATTACK_NAMES) {
  test(`${name}: stays within its budget and in [0, 1], untargeted and targeted`, () => {
    tidy(() => {
      const target = nextClassTargets(y, 10);
      for (const run of attackEntry(name).targeted ? [{}, { target }] : [{}]) {
        const r = attack(name).run(x, y, run);
        const [lo, hi] = [r.adversarial.min().item(), r.adversarial.max().item()];
        assert.ok(lo >= 0 && hi <= 1, `${name}: values in [${lo}, ${hi}]`);
        if (name === "pgd-l2") for (const n of r.l2) assert.ok(n <= L2_EPS + 1e-5, `${name}: L2 ${n} > ${L2_EPS}`);
        else if (name !== "cw-l2") for (const n of r.linf) assert.ok(n <= EPS + 1e-6, `${name}: L_inf ${n} > ${EPS}`);
        assert.equal(r.success.length, 6);
        if (KEEPS_CLEAN.has(name)) {
          // These return the clean input wherever they fail: whatever moved must be a success.
          r.linf.forEach((n, i) => assert.ok(n === 0 || r.success[i], `${name}: row ${i} moved by ${n} but is not a success`));
        } else {
          // The attack moved something (ε > 0 and a random model is easy to push).
          assert.ok(Math.max(...r.linf) > 0, `${name}: no pixel moved`);
        }
      }
    });
  });

  if (name !== "cw-l2") {
    test(`${name}: ε = 0 returns the input unchanged`, () => {
      tidy(() => {
        const r = attack(name, 0).run(x, y);
        assert.deepEqual(r.adversarial.toArray(), x.toArray());
      });
    });
  }

  test(`${name}: a sample attacked alone equals its row in a batch (same seed and sample id)`, () => {
    tidy(() => {
      const ids = [100, 101, 102, 103, 104, 105];
      const batch = attack(name).run(x, y, { sampleIds: ids }).adversarial.toArray();
      const chunked = attack(name, budget(name), { batchSize: 4 }).run(x, y, { sampleIds: ids }).adversarial.toArray();
      assertNear(chunked, batch, `${name} in chunks of 4`);
      const size = batch.length / 6;
      for (const row of [0, 3, 5]) {
        const alone = attack(name).run(x.narrow(0, row, 1), y.narrow(0, row, 1), { sampleIds: [ids[row]] }).adversarial.toArray();
        assertNear(alone, batch.slice(row * size, (row + 1) * size), `${name} row ${row}`);
      }
    });
  });
}

/** Equal up to float noise between batch sizes (libtorch may block convolutions differently). */
function assertNear(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  assert.ok(worst <= 1e-5, `${what}: differs by up to ${worst}`);
}

test("an empty batch gives an empty result", () => {
  tidy(() => {
    const r = attack("pgd").run(x.narrow(0, 0, 0), y.narrow(0, 0, 0));
    assert.deepEqual(r.adversarial.shape, [0, 1, 12, 12]);
    assert.deepEqual(r.success, []);
  });
});

test("attacks free every tensor they create", () => {
  for (const name of ATTACK_NAMES) attack(name).run(x, y).adversarial.dispose();
  const before = memory().numTensors;
  for (const name of ATTACK_NAMES) {
    const r = attack(name).run(x, y);
    r.adversarial.dispose();
    attack(name).evaluate(x, y);
  }
  assert.equal(memory().numTensors, before);
});

test("the model runs in eval mode during the attack and gets its training mode back", () => {
  class Spy extends nn.Module {
    readonly modes: boolean[] = [];
    constructor(readonly inner: nn.Module) {
      super();
      this.registerModule("inner", inner);
    }
    forward(input: Tensor): Tensor {
      this.modes.push(this.training, this.inner.training);
      return this.inner.forward(input);
    }
  }
  const spy = new Spy(smallCnn(1, 12, 10)).train();
  tidy(() => makeAttack("pgd", spy, { eps: EPS, steps: 2 }).run(x, y));
  assert.ok(spy.modes.length > 0 && spy.modes.every((m) => m === false), "training mode seen during the attack");
  assert.equal(spy.training, true);
  assert.equal(spy.inner.training, true);
  // A model in eval mode stays in eval mode, also when the attack throws.
  spy.eval();
  assert.throws(() => makeAttack("pgd", spy, { eps: EPS, steps: 2 }).run(x, tensor([0], [1], "int64")), /y: expected int64 labels of shape \[6\]/);
  assert.equal(spy.training, false);
});
