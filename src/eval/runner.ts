/**
 * Executes an experiment config: trains (or reuses) every model and defense it needs, crafts (or
 * reuses) every AE set, evaluates every cell, and writes results.json. Every artifact is cached
 * by a hash of what produced it (see cache.ts); finished cells survive a crash, so a rerun resumes.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { attackedModel } from "./threat.js";
import { makeAttack, type AttackName, type PresetName } from "../attacks/presets.js";
import { augmentationFor } from "../data/augment.js";
import { loadDataset, type Dataset } from "../data/datasets.js";
import { limitSet } from "../data/splits.js";
import { imageSize, type ImageSet } from "../data/types.js";
import { createBaseline, isBaselineName } from "../defenses/baselines/registry.js";
import type { Defense } from "../defenses/defense.js";
import { FastAtDefense } from "../defenses/fast-at.js";
import { attackImages, defend, type IdfrDefense } from "../defenses/idfr/index.js";
import { NoDefense } from "../defenses/none.js";
import { loadClassifier } from "../models/io.js";
import { createClassifier, NORMALIZATION } from "../models/registry.js";
import type { SplitClassifier } from "../models/split.js";
import { trainClassifier } from "../train/classifier.js";
import type { Classifier } from "../models/classifier.js";
import { cleanFloats } from "../data/tensors.js";
import { countCorrect } from "../models/evaluate.js";
import { loadSafetensors, manualSeed, saveSafetensors, tensor, tidy } from "../torch/index.js";
import { writeFileAtomic } from "../core/atomic-write.js";
import { Progress } from "../core/progress.js";
import { ArtifactCache, specHash } from "./cache.js";
import type { ExperimentConfig, ModelSpec } from "./config.js";
import { wilson95, type ResultRecord, type Threat } from "./results.js";

export const IDFR_DEFENSES = ["id", "id+fr"];
export const KNOWN_DEFENSES = ["none", "id", "id+fr", "fast-at", "feature-squeezing", "jpeg-q25", "jpeg-q50", "jpeg-q75", "tvm"];

export interface RunOptions {
  outDir: string;
  progress?: "bar" | "lines" | "none";
  log?: (line: string) => void;
  /** Preset name recorded in each result. */
  preset?: string;
  /** Called after each newly computed cell has been saved. */
  onCell?: (record: ResultRecord) => void;
}

/** What a run computed, and what it found cached. */
export interface RunStats {
  modelsTrained: number;
  defensesTrained: number;
  aeSetsCrafted: number;
  cellsComputed: number;
  cellsCached: number;
  seconds: number;
}

interface AeSource {
  threat: Threat;
  attack: string;
  eps: number;
  preset: PresetName;
  /** Key of the model (transfer, whitebox) or defense (adaptive) the AEs are made on. */
  on: string;
  eot?: number;
}

interface Cell {
  key: string;
  record: Omit<ResultRecord, "n" | "accuracy" | "ci95" | "seconds">;
  defenseName: string;
  targetIndex: number;
  ae: (AeSource & { key: string }) | null;
}

export function checkDefenseNames(names: readonly string[]): void {
  for (const n of names) if (!KNOWN_DEFENSES.includes(n)) throw new Error(`defenses: unknown defense ${JSON.stringify(n)}; known: ${KNOWN_DEFENSES.join(", ")}`);
}

export async function runExperiment(config: ExperimentConfig, o: RunOptions): Promise<{ records: ResultRecord[]; stats: RunStats }> {
  checkDefenseNames(config.defenses);
  const started = performance.now();
  const log = o.log ?? (() => {});
  const cache = new ArtifactCache(o.outDir);
  const stats: RunStats = { modelsTrained: 0, defensesTrained: 0, aeSetsCrafted: 0, cellsComputed: 0, cellsCached: 0, seconds: 0 };
  const datasetKey = { name: config.dataset.name, root: config.dataset.root, trainImages: config.dataset.trainImages, splitSeed: config.dataset.splitSeed, imageSize: config.dataset.imageSize };
  const evalKey = specHash({ datasetKey, evalImages: config.evalImages, seed: config.seed });
  const modelKey = (spec: ModelSpec, mode: string, extra: object = {}) => specHash({ datasetKey, spec, mode, ...extra });
  const targetKeys = config.targets.map((t) => { const { surrogate: _s, ...spec } = t; return modelKey(spec, "standard"); });
  const surrogateKeys = config.targets.map((t) => modelKey(t.surrogate, "standard"));
  const defenseKey = (name: string, i: number) => {
    if (IDFR_DEFENSES.includes(name)) return specHash({ idfr: config.idfr, target: targetKeys[i] });
    if (name === "fast-at") return specHash({ fastAt: config.fastAt, target: targetKeys[i] });
    return specHash({ name, target: targetKeys[i] });
  };
  // ID and ID+FR share the training; their cells still differ by name.
  const cellDefenseKey = (name: string, i: number) => specHash({ name, key: defenseKey(name, i) });

  // ---- plan every cell from the config alone ----
  const cells: Cell[] = [];
  config.targets.forEach((t, i) => {
    const base = { dataset: config.dataset.name, target: t.arch, ...(o.preset ? { preset: o.preset } : {}) };
    for (const d of config.defenses) {
      cells.push({ key: specHash({ cell: "clean", evalKey, d: cellDefenseKey(d, i) }), defenseName: d, targetIndex: i, ae: null,
        record: { ...base, defense: d, threat: "clean", attack: "none", eps: 0 } });
    }
    for (const threat of config.threats) {
      const attacks = threat === "adaptive" ? config.adaptive.attacks : config.attacks;
      for (const attack of attacks) {
        for (const eps of config.eps) {
          const defenses = threat === "adaptive" ? config.defenses.filter((d) => !config.adaptive.defenses || config.adaptive.defenses.includes(d)) : config.defenses;
          for (const d of defenses) {
            const source: AeSource = threat === "adaptive"
              ? { threat, attack, eps, preset: config.adaptive.preset, on: cellDefenseKey(d, i), eot: config.adaptive.eotSamples }
              : { threat, attack, eps, preset: config.preset, on: threat === "transfer" ? surrogateKeys[i] : targetKeys[i] };
            const aeKey = specHash({ evalKey, ...source });
            cells.push({ key: specHash({ cell: threat, aeKey, d: cellDefenseKey(d, i) }), defenseName: d, targetIndex: i, ae: { ...source, key: aeKey },
              record: { ...base, defense: d, threat, attack, eps, ...(threat === "transfer" ? { surrogate: t.surrogate.arch } : {}) } });
          }
        }
      }
    }
  });

  // ---- lazily built artifacts ----
  let dataset: Dataset | null = null;
  let evalSet: ImageSet | null = null;
  const getDataset = async () => (dataset ??= await loadDataset(config.dataset.name, { root: config.dataset.root, splitSeed: config.dataset.splitSeed, imageSize: config.dataset.imageSize }));
  const getEvalSet = async () => (evalSet ??= limitSet((await getDataset()).splits.test, config.evalImages, config.seed));
  const models = new Map<string, Classifier>();
  const getModel = async (spec: ModelSpec, mode: "standard" | "fast-at", key: string): Promise<Classifier> => {
    const hit = models.get(key);
    if (hit) return hit;
    const dir = cache.dir("model", key);
    let model: Classifier;
    if (existsSync(join(dir, "model.json"))) model = loadClassifier(dir);
    else {
      const ds = await getDataset();
      const train = limitSet(ds.splits.train, config.dataset.trainImages, config.seed);
      const [, c, h, w] = train.shape;
      manualSeed(spec.seed);
      const fresh: SplitClassifier = createClassifier(spec.arch, { numClasses: ds.classes.length, inputShape: [c, h, w], width: spec.width,
        normalization: NORMALIZATION[ds.name === "imagefolder" ? "imagenet" : ds.name] });
      log(`training ${mode === "fast-at" ? "fast-AT " : ""}${spec.arch} (width ${spec.width}, ${spec.epochs} epochs) on ${train.shape[0]} images -> ${dir}`);
      await trainClassifier(fresh, { train, val: ds.splits.val }, {
        epochs: mode === "fast-at" ? config.fastAt.epochs ?? spec.epochs : spec.epochs, batchSize: spec.batchSize, optimizer: spec.optimizer,
        lr: spec.lr ?? (mode === "fast-at" ? 0.2 : spec.optimizer === "adam" ? 1e-3 : 0.05), seed: spec.seed, mode, fastAtEps: config.fastAt.eps,
        augmentation: augmentationFor(ds.name),
      }, { outDir: dir, resume: true, progress: o.progress, dataset: ds.name, classes: ds.classes });
      stats.modelsTrained += 1;
      model = loadClassifier(dir);
    }
    models.set(key, model);
    return model;
  };
  const targetSpec = (i: number): ModelSpec => { const { surrogate: _s, ...spec } = config.targets[i]; return spec; };
  const getTarget = (i: number) => getModel(targetSpec(i), "standard", targetKeys[i]);
  const getSurrogate = (i: number) => getModel(config.targets[i].surrogate, "standard", surrogateKeys[i]);
  const defenses = new Map<string, Defense>();
  const getDefense = async (name: string, i: number): Promise<Defense> => {
    const key = cellDefenseKey(name, i);
    const hit = defenses.get(key);
    if (hit) return hit;
    const target = await getTarget(i);
    let d: Defense;
    if (name === "none") d = new NoDefense(target);
    else if (IDFR_DEFENSES.includes(name)) {
      const dir = cache.dir("idfr", defenseKey(name, i));
      const done = existsSync(join(dir, "fr.safetensors")) && existsSync(join(dir, "defense.json"));
      const ds = await getDataset();
      const train = limitSet(limitSet(ds.splits.train, config.dataset.trainImages, config.seed), config.idfr.trainImages, config.seed);
      if (!done) log(`training IDFR for ${target.arch} on ${train.shape[0]} images -> ${dir}`);
      const r = defend(target, train, { outDir: dir, targetDir: cache.dir("model", targetKeys[i]), id: { ...config.idfr.id, seed: config.idfr.id.seed ?? config.seed },
        fr: { ...config.idfr.fr, seed: config.idfr.fr.seed ?? config.seed }, resume: true, progress: o.progress, dataset: ds.name, val: ds.splits.val ? limitSet(ds.splits.val, 500, config.seed) : undefined, log });
      if (!done) stats.defensesTrained += 1;
      const full: IdfrDefense = r.defense;
      defenses.set(cellDefenseKey("id+fr", i), full);
      defenses.set(cellDefenseKey("id", i), full.withoutRestorer());
      return defenses.get(key)!;
    } else if (name === "fast-at") {
      const spec = targetSpec(i);
      d = new FastAtDefense(target, await getModel(spec, "fast-at", modelKey(spec, "fast-at", { fastAt: config.fastAt })));
    } else if (isBaselineName(name)) d = createBaseline(name, target);
    else throw new Error(`unknown defense ${name}`);
    defenses.set(key, d);
    return d;
  };

  const aeSets = new Map<string, Float32Array>();
  const getAEs = async (cell: Cell): Promise<{ data: Float32Array; seconds: number }> => {
    const src = cell.ae!;
    const hit = aeSets.get(src.key);
    if (hit) return { data: hit, seconds: 0 };
    const path = cache.file("aes", src.key, "safetensors");
    if (existsSync(path)) {
      const { tensors } = loadSafetensors(path);
      const t = tensors.get("adversarial")!;
      const data = t.toTypedArray() as Float32Array;
      t.dispose();
      aeSets.clear();
      aeSets.set(src.key, data);
      return { data, seconds: 0 };
    }
    const t0 = performance.now();
    const set = await getEvalSet();
    const model = src.threat === "transfer" ? await getSurrogate(cell.targetIndex)
      : src.threat === "whitebox" ? await getTarget(cell.targetIndex)
      : attackedModel({ kind: "adaptive", eotSamples: src.eot }, await getDefense(cell.defenseName, cell.targetIndex));
    const attack = makeAttack(src.attack as AttackName, model, { eps: src.eps, preset: src.preset });
    const out = new Float32Array(set.shape[0] * imageSize(set.shape));
    attackImages(attack, set, Array.from({ length: set.shape[0] }, (_, i) => i), out);
    const t = tensor(out, set.shape);
    saveSafetensors(path, { adversarial: t }, { threat: src.threat, attack: src.attack, eps: String(src.eps), preset: src.preset });
    t.dispose();
    stats.aeSetsCrafted += 1;
    aeSets.clear();
    aeSets.set(src.key, out);
    return { data: out, seconds: (performance.now() - t0) / 1000 };
  };

  // ---- evaluate ----
  const progress = new Progress({ label: `run ${config.name}`, total: cells.length, mode: o.progress });
  const records: ResultRecord[] = [];
  try {
    for (const [k, cell] of cells.entries()) {
      const cached = cache.readCell<ResultRecord>(cell.key);
      if (cached) {
        records.push(cached);
        stats.cellsCached += 1;
        progress.update(k + 1, { cell: describe(cell.record), cached: "yes" });
        continue;
      }
      const t0 = performance.now();
      const defense = await getDefense(cell.defenseName, cell.targetIndex);
      const set = await getEvalSet();
      const ae = cell.ae ? await getAEs(cell) : null;
      const correct = countCorrect((x) => defense.logits(x), set, ae ? ae.data : null);
      const n = set.shape[0];
      const record: ResultRecord = { ...cell.record, n, accuracy: correct / n, ci95: wilson95(correct, n), seconds: (performance.now() - t0) / 1000 };
      cache.writeCell(cell.key, record);
      records.push(record);
      stats.cellsComputed += 1;
      o.onCell?.(record);
      progress.update(k + 1, { cell: describe(cell.record), acc: record.accuracy });
    }
  } finally {
    progress.stop();
  }
  writeFileAtomic(join(o.outDir, "results.json"), `${JSON.stringify(records, null, 2)}\n`);
  await writeSamples(cache, config, cells, o.outDir, getEvalSet, getDefense, getAEs);
  stats.seconds = (performance.now() - started) / 1000;
  return { records, stats };
}

function describe(r: Cell["record"]): string {
  return r.threat === "clean" ? `${r.target}/${r.defense}/clean` : `${r.target}/${r.defense}/${r.threat} ${r.attack} ${(r.eps * 255).toFixed(0)}/255`;
}

/**
 * samples.safetensors for the report's image grids: a few test images, their AEs from the first
 * white-box (else transfer) attack at the largest radius, and the ID's output on those AEs.
 */
async function writeSamples(cache: ArtifactCache, config: ExperimentConfig, cells: Cell[], outDir: string,
  getEvalSet: () => Promise<ImageSet>, getDefense: (n: string, i: number) => Promise<Defense>,
  getAEs: (c: Cell) => Promise<{ data: Float32Array }>): Promise<void> {
  const path = join(outDir, "samples.safetensors");
  const maxEps = Math.max(...config.eps);
  const pick = cells.find((c) => c.ae?.threat === "whitebox" && c.ae.eps === maxEps && c.targetIndex === 0)
    ?? cells.find((c) => c.ae?.threat === "transfer" && c.ae.eps === maxEps && c.targetIndex === 0);
  const idName = config.defenses.find((d) => IDFR_DEFENSES.includes(d));
  if (!pick || !idName) return;
  const key = specHash({ samples: pick.ae!.key, idName });
  if (existsSync(path) && cache.readCell<{ key: string }>(`samples-${key}`)) return;
  const set = await getEvalSet();
  const k = Math.min(8, set.shape[0]);
  const size = imageSize(set.shape);
  const idx = Array.from({ length: k }, (_, i) => Math.floor((i * set.shape[0]) / k));
  const { data } = await getAEs(pick);
  const adv = new Float32Array(k * size);
  idx.forEach((i, r) => adv.set(data.subarray(i * size, (i + 1) * size), r * size));
  const defense = await getDefense(idName, 0);
  tidy(() => {
    const shape = [k, ...set.shape.slice(1)];
    const adversarial = tensor(adv, shape);
    saveSafetensors(path, { clean: tensor(cleanFloats(set, idx), shape), adversarial, denoised: defense.purify(adversarial) },
      { attack: pick.ae!.attack, eps: String(pick.ae!.eps), threat: pick.ae!.threat });
  });
  cache.writeCell(`samples-${key}`, { key });
}
