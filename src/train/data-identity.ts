/** What identifies a training set in a checkpoint, so that a resume on other data is refused. */
import { createHash } from "node:crypto";
import type { ImageSet } from "../data/types.js";

/** Name, image count, image shape and a digest of the pixels and labels of a training set. */
export interface DataIdentity {
  dataset: string;
  images: number;
  imageShape: string;
  /** SHA-1 of the pixels and labels (changes with --limit, split seed, or other files). */
  digest: string;
}

export function dataIdentity(set: ImageSet, dataset = "unnamed"): DataIdentity {
  const hash = createHash("sha1");
  hash.update(new Uint8Array(set.images.buffer, set.images.byteOffset, set.images.byteLength));
  hash.update(new Uint8Array(set.labels.buffer, set.labels.byteOffset, set.labels.byteLength));
  return { dataset, images: set.shape[0], imageShape: set.shape.slice(1).join("x"), digest: hash.digest("hex").slice(0, 16) };
}
