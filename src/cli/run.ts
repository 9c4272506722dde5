/** `idfr run CONFIG|PRESET` and `idfr demo`: execute a result matrix and write the report. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Option, type Command } from "commander";
import type { RunContext } from "../core/context.js";
import type { ProgressMode } from "../core/progress.js";
import { ensureDatasetFiles, isDownloadable } from "../data/download.js";
import { readExperiment, type ExperimentConfig } from "../eval/config.js";
import { EXPERIMENT_PRESETS, presetConfigs } from "../eval/presets.js";
import { renderMarkdown, writeReport } from "../eval/report/index.js";
import { runExperiment, type RunStats } from "../eval/runner.js";
import type { ResultRecord } from "../eval/results.js";
import { addRunOptions, contextFromFlags, type RunFlags } from "./context.js";

async function execute(configs: ExperimentConfig[], outDir: string, preset: string | undefined, base: RunContext): Promise<void> {
  const t0 = performance.now();
  const all: ResultRecord[] = [];
  for (const config of configs) {
    const dir = configs.length > 1 ? join(outDir, config.name) : outDir;
    console.log(`${config.name}: ${config.targets.map((t) => `${t.arch} (surrogate ${t.surrogate.arch})`).join(", ")} on ${config.dataset.name}, ` +
      `${config.defenses.length} defenses x ${config.threats.join("/")} x ${config.attacks.join("/")} x ${config.eps.length} radii, ${config.evalImages} test images -> ${dir}`);
    const { records, stats } = await runExperiment(config, { ...base, outDir: dir, preset });
    all.push(...records);
    const report = await writeReport(dir);
    console.log(`\n${renderMarkdown(records)}`);
    console.log(summaryLine(stats));
    console.log(`wrote ${join(dir, "results.json")}, ${report.markdown}, ${report.html}`);
  }
  if (configs.length > 1) console.log(`all done in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

function summaryLine(s: RunStats): string {
  return `${s.cellsComputed} cells computed, ${s.cellsCached} reused; ${s.modelsTrained} models and ${s.defensesTrained} defenses trained, ` +
    `${s.aeSetsCrafted} AE sets crafted; ${s.seconds.toFixed(0)} s`;
}

/**
 * Checks that each config's dataset files are under its folder before any work; with --download
 * fetches the missing ones there (never asks: the flag is the consent), without it the error
 * names the `idfr data download` command.
 */
async function ensureData(configs: ExperimentConfig[], o: { download?: boolean; progress?: ProgressMode; quiet?: boolean }): Promise<void> {
  for (const { dataset } of configs) {
    if (dataset.root === undefined || !isDownloadable(dataset.name)) continue;
    await ensureDatasetFiles(dataset.name, dataset.root, { download: o.download === true, progress: o.quiet ? "none" : o.progress, log: (l) => console.log(l) });
  }
}

/** The context of a run command: --device, --progress (--quiet is --progress none), log lines on stdout. */
function context(o: RunFlags & { quiet?: boolean }): RunContext {
  return contextFromFlags({ ...o, progress: o.quiet ? "none" : o.progress }, { resume: true, log: (l) => console.log(l) });
}

export function registerRunCommands(program: Command): void {
  addRunOptions(program
    .command("run")
    .description(`run an experiment config (JSON file) or a preset (${EXPERIMENT_PRESETS.map((p) => p.name).join(", ")}); reuses cached artifacts in --out`)
    .argument("<config>", "config file or preset name")
    .option("--data <dir>", "dataset folder for paper presets")
    .option("--svhn <dir>", "paper-ablation: folder with SVHN's .mat files")
    .option("--download", "download missing dataset files (CIFAR-10/100, SVHN, MNIST, Fashion-MNIST) into --data / --svhn first, MD5-checked")
    .option("--target-resnet50 <dir>", "paper-imagenet: model folder of a pretrained ResNet50 (else trained from scratch)")
    .option("--target-inception <dir>", "paper-imagenet: model folder of a pretrained InceptionV3 (else trained from scratch)")
    .option("--out <dir>", "results folder (default runs/<name>)")
    .option("--quiet", "no progress bars"), { progress: true })
    .action(async (spec: string, o: RunFlags & { data?: string; svhn?: string; out?: string; quiet?: boolean; targetResnet50?: string; targetInception?: string }) => {
      const isFile = existsSync(spec);
      const configs = isFile ? [readExperiment(spec)] : presetConfigs(spec, { root: o.data, svhnRoot: o.svhn, targetResnet50: o.targetResnet50, targetInception: o.targetInception });
      await ensureData(configs, o);
      // A preset of several configs (paper-imagenet, paper-ablation) gets one folder, a subfolder per config.
      await execute(configs, o.out ?? join("runs", configs.length > 1 ? spec : configs[0].name), isFile ? undefined : spec, context(o));
    });

  addRunOptions(program
    .command("demo")
    .description("the main job: train a target and a surrogate on the embedded data, attack them, train ID and FR, evaluate and report")
    .addOption(new Option("--data <name>", "embedded dataset").choices(["fashion-mnist", "mnist"]).default("fashion-mnist"))
    .option("--out <dir>", "results folder (reused across runs)", "runs/demo")
    .option("--full", "the paper's sizes (hours on a CPU) instead of the 15-minute defaults")
    .option("--quiet", "no progress bars"), { progress: true })
    .action(async (o: RunFlags & { data: "fashion-mnist" | "mnist"; out: string; full?: boolean; quiet?: boolean }) => {
      const configs = presetConfigs("demo", { dataset: o.data, full: o.full });
      await execute(configs, o.out, "demo", context(o));
    });
}
