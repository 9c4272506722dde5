/** Built-in classifier architectures by name, with the normalisation statistics of each dataset. */
import { inceptionV3 } from "./inception.js";
import { resnet18, resnet50 } from "./resnet.js";
import { smallCnn } from "./small-cnn.js";
import type { ClassifierConfig, SplitClassifier } from "./split.js";
import { vgg16 } from "./vgg.js";

/** One registered architecture: its name, its label in reports, a line for `idfr list`, and its builder. */
export interface ArchitectureEntry {
  name: string;
  label: string;
  description: string;
  build: (c: ClassifierConfig) => SplitClassifier;
}

/** Every built-in architecture: the one list that CLI choices, config checks and report labels read. */
export const ARCHITECTURE_ENTRIES = [
  { name: "small-cnn", label: "small CNN", description: "two conv blocks and an MLP head, for MNIST-sized inputs", build: smallCnn },
  { name: "vgg16", label: "VGG16", description: "VGG16 (CIFAR variant, 512-d embedding)", build: vgg16 },
  { name: "resnet18", label: "ResNet18", description: "ResNet18 (CIFAR variant, 512-d embedding)", build: resnet18 },
  { name: "resnet50", label: "ResNet50", description: "ResNet50 (2048-d embedding)", build: resnet50 },
  { name: "inception-v3", label: "InceptionV3", description: "InceptionV3 (299x299 inputs, 2048-d embedding)", build: inceptionV3 },
] as const satisfies readonly ArchitectureEntry[];

export type ArchName = (typeof ARCHITECTURE_ENTRIES)[number]["name"];
export const ARCHITECTURES: ArchName[] = ARCHITECTURE_ENTRIES.map((a) => a.name);

/** Per-channel mean and std of the usual training sets (normalisation lives inside the model). */
export const NORMALIZATION: Record<string, { mean: number[]; std: number[] }> = {
  mnist: { mean: [0.1307], std: [0.3081] },
  "fashion-mnist": { mean: [0.286], std: [0.353] },
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762] },
  svhn: { mean: [0.4377, 0.4438, 0.4728], std: [0.198, 0.201, 0.197] },
  imagenet: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
};

export interface CreateClassifierOptions {
  numClasses: number;
  /** [C, H, W]. */
  inputShape: readonly [number, number, number];
  /** Width multiplier (default 1: the published widths). */
  width?: number;
  /** Dataset whose normalisation to build in (see NORMALIZATION), or explicit mean/std. */
  normalization?: string | { mean: number[]; std: number[] };
}

/** Builds a classifier by architecture name, freshly initialised. */
export function createClassifier(arch: string, options: CreateClassifierOptions): SplitClassifier {
  const build = ARCHITECTURE_ENTRIES.find((a) => a.name === arch)?.build;
  if (!build) throw new TypeError(`arch: expected one of ${ARCHITECTURES.join(", ")}, got ${JSON.stringify(arch)}`);
  const { numClasses } = options;
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new TypeError(`numClasses: expected an integer >= 2, got ${numClasses}`);
  const shape = options.inputShape;
  if (shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new TypeError(`inputShape: expected [C, H, W] of positive integers, got ${JSON.stringify(shape)}`);
  }
  const width = options.width ?? 1;
  if (!(width > 0 && width <= 4)) throw new RangeError(`width: expected a number in (0, 4], got ${width}`);
  const c = shape[0];
  let norm = typeof options.normalization === "string" ? NORMALIZATION[options.normalization] : options.normalization;
  if (typeof options.normalization === "string" && !norm) {
    throw new TypeError(`normalization: unknown dataset ${JSON.stringify(options.normalization)}; known: ${Object.keys(NORMALIZATION).join(", ")}`);
  }
  norm ??= { mean: new Array(c).fill(0), std: new Array(c).fill(1) };
  return build({ arch, numClasses, inputShape: [shape[0], shape[1], shape[2]], width, mean: norm.mean, std: norm.std });
}
