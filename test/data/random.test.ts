import assert from "node:assert/strict";
import { test } from "node:test";
import { deriveSeed, Rng } from "../../src/data/random.js";

test("xoshiro128** matches the reference C code from state {1, 2, 3, 4}", () => {
  const rng = Rng.fromState(1, 2, 3, 4);
  assert.deepEqual(Array.from({ length: 6 }, () => rng.nextU32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
});

test("the same seed gives the same stream, another seed another", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const c = new Rng(43);
  const sa = Array.from({ length: 100 }, () => a.nextU32());
  assert.deepEqual(sa, Array.from({ length: 100 }, () => b.nextU32()));
  assert.notDeepEqual(sa, Array.from({ length: 100 }, () => c.nextU32()));
});

test("int(n) stays in range and is roughly uniform; next() is in [0, 1)", () => {
  const rng = new Rng(7);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 20000; i++) counts[rng.int(10)]++;
  for (const c of counts) assert.ok(c > 1800 && c < 2200, `count ${c}`);
  for (let i = 0; i < 1000; i++) {
    const u = rng.next();
    assert.ok(u >= 0 && u < 1);
  }
  assert.throws(() => rng.int(0), /expected an integer/);
  assert.throws(() => new Rng(Number.NaN), /finite seed/);
});

test("permutation holds every index once", () => {
  const p = new Rng(1).permutation(1000);
  assert.deepEqual(Array.from(p).sort((x, y) => x - y), Array.from({ length: 1000 }, (_, i) => i));
  assert.notDeepEqual(Array.from(p.subarray(0, 20)), Array.from({ length: 20 }, (_, i) => i));
});

test("deriveSeed separates paths", () => {
  const seeds = new Set([deriveSeed(0), deriveSeed(0, 0), deriveSeed(0, 1), deriveSeed(0, 0, 1), deriveSeed(0, 1, 0), deriveSeed(1, 0)]);
  assert.equal(seeds.size, 6);
  assert.equal(deriveSeed(5, 2, 3), deriveSeed(5, 2, 3));
});
