/**
 * Any weight file from another framework (PyTorch .pth/.pt/.bin checkpoints, NumPy .npy/.npz),
 * told apart by its bytes rather than its name: a zip with `<name>/data.pkl` is a torch.save
 * checkpoint, another zip is an .npz (ComDefend's `.npy` files are such zips), "\x93NUMPY" opens an
 * .npy file and a pickle a legacy torch.save checkpoint.
 */
import { readFileSync } from "node:fs";
import { basename, extname } from "node:path";
import { readNumpyTree } from "./npy.js";
import { readPthTree, type ReadPthOptions } from "./pth.js";
import type { FlatTree } from "./py-tree.js";
import { isZip, zipEntryNames } from "./zip.js";

export type WeightsFormat = "pth-zip" | "pth-legacy" | "npy" | "npz";

/** The arrays, scalars and skipped entries of a weight file, and its format. */
export interface WeightsTree extends FlatTree {
  format: WeightsFormat;
}

/**
 * Reads a PyTorch or NumPy weight file into its flattened tree (no tensors made yet). A file that
 * holds one bare tensor (`torch.save(t)`) names it after the file's stem.
 */
export function readWeightsTree(path: string, options: ReadPthOptions = {}): WeightsTree {
  const tree = readAnyTree(path, options);
  const root = tree.arrays.get("");
  if (root) {
    tree.arrays.delete("");
    tree.arrays.set(basename(path, extname(path)), root);
  }
  return tree;
}

function readAnyTree(path: string, options: ReadPthOptions): WeightsTree {
  const bytes = readFileSync(path);
  const npyMagic = bytes.length >= 6 && bytes[0] === 0x93 && bytes.subarray(1, 6).toString("latin1") === "NUMPY";
  if (npyMagic) return { ...readNumpyTree(path), format: "npy" };
  if (isZip(bytes)) {
    const names = zipEntryNames(bytes, path);
    if (!names.some((n) => /^[^/]+\/data\.pkl$/.test(n))) return { ...readNumpyTree(path), format: "npz" };
  }
  const tree = readPthTree(bytes, { ...options, name: path });
  return { ...tree, format: tree.format === "zip" ? "pth-zip" : "pth-legacy" };
}
