/** The seed tree, and the seed mixes kept from before it (their values must never change). */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveSeed, seedFor, seedTree, STREAM } from "../../src/core/seeds.js";
import { normalPerSample, sampleSeed, uniformPerSample } from "../../src/attacks/random.js";
import { manualSeed, rand, randn, tidy, zeros } from "../../src/torch/index.js";
import { deriveSeed as dataDeriveSeed } from "../../src/data/random.js";

test("the kept mixes give the integers the code has always used", () => {
  assert.equal(seedFor.weights(7), 7);
  assert.equal(seedFor.epochDraws(3, 2), 3002);
  assert.equal(seedFor.idOrder(3, 2), 3 * 7919 + 2);
  assert.equal(seedFor.frPairs(3, 2), 3 * 104729 + 2);
  // Pinned values: a change here would change every attack's random start.
  assert.deepEqual([seedFor.sample(0, 0), seedFor.sample(5, 17, 1), seedFor.sample(5, 2 ** 33 + 1, 7)], [1143705713, 118068279, 1392506953]);
  assert.equal(sampleSeed, seedFor.sample);
  // Pinned values: a change here would change every data split and batch order.
  assert.deepEqual([deriveSeed(1), deriveSeed(1, 0), deriveSeed(1, 0, 4)], [3155512302, 2207516513, 2718171748]);
  assert.equal(dataDeriveSeed, deriveSeed);
});

test("a seed tree's children are deriveSeed of their parent, distinct per path, and checked", () => {
  const root = seedTree(11);
  assert.equal(root.seed, 11);
  assert.equal(root.child(2, 5).seed, deriveSeed(11, 2, 5));
  assert.equal(root.child(2).child(5).seed, deriveSeed(deriveSeed(11, 2), 5));
  const seeds = new Set([root.seed, root.child(0).seed, root.child(1).seed, root.child(0, 0).seed, root.child(0, 1).seed, seedTree(12).child(0).seed]);
  assert.equal(seeds.size, 6);
  assert.throws(() => seedTree(-1), /seedTree: expected an integer seed in \[0, 4294967295\], got -1/);
  assert.throws(() => root.child(1.5), /seedTree: expected non-negative integers in a path, got 1\.5/);
});

test("streams derived through the tree: a TVM defense's masks get a seed of their own", () => {
  assert.equal(seedFor.tvmMasks(5), deriveSeed(5, STREAM.tvmMasks));
  assert.equal(seedFor.tvmMasks(5), seedTree(5).child(STREAM.tvmMasks).seed);
  const others = [seedFor.weights(5), seedFor.epochDraws(5, 0), seedFor.sample(5, 0), seedFor.tvmMasks(6)];
  assert.ok(!others.includes(seedFor.tvmMasks(5)));
});

test("an attack's per-sample draws come from a generator per sample: the numbers manualSeed(sampleSeed) gave, the global stream untouched", () => {
  tidy(() => {
    const like = zeros([3, 2, 4]);
    const ids = [4, 0, 9];
    // Row i is what the global generator drew after manualSeed(sampleSeed(seed, id, stream)).
    const expectedRows = (draw: () => number[], stream: number) => ids.flatMap((id) => {
      manualSeed(sampleSeed(7, id, stream));
      return draw();
    });
    const uniform = expectedRows(() => rand([1, 2, 4]).toArray() as number[], 1);
    const normal = expectedRows(() => randn([1, 2, 4]).toArray() as number[], 0);
    manualSeed(3);
    const next = rand([4]).toArray();
    manualSeed(3);
    assert.deepEqual(uniformPerSample(like, ids, 7, 1).toArray(), uniform);
    assert.deepEqual(normalPerSample(like, ids, 7).toArray(), normal);
    assert.deepEqual(rand([4]).toArray(), next, "the global generator was neither reseeded nor drawn from");
    // A sample's row does not depend on its batch.
    assert.deepEqual(uniformPerSample(zeros([1, 2, 4]), [9], 7, 1).toArray(), uniform.slice(16));
  });
});
