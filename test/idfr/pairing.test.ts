import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Rng } from "../../src/data/random.js";
import { makePairs } from "../../src/defenses/idfr/pairing.js";

// Six samples -> 12 embeddings: rows 0..5 are AEs (after ID), rows 6..11 their Gaussian twins.
const labels = [0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2];
const correct = [0, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 0];
const twin = labels.map((_, i) => (i < 6 ? i + 6 : i - 6));
const input = { labels, correct, twin, numClasses: 3 };

describe("Algorithm 2 pairing", () => {
  it("paper: every pair shares a label, pairs X with X̃ (twin first), keeps X, α in [0, 1]", () => {
    const p = makePairs(input, "paper", new Rng(1));
    for (let k = 0; k < p.first.length; k++) {
      assert.equal(labels[p.first[k]], labels[p.second[k]], "same label");
      assert.ok(p.alpha[k] >= 0 && p.alpha[k] <= 1);
      assert.ok(correct[p.first[k]] === 1, "the first member is in X");
    }
    // Misclassified row 0 has a correct twin (row 6): paired with it.
    const row0 = [...p.second].indexOf(0);
    assert.equal(p.first[row0], 6);
    // Misclassified row 2 has a wrong twin (row 8): paired with class 1's correct members (3 or 9).
    const row2 = [...p.second].indexOf(2);
    assert.ok([3, 9].includes(p.first[row2]));
    // Every correct row appears paired with itself (Eq. 5's second term).
    for (let i = 0; i < 12; i++) if (correct[i]) assert.ok([...p.first].some((f, k) => f === i && p.second[k] === i));
    // Class 2 has no correct member: its misclassified rows cannot be paired.
    assert.ok(![...p.second].some((s) => labels[s] === 2));
  });
  it("pooled: each embedding is paired with a random member of its class", () => {
    const p = makePairs(input, "pooled", new Rng(2));
    assert.equal(p.first.length, 12);
    for (let k = 0; k < 12; k++) assert.equal(labels[p.first[k]], labels[p.second[k]]);
  });
  it("the same seed gives the same pairs", () => {
    assert.deepEqual(makePairs(input, "paper", new Rng(5)), makePairs(input, "paper", new Rng(5)));
  });
});
