/** Explicit generators: the same stream as the global generator after manualSeed, and independent of it and of each other. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { bernoulli, Generator, manualSeed, memory, rand, randint, randLike, randn, randnLike, randperm, tidy, zeros } from "../../src/torch/index.js";

test("a generator made with seed s draws what the global generator draws after manualSeed(s)", () => {
  tidy(() => {
    const like = zeros([3, 5]);
    const draws = (generator?: Generator) => [
      rand([4, 6], { generator }), randn([7], { generator }), randLike(like, { generator }), randnLike(like, { generator }),
      bernoulli(0.3, [2, 9], { generator }), bernoulli(zeros([10]).add(0.2), undefined, { generator }).add(bernoulli(zeros([10]).add(0.7), undefined, { generator })),
      randint(0, 100, [6], { generator }), randperm(12, { generator }), randn([3]),
    ].map((t) => t.toArray());
    manualSeed(1234);
    const viaGlobal = draws();
    manualSeed(99); // the explicit generator must not read the global state
    const generator = new Generator(1234);
    const explicit = draws(generator);
    // Every draw but the last (which the global generator makes) matches.
    assert.deepEqual(explicit.slice(0, -1), viaGlobal.slice(0, -1));
    generator.dispose();
  });
});

test("generators are independent of each other and of the global generator", () => {
  tidy(() => {
    const a = new Generator(5);
    const b = new Generator(5);
    const c = new Generator(6);
    manualSeed(5);
    const first = rand([8], { generator: a }).toArray();
    rand([100]); // global draws in between do not move a or b
    rand([50], { generator: c });
    const second = rand([8], { generator: a }).toArray();
    assert.deepEqual(rand([8], { generator: b }).toArray(), first);
    assert.deepEqual(rand([8], { generator: b }).toArray(), second);
    assert.notDeepEqual(second, first);
    assert.notDeepEqual(rand([8], { generator: new Generator(6) }).toArray(), first);
    // Drawing from a generator leaves the global stream where it was.
    manualSeed(5);
    const plain = rand([8]).toArray();
    manualSeed(5);
    rand([8], { generator: new Generator(7) });
    assert.deepEqual(rand([8]).toArray(), plain);
  });
});

test("bad seeds, disposed generators and a generator on another device are refused with a sentence", () => {
  assert.throws(() => new Generator(-1), /Generator: expected a non-negative integer seed \(at most 2\^53 - 1\), got -1/);
  assert.throws(() => new Generator(1.5), /got 1\.5/);
  const g = new Generator(1);
  g.dispose();
  g.dispose();
  assert.throws(() => rand([2], { generator: g }), /generator \(seed 1\) has been disposed/);
  const before = memory().numTensors;
  assert.throws(() => randLike(zeros([2]), { generator: g }), /has been disposed/);
  assert.ok(memory().numTensors <= before + 1);
});
