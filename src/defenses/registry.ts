/**
 * Every defense by name, registered once: its label in reports, what an adaptive attack needs
 * ("exact": the pipeline is differentiable; "bpda": gradients pass straight through a
 * non-differentiable purifier; "eot": also average over random draws), the config section it reads
 * and how it is built. The experiment runner, config validation, CLI choices, report labels and
 * `idfr list` read this list. A new defense is one file exporting a {@link DefenseEntry} and one
 * line in {@link DEFENSES}.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { z } from "zod";
import type { DeviceName } from "../core/context.js";
import { unknownName } from "../core/validate.js";
import type { ImageSet } from "../data/types.js";
import type { Classifier } from "../models/classifier.js";
import { bitDepthDefense } from "./baselines/bit-depth.js";
import { createBaseline, type BaselineName } from "./baselines/registry.js";
import type { Defense } from "./defense.js";
import { comdefendEntry } from "./comdefend/entry.js";
import { FastAtDefense } from "./fast-at.js";
import { IdfrSettingsSchema, type IdfrSettings } from "./idfr/config.js";
import type { IdfrDefense } from "./idfr/defense.js";
import { defend } from "./idfr/pipeline.js";
import { NoDefense } from "./none.js";
import { pgdAtEntry } from "./pgd-at.js";
import { nrpDynamicEntry, nrpEntry } from "./nrp/entry.js";
import { soapEntry } from "./soap/entry.js";
import { adpDefenseEntry } from "./adp/entry.js";
import { fastAtSettings, FastAtSettingsSchema, type FastAtSettings } from "./fast-at-settings.js";
import { seedFor } from "../core/seeds.js";
import { Generator } from "../torch/index.js";

/** How an adaptive attack gets a gradient through a defense. */
export type AdaptiveMode = "exact" | "bpda" | "eot";

/** What building a defense may use; the runner provides it (and caches what it trains). */
export interface DefenseEnv {
  /** The classifier being protected (on the run's device). */
  target: Classifier;
  /** Folder of the target, recorded by trained defenses so they load on their own. */
  targetDir: string;
  /** Hash of everything that produced the target (its data, spec and seed). */
  targetKey: string;
  /** The validated settings of the entry's config section (undefined without one). */
  settings: unknown;
  /** The experiment's seed. */
  seed: number;
  /** Dataset name, recorded in what is trained. */
  dataset: string;
  /** Where training runs. */
  device: DeviceName;
  /** A cache folder for an artifact of `kind` keyed on everything in `key`. */
  artifactDir(kind: string, key: unknown): string;
  /** The experiment's training images, at most `limit` (classes balanced). */
  trainImages(limit?: number): Promise<ImageSet>;
  /** Validation images, when the dataset has them. */
  valImages(): Promise<ImageSet | undefined>;
  /** A copy of the target's architecture trained in another mode (cached like every model). */
  trainVariant(mode: "fast-at", settings: FastAtSettings): Promise<Classifier>;
  /** Builds `make()` once per key for all entries of a run (ID and ID+FR share one training). */
  shared<T>(key: unknown, make: () => Promise<T>): Promise<T>;
  /** Counts a trained defense in the run's statistics. */
  trained(): void;
  log(line: string): void;
  progress: "bar" | "lines" | "none";
}

/** One registered defense. */
export interface DefenseEntry {
  name: string;
  /** Row label in reports ("No Defense", "JPEG(q=50)", "IDFR"). */
  label: string;
  /** One line for `idfr list`. */
  description: string;
  adaptive: AdaptiveMode;
  /** Position in the paper's rows: the undefended target first, then baselines, then IDFR. */
  group: "undefended" | "baseline" | "idfr";
  /**
   * Which classifier white-box AEs are made on: "target" (default), one AE set shared by every
   * such defense of the target; "own", the defense's `whiteboxModel` (Fast AT's robust model).
   */
  whitebox?: "target" | "own";
  /** The experiment config section holding its settings, with that section's schema. */
  section?: { key: string; schema: z.ZodType };
  create(env: DefenseEnv): Defense | Promise<Defense>;
}

const baseline = (name: BaselineName, label: string, adaptive: AdaptiveMode, description: string): DefenseEntry => ({
  name, label, description, adaptive, group: "baseline", create: (env) => createBaseline(name, env.target, { dataset: env.dataset }),
});

const IDFR_SECTION = { key: "idfr", schema: IdfrSettingsSchema };

/** ID and ID+FR train together once per target and settings; "id" drops the restorer. */
async function trainedIdfr(env: DefenseEnv): Promise<IdfrDefense> {
  const settings = env.settings as IdfrSettings;
  return env.shared({ idfr: settings, target: env.targetKey }, async () => {
    const dir = env.artifactDir("idfr", { idfr: settings, target: env.targetKey });
    const done = existsSync(join(dir, "fr.safetensors")) && existsSync(join(dir, "defense.json"));
    const train = await env.trainImages(settings.trainImages);
    const val = await env.valImages();
    if (!done) env.log(`training IDFR for ${env.target.arch} on ${train.shape[0]} images -> ${dir}`);
    const r = await defend(env.target, train, {
      outDir: dir, targetDir: env.targetDir, resume: true, progress: env.progress, device: env.device, dataset: env.dataset, val, log: (l) => env.log(l),
      id: { ...settings.id, seed: settings.id.seed ?? env.seed }, fr: { ...settings.fr, seed: settings.fr.seed ?? env.seed },
    });
    if (!done) env.trained();
    return r.defense;
  });
}

/** The `idfrAdaptive` section with the adaptive adversary as the default of both stages. */
function adaptiveIdfrSettings(settings: IdfrSettings): IdfrSettings {
  return { ...settings, id: { adversary: "adaptive", ...settings.id }, fr: { adversary: "adaptive", ...settings.fr } };
}

/** Every defense, in the paper's row order. */
export const DEFENSES: readonly DefenseEntry[] = [
  { name: "none", label: "No Defense", description: "the target as it is", adaptive: "exact", group: "undefended", create: (env) => new NoDefense(env.target) },
  nrpEntry, nrpDynamicEntry,
  { name: "fast-at", label: "Fast AT", description: "the target's architecture adversarially trained (FGSM from a random start, cyclic lr, PGD early stopping)", adaptive: "exact", group: "baseline",
    section: { key: "fastAt", schema: FastAtSettingsSchema }, whitebox: "own",
    // Defaults filled in before the settings key the cached model, so a model trained otherwise is not reused.
    create: async (env) => new FastAtDefense(env.target, await env.trainVariant("fast-at", fastAtSettings(env.settings))) },
  comdefendEntry,
  baseline("feature-squeezing", "Feature Squeezing", "bpda", "Xu et al. 2018's squeezers for the dataset chained: bit depth, 2x2 median, non-local means"),
  baseline("jpeg-q25", "JPEG(q=25)", "bpda", "JPEG compression at quality 25"),
  baseline("jpeg-q50", "JPEG(q=50)", "bpda", "JPEG compression at quality 50"),
  baseline("jpeg-q75", "JPEG(q=75)", "bpda", "JPEG compression at quality 75"),
  { ...baseline("tvm", "TVM", "eot", "total-variance minimisation of randomly dropped pixels (Guo et al. 2018)"),
    // Its masks come from a generator of its own, seeded from the experiment's seed, on its device.
    create: (env) => createBaseline("tvm", env.target, { tvm: { generator: new Generator(seedFor.tvmMasks(env.seed), env.device) } }) },
  adpDefenseEntry,
  soapEntry,
  bitDepthDefense,
  { name: "id", label: "ID", description: "IDFR's input denoiser alone (the paper's ablation)", adaptive: "exact", group: "idfr", section: IDFR_SECTION,
    create: async (env) => (await trainedIdfr(env)).withoutRestorer() },
  { name: "id+fr", label: "IDFR", description: "IDFR: input denoiser and feature restorer", adaptive: "exact", group: "idfr", section: IDFR_SECTION,
    create: (env) => trainedIdfr(env) },
  pgdAtEntry,
  { name: "id-adaptive", label: "ID (adaptive)", description: "the adaptively trained ID alone (id+fr-adaptive without its FR)",
    adaptive: "exact", group: "idfr", section: { key: "idfrAdaptive", schema: IdfrSettingsSchema },
    create: async (env) => (await trainedIdfr({ ...env, settings: adaptiveIdfrSettings(env.settings as IdfrSettings) })).withoutRestorer() },
  { name: "id+fr-adaptive", label: "IDFR (adaptive)", description: "IDFR with Algorithm 1 and 2's AEs crafted at every step through the current ID (and FR) and the frozen target (id.adversary and fr.adversary \"adaptive\")",
    adaptive: "exact", group: "idfr", section: { key: "idfrAdaptive", schema: IdfrSettingsSchema },
    create: (env) => trainedIdfr({ ...env, settings: adaptiveIdfrSettings(env.settings as IdfrSettings) }) },
];

export const DEFENSE_NAMES = DEFENSES.map((d) => d.name);

/** The registered defense called `name`; the error lists the known ones. */
export function defenseEntry(name: string): DefenseEntry {
  const entry = DEFENSES.find((d) => d.name === name);
  if (!entry) throw unknownName("defenses", name, DEFENSE_NAMES);
  return entry;
}
