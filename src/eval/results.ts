/**
 * The result record every evaluation writes (results.json is an array of these) and everything
 * else (tables, charts, reports) is rendered from.
 */

export type Threat = "clean" | "transfer" | "whitebox" | "adaptive";

export interface ResultRecord {
  dataset: string;
  /** Target classifier's architecture (or a user label). */
  target: string;
  /** "none" | "id" | "id+fr" | a baseline's name ("jpeg-q50", "feature-squeezing", "tvm", "fast-at", ...). */
  defense: string;
  threat: Threat;
  /** "none" for clean rows; otherwise "fgsm", "bim", "cw", "pgd", "apgd-ce", ... */
  attack: string;
  /** l_inf radius on the [0, 1] scale (0 for clean rows). */
  eps: number;
  /** Images evaluated. */
  n: number;
  /** Fraction classified correctly, in [0, 1]. */
  accuracy: number;
  /** 95 % Wilson score interval of the accuracy. */
  ci95: [number, number];
  /** Wall time of the cell (attack generation charged to the cell that first needed it). */
  seconds: number;
  /** Model the AEs were made on, for transfer rows. */
  surrogate?: string;
  /** Experiment preset that produced the record. */
  preset?: string;
}

/** 95 % Wilson score interval for `correct` successes out of `n`. */
export function wilson95(correct: number, n: number): [number, number] {
  if (n === 0) return [0, 1];
  const z = 1.959963984540054;
  const p = correct / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/** Checks that a parsed results.json is an array of records; errors name the index and field. */
export function validateResults(data: unknown, file = "results.json"): ResultRecord[] {
  if (!Array.isArray(data)) throw new Error(`${file}: expected an array of result records`);
  const threats = new Set(["clean", "transfer", "whitebox", "adaptive"]);
  data.forEach((r, i) => {
    const bad = (field: string, expected: string) => new Error(`${file}: record ${i}: "${field}" must be ${expected}, got ${JSON.stringify((r as Record<string, unknown>)?.[field])}`);
    if (r === null || typeof r !== "object") throw new Error(`${file}: record ${i} is not an object`);
    for (const k of ["dataset", "target", "defense", "attack"]) if (typeof r[k] !== "string") throw bad(k, "a string");
    if (!threats.has(r.threat)) throw bad("threat", "clean, transfer, whitebox or adaptive");
    if (typeof r.eps !== "number" || r.eps < 0 || r.eps > 1) throw bad("eps", "a number in [0, 1]");
    if (!Number.isInteger(r.n) || r.n < 0) throw bad("n", "a non-negative integer");
    if (typeof r.accuracy !== "number" || r.accuracy < 0 || r.accuracy > 1) throw bad("accuracy", "a fraction in [0, 1]");
    if (!Array.isArray(r.ci95) || r.ci95.length !== 2) throw bad("ci95", "[lo, hi]");
  });
  return data as ResultRecord[];
}
