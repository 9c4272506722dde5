/**
 * White-box means the classifier a defense classifies with, its preprocessing unseen: the robust
 * model for Fast AT, the undefended target for purifiers and the "none" row.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { PGD } from "../../src/attacks/pgd.js";
import { createBaseline } from "../../src/defenses/baselines/index.js";
import { whiteboxModelOf } from "../../src/defenses/defense.js";
import { FastAtDefense } from "../../src/defenses/fast-at.js";
import { NoDefense } from "../../src/defenses/none.js";
import { DEFENSES } from "../../src/defenses/registry.js";
import { attackedModel, craftAdversarial } from "../../src/eval/threat.js";
import type { LogitsModel } from "../../src/models/classifier.js";
import { createClassifier } from "../../src/models/registry.js";
import { keep, manualSeed, tensor, tidy } from "../../src/torch/index.js";
import { scene } from "./images.js";

manualSeed(11);
const target = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 16, 16], width: 0.25 }).eval();
manualSeed(12);
const robust = createClassifier("small-cnn", { numClasses: 10, inputShape: [3, 16, 16], width: 0.25 }).eval();
const x = keep(scene(4, 3, 16));
const y = keep(tensor(BigInt64Array.from([1n, 4n, 7n, 2n]), [4]));
const pgd = (model: LogitsModel) => new PGD(model, { eps: 8 / 255, steps: 3 });

test("white-box attacks on Fast AT differentiate its robust model: the AEs are those made on the robust model directly", () => {
  const fastAt = new FastAtDefense(target, robust);
  assert.equal(attackedModel({ kind: "whitebox" }, fastAt), robust);
  assert.equal(whiteboxModelOf(fastAt), robust);
  tidy(() => {
    const viaThreat = craftAdversarial({ kind: "whitebox" }, fastAt, pgd, x, y).adversarial.toArray();
    const direct = new PGD(robust, { eps: 8 / 255, steps: 3 }).run(x, y).adversarial.toArray();
    const onTarget = new PGD(target, { eps: 8 / 255, steps: 3 }).run(x, y).adversarial.toArray();
    assert.deepEqual(viaThreat, direct);
    assert.notDeepEqual(viaThreat, onTarget);
  });
});

test("white-box attacks on the other defenses still differentiate the undefended target", () => {
  for (const defense of [new NoDefense(target), createBaseline("feature-squeezing", target), createBaseline("jpeg-q50", target), createBaseline("tvm", target)]) {
    assert.equal(attackedModel({ kind: "whitebox" }, defense), target, defense.name);
  }
  tidy(() => {
    const viaThreat = craftAdversarial({ kind: "whitebox" }, createBaseline("jpeg-q50", target), pgd, x, y).adversarial.toArray();
    assert.deepEqual(viaThreat, new PGD(target, { eps: 8 / 255, steps: 3 }).run(x, y).adversarial.toArray());
  });
});

test("the registry says which defenses are attacked white-box on a model of their own", () => {
  const own = (name: string) => DEFENSES.find((d) => d.name === name)?.whitebox === "own";
  assert.equal(own("fast-at"), true);
  for (const name of ["none", "feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm", "bit-depth", "id", "id+fr"]) assert.equal(own(name), false, name);
});
