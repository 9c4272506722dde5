import assert from "node:assert/strict";
import { test } from "node:test";
import { FGSM } from "../../src/attacks/fgsm.js";
import { fastAtInputs } from "../../src/defenses/fast-at.js";
import { createClassifier } from "../../src/models/registry.js";
import { Generator, manualSeed, rand, randint, tidy } from "../../src/torch/index.js";
import { LinearModel } from "../attacks/models.js";

const W = [[0.5, -1.0, 0.25, 2.0], [-0.75, 0.5, 1.5, -0.5], [1.0, 1.25, -2.0, 0.3]];
const B = [0.1, -0.2, 0.05];

test("FGSM with a random start: steps α from a uniform point of the ε-ball, stays in the ball, and is reproducible per seed", () => {
  const model = new LinearModel(W, B);
  const eps = 0.1;
  tidy(() => {
    manualSeed(1);
    const x = rand([64, 4]);
    const y = randint(0, 3, [64]);
    const plain = new FGSM(model, { eps }).run(x, y).adversarial;
    const random = new FGSM(model, { eps, randomStart: true, seed: 5 }).run(x, y).adversarial;
    const again = new FGSM(model, { eps, randomStart: true, seed: 5 }).run(x, y).adversarial;
    const other = new FGSM(model, { eps, randomStart: true, seed: 6 }).run(x, y).adversarial;
    assert.ok(random.sub(x).abs().max().item() <= eps + 1e-6, "inside the ε-ball");
    assert.ok(random.min().item() >= 0 && random.max().item() <= 1, "inside [0, 1]");
    assert.deepEqual(again.toArray(), random.toArray());
    assert.notDeepEqual(other.toArray(), random.toArray());
    // The random start moves the result off plain FGSM's corner of the ball.
    assert.notDeepEqual(random.toArray(), plain.toArray());
  });
  assert.throws(() => new FGSM(model, { eps, stepSize: 0 }), /stepSize: expected a number in \(0, 1\], got 0/);
});

test("Fast AT's training inputs stay in the ε-ball around the batch and in [0, 1]", () => {
  manualSeed(0);
  const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  const eps = 8 / 255;
  tidy(() => {
    const x = rand([8, 1, 28, 28]);
    const y = randint(0, 10, [8]);
    const adv = fastAtInputs(eps)(model, x, y);
    assert.deepEqual(adv.shape, x.shape);
    const dist = adv.sub(x).abs().max().item();
    assert.ok(dist <= eps + 1e-6 && dist > eps / 2, `l_inf distance ${dist}`);
    assert.ok(adv.min().item() >= 0 && adv.max().item() <= 1);
  });
});

test("Fast AT's random start from an explicit generator is the start the global generator gives after the same seed", () => {
  manualSeed(0);
  const model = createClassifier("small-cnn", { numClasses: 10, inputShape: [1, 28, 28], width: 0.25, normalization: "mnist" });
  const eps = 8 / 255;
  tidy(() => {
    const x = rand([4, 1, 28, 28]);
    const y = randint(0, 10, [4]);
    manualSeed(21);
    const viaGlobal = fastAtInputs(eps)(model, x, y).toArray();
    manualSeed(3);
    const generator = new Generator(21);
    assert.deepEqual(fastAtInputs(eps)(model, x, y, generator).toArray(), viaGlobal);
    assert.notDeepEqual(fastAtInputs(eps)(model, x, y, generator).toArray(), viaGlobal); // the stream moved on
    generator.dispose();
  });
});
