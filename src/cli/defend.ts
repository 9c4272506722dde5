/** `idfr train-id`, `idfr train-fr`, `idfr defend`: training an IDFR defense for a target. */
import { Option, type Command } from "commander";
import { DATASET_NAMES, loadDataset, type DatasetName } from "../data/datasets.js";
import { CPU_PRESET, defend, type FrConfig, type IdConfig } from "../defenses/idfr/index.js";
import { loadClassifier } from "../models/io.js";
import { epsilonList, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from "./parse.js";

interface DefendCliOptions {
  target: string;
  data: DatasetName;
  root?: string;
  limit?: number;
  out: string;
  cpu?: boolean;
  idEpochs?: number;
  idLr?: number;
  width?: number;
  idLoss?: "ce" | "feature-l1";
  idVariant?: "paper" | "reference-code";
  sigma?: number;
  rounds?: number;
  attack?: string;
  trainEps?: number[];
  preset?: "paper" | "reference-code" | "standard";
  attackModel?: string;
  frEpochs?: number;
  frLr?: number;
  pairing?: "paper" | "pooled";
  batchSize?: number;
  seed: number;
  resume?: boolean;
}

function addOptions(cmd: Command, stages: "id" | "fr" | "both"): Command {
  cmd
    .requiredOption("--target <dir>", "target model folder (from idfr train-model)")
    .addOption(new Option("--data <name>", "dataset the target was trained on").choices([...DATASET_NAMES]).default("fashion-mnist"))
    .option("--root <dir>", "folder with the dataset's files")
    .option("--limit <n>", "use at most n training images (classes balanced)", positiveInt)
    .requiredOption("--out <dir>", "defense folder (defense.json, id.safetensors, fr.safetensors)")
    .option("--cpu", "CPU-sized preset: half-width ID, few epochs (see README)")
    .option("--seed <n>", "seed", nonNegativeInt, 0)
    .option("--resume", "continue an interrupted run / reuse finished stages in --out");
  if (stages !== "fr") {
    cmd
      .option("--id-epochs <n>", "ID epochs (paper: 100)", positiveInt)
      .option("--id-lr <x>", "ID Adam learning rate (paper: 0.01)", positiveNumber)
      .option("--width <x>", "ID width multiplier (1 = Table 6)", positiveNumber)
      .addOption(new Option("--id-loss <name>", "ID loss").choices(["ce", "feature-l1"]))
      .addOption(new Option("--id-variant <name>", "ID architecture: Table 6, or the authors' code").choices(["paper", "reference-code"]))
      .option("--sigma <x>", "std of the Gaussian augmentation", nonNegativeNumber)
      .option("--rounds <n>", "Gaussian augmentation rounds", nonNegativeInt)
      .addOption(new Option("--attack <name>", "attack making the training AEs").choices(["fgsm", "bim", "pgd", "cw"]))
      .option("--attack-model <dir>", "model folder of the attack model A(·) making the training AEs (default: the target)")
      .option("--train-eps <list>", "radii of the training AEs, e.g. 4/255,8/255,16/255", epsilonList)
      .addOption(new Option("--preset <name>", "attack step preset").choices(["paper", "reference-code", "standard"]))
      .option("--batch-size <n>", "ID batch size", positiveInt);
  }
  if (stages !== "id") {
    cmd
      .option("--fr-epochs <n>", "FR epochs (paper: 80)", positiveInt)
      .option("--fr-lr <x>", "FR Adam learning rate (paper: 0.01)", positiveNumber)
      .addOption(new Option("--pairing <name>", "Algorithm 2 pairing").choices(["paper", "pooled"]));
  }
  return cmd;
}

async function run(o: DefendCliOptions, stages: "id" | "fr" | "both"): Promise<void> {
  const target = loadClassifier(o.target);
  const ds = await loadDataset(o.data, { root: o.root, limit: o.limit });
  const drop = <T extends object>(v: T) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as Partial<T>;
  const id: Partial<IdConfig> = { ...(o.cpu ? CPU_PRESET.id : {}), ...drop({ epochs: o.idEpochs, lr: o.idLr, width: o.width, variant: o.idVariant, idLoss: o.idLoss,
    sigma: o.sigma, gaussianRounds: o.rounds, attack: o.attack as IdConfig["attack"], trainEps: o.trainEps, preset: o.preset, batchSize: o.batchSize, seed: o.seed }) };
  const fr: Partial<FrConfig> = { ...(o.cpu ? CPU_PRESET.fr : {}), ...drop({ epochs: o.frEpochs, lr: o.frLr, pairing: o.pairing, seed: o.seed }) };
  console.log(`defending ${target.arch} with ${ds.splits.train.shape[0]} training images of ${ds.name} -> ${o.out}`);
  const r = defend(target, ds.splits.train, { outDir: o.out, targetDir: o.target, id, fr, stages, resume: o.resume, dataset: ds.name,
    val: ds.splits.val, attackModel: o.attackModel ? loadClassifier(o.attackModel) : undefined, log: (l) => console.log(l) });
  const last = (h: Record<string, number>[]): Record<string, number | undefined> | undefined => (h.length ? h[h.length - 1] : undefined);
  const fmt = (v?: number) => (v === undefined ? "n/a" : `${(100 * v).toFixed(2)} %`);
  const idLast = last(r.idHistory);
  const frLast = last(r.frHistory);
  if (idLast) console.log(`ID: validation accuracy clean ${fmt(idLast.cleanAcc)}, adversarial ${fmt(idLast.advAcc)} (${r.seconds.id.toFixed(0)} s)`);
  if (frLast) console.log(`ID+FR: validation accuracy clean ${fmt(frLast.cleanAcc)}, adversarial ${fmt(frLast.advAcc)} (${r.seconds.fr.toFixed(0)} s); FR trained on ${r.frSplit?.correct} correct / ${r.frSplit?.wrong} misclassified embeddings`);
  console.log(`saved ${o.out}`);
}

export function registerDefendCommands(program: Command): void {
  addOptions(program.command("train-id").description("train the input denoiser (Algorithm 1) for a target"), "id")
    .action((o: DefendCliOptions) => run(o, "id"));
  addOptions(program.command("train-fr").description("train the feature restorer (Algorithm 2) behind a trained ID (in --out)"), "fr")
    .action((o: DefendCliOptions) => run(o, "fr"));
  addOptions(program.command("defend").description("train ID then FR for a target: a complete IDFR defense folder"), "both")
    .action((o: DefendCliOptions) => run(o, "both"));
}
