/**
 * Content fingerprints for cache keys: a short SHA-256 over byte arrays and strings, so that an
 * artifact made from other data or other weights never answers for this one.
 */
import { createHash } from "node:crypto";

/** Hex digest (16 characters) of the parts, each length-prefixed so that boundaries count. */
export function contentHash(parts: readonly (string | ArrayBufferView)[]): string {
  const h = createHash("sha256");
  for (const p of parts) {
    const bytes = typeof p === "string" ? Buffer.from(p, "utf8") : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    h.update(`${bytes.byteLength}:`);
    h.update(bytes);
  }
  return h.digest("hex").slice(0, 16);
}

type ImagesLike = { images: ArrayBufferView; labels: ArrayBufferView; shape: readonly number[] };

// Image sets are never changed in place, and one run fingerprints the same set for several keys
// (the data cache, the training AEs, each trainer's checkpoint): hash each set once.
const known = new WeakMap<ImagesLike, string>();

/** Fingerprint of a set of images: its shape, pixels and labels (any ImageSet). */
export function imagesFingerprint(set: ImagesLike): string {
  let hash = known.get(set);
  if (hash === undefined) {
    hash = contentHash([set.shape.join("x"), set.images, set.labels]);
    known.set(set, hash);
  }
  return hash;
}
