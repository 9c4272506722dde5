/**
 * The defended model of IDFR: ŷ = f_cls(FR(f_enc(ID(x)))) (paper Fig. 1b). Without the restorer it
 * is the "ID" ablation of Table 5. Deterministic and differentiable end to end, so its adaptive
 * test is plain gradient attacks through `attackForward`.
 */
import { existsSync } from "node:fs";
import { z } from "zod";
import { isAbsolute, join, relative, resolve } from "node:path";
import type { Classifier } from "../../models/classifier.js";
import { loadClassifier, weightsFingerprint } from "../../models/io.js";
import { loadSafetensors, noGrad, saveSafetensors, type Tensor } from "../../torch/index.js";
import { writeFileAtomic } from "../../core/atomic-write.js";
import { ensureDir } from "../../core/fs.js";
import { readJsonFile } from "../../core/json-file.js";
import { issueLines } from "../../core/validate.js";
import { classifyByLogits, type Defense } from "../defense.js";
import type { FrConfig, IdConfig } from "./config.js";
import { InputDenoiser, type DenoiserVariant } from "./denoiser.js";
import { FeatureRestorer } from "./restorer.js";

/**
 * What defense.json records, declared once: the type, the checks on reading and the version. Files
 * written before the `version` field are read as version 1.
 */
export const DefenseManifestSchema = z.object({
  format: z.literal("idfr-defense"),
  version: z.literal(1).default(1),
  /** The target it was trained for; `dir` is relative to the defense folder when it was saved with one. */
  target: z.object({
    arch: z.string(), embeddingDim: z.number().int().positive(), numClasses: z.number().int().min(2),
    inputShape: z.tuple([z.number().int().positive(), z.number().int().positive(), z.number().int().positive()]), dir: z.string().optional(),
    /** Fingerprint of the target's weights (absent in files written before it was recorded). */
    weights: z.string().optional(),
  }),
  denoiser: z.object({ channels: z.number().int().positive(), width: z.number().positive(), variant: z.enum(["paper", "reference-code"]).optional() }),
  restorer: z.object({ embeddingDim: z.number().int().positive() }).nullable(),
  training: z.object({
    id: z.record(z.string(), z.unknown()).optional(), fr: z.record(z.string(), z.unknown()).optional(), dataset: z.string().optional(), trainImages: z.number().int().optional(),
    /** Fingerprint of the training images (pixels and labels). */
    data: z.string().optional(),
  }).optional(),
});
export type DefenseManifest = Omit<z.output<typeof DefenseManifestSchema>, "training"> & {
  training?: { id?: Partial<IdConfig>; fr?: Partial<FrConfig>; dataset?: string; trainImages?: number; data?: string };
};

/**
 * Whether a defense folder was trained for these target weights and training images. Folders
 * written before these were recorded are taken at their word.
 */
export function trainedOn(manifest: DefenseManifest, identity: { weights?: string; data?: string }): boolean {
  const same = (recorded: string | undefined, now: string | undefined) => recorded === undefined || now === undefined || recorded === now;
  return same(manifest.target.weights, identity.weights) && same(manifest.training?.data, identity.data);
}

export class IdfrDefense implements Defense {
  readonly stochastic = false;
  readonly name: string;

  constructor(readonly target: Classifier, readonly denoiser: InputDenoiser, readonly restorer: FeatureRestorer | null) {
    if (denoiser.channels !== target.inputShape[0]) throw new RangeError(`IDFR: the denoiser has ${denoiser.channels} channels, the target takes ${target.inputShape[0]}`);
    if (restorer && restorer.embeddingDim !== target.embeddingDim) {
      throw new RangeError(`IDFR: the restorer is ${restorer.embeddingDim}-d, the target's embedding is ${target.embeddingDim}-d`);
    }
    this.name = restorer ? "id+fr" : "id";
    denoiser.eval();
    restorer?.eval();
  }

  /** The "ID" ablation: the same denoiser, no restorer. */
  withoutRestorer(): IdfrDefense {
    return new IdfrDefense(this.target, this.denoiser, null);
  }

  purify(x: Tensor): Tensor {
    return noGrad(() => this.denoiser.forward(x));
  }

  attackForward(x: Tensor): Tensor {
    this.target.eval();
    this.denoiser.eval();
    const denoised = this.denoiser.forward(x);
    const h = this.target.embed(denoised);
    denoised.dispose();
    if (!this.restorer) {
      const out = this.target.head(h);
      h.dispose();
      return out;
    }
    this.restorer.eval();
    const restored = this.restorer.forward(h);
    h.dispose();
    const out = this.target.head(restored);
    restored.dispose();
    return out;
  }

  logits(x: Tensor): Tensor {
    return noGrad(() => this.attackForward(x));
  }

  classify(x: Tensor): Tensor {
    return classifyByLogits(this, x);
  }
}

/**
 * Writes a defense folder: defense.json, id.safetensors and (with a restorer) fr.safetensors.
 * `targetDir`, when given, is recorded so that loadDefense(dir) finds the target by itself.
 */
export function saveDefense(dir: string, defense: IdfrDefense, options: { targetDir?: string; training?: DefenseManifest["training"] } = {}): DefenseManifest {
  ensureDir(dir, "the defense");
  const t = defense.target;
  const manifest: DefenseManifest = {
    format: "idfr-defense", version: 1,
    target: { arch: t.arch, embeddingDim: t.embeddingDim, numClasses: t.numClasses, inputShape: [...t.inputShape],
      ...(options.targetDir ? { dir: relative(resolve(dir), resolve(options.targetDir)) || "." } : {}), weights: weightsFingerprint(t) },
    denoiser: { channels: defense.denoiser.channels, width: defense.denoiser.width, variant: defense.denoiser.variant },
    restorer: defense.restorer ? { embeddingDim: defense.restorer.embeddingDim } : null,
    training: options.training,
  };
  saveSafetensors(join(dir, "id.safetensors"), defense.denoiser.stateDict(), { format: "pt", module: "idfr.denoiser" });
  if (defense.restorer) saveSafetensors(join(dir, "fr.safetensors"), defense.restorer.stateDict(), { format: "pt", module: "idfr.restorer" });
  writeFileAtomic(join(dir, "defense.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

export function readDefenseManifest(dir: string): DefenseManifest {
  const path = join(dir, "defense.json");
  if (!existsSync(path)) throw new Error(`${dir}: not a defense folder (no defense.json); make one with \`idfr defend\``);
  const raw = readJsonFile(path, "the defense description") as { format?: unknown };
  if (raw?.format !== "idfr-defense") throw new Error(`${path}: "format" must be "idfr-defense", got ${JSON.stringify(raw?.format)}`);
  const r = DefenseManifestSchema.safeParse(raw);
  if (!r.success) throw new Error(`${path}: ${issueLines(r.error).join("; ")}`);
  return r.data as DefenseManifest;
}

function loadInto(module: InputDenoiser | FeatureRestorer, path: string): void {
  if (!existsSync(path)) throw new Error(`${path}: missing`);
  const { tensors } = loadSafetensors(path);
  try {
    module.loadStateDict(tensors);
  } catch (err) {
    throw new Error(`${path}: ${(err as Error).message}`);
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/**
 * Loads a defense folder. The target is the one recorded in defense.json unless given; either way
 * it must match what the defense was trained for (architecture, embedding width, classes, input).
 */
export function loadDefense(dir: string, target?: Classifier): IdfrDefense {
  const m = readDefenseManifest(dir);
  let model = target;
  if (!model) {
    if (!m.target.dir) throw new Error(`${dir}/defense.json records no target folder; pass the target classifier explicitly`);
    model = loadClassifier(isAbsolute(m.target.dir) ? m.target.dir : join(dir, m.target.dir));
  }
  const want = m.target;
  const mismatch: string[] = [];
  if (model.arch !== want.arch) mismatch.push(`architecture ${model.arch} (expected ${want.arch})`);
  if (model.embeddingDim !== want.embeddingDim) mismatch.push(`embedding width ${model.embeddingDim} (expected ${want.embeddingDim})`);
  if (model.numClasses !== want.numClasses) mismatch.push(`${model.numClasses} classes (expected ${want.numClasses})`);
  if (model.inputShape.join("x") !== want.inputShape.join("x")) mismatch.push(`input ${model.inputShape.join("x")} (expected ${want.inputShape.join("x")})`);
  if (mismatch.length) throw new Error(`the defense in ${dir} was trained for another target: the given target has ${mismatch.join(", ")}`);
  const denoiser = new InputDenoiser({ channels: m.denoiser.channels, width: m.denoiser.width, variant: m.denoiser.variant ?? "paper", zeroInitResidual: false });
  loadInto(denoiser, join(dir, "id.safetensors"));
  let restorer: FeatureRestorer | null = null;
  if (m.restorer) {
    restorer = new FeatureRestorer(m.restorer.embeddingDim);
    loadInto(restorer, join(dir, "fr.safetensors"));
  }
  return new IdfrDefense(model, denoiser, restorer);
}
