/** ID training's Gaussian copies draw from the epoch's generator: the numbers of the global one after the same seed. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { seedFor } from "../../src/core/seeds.js";
import type { ImageSet } from "../../src/data/types.js";
import { AugmentedSet } from "../../src/defenses/idfr/training-data.js";
import { Generator, manualSeed, rand, tidy } from "../../src/torch/index.js";

const n = 6;
const set: ImageSet = {
  images: Uint8Array.from({ length: n * 2 * 4 * 4 }, (_, i) => (i * 37) % 256),
  labels: Uint8Array.from({ length: n }, (_, i) => i % 3),
  shape: [n, 2, 4, 4],
  classes: ["a", "b", "c"],
};
const adversarial = new Float32Array(n * 2 * 4 * 4).fill(0.5);

test("a batch drawn from Generator(seedFor.epochDraws(s, e)) equals one drawn after manualSeed of the same integer", () => {
  const data = new AugmentedSet(set, adversarial, 2, 0.1);
  const rows = [0, 7, 8, 13, 17, 3];
  tidy(() => {
    manualSeed(seedFor.epochDraws(4, 2));
    const global = data.batch(rows, true);
    const viaGlobal = [global.x.toArray(), global.y.toArray(), global.clean!.toArray()];
    manualSeed(1); // the epoch generator ignores the global state ...
    const generator = new Generator(seedFor.epochDraws(4, 2));
    const own = data.batch(rows, true, generator);
    assert.deepEqual([own.x.toArray(), own.y.toArray(), own.clean!.toArray()], viaGlobal);
    // ... and leaves it where it was.
    manualSeed(1);
    const next = rand([5]).toArray();
    manualSeed(1);
    data.batch(rows, false, generator);
    assert.deepEqual(rand([5]).toArray(), next);
    // Adversarial rows carry no noise; Gaussian rows do.
    assert.deepEqual(own.x.narrow(0, 0, 1).toArray(), Array(32).fill(0.5));
    assert.notDeepEqual(own.x.narrow(0, 1, 1).toArray(), own.clean!.narrow(0, 1, 1).toArray());
    generator.dispose();
  });
});
