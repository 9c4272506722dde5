import assert from "node:assert/strict";
import { test } from "node:test";
import { FGSM } from "../../src/attacks/index.js";
import { tensor, tidy } from "../../src/torch/index.js";
import { assertClose } from "../helpers.js";
import { LinearModel } from "./models.js";

// A 3-class linear model on 4 "pixels": logits = W x + b.
const W = [[0.5, -1.0, 0.25, 2.0], [-0.75, 0.5, 1.5, -0.5], [1.0, 1.25, -2.0, 0.3]];
const B = [0.1, -0.2, 0.05];
const X = [[0.2, 0.5, 0.99, 0.0], [0.6, 0.02, 0.4, 0.8]];

/** ∂CE/∂x = Wᵀ(softmax(Wx + b) − e_label), computed in float64 by hand. */
function ceGradient(x: number[], label: number): number[] {
  const z = W.map((row, c) => row.reduce((s, w, j) => s + w * x[j], B[c]));
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  const p = e.map((v) => v / sum);
  return x.map((_, j) => W.reduce((s, row, c) => s + row[j] * (p[c] - (c === label ? 1 : 0)), 0));
}

const clip = (v: number) => Math.min(1, Math.max(0, v));

test("FGSM on a linear model equals x + ε·sign(∂CE/∂x), clipped to [0, 1]", () => {
  const model = new LinearModel(W, B);
  const eps = 0.1;
  const labels = [0, 2];
  tidy(() => {
    const x = tensor(X.flat(), [2, 4]);
    const y = tensor(BigInt64Array.from(labels, BigInt), [2]);
    const { adversarial } = new FGSM(model, { eps }).run(x, y);
    const expected = X.flatMap((row, i) => {
      const g = ceGradient(row, labels[i]);
      return row.map((v, j) => clip(v + eps * Math.sign(g[j])));
    });
    assertClose(adversarial.toArray(), expected, 1e-6, "FGSM");
    // The first image has pixels at 0.99 and 0: clipping must have acted on at least one of them.
    assert.ok(adversarial.toArray().some((v, k) => v === 1 || (v === 0 && k < 4)));
  });
});

test("targeted FGSM on a linear model steps against the gradient towards the target", () => {
  const model = new LinearModel(W, B);
  const eps = 0.05;
  const targets = [1, 0];
  tidy(() => {
    const x = tensor(X.flat(), [2, 4]);
    const y = tensor([0, 2], [2], "int64");
    const target = tensor(BigInt64Array.from(targets, BigInt), [2]);
    const { adversarial } = new FGSM(model, { eps }).run(x, y, { goal: { kind: "targeted", target } });
    const expected = X.flatMap((row, i) => {
      const g = ceGradient(row, targets[i]);
      return row.map((v, j) => clip(v - eps * Math.sign(g[j])));
    });
    assertClose(adversarial.toArray(), expected, 1e-6, "targeted FGSM");
  });
});
