/**
 * Experiment configs (JSON), validated with zod: the dataset, target and surrogate models, the
 * defenses, attacks, radii and threat models of one result matrix. Errors name the bad key.
 */
import { z } from "zod";
import { ATTACK_NAMES, PRESET_NAMES } from "../attacks/presets.js";
import { DATASET_NAMES } from "../data/datasets.js";
import { ARCHITECTURES } from "../models/registry.js";
import { readJsonFile } from "../core/json-file.js";

/** A radius: a number in [0, 1] or a string such as "8/255". */
const Radius = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const m = typeof v === "string" ? /^\s*([\d.]+)\s*\/\s*([\d.]+)\s*$/.exec(v) : null;
  const n = typeof v === "number" ? v : m ? Number(m[1]) / Number(m[2]) : Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) {
    ctx.addIssue({ code: "custom", message: `expected a radius in [0, 1] such as 8/255, got ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return n;
});

export const ModelSpecSchema = z.strictObject({
  arch: z.enum(ARCHITECTURES as [string, ...string[]]),
  width: z.number().positive().max(4).default(1),
  epochs: z.number().int().positive().default(10),
  batchSize: z.number().int().positive().default(128),
  optimizer: z.enum(["sgd", "adam"]).default("sgd"),
  lr: z.number().positive().optional(),
  seed: z.number().int().nonnegative().default(0),
});
export type ModelSpec = z.output<typeof ModelSpecSchema>;

const IdSchema = z.strictObject({
  epochs: z.number().int().positive(), lr: z.number().positive(), batchSize: z.number().int().positive(), width: z.number().positive(),
  variant: z.enum(["paper", "reference-code"]), idLoss: z.enum(["ce", "feature-l1"]), gaussianRounds: z.number().int().nonnegative(), sigma: z.number().nonnegative(),
  attack: z.enum(ATTACK_NAMES), trainEps: z.array(Radius).min(1), preset: z.enum(PRESET_NAMES), seed: z.number().int().nonnegative(),
}).partial();

const FrSchema = z.strictObject({
  epochs: z.number().int().positive(), lr: z.number().positive(), batchSize: z.number().int().positive(),
  pairing: z.enum(["paper", "pooled"]), gaussianRounds: z.number().int().nonnegative(), seed: z.number().int().nonnegative(),
}).partial();

export const ExperimentSchema = z.strictObject({
  name: z.string().min(1),
  dataset: z.strictObject({
    name: z.enum(DATASET_NAMES),
    root: z.string().optional(),
    /** Training images used (classes balanced); all when absent. */
    trainImages: z.number().int().positive().optional(),
    splitSeed: z.number().int().nonnegative().default(0),
    /** Image folders: side of the square input (224; 299 for InceptionV3). */
    imageSize: z.number().int().positive().optional(),
  }),
  /** Target classifiers, each with the surrogate its transfer AEs come from. */
  targets: z.array(ModelSpecSchema.extend({ surrogate: ModelSpecSchema })).min(1),
  /** Rows: "none", "id", "id+fr", "fast-at", or a baseline ("feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm"). */
  defenses: z.array(z.string().min(1)).min(1),
  idfr: z.strictObject({ id: IdSchema.default({}), fr: FrSchema.default({}), trainImages: z.number().int().positive().optional() }).default({ id: {}, fr: {} }),
  fastAt: z.strictObject({ epochs: z.number().int().positive().optional(), eps: Radius.default(8 / 255) }).default({ eps: 8 / 255 }),
  attacks: z.array(z.enum(ATTACK_NAMES)).min(1),
  preset: z.enum(PRESET_NAMES).default("paper"),
  eps: z.array(Radius).min(1),
  threats: z.array(z.enum(["transfer", "whitebox", "adaptive"])).min(1),
  adaptive: z.strictObject({
    attacks: z.array(z.enum(ATTACK_NAMES)).min(1).default(["pgd"]),
    /** Defenses attacked adaptively (default: all). */
    defenses: z.array(z.string()).optional(),
    eotSamples: z.number().int().positive().default(10),
    preset: z.enum(PRESET_NAMES).default("standard"),
  }).default({ attacks: ["pgd"], eotSamples: 10, preset: "standard" }),
  /** Test images evaluated per cell (classes balanced). */
  evalImages: z.number().int().positive().default(1000),
  seed: z.number().int().nonnegative().default(0),
});

export type ExperimentConfig = z.output<typeof ExperimentSchema>;
export type ExperimentInput = z.input<typeof ExperimentSchema>;

/** Thrown for an invalid config; the message lists every problem with its key path. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: invalid experiment config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export function parseExperiment(input: unknown, source = "config"): ExperimentConfig {
  const result = ExperimentSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(source, result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`));
  }
  return result.data;
}

export function readExperiment(path: string): ExperimentConfig {
  return parseExperiment(readJsonFile(path, "the config"), path);
}
