/** PREDICT and CERTIFY on base classifiers whose smoothed behaviour is known in closed form. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { certifiedAccuracyCurve, certifySet } from "../../src/certify/run.js";
import { ABSTAIN, SmoothedClassifier, certificateFrom, topTwo, type BaseClassifier } from "../../src/certify/smooth.js";
import { setNumThreads, tensor, tidy, zeros } from "../../src/torch/index.js";
import { normalCdf } from "./normal-cdf.js";

setNumThreads(1);

/** Always class 3. */
const constant: BaseClassifier = (x) => tidy(() => zeros([x.shape[0]], { dtype: "int64" }).add(3));
/** Class 1 where the first pixel is positive, else 0: a half-space at distance |x₀| from x. */
const halfSpace: BaseClassifier = (x) => tidy(() => x.reshape([x.shape[0], -1]).select(1, 0).gt(0).to("int64"));

test("a smoothed constant classifier certifies sigma * Φ⁻¹(alpha^(1/n))", () => {
  const g = new SmoothedClassifier(constant, { sigma: 0.25, numClasses: 10, batchSize: 300 });
  const x = zeros([1, 1, 4, 4]);
  const c = g.certify(x, { n0: 100, n: 1000, alpha: 0.001 });
  x.dispose();
  assert.equal(c.prediction, 3);
  assert.equal(c.countA, 1000);
  // scipy: 0.25 * norm.ppf(0.001 ** (1 / 1000))
  assert.ok(Math.abs(c.radius - 0.6158156536952029) < 1e-9, String(c.radius));
  assert.ok(Math.abs(c.pALower - Math.pow(0.001, 1 / 1000)) < 1e-12);
  const small = certificateFrom(3, 100, 100, 0.001, 0.5);
  assert.ok(Math.abs(small.radius - 0.7502375120603182) < 1e-9); // scipy: 0.5 * norm.ppf(0.001 ** (1 / 100))
});

test("CERTIFY and PREDICT abstain when the top class is not confident", () => {
  // The half-space through x itself: each class has probability 1/2 under the noise.
  const g = new SmoothedClassifier(halfSpace, { sigma: 0.5, numClasses: 2, batchSize: 500 });
  const x = zeros([1, 1, 2, 2]);
  const c = g.certify(x, { n0: 100, n: 2000, alpha: 0.001 });
  assert.equal(c.prediction, ABSTAIN);
  assert.equal(c.radius, 0);
  assert.ok(c.pALower < 0.5);
  const p = g.predict(x, { n: 2000, alpha: 0.001 });
  assert.equal(p.prediction, ABSTAIN);
  assert.ok(p.pValue > 0.001);
  x.dispose();
  // Counts of 55 % still abstain at n = 100 (the bound is below 1/2), certify at n = 100,000.
  assert.equal(certificateFrom(0, 55, 100, 0.001, 0.25).prediction, ABSTAIN);
  assert.equal(certificateFrom(0, 55000, 100000, 0.001, 0.25).prediction, 0);
});

test("on a half-space the estimate of pA matches Φ(x₀/σ) and the radius stays below the true distance |x₀|", () => {
  const sigma = 0.5;
  const x0 = 0.4;
  const g = new SmoothedClassifier(halfSpace, { sigma, numClasses: 2, batchSize: 5000, seed: 3 });
  const x = tensor([x0, 0, 0, 0], [1, 1, 2, 2]);
  const n = 20000;
  const c = g.certify(x, { n0: 100, n, alpha: 0.001 });
  const pA = normalCdf(x0 / sigma);
  assert.equal(c.prediction, 1);
  // 5 standard errors: fails with probability ~1e-6 for a correct sampler.
  assert.ok(Math.abs(c.countA / n - pA) < 5 * Math.sqrt((pA * (1 - pA)) / n), `${c.countA / n} vs ${pA}`);
  assert.ok(c.radius < x0 && c.radius > 0.8 * x0, `radius ${c.radius}`);
  const p = g.predict(x, { n: 2000, alpha: 0.001 });
  assert.equal(p.prediction, 1);
  x.dispose();
});

test("results do not depend on the batch size, and differ with the seed", () => {
  const x = tensor([0.1, 0, 0, 0], [1, 1, 2, 2]);
  const count = (batchSize: number, seed = 0) => new SmoothedClassifier(halfSpace, { sigma: 0.5, numClasses: 2, batchSize, seed }).counts(x, 1000, 7, 1);
  assert.deepEqual(count(1000), count(37));
  assert.notDeepEqual(count(1000), count(1000, 1));
  x.dispose();
});

test("certifySet computes certified accuracy against radius from the certificates", () => {
  const images = [
    { correct: true, radius: 0.3 }, { correct: true, radius: 0.1 }, { correct: false, radius: 0.5 }, { correct: false, radius: 0 },
  ];
  assert.deepEqual(certifiedAccuracyCurve(images, [0, 0.1, 0.2, 0.3, 0.4]).map((p) => p.accuracy), [0.5, 0.5, 0.25, 0.25, 0]);
  const set = { images: new Uint8Array([0, 0, 0, 0, 255, 0, 0, 0]), labels: new Uint8Array([3, 5]), shape: [2, 1, 2, 2] as [number, number, number, number], classes: Array.from({ length: 10 }, (_, i) => String(i)) };
  const r = certifySet(constant, set, { sigma: 0.25, n0: 10, n: 100, alpha: 0.001, seed: 0, numClasses: 10 });
  assert.equal(r.summary!.accuracy, 0.5);
  assert.equal(r.images[0].prediction, 3);
  assert.equal(r.images[1].correct, false);
  assert.throws(() => certifySet(constant, set, { sigma: 0.25, n0: 0, n: 100, alpha: 0.001, seed: 0, numClasses: 10 }), /n0: expected a positive integer/);
  assert.throws(() => new SmoothedClassifier(constant, { sigma: -1, numClasses: 10 }), /sigma: expected a positive noise level, got -1/);
});

test("a base classifier predicting outside the classes is an error, not a silent count", () => {
  const g = new SmoothedClassifier(constant, { sigma: 0.25, numClasses: 3 });
  const x = zeros([1, 1, 2, 2]);
  assert.throws(() => g.counts(x, 10, 0, 0), /predicted class 3, outside \[0, 3\)/);
  x.dispose();
  assert.deepEqual(topTwo([1, 5, 5, 0]), [1, 2]);
});
