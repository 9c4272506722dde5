/**
 * Experiment presets mirroring the paper's tables, plus the demo. Paper presets take the folder of
 * the user's dataset files; sizes are the paper's (§4.1) where it gives them, otherwise common
 * practice (target training: SGD, cosine schedule, 100 epochs).
 */
import type { DatasetName } from "../data/datasets.js";
import { parseExperiment, type ExperimentConfig, type ExperimentInput } from "./config.js";

/** Every experiment preset, with what it runs (for `idfr list` and `idfr run --help`). */
export const EXPERIMENT_PRESETS = [
  { name: "demo", description: "embedded Fashion-MNIST (or MNIST): small CNN and ResNet18 surrogate, FS, JPEG, ID, ID+FR; transfer, white-box, adaptive; ~15 min on 2 cores" },
  { name: "paper-cifar10", description: "Tables 1-4 on CIFAR-10: VGG16 and ResNet18, every baseline, FGSM/CW/BIM at 4/8/16 (--data DIR)" },
  { name: "paper-cifar100", description: "the same on CIFAR-100 (--data DIR)" },
  { name: "paper-imagenet", description: "ResNet50 and InceptionV3 on an image folder at 16/255 (--data DIR)" },
  { name: "paper-ablation", description: "Table 5: ID vs ID+FR with ResNet50 on CIFAR-10 and SVHN (--data DIR --svhn DIR)" },
] as const;
export type PresetId = (typeof EXPERIMENT_PRESETS)[number]["name"];
export const PRESETS: readonly PresetId[] = EXPERIMENT_PRESETS.map((p) => p.name);

export interface PresetOptions {
  /** Folder with the dataset files (paper presets). */
  root?: string;
  /** paper-ablation: folder with the SVHN .mat files. */
  svhnRoot?: string;
  /** demo: "fashion-mnist" (default) or "mnist". */
  dataset?: "fashion-mnist" | "mnist";
  /** demo: the paper's sizes instead of the 15-minute CPU sizes. */
  full?: boolean;
}

const EPS = ["4/255", "8/255", "16/255"];
const PAPER_DEFENSES = ["none", "fast-at", "feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm", "id", "id+fr"];

function demo(o: PresetOptions): ExperimentInput {
  const dataset: DatasetName = o.dataset ?? "fashion-mnist";
  if (o.full) {
    return {
      name: `demo-${dataset}-full`,
      dataset: { name: dataset },
      targets: [{ arch: "small-cnn", epochs: 20, surrogate: { arch: "resnet18", width: 0.5, epochs: 20, seed: 1 } }],
      defenses: ["none", "feature-squeezing", "jpeg-q50", "id", "id+fr"],
      attacks: ["fgsm", "bim", "cw"], eps: EPS, threats: ["transfer", "whitebox", "adaptive"],
      adaptive: { attacks: ["pgd"], defenses: ["none", "id", "id+fr"], preset: "standard" },
      evalImages: 7000,
    };
  }
  return {
    name: `demo-${dataset}`,
    dataset: { name: dataset, trainImages: 6000 },
    targets: [{ arch: "small-cnn", width: 0.5, epochs: 4, surrogate: { arch: "resnet18", width: 0.25, epochs: 4, seed: 1 } }],
    defenses: ["none", "feature-squeezing", "jpeg-q50", "id", "id+fr"],
    idfr: { id: { epochs: 4, width: 0.5, lr: 0.002 }, fr: { epochs: 15, lr: 0.002 }, trainImages: 3000 },
    attacks: ["fgsm", "bim", "cw"], eps: EPS, threats: ["transfer", "whitebox", "adaptive"],
    adaptive: { attacks: ["pgd"], defenses: ["none", "id", "id+fr"], preset: "standard" },
    evalImages: 500,
  };
}

function paperCifar(name: "cifar10" | "cifar100", root: string): ExperimentInput {
  return {
    name: `paper-${name}`,
    dataset: { name, root },
    targets: [
      { arch: "vgg16", epochs: 100, surrogate: { arch: "resnet18", epochs: 100, seed: 1 } },
      { arch: "resnet18", epochs: 100, surrogate: { arch: "vgg16", epochs: 100, seed: 1 } },
    ],
    defenses: PAPER_DEFENSES,
    attacks: ["fgsm", "cw", "bim"], eps: EPS, threats: ["transfer", "whitebox", "adaptive"],
    adaptive: { attacks: ["pgd", "apgd-ce"], preset: "standard" },
    evalImages: 7000,
  };
}

function need(root: string | undefined, preset: string, what: string): string {
  if (!root) throw new Error(`${preset}: --data <dir> is required (the folder with ${what})`);
  return root;
}

/** The config of a preset, validated. */
export function presetConfigs(id: string, o: PresetOptions = {}): ExperimentConfig[] {
  let inputs: ExperimentInput[];
  switch (id as PresetId) {
    case "demo": inputs = [demo(o)]; break;
    case "paper-cifar10": inputs = [paperCifar("cifar10", need(o.root, id, "CIFAR-10's binary files"))]; break;
    case "paper-cifar100": inputs = [paperCifar("cifar100", need(o.root, id, "CIFAR-100's binary files"))]; break;
    case "paper-imagenet":
      inputs = [{
        name: id,
        dataset: { name: "imagefolder", root: need(o.root, id, "class subfolders of images"), imageSize: 299 },
        targets: [
          { arch: "resnet50", epochs: 90, batchSize: 64, surrogate: { arch: "inception-v3", epochs: 90, batchSize: 64, seed: 1 } },
          { arch: "inception-v3", epochs: 90, batchSize: 64, surrogate: { arch: "resnet50", epochs: 90, batchSize: 64, seed: 1 } },
        ],
        defenses: ["none", "fast-at", "id", "id+fr"],
        attacks: ["fgsm", "cw", "bim"], eps: ["16/255"], threats: ["transfer", "whitebox", "adaptive"],
        adaptive: { attacks: ["pgd"], preset: "standard" },
        evalImages: 10000,
      }];
      break;
    case "paper-ablation": {
      const base: Omit<ExperimentInput, "name" | "dataset"> = { targets: [{ arch: "resnet50", epochs: 100, surrogate: { arch: "resnet18", epochs: 100, seed: 1 } }],
        defenses: ["none", "id", "id+fr"], attacks: ["fgsm", "cw"], eps: EPS, threats: ["transfer", "adaptive"],
        adaptive: { attacks: ["pgd"], preset: "standard" }, evalImages: 7000 };
      inputs = [
        { name: "paper-ablation-cifar10", dataset: { name: "cifar10", root: need(o.root, id, "CIFAR-10's binary files") }, ...base },
        { name: "paper-ablation-svhn", dataset: { name: "svhn", root: need(o.svhnRoot, id, "SVHN's .mat files (--svhn <dir>)") }, ...base },
      ];
      break;
    }
    default:
      throw new Error(`unknown preset ${JSON.stringify(id)}; presets: ${PRESETS.join(", ")} (or give a config file)`);
  }
  return inputs.map((c) => parseExperiment(c, `preset ${id}`));
}
