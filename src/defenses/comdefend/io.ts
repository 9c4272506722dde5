/**
 * A ComDefend folder: comdefend.safetensors (both networks, keys `com.features.0.weight`, ...,
 * `rec.features.16.bias`) and comdefend.json (format, version, variant, the inference settings
 * and how it was trained). Written atomically, file by file, the JSON last, so a folder with the
 * JSON is complete.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../../core/atomic-write.js";
import { ensureDir } from "../../core/fs.js";
import { readJsonFile } from "../../core/json-file.js";
import { issueLines } from "../../core/validate.js";
import type { Classifier } from "../../models/classifier.js";
import { Generator, loadSafetensors, nn, saveSafetensors } from "../../torch/index.js";
import { ComDefendDefense, type ComDefendOptions } from "./defense.js";
import { ComDefendNets, type ComDefendVariant } from "./networks.js";

export const COMDEFEND_FILES = { weights: "comdefend.safetensors", manifest: "comdefend.json" } as const;

const ManifestSchema = z.object({
  format: z.literal("idfr-comdefend"),
  version: z.literal(1),
  variant: z.enum(["rgb", "grey"]),
  inference: z.object({
    noise: z.number().nonnegative(),
    threshold: z.number().gt(0).lt(1),
    patch: z.number().int().nonnegative(),
    bpda: z.enum(["identity", "sigmoid"]),
  }),
  /** What produced the weights: training settings and data, or the file they were converted from. */
  source: z.record(z.string(), z.unknown()).optional(),
});
export type ComDefendManifest = z.output<typeof ManifestSchema>;

/** The authors' inference settings. */
export const DEFAULT_INFERENCE: ComDefendManifest["inference"] = { noise: 1, threshold: 0.5, patch: 0, bpda: "identity" };

/** True when `dir` holds a complete ComDefend folder. */
export function isComDefendFolder(dir: string): boolean {
  return existsSync(join(dir, COMDEFEND_FILES.manifest)) && existsSync(join(dir, COMDEFEND_FILES.weights));
}

/** Writes `nets` and their manifest to `dir`. */
export function saveComDefend(dir: string, nets: ComDefendNets, options: { inference?: Partial<ComDefendManifest["inference"]>; source?: Record<string, unknown> } = {}): ComDefendManifest {
  ensureDir(dir, "the ComDefend networks");
  const manifest: ComDefendManifest = {
    format: "idfr-comdefend", version: 1, variant: nets.variant,
    inference: { ...DEFAULT_INFERENCE, ...options.inference },
    ...(options.source ? { source: options.source } : {}),
  };
  saveSafetensors(join(dir, COMDEFEND_FILES.weights), nets.stateDict(), { format: "pt", module: "idfr.comdefend" });
  writeFileAtomic(join(dir, COMDEFEND_FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Reads and checks comdefend.json of `dir`. */
export function readComDefendManifest(dir: string): ComDefendManifest {
  const path = join(dir, COMDEFEND_FILES.manifest);
  if (!existsSync(path)) throw new Error(`${dir}: not a ComDefend folder (no ${COMDEFEND_FILES.manifest})`);
  const r = ManifestSchema.safeParse(readJsonFile(path, "the ComDefend description"));
  if (!r.success) throw new Error(`${path}: ${issueLines(r.error).join("; ")}`);
  return r.data;
}

/**
 * Networks whose initial weights are about to be overwritten: drawn from a throwaway generator so
 * that loading leaves libtorch's global stream as it was.
 */
export function newNets(variant: ComDefendVariant): ComDefendNets {
  const scratch = new Generator(0);
  try {
    return nn.init.withInitGenerator(scratch, () => new ComDefendNets(variant));
  } finally {
    scratch.dispose();
  }
}

/** The networks saved in `dir`, on `device` (default the CPU). */
export function loadComDefendNets(dir: string, device = "cpu"): { nets: ComDefendNets; manifest: ComDefendManifest } {
  const manifest = readComDefendManifest(dir);
  const path = join(dir, COMDEFEND_FILES.weights);
  if (!existsSync(path)) throw new Error(`${path}: missing`);
  const nets = newNets(manifest.variant);
  const { tensors } = loadSafetensors(path);
  try {
    nets.loadStateDict(tensors);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { nets: nets.to(device), manifest };
}

/**
 * ComDefend from a folder around `target`, with the folder's inference settings unless `options`
 * override them (e.g. a noise generator, or noise 0 for a deterministic defense).
 */
export function loadComDefendDefense(dir: string, target: Classifier, options: ComDefendOptions & { device?: string } = {}): ComDefendDefense {
  const { device, ...rest } = options;
  const { nets, manifest } = loadComDefendNets(dir, device);
  return new ComDefendDefense(target, nets, { ...manifest.inference, ...rest });
}
