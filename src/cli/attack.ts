/**
 * `idfr attack`: attacks a trained classifier on a dataset split and prints robust accuracy,
 * success rate and perturbation norms. White-box by default (the AEs are made on the model
 * itself); with `--surrogate` they are made on the surrogate and applied to the model (transfer).
 * `--save` writes the AEs as safetensors with a JSON description beside them.
 */
import { join } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { ATTACK_NAMES, attackEntry, AutoAttack, makeAttack, PRESET_NAMES, type AttackName, type AttackResult, type PresetName } from "../attacks/index.js";
import { parseEps } from "../attacks/options.js";
import { randomTargets } from "../attacks/targets.js";
import type { DeviceName } from "../core/context.js";
import { DATASET_NAMES, loadDataset, type DatasetName, type SplitName } from "../data/datasets.js";
import { cleanFloats, labelTensor } from "../data/tensors.js";
import { measureAttack, type AttackMeasurement } from "../eval/measure.js";
import { saveSafetensors, tensor, tidy, type Tensor } from "../torch/index.js";
import { writeFileAtomic } from "../core/atomic-write.js";
import { runAttackOverRanks } from "../eval/distributed.js";
import { ensureDir } from "../core/fs.js";
import { addRunOptions } from "./context.js";
import { loadModelOption } from "./model-option.js";
import { nonNegativeInt, positiveInt } from "./parse.js";
import { addAttackOptions, attackOptionsFrom } from "./attack-options.js";

interface AttackFlags {
  model: string;
  data: DatasetName;
  root?: string;
  split: SplitName;
  attack: AttackName;
  eps: number;
  preset: PresetName;
  surrogate?: string;
  n: number;
  seed: number;
  batchSize: number;
  targeted?: boolean;
  save?: string;
  json?: boolean;
  force?: boolean;
  device: DeviceName;
}

/** Where the command prints (standard output by default). */
export interface AttackCommandOutput {
  write(text: string): unknown;
}

/** What `idfr attack` measured (printed, and saved beside the AEs). */
export interface AttackCommandReport extends AttackMeasurement {
  attack: AttackName;
  preset: PresetName;
  eps: number;
  threat: "whitebox" | "transfer";
  model: string;
  surrogate: string | null;
  data: DatasetName;
  split: SplitName;
  goal: "untargeted" | "targeted";
  seconds: number;
  imagesPerSecond: number;
  /** AutoAttack only: points still robust after the clean check and after each sub-attack, and its sanity-check warnings. */
  autoattack?: { robust: Record<string, number>; warnings: string[] };
}

/** Adds `idfr attack` to `program`; returns the command. */
export function registerAttackCommand(program: Command, out: AttackCommandOutput = process.stdout): Command {
  const command = program
    .command("attack")
    .description("attack a trained classifier (white-box, or transfer from --surrogate) and report robust accuracy, success rate and norms")
    .requiredOption("--model <dir>", "the attacked model's folder (model.json + model.safetensors)")
    .addOption(new Option("--data <name>", "dataset").choices([...DATASET_NAMES]).makeOptionMandatory())
    .option("--root <dir>", "folder with the dataset's files (cifar10, cifar100, svhn, imagefolder)")
    .addOption(new Option("--split <split>", "split to attack").choices(["train", "val", "test", "extra"]).default("test"))
    .addOption(new Option("--attack <name>", "attack").choices([...ATTACK_NAMES]).default("bim"))
    .option("--eps <r>", "budget: l_inf radius such as 8/255 or 0.031 (L2 radius for pgd-l2; unused by cw-l2)", epsArgument, 8 / 255)
    .addOption(new Option("--preset <name>", "step settings: the paper's, the authors' code's, or the field's standard").choices([...PRESET_NAMES]).default("paper"))
    .option("--surrogate <dir>", "make the AEs on this model instead and transfer them (black-box)")
    .option("--n <count>", "attack the first n images of the split", positiveInt, 1000)
    .option("--seed <n>", "seed of random starts and targets", nonNegativeInt, 0)
    .option("--batch-size <n>", "images per forward/backward pass", positiveInt, 128)
    .option("--targeted", "aim at a random other class per image (seeded) instead of any wrong class")
    .option("--save <dir>", "write adversarial.safetensors and adversarial.json into this folder")
    .option("--json", "print the report as JSON")
    .option("--force", "attack even when the model was trained on another dataset, input shape or classes");
  return addRunOptions(addAttackOptions(command)).action(async (flags: AttackFlags) => {
      const report = await runAttackCommand(flags);
      out.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : describe(report));
    });
}

function epsArgument(value: string): number {
  try {
    return parseEps(value, "eps", Infinity);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^eps: /, ""));
  }
}

/** Runs the command's work: load, attack, measure, optionally save. */
async function runAttackCommand(flags: AttackFlags): Promise<AttackCommandReport> {
  if (flags.save) ensureDir(flags.save, "--save"); // before the work, not after it
  if (flags.targeted && !attackEntry(flags.attack).targeted) {
    throw new InvalidArgumentError(`--targeted: ${flags.attack} takes no target classes (it measures untargeted robustness; its targeted parts choose their own targets)`);
  }
  const dataset = await loadDataset(flags.data, { root: flags.root });
  const set = dataset.splits[flags.split];
  if (!set) throw new InvalidArgumentError(`${flags.data} has no ${flags.split} split (it has ${Object.keys(dataset.splits).join(", ")})`);
  const facts = { name: dataset.name, shape: set.shape.slice(1), classes: dataset.classes };
  const checks = { force: flags.force, device: flags.device };
  const model = loadModelOption("--model", flags.model, facts, checks);
  const source = flags.surrogate ? loadModelOption("--surrogate", flags.surrogate, facts, checks) : model;
  const n = Math.min(flags.n, set.shape[0]);
  const first = Array.from({ length: n }, (_, i) => i);
  const [x, y] = tidy(() => [tensor(cleanFloats(set, first), [n, ...set.shape.slice(1)]).to(flags.device), labelTensor(set, first).to(flags.device)]);
  const target = flags.targeted ? randomTargets(y, model.numClasses, flags.seed) : undefined;
  const attack = makeAttack(flags.attack, source, { eps: flags.eps, preset: flags.preset, batchSize: flags.batchSize, ...(usesSeed(flags.attack) ? { seed: flags.seed } : {}),
    ...attackOptionsFrom(flags as unknown as Record<string, unknown>, flags.attack) } as never);
  let result: AttackResult | null = null;
  try {
    // Sample ids are dataset positions, so random starts do not depend on --n or --batch-size.
    // With WORLD_SIZE > 1 each rank attacks its share of the images (AutoAttack, whose counters are its own, runs whole on each).
    result = attack instanceof AutoAttack ? attack.run(x, y, target ? { target, firstId: 0 } : { firstId: 0 }) : runAttackOverRanks(attack, x, y, target);
    const measured = measureAttack(model, x, y, result, { batchSize: flags.batchSize, targets: target });
    const report: AttackCommandReport = {
      attack: flags.attack, preset: flags.preset, eps: flags.eps, threat: flags.surrogate ? "transfer" : "whitebox",
      model: flags.model, surrogate: flags.surrogate ?? null, data: flags.data, split: flags.split, goal: target ? "targeted" : "untargeted",
      ...measured, seconds: result.seconds, imagesPerSecond: result.seconds > 0 ? n / result.seconds : 0,
      ...(attack instanceof AutoAttack ? { autoattack: { robust: { ...attack.robustCounts }, warnings: [...attack.warnings] } } : {}),
    };
    if (flags.save) save(flags.save, report, result.adversarial, y, target);
    return report;
  } finally {
    result?.adversarial.dispose();
    x.dispose();
    y.dispose();
    target?.dispose();
  }
}

/** Whether the attack takes a seed (its random starts, targets or draws); --seed then sets it. */
function usesSeed(name: AttackName): boolean {
  return (attackEntry(name).settings as readonly string[]).includes("seed");
}

function save(dir: string, report: AttackCommandReport, adversarial: Tensor, y: Tensor, target: Tensor | undefined): void {
  ensureDir(dir, "--save");
  tidy(() => {
    const onCpu = (t: Tensor) => (t.device === "cpu" ? t : t.to("cpu"));
    const tensors: Record<string, Tensor> = { adversarial: onCpu(adversarial), labels: onCpu(y), ...(target ? { targets: onCpu(target) } : {}) };
    saveSafetensors(join(dir, "adversarial.safetensors"), tensors, { attack: report.attack, eps: String(report.eps), preset: report.preset });
  });
  writeFileAtomic(join(dir, "adversarial.json"), `${JSON.stringify(report, null, 2)}\n`);
}

const pct = (v: number) => `${(100 * v).toFixed(2)} %`;

function describe(r: AttackCommandReport): string {
  const eps = r.attack === "cw-l2" ? "no budget (minimal L2)" : `${r.attack === "pgd-l2" ? "L2" : "l_inf"} eps ${r.eps.toFixed(4)}${r.attack === "pgd-l2" ? "" : ` (${(r.eps * 255).toFixed(1)}/255)`}`;
  const lines = [
    `${r.attack} (${r.preset} preset, ${r.goal}), ${eps}, ${r.threat}${r.surrogate ? ` from ${r.surrogate}` : ""}`,
    `model ${r.model} on ${r.n} ${r.split} images of ${r.data}`,
    `clean accuracy   ${pct(r.clean.accuracy)} (${r.clean.correct}/${r.n}, 95 % CI ${pct(r.clean.ci95.low)} – ${pct(r.clean.ci95.high)})`,
    `robust accuracy  ${pct(r.robust.accuracy)} (${r.robust.correct}/${r.n}, 95 % CI ${pct(r.robust.ci95.low)} – ${pct(r.robust.ci95.high)})`,
    `success rate     ${pct(r.successRate)} ${r.goal === "targeted" ? "(target reached, all images)" : "(of the clean-correct images)"}` +
      (r.threat === "transfer" ? `; on the surrogate ${pct(r.sourceSuccessRate)}` : ""),
    `L_inf            mean ${r.linf.mean.toFixed(4)}, max ${r.linf.max.toFixed(4)}`,
    `L2               mean ${r.l2.mean.toFixed(4)}, max ${r.l2.max.toFixed(4)}`,
    `time             ${r.seconds.toFixed(1)} s (${r.imagesPerSecond.toFixed(1)} images/s)`,
  ];
  if (r.autoattack) {
    lines.push(`robust after     ${Object.entries(r.autoattack.robust).map(([stage, count]) => `${stage} ${count}`).join(", ")} (of ${r.n})`);
    for (const w of r.autoattack.warnings) lines.push(`warning          ${w}`);
  }
  return `${lines.join("\n")}\n`;
}
