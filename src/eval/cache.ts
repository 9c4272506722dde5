/**
 * Content-addressed artifacts: every trained model, defense, AE set and result cell lives under a
 * name derived from a hash of everything that produced it, so a rerun reuses what is unchanged and
 * a changed setting recomputes only what depends on it.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic-write.js";
import { ensureDir } from "../core/fs.js";

/** JSON with object keys sorted, so equal specs hash equally. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** A short stable hash of a spec. */
export function specHash(spec: unknown): string {
  return createHash("sha256").update(canonical(spec)).digest("hex").slice(0, 16);
}

export class ArtifactCache {
  constructor(readonly root: string) {
    ensureDir(root, "the results");
    ensureDir(join(root, "cache"), "the cached artifacts");
    ensureDir(join(root, "cells"), "the result cells");
  }

  /** Folder of an artifact (created), e.g. cache/model-<hash>. */
  dir(kind: string, key: string): string {
    const d = join(this.root, "cache", `${kind}-${key}`);
    ensureDir(d, "a cached artifact");
    return d;
  }

  /** Path of a single-file artifact, e.g. cache/aes-<hash>.safetensors. */
  file(kind: string, key: string, ext: string): string {
    return join(this.root, "cache", `${kind}-${key}.${ext}`);
  }

  cellPath(key: string): string {
    return join(this.root, "cells", `${key}.json`);
  }

  readCell<T>(key: string): T | null {
    const p = this.cellPath(key);
    return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as T) : null;
  }

  writeCell(key: string, value: unknown): void {
    writeFileAtomic(this.cellPath(key), `${JSON.stringify(value)}\n`);
  }
}
