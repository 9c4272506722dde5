/** `idfr train-model`: trains a target (or surrogate) classifier on a dataset. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { augmentationFor, NO_AUGMENTATION } from "../data/augment.js";
import { ensureDir } from "../core/fs.js";
import { DATASET_NAMES, loadDataset, type DatasetName } from "../data/datasets.js";
import { createClassifier, ARCHITECTURES, NORMALIZATION } from "../models/registry.js";
import { trainModel } from "../defenses/fast-at.js";
import { loopFiles } from "../train/loop.js";
import { Generator, nn } from "../torch/index.js";
import { seedFor } from "../core/seeds.js";
import type { ProgressMode } from "../core/progress.js";
import type { DeviceName } from "../core/context.js";
import { addRunOptions, contextFromFlags } from "./context.js";
import { epsilon, nonNegativeInt, nonNegativeNumber, positiveInt, positiveNumber } from "./parse.js";

interface TrainModelOptions {
  arch: string;
  data: DatasetName;
  root?: string;
  limit?: number;
  width: number;
  epochs: number;
  batchSize: number;
  optimizer: "sgd" | "adam";
  lr?: number;
  momentum: number;
  weightDecay: number;
  schedule: "cosine" | "step" | "cyclic" | "none";
  mode: "standard" | "fast-at" | "pgd-at" | "gaussian";
  eps: number;
  pgdSteps: number;
  noiseSigma: number;
  seed: number;
  workers: number;
  augment: boolean;
  out: string;
  resume?: boolean;
  device: DeviceName;
  progress?: ProgressMode;
}

export function registerTrainModelCommand(program: Command): void {
  addRunOptions(program.command("train-model"), { progress: true })
    .description("train a classifier (target or surrogate) and save it as model.safetensors + model.json")
    .addOption(new Option("--arch <name>", "architecture").choices(ARCHITECTURES).default("small-cnn"))
    .addOption(new Option("--data <name>", "dataset").choices([...DATASET_NAMES]).default("fashion-mnist"))
    .option("--root <dir>", "folder with the dataset's files (cifar10, cifar100, svhn, imagefolder)")
    .option("--limit <n>", "use at most n images per split (classes balanced)", positiveInt)
    .option("--width <x>", "width multiplier (1 = published widths)", positiveNumber, 1)
    .option("--epochs <n>", "epochs", positiveInt, 10)
    .option("--batch-size <n>", "batch size", positiveInt, 128)
    .addOption(new Option("--optimizer <name>", "optimizer").choices(["sgd", "adam"]).default("sgd"))
    .option("--lr <x>", "peak learning rate (default 0.05 for SGD, 0.001 for Adam, 0.2 for fast-at)", positiveNumber)
    .option("--momentum <x>", "SGD momentum (Nesterov)", nonNegativeNumber, 0.9)
    .option("--weight-decay <x>", "weight decay", nonNegativeNumber, 5e-4)
    .addOption(new Option("--schedule <name>", "learning-rate schedule").choices(["cosine", "step", "cyclic", "none"]).default("cosine"))
    .addOption(new Option("--mode <name>", "standard training, fast adversarial training (FGSM + random start), PGD adversarial training, or Gaussian noise augmentation (a base classifier for randomized smoothing)").choices(["standard", "fast-at", "pgd-at", "gaussian"]).default("standard"))
    .option("--eps <r>", "fast-at / pgd-at l_inf radius, e.g. 8/255", epsilon, 8 / 255)
    .option("--pgd-steps <n>", "pgd-at: PGD steps per batch (steps of eps/4)", positiveInt, 7)
    .option("--noise-sigma <x>", "gaussian: std of the noise added to every training image ([0, 1] scale)", positiveNumber, 0.25)
    .option("--seed <n>", "seed", nonNegativeInt, 0)
    .option("--workers <n>", "loader worker threads", nonNegativeInt, 1)
    .option("--no-augment", "no random crop/flip even for CIFAR/SVHN")
    .requiredOption("--out <dir>", "output folder")
    .option("--resume", "continue from <out>/checkpoint.safetensors")
    .action(async (o: TrainModelOptions) => {
      if (o.resume && !existsSync(loopFiles(o.out).checkpoint) && !existsSync(join(o.out, "model.safetensors"))) {
        throw new Error(`nothing to resume: no checkpoint in ${o.out} (rerun without --resume to start)`);
      }
      ensureDir(o.out, "--out"); // before the work, not after it
      const ds = await loadDataset(o.data, { root: o.root, limit: o.limit });
      const train = ds.splits.train;
      const [, c, h, w] = train.shape;
      const normalization = NORMALIZATION[o.data === "imagefolder" ? "imagenet" : o.data];
      const init = new Generator(seedFor.weights(o.seed)); // the layers draw their initial weights from it
      const model = nn.init.withInitGenerator(init, () => createClassifier(o.arch, { numClasses: ds.classes.length, inputShape: [c, h, w], width: o.width, normalization }));
      init.dispose();
      const lr = o.lr ?? (o.mode === "fast-at" ? 0.2 : o.optimizer === "adam" ? 1e-3 : 0.05);
      console.log(`training ${o.arch} (width ${o.width}, ${model.parameterCount().toLocaleString("en")} parameters) on ${ds.name}: ` +
        `${train.shape[0]} train / ${ds.splits.val?.shape[0] ?? 0} val images, ${o.epochs} epochs`);
      const { info, history } = await trainModel(model, { train, val: ds.splits.val ?? ds.splits.test }, {
        epochs: o.epochs, batchSize: o.batchSize, optimizer: o.optimizer, lr, momentum: o.momentum, weightDecay: o.weightDecay,
        schedule: o.schedule, mode: o.mode, fastAtEps: o.eps, seed: o.seed, workers: o.workers,
        ...(o.mode === "gaussian" ? { noiseSigma: o.noiseSigma } : {}), ...(o.mode === "pgd-at" ? { pgdSteps: o.pgdSteps } : {}),
        augmentation: o.augment ? augmentationFor(o.data) : NO_AUGMENTATION,
      }, { ...contextFromFlags(o, { resume: o.resume ?? false }), outDir: o.out, dataset: ds.name, classes: ds.classes });
      const last = history[history.length - 1];
      console.log(`saved ${o.out}/model.safetensors; validation accuracy ${info.accuracy === undefined ? "n/a" : (100 * info.accuracy).toFixed(2) + " %"}` +
        (last ? `, ${last.imagesPerSecond.toFixed(0)} img/s` : ""));
    });
}
