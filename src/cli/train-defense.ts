/**
 * `idfr train-defense <name> --target DIR --data NAME --out DIR`: trains (or resumes, or finds
 * already trained) any registered defense that learns something: NRP, ComDefend, ADP, SOAP, ID and
 * ID+FR. It builds the same DefenseEnv the experiment runner builds, with `--out` as the
 * defense's folder, and calls the registry entry, which trains with progress and atomic
 * checkpoints and saves what loads on the next call.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { contentHash } from "../core/fingerprint.js";
import { ensureDir } from "../core/fs.js";
import { DATASET_NAMES, loadDataset, type DatasetName } from "../data/datasets.js";
import { limitSet } from "../data/splits.js";
import { CPU_PRESET } from "../defenses/idfr/config.js";
import { DEFENSE_NAMES, defenseEntry, type DefenseEntry, type DefenseEnv } from "../defenses/registry.js";
import { addRunOptions, contextFromFlags, type RunFlags } from "./context.js";
import { loadModelOption } from "./model-option.js";
import { nonNegativeInt, positiveInt } from "./parse.js";

export type TrainPreset = "cpu" | "paper";

/**
 * The settings section of `entry` for a preset, with `overrides` (a JSON object, as the
 * experiment config's section) on top, validated by the section's schema. Sections with a
 * top-level `preset` take it as is; IDFR's takes its CPU sizes (CPU_PRESET) for "cpu".
 */
export function presetSettings(entry: DefenseEntry, preset: TrainPreset | undefined, overrides: Record<string, unknown> = {}): unknown {
  if (!entry.section) return undefined;
  const { key, schema } = entry.section;
  let base: Record<string, unknown> = {};
  if (preset !== undefined) {
    if (key === "idfr") base = preset === "cpu" ? { id: CPU_PRESET.id, fr: CPU_PRESET.fr } : {};
    else base = { preset };
  }
  const merged = { ...base, ...overrides };
  const r = schema.safeParse(merged);
  if (!r.success) {
    const issues = r.error.issues.map((i) => `${[key, ...i.path.map(String)].join(".")}: ${i.message}`);
    throw new Error(`settings of ${entry.name}: ${issues.join("; ")}`);
  }
  return r.data;
}

/** Files of a folder, hashed by name and content: the target's identity in the defense's keys. */
function folderKey(dir: string): string {
  const parts: (string | Uint8Array)[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isFile()) parts.push(name, readFileSync(p));
  }
  return contentHash(parts);
}

/** Why `name` cannot be trained here, or undefined when it can. */
export function notTrainable(entry: DefenseEntry): string | undefined {
  if (!entry.section) return `defense ${entry.name} (${entry.label}) has nothing to train: it is built from fixed settings`;
  if (entry.name === "fast-at") return `defense ${entry.name} trains a whole classifier: use idfr train-model --mode fast-at`;
  return undefined;
}

interface TrainDefenseCliOptions extends RunFlags {
  target: string;
  data: DatasetName;
  root?: string;
  limit?: number;
  out: string;
  preset?: TrainPreset;
  settings?: string;
  seed: number;
  resume?: boolean;
  force?: boolean;
}

async function run(name: string, o: TrainDefenseCliOptions, out: { write(text: string): unknown }): Promise<void> {
  const entry = defenseEntry(name);
  const why = notTrainable(entry);
  if (why) throw new Error(why);
  let overrides: Record<string, unknown> = {};
  if (o.settings !== undefined) {
    try {
      overrides = JSON.parse(o.settings) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`--settings: expected a JSON object, got ${JSON.stringify(o.settings)} (${(err as Error).message})`);
    }
    if (overrides === null || typeof overrides !== "object" || Array.isArray(overrides)) throw new Error(`--settings: expected a JSON object, got ${o.settings}`);
  }
  const settings = presetSettings(entry, o.preset, overrides);
  if (existsSync(o.out) && readdirSync(o.out).length > 0 && !o.resume) {
    throw new Error(`--out ${o.out}: the folder is not empty; pass --resume to continue its training (or load what is finished), or choose an empty folder`);
  }
  ensureDir(o.out, "--out");
  const ctx = contextFromFlags(o, { outDir: o.out, resume: o.resume ?? false, log: (l) => out.write(`${l}\n`) });
  const ds = await loadDataset(o.data, { root: o.root, limit: o.limit });
  const facts = { name: ds.name, shape: ds.splits.train.shape.slice(1), classes: ds.classes };
  const target = loadModelOption("--target", o.target, facts, { force: o.force, device: ctx.device, warn: ctx.log });
  const shared = new Map<string, Promise<unknown>>();
  const dirs = new Map<string, string>();
  let trained = false;
  const env: DefenseEnv = {
    target,
    targetDir: o.target,
    targetKey: folderKey(o.target),
    settings,
    seed: o.seed,
    dataset: ds.name,
    device: ctx.device,
    // The defense's folder is --out; a second kind of artifact (none today) gets a subfolder.
    artifactDir: (kind) => {
      let d = dirs.get(kind);
      if (!d) {
        d = dirs.size === 0 ? o.out : join(o.out, kind);
        dirs.set(kind, ensureDir(d, `the ${kind} artifact`));
      }
      return d;
    },
    trainImages: async (limit) => limitSet(ds.splits.train, limit, o.seed),
    valImages: async () => (ds.splits.val ? limitSet(ds.splits.val, 500, o.seed) : undefined),
    trainVariant: () => Promise.reject(new Error(`defense ${entry.name} trains a variant of the target's architecture: use idfr train-model --mode fast-at`)),
    shared: <T>(key: unknown, make: () => Promise<T>) => {
      const k = JSON.stringify(key);
      let hit = shared.get(k) as Promise<T> | undefined;
      if (!hit) {
        hit = make();
        shared.set(k, hit);
      }
      return hit;
    },
    trained: () => { trained = true; },
    log: (line) => ctx.log(line),
    progress: ctx.progress,
  };
  ctx.log(`${entry.label} for ${target.arch} on ${ds.name} (${o.preset ?? "default"} preset) -> ${o.out}`);
  const t0 = performance.now();
  const defense = await entry.create(env);
  const seconds = (performance.now() - t0) / 1000;
  ctx.log(trained ? `trained ${entry.label} in ${seconds.toFixed(0)} s; saved in ${o.out}` : `${entry.label} in ${o.out} was already trained: loaded it`);
  (defense as { dispose?: () => void }).dispose?.();
}

export function registerTrainDefenseCommand(program: Command, out: { write(text: string): unknown } = process.stdout): Command {
  const cmd = program
    .command("train-defense")
    .description("train a learned defense (nrp, comdefend, adp, soap, id, id+fr) for a target and save it in --out; resumes with --resume")
    .argument("<name>", `the defense: one of ${DEFENSE_NAMES.join(", ")} (those that train)`)
    .requiredOption("--target <dir>", "target model folder (from idfr train-model)")
    .addOption(new Option("--data <name>", "dataset the target was trained on").choices([...DATASET_NAMES]).default("fashion-mnist"))
    .option("--root <dir>", "folder with the dataset's files")
    .option("--limit <n>", "load at most n training images (classes balanced)", positiveInt)
    .requiredOption("--out <dir>", "the defense's folder (weights, settings, checkpoints)")
    .addOption(new Option("--preset <name>", "sizes: cpu (minutes to an hour on 2 cores) or paper (the authors'); default: the section's own default").choices(["cpu", "paper"]))
    .option("--settings <json>", "settings of the defense's config section as JSON, over the preset (e.g. '{\"epochs\": 2}')")
    .option("--seed <n>", "seed of the training", nonNegativeInt, 0)
    .option("--resume", "continue an interrupted training in --out, or load a finished one")
    .option("--force", "train even when the target was trained on another dataset, input shape or classes");
  return addRunOptions(cmd, { progress: true }).action((name: string, o: TrainDefenseCliOptions) => run(name, o, out));
}
