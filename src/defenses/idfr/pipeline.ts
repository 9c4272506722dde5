/**
 * Training a whole IDFR defense for a target, with every expensive artifact kept in the defense
 * folder: the training AEs (train-aes.safetensors), the ID, then the FR. A folder that already holds
 * a finished stage is reused, so an interrupted run continues where it stopped.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { RunContext } from "../../core/context.js";
import { ensureDir } from "../../core/fs.js";
import type { ImageSet } from "../../data/types.js";
import type { Classifier } from "../../models/classifier.js";
import { withFrozen } from "../../models/freeze.js";
import { clearCheckpoint, type LoopRecord } from "../../train/loop.js";
import { PAPER_FR_CONFIG, PAPER_ID_CONFIG, type FrConfig, type IdConfig } from "./config.js";
import { IdfrDefense, loadDefense, readDefenseManifest, saveDefense, trainedOn } from "./defense.js";
import { trainRestorer } from "./train-fr.js";
import { trainDenoiser, type ValidationSet } from "./train-id.js";
import { craftTrainingAdversarials, type AdversarialRows } from "./training-data.js";
import { attackSettingsFor } from "../../attacks/presets.js";
import { imagesFingerprint } from "../../core/fingerprint.js";
import { weightsFingerprint } from "../../models/io.js";

/** Where and how the stages run (device, resume, progress, log, signal); the ID and FR train there. */
export interface DefendOptions extends Partial<RunContext> {
  outDir: string;
  /** Folder of the target (recorded in defense.json so the defense loads on its own). */
  targetDir?: string;
  id?: Partial<IdConfig>;
  fr?: Partial<FrConfig>;
  /** "id" trains only the denoiser, "fr" only the restorer (the ID must exist), "both" (default) both. */
  stages?: "id" | "fr" | "both";
  dataset?: string;
  /** Validation images for per-epoch clean/adversarial accuracy. */
  val?: ImageSet;
  /** The attack model A(·) that makes the training AEs (default: the target itself). */
  attackModel?: Classifier;
}

export interface DefendResult {
  defense: IdfrDefense;
  idHistory: LoopRecord[];
  frHistory: LoopRecord[];
  /** Algorithm 2's split of the FR training embeddings. */
  frSplit?: { correct: number; wrong: number };
  seconds: { aes: number; id: number; fr: number };
}

/**
 * Trains the ID (Algorithm 1) and then the FR (Algorithm 2) for `target`, keeping the training AEs,
 * checkpoints and results in `o.outDir`; with `o.resume`, finished stages are reused and an
 * interrupted one continues from its checkpoint.
 */
export async function defend(target: Classifier, train: ImageSet, o: DefendOptions): Promise<DefendResult> {
  if (train.shape[0] === 0) throw new RangeError("the training set is empty");
  const idConfig: IdConfig = { ...PAPER_ID_CONFIG, ...o.id };
  const frConfig: FrConfig = { ...PAPER_FR_CONFIG, ...o.fr };
  const stages = o.stages ?? "both";
  const log = o.log ?? (() => {});
  const seconds = { aes: 0, id: 0, fr: 0 };
  ensureDir(o.outDir, "the defense");
  const settings = attackSettingsFor(idConfig.attack, idConfig.attackOptions ?? {}, "id.attackOptions");
  const recipe = { attack: idConfig.attack, eps: idConfig.trainEps, preset: idConfig.preset, ...(Object.keys(settings).length ? { options: settings } : {}) };
  let t = performance.now();
  const maker = o.attackModel ?? target;
  const aeRecipe = { ...recipe, ...(o.attackModel ? { attackModel: o.attackModel.arch } : {}) };
  // Static AEs are made once, and only when a stage reads them: the adaptive adversary crafts its
  // own at every step, and a denoiser for smoothing trains on Gaussian copies only.
  const gaussianOnly = idConfig.rows === "gaussian";
  const needStatic = !gaussianOnly && (idConfig.adversary === "static" || (stages !== "id" && frConfig.adversary === "static"));
  const adversarial = needStatic
    ? withFrozen(maker, () => craftTrainingAdversarials(maker, train, aeRecipe, { cachePath: join(o.outDir, "train-aes.safetensors"), progress: o.progress }))
    : null;
  const frRows: AdversarialRows = gaussianOnly ? "none" : frConfig.adversary === "adaptive" ? "craft" : adversarial!;
  let val: ValidationSet | undefined;
  if (o.val && !gaussianOnly) {
    const valAdv = withFrozen(maker, () => craftTrainingAdversarials(maker, o.val!, aeRecipe, { cachePath: join(o.outDir, "val-aes.safetensors"), progress: o.progress }));
    val = { clean: o.val, adversarial: valAdv };
  }
  seconds.aes = (performance.now() - t) / 1000;
  // A folder trained for other weights or other images is retrained, never reused.
  const identity = { weights: weightsFingerprint(target), data: imagesFingerprint(train) };
  const training = { id: idConfig, fr: frConfig, dataset: o.dataset, trainImages: train.shape[0], data: identity.data };

  let defense: IdfrDefense;
  let idHistory: LoopRecord[] = [];
  const haveId = existsSync(join(o.outDir, "defense.json")) && existsSync(join(o.outDir, "id.safetensors")) && trainedOn(readDefenseManifest(o.outDir), identity);
  if (stages === "fr" || (haveId && o.resume)) {
    defense = loadDefense(o.outDir, target).withoutRestorer();
    log(`reusing the trained ID in ${o.outDir}`);
  } else {
    t = performance.now();
    const r = await trainDenoiser(target, train, adversarial, idConfig, { ...o, val });
    idHistory = r.history;
    defense = new IdfrDefense(target, r.denoiser, null);
    saveDefense(o.outDir, defense, { targetDir: o.targetDir, training });
    clearCheckpoint(o.outDir, "id");
    seconds.id = (performance.now() - t) / 1000;
  }
  let frHistory: LoopRecord[] = [];
  let frSplit: DefendResult["frSplit"];
  if (stages !== "id") {
    const manifest = readDefenseManifest(o.outDir);
    if (manifest.restorer && o.resume && existsSync(join(o.outDir, "fr.safetensors")) && trainedOn(manifest, identity)) {
      defense = loadDefense(o.outDir, target);
      log(`reusing the trained FR in ${o.outDir}`);
    } else {
      t = performance.now();
      const r = await trainRestorer(target, defense.denoiser, train, frRows, frConfig, { ...o, val });
      frHistory = r.history;
      frSplit = r.split;
      defense = new IdfrDefense(target, defense.denoiser, r.restorer);
      saveDefense(o.outDir, defense, { targetDir: o.targetDir ?? (manifest.target.dir ? join(o.outDir, manifest.target.dir) : undefined), training });
      clearCheckpoint(o.outDir, "fr");
      seconds.fr = (performance.now() - t) / 1000;
    }
  }
  return { defense, idHistory, frHistory, frSplit, seconds };
}
