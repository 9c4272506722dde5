/** What identifies a training set in a checkpoint, so that a resume on other data is refused. */
import { imagesFingerprint } from "../core/fingerprint.js";
import type { ImageSet } from "../data/types.js";

/** Name, image count, image shape and a digest of the pixels and labels of a training set. */
export interface DataIdentity {
  dataset: string;
  images: number;
  imageShape: string;
  /** Digest of the shape, pixels and labels (changes with --limit, split seed, or other files). */
  digest: string;
}

export function dataIdentity(set: ImageSet, dataset = "unnamed"): DataIdentity {
  return { dataset, images: set.shape[0], imageShape: set.shape.slice(1).join("x"), digest: imagesFingerprint(set) };
}
