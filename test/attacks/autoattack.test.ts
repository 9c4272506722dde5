/**
 * AutoAttack as one attack: the per-sample worst case over its sub-attacks on a small CNN trained
 * on real digits, APGD-T against APGD-CE, the versions and their errors, the sanity checks
 * (randomness, classes, Square), EOT in version "rand", and `idfr attack --attack autoattack`.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { Command } from "commander";
import { APGD, APGDTargeted, AutoAttack, checkSquare, type AttackResult } from "../../src/attacks/index.js";
import { registerAttackCommand } from "../../src/cli/attack.js";
import { saveClassifier } from "../../src/models/io.js";
import { createClassifier } from "../../src/models/registry.js";
import { F, isGradEnabled, manualSeed, randnLike, setNumThreads, tidy, type nn, type Tensor } from "../../src/torch/index.js";
import { digits, LinearModel, trainCnn } from "./models.js";

setNumThreads(1);
const EPS = 0.04;
const STEPS = 20;
let model: nn.Sequential;
let x: Tensor;
let y: Tensor;
let clean: boolean[];
let ce: AttackResult;
let targeted: AttackResult;

before(() => {
  const train = digits(0, 30);
  ({ x, y } = digits(100, 5));
  model = trainCnn(train.x, train.y);
  clean = tidy(() => model.forward(x).argmax(1).eq(y).toArray().map(Boolean));
  ce = new APGD(model, { eps: EPS, steps: STEPS, seed: 1 }).run(x, y);
  targeted = new APGDTargeted(model, { eps: EPS, steps: STEPS, seed: 1 }).run(x, y);
});

after(() => {
  ce.adversarial.dispose();
  targeted.adversarial.dispose();
});

const robustOf = (r: AttackResult) => r.success.map((s) => !s);
const count = (a: boolean[]) => a.filter(Boolean).length;

test("APGD-T (9 targets) is at least as strong as APGD-CE on the digit CNN", () => {
  const info = JSON.stringify({ clean: count(clean), ce: count(robustOf(ce)), t: count(robustOf(targeted)) });
  assert.ok(count(robustOf(targeted)) <= count(robustOf(ce)), info);
  assert.ok(count(robustOf(ce)) < count(clean), info);
});

test("autoattack custom [apgd-ce, apgd-t]: robust exactly where the clean prediction and both attacks hold, AEs from the first success", () => {
  const attack = new AutoAttack(model, { eps: EPS, version: "custom", attacks: ["apgd-ce", "apgd-t"], steps: STEPS, restarts: 1, seed: 1, log: () => {} });
  const r = attack.run(x, y);
  try {
    const ceRobust = robustOf(ce);
    const tRobust = robustOf(targeted);
    const expected = clean.map((c, i) => c && ceRobust[i] && tRobust[i]);
    assert.deepEqual(robustOf(r), expected);
    assert.ok(count(expected) <= Math.min(count(ceRobust), count(tRobust)));
    // Both stages matter here: APGD-CE breaks some points, APGD-T some that APGD-CE left.
    const byCe = count(clean.map((c, i) => c && !ceRobust[i]));
    const byTOnly = count(clean.map((c, i) => c && ceRobust[i] && !tRobust[i]));
    assert.ok(byCe > 0 && byTOnly > 0, JSON.stringify({ byCe, byTOnly }));
    assert.deepEqual(attack.robustCounts, { clean: count(clean), "apgd-ce": count(clean.map((c, i) => c && ceRobust[i])), "apgd-t": count(expected) });
    const rows = (t: Tensor) => {
      const flat = t.toArray();
      const size = flat.length / t.size(0);
      return (i: number) => flat.slice(i * size, (i + 1) * size);
    };
    const [adv, input, fromCe, fromT] = [rows(r.adversarial), rows(x), rows(ce.adversarial), rows(targeted.adversarial)];
    clean.forEach((c, i) => {
      if (!c) assert.deepEqual(adv(i), input(i), `row ${i} is misclassified already and stays clean`);
      else if (!ceRobust[i]) assertNear(adv(i), fromCe(i), `row ${i}: APGD-CE's AE`);
      else if (!tRobust[i]) assertNear(adv(i), fromT(i), `row ${i}: APGD-T's AE`);
      else assert.deepEqual(adv(i), input(i), `row ${i} is robust and comes back clean`);
    });
    assert.deepEqual(attack.warnings, []);
  } finally {
    r.adversarial.dispose();
  }
});

test("the versions run the reference's attacks with its settings", () => {
  const settings = (a: AutoAttack) => {
    const { attacks, restarts, targetClasses, queries, pInit, steps, eotIter } = a.options;
    return { attacks, restarts, targetClasses, queries, pInit, steps, eotIter };
  };
  const base = { targetClasses: 9, queries: 5000, pInit: 0.8, steps: 100 };
  assert.deepEqual(settings(new AutoAttack(model)), { ...base, attacks: ["apgd-ce", "apgd-t", "fab-t", "square"], restarts: 1, eotIter: 1 });
  assert.deepEqual(settings(new AutoAttack(model, { version: "plus" })), { ...base, attacks: ["apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"], restarts: 5, eotIter: 1 });
  assert.deepEqual(settings(new AutoAttack(model, { version: "rand" })), { ...base, attacks: ["apgd-ce", "apgd-dlr"], restarts: 1, eotIter: 20 });
  assert.deepEqual(settings(new AutoAttack(model, { version: "custom", attacks: ["square", "apgd-ce"] })), { ...base, attacks: ["square", "apgd-ce"], restarts: 5, eotIter: 1 });
});

test("version and attacks are checked, and the errors list the choices", () => {
  assert.throws(() => new AutoAttack(model, { version: "fast" as never }), /^TypeError: version: expected one of "standard", "plus", "rand", "custom", got "fast"$/);
  assert.throws(() => new AutoAttack(model, { version: "standard", attacks: ["apgd-ce"] }), /attacks: only version "custom" takes a list of attacks \(version "standard" runs apgd-ce, apgd-t, fab-t, square\)/);
  assert.throws(() => new AutoAttack(model, { version: "custom" }), /attacks: expected a non-empty list of "apgd-ce", "apgd-dlr", "apgd-t", "fab", "fab-t", "square" for version "custom", got undefined/);
  assert.throws(() => new AutoAttack(model, { version: "custom", attacks: ["apgd-ce", "pgd" as never] }), /attacks\[1\]: expected one of "apgd-ce", .*"square", got "pgd"/);
  assert.throws(() => new AutoAttack(model, { version: "custom", attacks: ["apgd-t", "apgd-t"] }), /attacks: "apgd-t" is listed twice/);
  assert.throws(() => new AutoAttack(model).run(x, y, { target: y }), /autoattack: expected an untargeted goal/);
});

test("too few classes for the targeted attacks is an error, before any attack runs", () => {
  const three = new LinearModel([[1, 0], [0, 1], [1, 1]], [0, 0, 0]);
  const xs = tidy(() => x.narrow(0, 0, 2).flatten(1).narrow(1, 300, 2));
  const ys = tidy(() => y.narrow(0, 0, 2).remainder(3));
  assert.throws(() => new AutoAttack(three, { version: "custom", attacks: ["apgd-t"], targetClasses: 2 }).run(xs, ys), /apgd-t: the targeted DLR loss needs at least 4 classes, the model has 3/);
  assert.throws(() => new AutoAttack(model, { version: "custom", attacks: ["apgd-ce", "fab-t"], targetClasses: 10 }).run(x, y),
    /targetClasses: fab-t asks for 10 target classes, but a model with 10 classes has only 9 besides the label \(set targetClasses to at most 9\)/);
});

test("the randomness check warns on a random model and stays quiet on a deterministic one", () => {
  const xs = tidy(() => x.narrow(0, 0, 8));
  const ys = tidy(() => y.narrow(0, 0, 8));
  const noisy = (input: Tensor) => model.forward(input.add(randnLike(input).mul(0.1)).clamp(0, 1));
  const options = { eps: 0.001, version: "custom", attacks: ["apgd-ce"], steps: 2, restarts: 1 } as const;
  const logged: string[] = [];
  const random = new AutoAttack(noisy, { ...options, log: (m) => logged.push(m) });
  tidy(() => random.run(xs, ys).adversarial);
  assert.equal(random.warnings.length, 1, random.warnings.join("\n"));
  assert.match(random.warnings[0], /^autoattack: the model's output changes between identical forwards .*evaluate it with version "rand"/);
  assert.deepEqual(logged, random.warnings, "warnings go to the log as well");
  const fixed = new AutoAttack(model, { ...options, log: () => {} });
  tidy(() => fixed.run(xs, ys).adversarial);
  assert.deepEqual(fixed.warnings, []);
});

test("outputs that look like probabilities draw a warning", () => {
  const xs = tidy(() => x.narrow(0, 0, 4));
  const ys = tidy(() => y.narrow(0, 0, 4));
  const probabilities = (input: Tensor) => F.softmax(model.forward(input), 1);
  const attack = new AutoAttack(probabilities, { eps: 0.001, version: "custom", attacks: ["apgd-ce"], steps: 2, restarts: 1, log: () => {} });
  tidy(() => attack.run(xs, ys).adversarial);
  assert.deepEqual(attack.warnings, ["autoattack: the model's outputs look like probabilities (in [0, 1], rows summing to 1): attacks need the logits"]);
});

test("version rand runs APGD-CE then APGD-DLR, each gradient averaged over eotIter draws, without the randomness check", () => {
  const xs = tidy(() => x.narrow(0, 0, 4));
  const ys = tidy(() => y.narrow(0, 0, 4));
  let withGrad = 0;
  let withoutGrad = 0;
  const counted = (input: Tensor) => {
    if (isGradEnabled()) withGrad++;
    else withoutGrad++;
    return model.forward(input.add(randnLike(input).mul(0.01)).clamp(0, 1));
  };
  // ε = 0.001 breaks nothing: each sub-attack makes (1 start + 2 steps) gradients of 3 draws.
  const attack = new AutoAttack(counted, { version: "rand", eps: 0.001, steps: 2, eotIter: 3, log: () => {} });
  assert.equal(attack.options.restarts, 1);
  const r = attack.run(xs, ys);
  r.adversarial.dispose();
  assert.equal(withGrad, 2 * 3 * 3);
  assert.deepEqual(Object.keys(attack.robustCounts), ["clean", "apgd-ce", "apgd-dlr"]);
  assert.ok(!attack.warnings.some((w) => /randomised/.test(w)), attack.warnings.join("\n"));
  assert.ok(withoutGrad > 0);
});

test("the Square check warns only when Square lowers the robust accuracy below the gradient attacks", () => {
  assert.equal(checkSquare({ clean: 90, "apgd-ce": 50, "apgd-t": 45, square: 45 }, 100), null);
  assert.equal(checkSquare({ clean: 90, "apgd-ce": 50, square: 40 }, 10000), null, "0.1 points is within the 0.2-point tolerance");
  assert.match(checkSquare({ clean: 90, "apgd-ce": 50, "apgd-t": 45, square: 40 }, 100) ?? "", /^square lowered the robust accuracy by 5\.00 points below the gradient attacks/);
  assert.equal(checkSquare({ clean: 90, square: 40 }, 100), null, "Square alone has nothing to compare with");
});

test("idfr attack --attack autoattack runs the custom version from flags and reports its stages", async () => {
  const dir = mkdtempSync(join(tmpdir(), "idfr-autoattack-cli-"));
  try {
    manualSeed(1);
    const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
    saveClassifier(join(dir, "target"), target, { dataset: "mnist" });
    target.dispose();
    const idfr = async (...args: string[]) => {
      let printed = "";
      const program = new Command("idfr").exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      registerAttackCommand(program, { write: (s: string) => (printed += s) });
      await program.parseAsync(["node", "idfr", "attack", "--model", join(dir, "target"), "--data", "mnist", "--attack", "autoattack", "--n", "6", ...args]);
      return printed;
    };
    const report = JSON.parse(await idfr("--version", "custom", "--attacks", "apgd-ce,apgd-t", "--steps", "3", "--target-classes", "2", "--eps", "8/255", "--json"));
    assert.equal(report.attack, "autoattack");
    assert.deepEqual(Object.keys(report.autoattack.robust), ["clean", "apgd-ce", "apgd-t"]);
    assert.equal(report.autoattack.robust.clean, report.clean.correct);
    assert.equal(report.autoattack.robust["apgd-t"], report.robust.correct);
    assert.ok(report.linf.max <= 8 / 255 + 1e-6);
    await assert.rejects(idfr("--version", "fast"), /argument 'fast' is invalid\. Allowed choices are standard, plus, rand, custom/);
    await assert.rejects(idfr("--attacks", "apgd-ce"), /attacks: only version "custom" takes a list of attacks/);
    await assert.rejects(idfr("--targeted"), /--targeted: autoattack takes no target classes/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Equal up to float noise between batch compositions (libtorch may block convolutions differently). */
function assertNear(a: number[], b: number[], what: string): void {
  assert.equal(a.length, b.length);
  const worst = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  assert.ok(worst <= 1e-5, `${what}: differs by up to ${worst}`);
}
