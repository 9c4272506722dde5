/**
 * `idfr train-id`, `idfr train-fr`, `idfr defend`: training an IDFR defense for a target. The ID and
 * FR flags come from the configs' schemas (defenses/idfr/config.ts), so every setting is a flag.
 */
import { Option, type Command } from "commander";
import { AttackSettingsSchema } from "../attacks/options.js";
import { DATASET_NAMES, loadDataset, type DatasetName } from "../data/datasets.js";
import { CPU_PRESET, defend, FrConfigSchema, IdConfigSchema, type FrConfig, type IdConfig } from "../defenses/idfr/index.js";
import { ensureDir } from "../core/fs.js";
import { addRunOptions, contextFromFlags, type RunFlags } from "./context.js";
import { loadModelOption } from "./model-option.js";
import { nonNegativeInt, positiveInt } from "./parse.js";
import { addSchemaOptions, schemaValuesFrom, type SchemaFlags } from "./schema-options.js";

/** ID flags: `--id-<key>`, except the short names these commands have always had. */
export const ID_FLAGS: SchemaFlags = {
  prefix: "id", omit: ["seed"], showDefaults: true,
  rename: { width: "width", sigma: "sigma", gaussianRounds: "rounds", attack: "attack", trainEps: "train-eps", preset: "preset", idLoss: "id-loss", batchSize: "batch-size" },
};
/** Settings of the attack making the training AEs: `--attack-steps`, `--attack-step-size`, `--attack-random-start`, ... */
export const TRAIN_ATTACK_FLAGS: SchemaFlags = { prefix: "attack" };
/** FR flags: `--fr-<key>` (and `--pairing`). */
export const FR_FLAGS: SchemaFlags = { prefix: "fr", omit: ["seed"], showDefaults: true, rename: { pairing: "pairing" } };

interface DefendCliOptions extends RunFlags, Record<string, unknown> {
  target: string;
  data: DatasetName;
  root?: string;
  limit?: number;
  out: string;
  cpu?: boolean;
  attackModel?: string;
  seed: number;
  resume?: boolean;
  force?: boolean;
}

function addOptions(cmd: Command, stages: "id" | "fr" | "both"): Command {
  cmd
    .requiredOption("--target <dir>", "target model folder (from idfr train-model)")
    .addOption(new Option("--data <name>", "dataset the target was trained on").choices([...DATASET_NAMES]).default("fashion-mnist"))
    .option("--root <dir>", "folder with the dataset's files")
    .option("--limit <n>", "use at most n training images (classes balanced)", positiveInt)
    .requiredOption("--out <dir>", "defense folder (defense.json, id.safetensors, fr.safetensors)")
    .option("--cpu", "CPU-sized preset: half-width ID, few epochs (see README)")
    .option("--seed <n>", "seed of the ID and the FR", nonNegativeInt, 0)
    .option("--resume", "continue an interrupted run / reuse finished stages in --out")
    .option("--force", "train even when the target (or attack model) was trained on another dataset, input shape or classes");
  if (stages !== "fr") {
    cmd.option("--attack-model <dir>", "model folder of the attack model A(·) making the training AEs (default: the target)");
    addSchemaOptions(cmd, IdConfigSchema, ID_FLAGS);
    addSchemaOptions(cmd, AttackSettingsSchema, TRAIN_ATTACK_FLAGS);
  }
  if (stages !== "id") addSchemaOptions(cmd, FrConfigSchema, FR_FLAGS);
  return addRunOptions(cmd, { progress: true });
}

async function run(o: DefendCliOptions, stages: "id" | "fr" | "both"): Promise<void> {
  ensureDir(o.out, "--out"); // before the work, not after it
  const ctx = contextFromFlags(o, { outDir: o.out, resume: o.resume ?? false, log: (l) => console.log(l) });
  const ds = await loadDataset(o.data, { root: o.root, limit: o.limit });
  const facts = { name: ds.name, shape: ds.splits.train.shape.slice(1), classes: ds.classes };
  // A defense trained for a target on data it does not know would learn from near-chance predictions.
  const checks = { force: o.force, device: ctx.device, warn: ctx.log };
  const target = loadModelOption("--target", o.target, facts, checks);
  const id: Partial<IdConfig> = { ...(o.cpu ? CPU_PRESET.id : {}), ...(stages !== "fr" ? schemaValuesFrom(o, IdConfigSchema, ID_FLAGS) : {}), seed: o.seed,
    ...(stages !== "fr" ? { attackOptions: schemaValuesFrom(o, AttackSettingsSchema, TRAIN_ATTACK_FLAGS) } : {}) };
  const fr: Partial<FrConfig> = { ...(o.cpu ? CPU_PRESET.fr : {}), ...(stages !== "id" ? schemaValuesFrom(o, FrConfigSchema, FR_FLAGS) : {}), seed: o.seed };
  ctx.log(`defending ${target.arch} with ${ds.splits.train.shape[0]} training images of ${ds.name} -> ${o.out}`);
  const r = await defend(target, ds.splits.train, { ...ctx, outDir: o.out, targetDir: o.target, id, fr, stages, dataset: ds.name, val: ds.splits.val,
    attackModel: o.attackModel ? loadModelOption("--attack-model", o.attackModel, facts, checks) : undefined });
  const last = (h: Record<string, number>[]): Record<string, number | undefined> | undefined => (h.length ? h[h.length - 1] : undefined);
  const fmt = (v?: number) => (v === undefined ? "n/a" : `${(100 * v).toFixed(2)} %`);
  const idLast = last(r.idHistory as unknown as Record<string, number>[]);
  const frLast = last(r.frHistory as unknown as Record<string, number>[]);
  if (idLast) ctx.log(`ID: validation accuracy clean ${fmt(idLast.cleanAcc)}, adversarial ${fmt(idLast.advAcc)} (${r.seconds.id.toFixed(0)} s)`);
  if (frLast) ctx.log(`ID+FR: validation accuracy clean ${fmt(frLast.cleanAcc)}, adversarial ${fmt(frLast.advAcc)} (${r.seconds.fr.toFixed(0)} s); FR trained on ${r.frSplit?.correct} correct / ${r.frSplit?.wrong} misclassified embeddings`);
  ctx.log(`saved ${o.out}`);
}

export function registerDefendCommands(program: Command): void {
  addOptions(program.command("train-id").description("train the input denoiser (Algorithm 1) for a target"), "id")
    .action((o: DefendCliOptions) => run(o, "id"));
  addOptions(program.command("train-fr").description("train the feature restorer (Algorithm 2) behind a trained ID (in --out)"), "fr")
    .action((o: DefendCliOptions) => run(o, "fr"));
  addOptions(program.command("defend").description("train ID then FR for a target: a complete IDFR defense folder"), "both")
    .action((o: DefendCliOptions) => run(o, "both"));
}
