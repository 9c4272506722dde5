/**
 * The result record every evaluation writes and everything else (tables, charts, reports) is
 * rendered from, declared once as a zod schema. results.json is `{ "version": 2, "records": [...] }`;
 * a bare array of records (what earlier versions wrote) is read as version 1.
 */
import { z } from "zod";
import { wilsonInterval } from "./measure.js";

/** The results.json format this code writes. */
export const RESULTS_VERSION = 2;

export const THREAT_NAMES = ["clean", "transfer", "whitebox", "adaptive"] as const;
export type Threat = (typeof THREAT_NAMES)[number];

export const ResultRecordSchema = z.object({
  dataset: z.string(),
  /** Target classifier's architecture (or a user label). */
  target: z.string(),
  /** A registered defense's name ("none", "id", "id+fr", "jpeg-q50", ...). */
  defense: z.string(),
  threat: z.enum(THREAT_NAMES),
  /** "none" for clean rows; otherwise "fgsm", "bim", "cw", "pgd", "apgd-ce", ... */
  attack: z.string(),
  /** l_inf radius on the [0, 1] scale (0 for clean rows). */
  eps: z.number().min(0).max(1),
  /** Images evaluated. */
  n: z.number().int().nonnegative(),
  /** Fraction classified correctly, in [0, 1]. */
  accuracy: z.number().min(0).max(1),
  /** 95 % Wilson score interval of the accuracy. */
  ci95: z.tuple([z.number(), z.number()]),
  /** Wall time of the cell (attack generation charged to the cell that first needed it). */
  seconds: z.number().nonnegative().default(0),
  /** Model the AEs were made on, for transfer rows. */
  surrogate: z.string().optional(),
  /** Experiment preset that produced the record. */
  preset: z.string().optional(),
  /**
   * True for a radius of the gradient-masking sweep beyond the config's ε list: shown in the
   * accuracy-against-ε charts and the masking check, left out of the tables and averages.
   */
  sweep: z.boolean().optional(),
  /**
   * An adaptive attack run several times (config adaptive.runs): each run's accuracy, their sample
   * standard deviation, and the fraction of images classified correctly in every run (the
   * per-sample worst case). `accuracy` is then the mean over runs.
   */
  runs: z.strictObject({
    accuracies: z.array(z.number().min(0).max(1)).min(2),
    std: z.number().nonnegative(),
    everyRun: z.number().min(0).max(1),
  }).optional(),
});
export type ResultRecord = z.output<typeof ResultRecordSchema>;

const ResultsFileSchema = z.union([
  z.array(ResultRecordSchema),
  z.object({ version: z.literal(RESULTS_VERSION), records: z.array(ResultRecordSchema) }),
]);

/** The 95 % Wilson score interval of measure.ts's `wilsonInterval`, as the [low, high] pair a record stores. */
export function wilson95(correct: number, n: number): [number, number] {
  const { low, high } = wilsonInterval(correct, n);
  return [low, high];
}

/**
 * The records of a parsed results.json (version 2, or a version-1 bare array); errors name the
 * file, the record index and the field.
 */
export function validateResults(data: unknown, file = "results.json"): ResultRecord[] {
  if (data !== null && typeof data === "object" && !Array.isArray(data) && (data as { version?: unknown }).version !== RESULTS_VERSION) {
    throw new Error(`${file}: unsupported version ${JSON.stringify((data as { version?: unknown }).version)} (this idfr reads version ${RESULTS_VERSION} and version-1 arrays)`);
  }
  if (data === null || typeof data !== "object") throw new Error(`${file}: expected an array of result records or { "version": ${RESULTS_VERSION}, "records": [...] }`);
  const r = ResultsFileSchema.safeParse(data);
  if (!r.success) {
    const records = Array.isArray(data) ? data : (data as { records?: unknown }).records;
    const inner = z.array(ResultRecordSchema).safeParse(records);
    const issues = inner.success ? r.error.issues : inner.error.issues;
    const lines = issues.map((i) => {
      const [index, field] = i.path;
      return typeof index === "number" ? `record ${index}${field !== undefined ? `: "${String(field)}"` : ""}: ${i.message}` : `${i.path.join(".") || "(top level)"}: ${i.message}`;
    });
    throw new Error(`${file}: ${lines.join("; ")}`);
  }
  return Array.isArray(r.data) ? r.data : r.data.records;
}
