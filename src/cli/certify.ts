/**
 * `idfr certify`: randomized smoothing's CERTIFY (Cohen et al. 2019) on test images, around an
 * IDFR defense (denoised smoothing: target ∘ FR ∘ ID under Gaussian noise; `--no-restorer` for
 * target ∘ ID) or around a bare classifier (`--model`: the undefended target, or one trained with
 * Gaussian noise). Writes one JSON file of per-image certificates and the certified accuracy
 * against the L2 radius; an interrupted run resumes from it.
 */
import { dirname, join } from "node:path";
import { InvalidArgumentError, Option, type Command } from "commander";
import { argmaxClassifier, type BaseClassifier } from "../certify/smooth.js";
import { certifySet, type CertifyResults } from "../certify/run.js";
import { certifySection, readCertifyResults } from "../certify/report.js";
import { writeFileAtomic } from "../core/atomic-write.js";
import { ensureDir } from "../core/fs.js";
import { DATASET_NAMES, loadDataset, type DatasetName, type SplitName } from "../data/datasets.js";
import { limitSet } from "../data/splits.js";
import { loadDefense, type IdfrDefense } from "../defenses/idfr/index.js";
import type { Classifier } from "../models/classifier.js";
import { checkModelFitsData } from "../models/fits-data.js";
import { loadClassifier, type ModelInfo } from "../models/io.js";
import { addRunOptions, contextFromFlags, moveToDevice, type RunFlags } from "./context.js";
import { loadModelOption } from "./model-option.js";
import { nonNegativeInt, positiveInt, positiveNumber } from "./parse.js";

interface CertifyFlags extends RunFlags {
  defense?: string;
  model?: string;
  target?: string;
  restorer: boolean;
  data: DatasetName;
  root?: string;
  split: SplitName;
  sigma: number;
  n0: number;
  n: number;
  alpha: number;
  images: number;
  batch: number;
  seed: number;
  out?: string;
  label?: string;
  force?: boolean;
}

function probability(value: string): number {
  const v = Number(value);
  if (!(v > 0 && v < 1)) throw new InvalidArgumentError(`expected a probability in (0, 1), got ${JSON.stringify(value)}`);
  return v;
}

/** Adds `idfr certify` to `program`; the summary goes to `out`. */
export function registerCertifyCommand(program: Command, out: { write(text: string): unknown } = process.stdout): Command {
  const command = program.command("certify")
    .description("certified L2 robustness by randomized smoothing (Cohen et al. 2019) around an IDFR defense (denoised smoothing) or a classifier")
    .option("--defense <dir>", "IDFR defense folder: smooth target(FR(ID(x + noise)))")
    .option("--model <dir>", "a classifier folder to smooth on its own (undefended, or trained with --mode gaussian)")
    .option("--target <dir>", "with --defense: the target folder, when defense.json records none")
    .option("--no-restorer", "with --defense: smooth target(ID(x + noise)), without the FR")
    .addOption(new Option("--data <name>", "dataset").choices([...DATASET_NAMES]).default("fashion-mnist"))
    .option("--root <dir>", "folder with the dataset's files")
    .addOption(new Option("--split <split>", "split to certify").choices(["train", "val", "test", "extra"]).default("test"))
    .requiredOption("--sigma <x>", "noise level σ on the [0, 1] scale (e.g. 0.12, 0.25, 0.5)", positiveNumber)
    .option("--n0 <n>", "selection samples", positiveInt, 100)
    .option("--n <n>", "estimation samples", positiveInt, 10000)
    .option("--alpha <p>", "failure probability of each certificate", probability, 0.001)
    .option("--images <n>", "images certified (classes balanced, from the split)", positiveInt, 500)
    .option("--batch <n>", "noisy copies per forward pass (whole blocks of 100)", positiveInt, 400)
    .option("--seed <n>", "seed of the noise", nonNegativeInt, 0)
    .option("--out <file>", "results file (default: certify-sigma<σ>-n<n>.json beside the defense or model)")
    .option("--label <text>", "name of this smoothed classifier in reports (default: from --defense / --model)")
    .option("--force", "certify even when the model was trained on another dataset, input shape or classes");
  addRunOptions(command, { progress: true }).action(async (flags: CertifyFlags) => {
    const results = await runCertify(flags);
    out.write(describe(results));
  });
  program.command("certify-report")
    .description("certified accuracy against radius from idfr certify's results files: report.md (table) and certified-accuracy.svg (chart)")
    .argument("<files...>", "results files of idfr certify")
    .requiredOption("--out <dir>", "folder for certify-report.md and certified-accuracy.svg")
    .action(async (files: string[], o: { out: string }) => {
      ensureDir(o.out, "--out");
      const series = files.map((f) => {
        const results = readCertifyResults(f);
        return { label: results.label ?? results.base, results };
      });
      const { markdown, svg } = await certifySection(series);
      writeFileAtomic(join(o.out, "certify-report.md"), `${markdown}\n![certified accuracy](certified-accuracy.svg)\n`);
      writeFileAtomic(join(o.out, "certified-accuracy.svg"), svg);
      out.write(`${markdown}\nwrote ${join(o.out, "certify-report.md")} and ${join(o.out, "certified-accuracy.svg")}\n`);
    });
  return command;
}

/** The base classifier of the command's flags, with its description and class count. */
function baseOf(flags: CertifyFlags, facts: { name: string; shape: readonly number[]; classes: string[] }): { base: BaseClassifier; label: string; numClasses: number; dir: string } {
  if ((flags.defense === undefined) === (flags.model === undefined)) throw new Error("give exactly one of --defense DIR (denoised smoothing) and --model DIR (smoothing a classifier)");
  if (flags.model !== undefined) {
    if (flags.target !== undefined || flags.restorer === false) throw new Error("--target and --no-restorer go with --defense, not --model");
    const model = loadModelOption("--model", flags.model, facts, { force: flags.force, device: flags.device ?? "cpu" });
    model.eval();
    return { base: argmaxClassifier(model), label: `model ${flags.model}`, numClasses: model.numClasses, dir: flags.model };
  }
  let target: Classifier | undefined;
  if (flags.target) {
    try {
      target = loadClassifier(flags.target);
    } catch (err) {
      throw new Error(`--target ${flags.target}: ${(err as Error).message}`);
    }
  }
  let defense: IdfrDefense;
  try {
    defense = loadDefense(flags.defense!, target);
  } catch (err) {
    throw new Error(`--defense ${flags.defense}: ${(err as Error).message}`);
  }
  const info = (defense.target as { info?: ModelInfo }).info;
  if (info) for (const m of checkModelFitsData(info, facts, { force: flags.force, label: `the target of --defense ${flags.defense}` })) process.stderr.write(`idfr: warning: ${m} (--force)\n`);
  if (!flags.restorer) defense = defense.withoutRestorer();
  const device = flags.device ?? "cpu";
  moveToDevice(defense.target, device);
  if (device !== "cpu") {
    defense.denoiser.to(device);
    defense.restorer?.to(device);
  }
  return { base: argmaxClassifier((x) => defense.logits(x)), label: `defense ${flags.defense} (${defense.name})`, numClasses: defense.target.numClasses, dir: flags.defense! };
}

async function runCertify(flags: CertifyFlags): Promise<CertifyResults> {
  const ctx = contextFromFlags(flags);
  const dataset = await loadDataset(flags.data, { root: flags.root });
  const split = dataset.splits[flags.split];
  if (!split) throw new InvalidArgumentError(`${flags.data} has no ${flags.split} split (it has ${Object.keys(dataset.splits).join(", ")})`);
  const { base, label, numClasses, dir } = baseOf(flags, { name: dataset.name, shape: split.shape.slice(1), classes: dataset.classes });
  const set = limitSet(split, flags.images, 0);
  const outFile = flags.out ?? join(dir, `certify-sigma${flags.sigma}-n${flags.n}.json`);
  ensureDir(dirname(outFile), "--out");
  const t0 = performance.now();
  const progress = ctx.progress !== "none";
  const results = certifySet(base, set, {
    sigma: flags.sigma, n0: flags.n0, n: flags.n, alpha: flags.alpha, seed: flags.seed, numClasses, batchSize: flags.batch, device: ctx.device,
    out: outFile, base: label, label: flags.label, dataset: `${dataset.name} ${flags.split}`, signal: ctx.signal,
    onImage: progress ? (done, total, im) => {
      if (done % 10 === 0 || done === total) process.stderr.write(`certify ${done}/${total} | last: class ${im.prediction} (label ${im.label}) radius ${im.radius.toFixed(3)} | ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
    } : undefined,
  });
  process.stderr.write(`wrote ${outFile}\n`);
  return results;
}

/** The summary printed after a run: certified accuracy at a few radii. */
function describe(r: CertifyResults): string {
  const s = r.summary;
  const head = `${r.base} on ${r.images.length} ${r.dataset} images, σ = ${r.settings.sigma}, n0 = ${r.settings.n0}, n = ${r.settings.n}, α = ${r.settings.alpha}`;
  if (!s) return `${head}: interrupted after ${r.images.length} images (run again to resume)\n`;
  const at = (radius: number) => {
    const p = s.curve.find((c) => Math.abs(c.radius - radius) < 1e-9);
    return p ? `${(100 * p.accuracy).toFixed(1)} %` : "n/a";
  };
  return [head,
    `certified accuracy: r=0 ${at(0)}, r=0.25 ${at(0.25)}, r=0.5 ${at(0.5)}, r=0.75 ${at(0.75)}, r=1 ${at(1)}`,
    `abstained ${s.abstained}/${s.n}; mean certified radius of correct images ${s.meanRadius.toFixed(3)}; ${s.seconds.toFixed(1)} s`, ""].join("\n");
}
