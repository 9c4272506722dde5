import assert from "node:assert/strict";
import { test } from "node:test";
import { Rng } from "../../src/data/random.js";
import { limitSet, stratifiedPartition, stratifiedSample } from "../../src/data/splits.js";
import { classCounts, subset, type ImageSet } from "../../src/data/types.js";

/** Labels with the given count per class, interleaved. */
function labelsWith(counts: number[]): Uint8Array {
  const out: number[] = [];
  const left = [...counts];
  while (left.some((c) => c > 0)) left.forEach((c, k) => c > 0 && (out.push(k), left[k]--));
  return Uint8Array.from(out);
}

test("stratified samples keep class proportions (largest remainder) and are sorted", () => {
  const labels = labelsWith([50, 30, 20]);
  const s = stratifiedSample(labels, 3, 10, new Rng(1));
  assert.deepEqual(classCounts(subsetLabels(labels, s), 3), [5, 3, 2]);
  assert.deepEqual(Array.from(s), Array.from(s).sort((a, b) => a - b));
  const ties = stratifiedSample(labelsWith([1, 1, 1]), 3, 2, new Rng(1));
  assert.deepEqual(classCounts(subsetLabels(labelsWith([1, 1, 1]), ties), 3), [1, 1, 0]);
  assert.throws(() => stratifiedSample(labels, 3, 101, new Rng(1)), /sample size in \[0, 100\]/);
});

test("partitions: sizes, disjoint, complete, same seed same parts, other seed other parts", () => {
  const labels = labelsWith([400, 350, 250]);
  const [val, rest] = stratifiedPartition(labels, 3, [300], 0);
  assert.equal(val.length, 300);
  assert.equal(rest.length, 700);
  assert.deepEqual(classCounts(subsetLabels(labels, val), 3), [120, 105, 75]);
  const all = new Set([...val, ...rest]);
  assert.equal(all.size, 1000);
  assert.deepEqual(stratifiedPartition(labels, 3, [300], 0), [val, rest]);
  assert.notDeepEqual(stratifiedPartition(labels, 3, [300], 1)[0], val);
  const [a, b, c] = stratifiedPartition(labels, 3, [100, 100], 5);
  assert.deepEqual([a.length, b.length, c.length], [100, 100, 800]);
  assert.throws(() => stratifiedPartition(labels, 3, [600, 500], 0), /exceed the 1000 items/);
});

test("limitSet: N images balanced like the full set; the whole set when N is larger", () => {
  const labels = labelsWith([60, 30, 10]);
  const set: ImageSet = { images: Uint8Array.from(labels, (l, i) => i), labels, shape: [100, 1, 1, 1], classes: ["a", "b", "c"] };
  const small = limitSet(set, 20, 3);
  assert.deepEqual(classCounts(small.labels, 3), [12, 6, 2]);
  // Pixels travel with their labels.
  for (let k = 0; k < 20; k++) assert.equal(small.labels[k], labels[small.images[k]]);
  assert.deepEqual(limitSet(set, 20, 3), small);
  assert.equal(limitSet(set, 100, 3), set);
  assert.equal(limitSet(set, undefined, 3), set);
  assert.throws(() => limitSet(set, 0, 3), /limit: expected a positive integer, got 0/);
  assert.throws(() => subset(set, [100]), /index 100 is outside \[0, 100\)/);
});

function subsetLabels(labels: Uint8Array, indices: Uint32Array): Uint8Array {
  return Uint8Array.from(indices, (i) => labels[i]);
}
