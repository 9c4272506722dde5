/**
 * A trained NRP purifier on disk: `purifier.safetensors` (the authors' parameter names, so their
 * converted `.pth` weights load the same way) beside `nrp.json` (format version, architecture and
 * sizes, the training config, the target's folder). Both are written atomically, the JSON last, so
 * a folder with `nrp.json` holds a complete purifier.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../core/atomic-write.js";
import { ensureDir } from "../../core/fs.js";
import { readJsonFile } from "../../core/json-file.js";
import type { Classifier } from "../../models/classifier.js";
import { loadClassifier } from "../../models/io.js";
import { loadSafetensors, saveSafetensors, tidy, type nn } from "../../torch/index.js";
import type { NrpTrainConfig } from "./config.js";
import { NrpDefense, type NrpDefenseOptions } from "./defense.js";
import { makePurifier, type PurifierArch, type PurifierSizes } from "./networks.js";

export const NRP_FORMAT_VERSION = 1;
export const NRP_MANIFEST = "nrp.json";
export const NRP_WEIGHTS = "purifier.safetensors";

/** What nrp.json records. */
export interface NrpManifest {
  version: number;
  arch: PurifierArch;
  sizes: PurifierSizes;
  /** The training config, when trained here (absent for converted weights). */
  training?: NrpTrainConfig;
  /** Folder of the target the purifier was trained for. */
  targetDir?: string;
}

/** Writes the purifier's weights and manifest to `dir`. */
export function saveNrpPurifier(dir: string, purifier: nn.Module, manifest: Omit<NrpManifest, "version">): void {
  ensureDir(dir, "the NRP purifier");
  saveSafetensors(join(dir, NRP_WEIGHTS), tidy(() => new Map([...purifier.stateDict()].map(([k, t]) => [k, t.device === "cpu" ? t : t.to("cpu")]))));
  writeFileAtomic(join(dir, NRP_MANIFEST), `${JSON.stringify({ version: NRP_FORMAT_VERSION, ...manifest }, null, 2)}\n`);
}

/** Reads and checks `dir`/nrp.json. */
export function readNrpManifest(dir: string): NrpManifest {
  const path = join(dir, NRP_MANIFEST);
  if (!existsSync(path)) throw new Error(`${dir}: no ${NRP_MANIFEST} (not an NRP purifier folder)`);
  const m = readJsonFile(path, "the NRP manifest") as Partial<NrpManifest>;
  if (m.version !== NRP_FORMAT_VERSION) throw new Error(`${path}: expected version ${NRP_FORMAT_VERSION}, got ${JSON.stringify(m.version)}`);
  if (m.arch !== "nrp" && m.arch !== "nrp-resg") throw new Error(`${path}: expected arch "nrp" or "nrp-resg", got ${JSON.stringify(m.arch)}`);
  if (!m.sizes) throw new Error(`${path}: no sizes`);
  return m as NrpManifest;
}

/** The purifier saved in `dir`, in eval mode, on `device`. */
export function loadNrpPurifier(dir: string, device = "cpu"): { purifier: nn.Module; manifest: NrpManifest } {
  const manifest = readNrpManifest(dir);
  const purifier = makePurifier(manifest.arch, manifest.sizes);
  const { tensors } = loadSafetensors(join(dir, NRP_WEIGHTS), { requireFinite: true });
  try {
    purifier.loadStateDict(tensors);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  return { purifier: purifier.to(device).eval(), manifest };
}

/**
 * The NRP defense saved in `dir` around `target` (default: the classifier in the folder nrp.json
 * names). The image channels of the purifier must be the target's.
 */
export function loadNrpDefense(dir: string, target?: Classifier, options: NrpDefenseOptions = {}): NrpDefense {
  const { purifier, manifest } = loadNrpPurifier(dir);
  let model = target;
  if (!model) {
    if (!manifest.targetDir) throw new Error(`${dir}/${NRP_MANIFEST} records no target folder; pass the target classifier explicitly`);
    model = loadClassifier(manifest.targetDir);
  }
  if (model.inputShape[0] !== manifest.sizes.channels) {
    throw new RangeError(`${dir}: the purifier takes ${manifest.sizes.channels}-channel images, the target ${model.inputShape[0]}-channel ones`);
  }
  return new NrpDefense(model, purifier, options);
}
