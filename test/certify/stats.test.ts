/** Clopper–Pearson bounds, Φ⁻¹ and the binomial test against scipy 1.17 values and closed forms. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { binomialTwoSidedPValue, clopperPearsonLower, clopperPearsonUpper, normalInverseCdf } from "../../src/certify/stats.js";

const close = (a: number, b: number, tol = 1e-10) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test("Clopper–Pearson lower bound matches scipy's beta.ppf(alpha, k, n - k + 1)", () => {
  // scipy.stats.beta.ppf(a, k, n - k + 1), scipy 1.17.1
  const cases: [number, number, number, number][] = [
    [990, 1000, 0.001, 0.9760361871553114],
    [500, 1000, 0.001, 0.45077105398478234],
    [60, 100, 0.05, 0.5129758202538943],
    [1, 10, 0.01, 0.0010045287082499491],
    [99, 100, 0.001, 0.9113731112960424],
    [9990, 10000, 0.001, 0.9975883080325683],
  ];
  for (const [k, n, a, want] of cases) close(clopperPearsonLower(k, n, a), want);
});

test("all successes: the lower bound is alpha^(1/n); no successes: 0", () => {
  close(clopperPearsonLower(1000, 1000, 0.001), Math.pow(0.001, 1 / 1000));
  close(clopperPearsonLower(5, 5, 0.05), 0.5492802716530588);
  assert.equal(clopperPearsonLower(0, 100, 0.001), 0);
  close(clopperPearsonUpper(0, 1000, 0.001), 1 - Math.pow(0.001, 1 / 1000));
  assert.equal(clopperPearsonUpper(7, 7, 0.05), 1);
});

test("the bound is below the observed proportion and rises with n at a fixed proportion", () => {
  const a = clopperPearsonLower(90, 100, 0.001);
  const b = clopperPearsonLower(900, 1000, 0.001);
  assert.ok(a < b && b < 0.9);
});

test("Φ⁻¹ matches scipy's norm.ppf", () => {
  close(normalInverseCdf(0.5), 0);
  close(normalInverseCdf(0.9), 1.2815515655446004);
  close(normalInverseCdf(0.99), 2.3263478740408408);
  close(normalInverseCdf(0.999), 3.090232306167813);
  close(normalInverseCdf(0.975), 1.959963984540054);
  close(normalInverseCdf(0.1), -1.2815515655446004);
});

test("two-sided binomial test matches scipy's binomtest(k, n, 0.5).pvalue", () => {
  close(binomialTwoSidedPValue(60, 100), 0.05688793364098089, 1e-9);
  close(binomialTwoSidedPValue(7, 10), 0.34375);
  close(binomialTwoSidedPValue(50, 100), 1);
  close(binomialTwoSidedPValue(0, 10), 0.001953125);
  close(binomialTwoSidedPValue(520, 1000), 0.2174482932041415, 1e-9);
});

test("bad counts and levels are refused with the input named", () => {
  assert.throws(() => clopperPearsonLower(11, 10, 0.01), /k: expected an integer count in \[0, 10\], got 11/);
  assert.throws(() => clopperPearsonLower(1, 0, 0.01), /n: expected a positive integer number of samples, got 0/);
  assert.throws(() => clopperPearsonLower(1, 10, 0), /alpha: expected a probability in \(0, 1\), got 0/);
  assert.throws(() => clopperPearsonLower(1.5, 10, 0.1), /k: expected an integer count/);
  assert.throws(() => normalInverseCdf(1.2), /p: expected a probability in \[0, 1\], got 1.2/);
  assert.throws(() => normalInverseCdf(Number.NaN), /p: expected a probability/);
});
