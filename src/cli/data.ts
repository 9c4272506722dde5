import { writeFile } from "node:fs/promises";
import { Argument, Command, InvalidArgumentError, Option } from "commander";
import type { ProgressMode } from "../core/progress.js";
import { DATASET_NAMES, loadDataset, type Dataset, type DatasetName, type LoadDatasetOptions, type SplitName } from "../data/datasets.js";
import { DEFAULT_DOWNLOAD_TIMEOUT_MS, defaultDataRoot, DOWNLOADABLE_DATASETS, downloadDataset, type DownloadableDataset, type SourceTable } from "../data/download.js";
import { gridSize, imageGridPng, MAX_GRID_SIDE } from "../data/grid.js";
import { Rng } from "../data/random.js";
import { readDataFile, sniffPath } from "../data/sniff.js";
import { classCounts, type ImageSet } from "../data/types.js";

/**
 * `idfr data info <name|path>` and `idfr data show <name|path>`: what a dataset holds, and a look
 * at its images. A dataset name is loaded with its splits; a path is sniffed for its format.
 * `idfr data download <name>`: the dataset's official files, checked against their checksums.
 */

/** Most images `data show` puts in one grid, and the largest enlargement. */
const MAX_GRID_IMAGES = 1024;
const MAX_SCALE = 32;

interface CommonFlags {
  root?: string;
  splitSeed: number;
  limit?: number;
  label: "fine" | "coarse";
  extra?: boolean;
  imageSize: number;
}

interface ShowFlags extends CommonFlags {
  n: number;
  out: string;
  split: SplitName;
  seed: number;
  scale?: number;
}

/** Where the commands print their reports (standard output by default). */
export interface DataCommandOutput {
  write(text: string): unknown;
}

interface DownloadFlags {
  root?: string;
  extra?: boolean;
  mirror?: string[];
  timeout: number;
  progress?: ProgressMode;
}

/** Adds the `data` command group (`data info`, `data show`, `data download`) to `program`; returns the group. */
export function registerDataCommands(program: Command, out: DataCommandOutput = process.stdout, sources?: Partial<SourceTable>): Command {
  const data = program.command("data").description("inspect and download datasets: formats, splits, class balance, sample images");

  withCommonOptions(
    data
      .command("info")
      .description("print the format, split sizes, image shape, class names and per-class counts")
      .argument("[target]", `a dataset (${DATASET_NAMES.join(", ")}) or a path to a dataset folder or data file`, "fashion-mnist"),
  ).action(async (target: string, flags: CommonFlags) => {
    const loaded = await loadTarget(target, flags);
    out.write(describe(loaded));
  });

  withCommonOptions(
    data
      .command("show")
      .description("write a PNG grid of sample images")
      .argument("[target]", "a dataset name or a path, as for `data info`", "fashion-mnist")
      .option("--n <count>", `images in the grid (at most ${MAX_GRID_IMAGES})`, intInRange(1, MAX_GRID_IMAGES), 16)
      .option("--out <file>", "PNG file to write", "grid.png")
      .addOption(new Option("--split <split>", "split to draw from").choices(["train", "val", "test", "extra"]).default("train"))
      .option("--seed <n>", "seed of the random choice of images", integer, 0)
      .option("--scale <k>", `enlarge each image k times, at most ${MAX_SCALE} (default: to at least 64 pixels)`, intInRange(1, MAX_SCALE)),
  ).action(async (target: string, flags: ShowFlags) => {
    const loaded = await loadTarget(target, flags);
    const set = loaded.sets[flags.split] ?? (loaded.kind === "file" ? loaded.sets.all : undefined);
    if (!set) throw new InvalidArgumentError(`${loaded.title} has no ${flags.split} split (it has ${Object.keys(loaded.sets).join(", ")})`);
    const n = Math.min(flags.n, set.shape[0]);
    const picked = Array.from(new Rng(flags.seed).permutation(set.shape[0]).subarray(0, n));
    const scale = flags.scale ?? Math.max(1, Math.ceil(64 / set.shape[2]));
    const { width, height } = gridSize(n, [set.shape[2], set.shape[3]], { scale });
    if (width > MAX_GRID_SIDE || height > MAX_GRID_SIDE) {
      throw new InvalidArgumentError(`--n ${n} at --scale ${scale}: the grid would be ${width}x${height} pixels, at most ${MAX_GRID_SIDE} per side; use a smaller --n or --scale`);
    }
    await writeFile(flags.out, await imageGridPng(set, picked, { scale }));
    const names = picked.map((i) => set.classes[set.labels[i]]);
    out.write(`wrote ${flags.out}: ${n} ${flags.split} images of ${loaded.title}, row by row: ${names.join(", ")}\n`);
  });

  data
    .command("download")
    .description("download a dataset's official files, check their MD5 checksums and unpack them where the loader looks (resumes a partial download)")
    .addArgument(new Argument("<name>", "the dataset").choices(DOWNLOADABLE_DATASETS))
    .option("--root <dir>", `the dataset folder, later given as --root (or --data to \`idfr run\`) (default: ${defaultDataRoot("<name>" as DownloadableDataset)})`)
    .option("--extra", "SVHN: also download extra_32x32.mat (1.3 GB)")
    .option("--mirror <url>", "a base URL holding the same file names, used instead of the official ones (repeatable; checksums still apply)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--timeout <seconds>", "wait at most this long for a server's answer or the next bytes", positiveNumber, DEFAULT_DOWNLOAD_TIMEOUT_MS / 1000)
    .addOption(new Option("--progress <mode>", "progress display: a live bar, plain lines (logs) or none (default: bar on a terminal)").choices(["bar", "lines", "none"]))
    .action(async (name: DownloadableDataset, flags: DownloadFlags) => {
      const result = await downloadDataset(name, {
        root: flags.root,
        extra: flags.extra ?? false,
        mirrors: flags.mirror,
        sources,
        timeoutMs: flags.timeout * 1000,
        progress: flags.progress,
        log: (line) => out.write(`${line}\n`),
      });
      const fetched = result.files.filter((f) => f.status !== "present").length;
      out.write(`${name}: ${fetched === 0 ? "already complete" : `${fetched} file${fetched === 1 ? "" : "s"} downloaded`} in ${result.root} (MD5s checked against the published ones)\n`);
      out.write(`use it with --root ${result.root}, e.g. \`idfr data info ${name} --root ${result.root}\`\n`);
    });
  return data;
}

function withCommonOptions(cmd: Command): Command {
  return cmd
    .option("--root <dir>", "folder with the dataset's files (cifar10, cifar100, svhn, imagefolder; optional for fashion-mnist and mnist)")
    .option("--split-seed <n>", "seed of the validation/test split and of --limit", integer, 0)
    .option("--limit <n>", "at most n images per split, classes balanced as in the full split", positiveInt)
    .addOption(new Option("--label <kind>", "CIFAR-100 labels").choices(["fine", "coarse"]).default("fine"))
    .option("--extra", "SVHN: also read extra_32x32.mat")
    .option("--image-size <n>", "image folders: side of the centre crop", positiveInt, 224);
}

/** What a target resolved to: a dataset with splits, or one file's images. */
type Loaded =
  | { kind: "dataset"; title: string; format: string; source: string; classes: string[]; sets: Partial<Record<SplitName, ImageSet>> }
  | { kind: "file"; title: string; format: string; source: string; classes: string[]; sets: { all: ImageSet } & Partial<Record<SplitName, ImageSet>> };

async function loadTarget(target: string, flags: CommonFlags): Promise<Loaded> {
  const options: LoadDatasetOptions = {
    root: flags.root,
    splitSeed: flags.splitSeed,
    limit: flags.limit,
    cifar100Label: flags.label,
    svhnExtra: flags.extra ?? false,
    imageSize: flags.imageSize,
  };
  if ((DATASET_NAMES as readonly string[]).includes(target)) return fromDataset(await loadDataset(target as DatasetName, options));
  const found = await sniffPath(target);
  if (found.kind === "dataset") return fromDataset(await loadDataset(found.dataset, { ...options, root: found.root }));
  const set = await readDataFile(found);
  const format = { idx: "idx", cifar10: "CIFAR-10 binary", cifar100: "CIFAR-100 binary", mat: "SVHN cropped digits (MAT-file v5)" }[found.format];
  return { kind: "file", title: found.file, format, source: found.file, classes: set.classes, sets: { all: set } };
}

function fromDataset(ds: Dataset): Loaded {
  return { kind: "dataset", title: ds.name, format: ds.format, source: ds.source, classes: ds.classes, sets: { ...ds.splits } };
}

/** The report printed by `data info`. */
function describe(loaded: Loaded): string {
  const entries = Object.entries(loaded.sets).filter((e): e is [string, ImageSet] => e[1] !== undefined);
  const lines: string[] = [];
  lines.push(`${loaded.title}`);
  lines.push(`  format   ${loaded.format}`);
  lines.push(`  source   ${loaded.source}`);
  const shape = entries[0][1].shape;
  lines.push(`  image    ${shape[1]}x${shape[2]}x${shape[3]} (CxHxW), uint8`);
  lines.push(`  splits   ${entries.map(([k, s]) => `${k} ${s.shape[0].toLocaleString("en-US")}`).join(" / ")}`);
  lines.push(`  classes  ${loaded.classes.length}`);
  const counts = entries.map(([, s]) => classCounts(s.labels, loaded.classes.length));
  const nameWidth = Math.max(5, ...loaded.classes.map((c) => c.length));
  const colWidth = Math.max(7, ...entries.map(([k, s]) => Math.max(k.length, s.shape[0].toLocaleString("en-US").length) + 1));
  lines.push("");
  lines.push(`  ${"label".padStart(5)}  ${"class".padEnd(nameWidth)}${entries.map(([k]) => k.padStart(colWidth)).join("")}`);
  loaded.classes.forEach((name, c) => {
    lines.push(`  ${String(c).padStart(5)}  ${name.padEnd(nameWidth)}${counts.map((cs) => cs[c].toLocaleString("en-US").padStart(colWidth)).join("")}`);
  });
  return lines.join("\n") + "\n";
}

function integer(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`expected an integer, got ${JSON.stringify(value)}`);
  return n;
}

/** An option parser for integers in [min, max]. */
function intInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected ${min === 1 ? "a positive integer" : `an integer from ${min}`} up to ${max}, got ${JSON.stringify(value)}`);
    }
    return n;
  };
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

function positiveInt(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError(`expected a positive integer, got ${JSON.stringify(value)}`);
  return n;
}
