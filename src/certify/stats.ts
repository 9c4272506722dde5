/**
 * The statistics of randomized smoothing (Cohen, Rosenfeld & Kolter, "Certified Adversarial
 * Robustness via Randomized Smoothing", ICML 2019), on stdlib's beta and normal quantiles and its
 * exact binomial test rather than hand-written special functions.
 */
import betaQuantile from "@stdlib/stats-base-dists-beta-quantile";
import normalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import binomialTest from "@stdlib/stats-binomial-test";

function checkCounts(k: number, n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n: expected a positive integer number of samples, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n) throw new RangeError(`k: expected an integer count in [0, ${n}], got ${k}`);
}

function checkAlpha(alpha: number): void {
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha: expected a probability in (0, 1), got ${alpha}`);
}

/**
 * The one-sided (1 − α) Clopper–Pearson lower confidence bound on a binomial proportion after `k`
 * successes in `n` trials: the α quantile of Beta(k, n − k + 1), and 0 when k = 0. This is Cohen et
 * al.'s `LowerConfBound` (statsmodels' two-sided "beta" interval at level 2α, lower end).
 */
export function clopperPearsonLower(k: number, n: number, alpha: number): number {
  checkCounts(k, n);
  checkAlpha(alpha);
  return k === 0 ? 0 : betaQuantile(alpha, k, n - k + 1);
}

/** The one-sided (1 − α) Clopper–Pearson upper bound: the 1 − α quantile of Beta(k + 1, n − k), and 1 when k = n. */
export function clopperPearsonUpper(k: number, n: number, alpha: number): number {
  checkCounts(k, n);
  checkAlpha(alpha);
  return k === n ? 1 : betaQuantile(1 - alpha, k + 1, n - k);
}

/** Φ⁻¹(p), the standard normal quantile; ±Infinity at 0 and 1. */
export function normalInverseCdf(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p: expected a probability in [0, 1], got ${p}`);
  return normalQuantile(p, 0, 1);
}

/**
 * The two-sided p-value of the exact binomial test of H0: P(success) = p after `k` successes in
 * `n` trials (scipy's `binomtest(k, n, p).pvalue`); PREDICT tests the top two counts against 1/2.
 */
export function binomialTwoSidedPValue(k: number, n: number, p = 0.5): number {
  checkCounts(k, n);
  if (!(p > 0 && p < 1)) throw new RangeError(`p: expected a probability in (0, 1), got ${p}`);
  return binomialTest(k, n, { p, alternative: "two-sided" }).pValue;
}
