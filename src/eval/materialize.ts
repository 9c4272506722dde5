/**
 * Builds, on demand and once, what an experiment's cells need: trained models (targets,
 * surrogates, trained variants), defenses (from the defense registry) and AE sets; each is read
 * from the cache when it is there and written to it when it is made.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { AttackName } from "../attacks/presets.js";
import { makeAttack } from "../attacks/presets.js";
import type { RunContext } from "../core/context.js";
import { augmentationFor } from "../data/augment.js";
import { limitSet } from "../data/splits.js";
import { imageSize } from "../data/types.js";
import { whiteboxModelOf, type Defense } from "../defenses/defense.js";
import type { FastAtSettings } from "../defenses/fast-at-settings.js";
import { trainModel } from "../defenses/fast-at.js";
import { attackImages } from "../defenses/idfr/training-data.js";
import { defenseEntry, type DefenseEnv } from "../defenses/registry.js";
import type { Classifier, LogitsModel } from "../models/classifier.js";
import { loadClassifier } from "../models/io.js";
import { createClassifier, NORMALIZATION } from "../models/registry.js";
import { Generator, loadSafetensors, nn, saveSafetensors, tensor, type Tensor } from "../torch/index.js";
import { seedFor } from "../core/seeds.js";
import { logitsOnCpu } from "../train/device.js";
import { ArtifactCache, specHash } from "./cache.js";
import type { ExperimentConfig, ModelSpec } from "./config.js";
import type { ExperimentData } from "./experiment-data.js";
import type { LoadedModel } from "./model-source.js";
import type { Cell, RunKeys } from "./runner.js";
import { defenseSettings } from "./runner.js";
import { attackedModel } from "./threat.js";

/** What a run computed, and what it found cached. */
export interface RunStats {
  modelsTrained: number;
  defensesTrained: number;
  aeSetsCrafted: number;
  cellsComputed: number;
  cellsCached: number;
  seconds: number;
}

/** A classifier on `device` seen from the CPU: attacks and data stay on the CPU, compute runs there. */
function cpuFacing(model: { forward(x: Tensor): Tensor; eval?: () => unknown }, device: string): LogitsModel {
  return device === "cpu" ? model : { forward: logitsOnCpu((x) => model.forward(x), device), eval: () => model.eval?.() } as LogitsModel;
}

/** The same defense, taking and giving CPU tensors while it runs on `device`. */
function cpuFacingDefense(defense: Defense, device: string): Defense {
  if (device === "cpu") return defense;
  return Object.create(defense, { attackForward: { value: logitsOnCpu((x) => defense.attackForward(x), device) } }) as Defense;
}

function toDevice<T extends Classifier>(model: T, device: string): T {
  if (device !== "cpu") (model as unknown as { to?: (d: string) => unknown }).to?.(device);
  return model;
}

export class Materializer {
  readonly stats: RunStats = { modelsTrained: 0, defensesTrained: 0, aeSetsCrafted: 0, cellsComputed: 0, cellsCached: 0, seconds: 0 };
  private readonly models = new Map<string, Promise<Classifier>>();
  private readonly defenses = new Map<string, Promise<Defense>>();
  private readonly shared = new Map<string, Promise<unknown>>();
  /** The last AE set read or made (cells are planned so that one set serves consecutive cells). */
  private lastAes: { key: string; data: Float32Array } | null = null;

  constructor(readonly config: ExperimentConfig, readonly data: ExperimentData, readonly keys: RunKeys, readonly cache: ArtifactCache, readonly ctx: RunContext) {}

  /** A trained model (cached under its key); trains it when the cache does not have it. */
  model(spec: ModelSpec, mode: "standard" | "fast-at", key: string, fastAt?: FastAtSettings): Promise<Classifier> {
    let hit = this.models.get(key);
    if (!hit) {
      hit = this.trainOrLoad(spec, mode, key, fastAt);
      this.models.set(key, hit);
    }
    return hit;
  }

  private async trainOrLoad(spec: ModelSpec, mode: "standard" | "fast-at", key: string, fastAt?: FastAtSettings): Promise<Classifier> {
    const dir = this.cache.dir("model", key);
    if (!existsSync(join(dir, "model.json"))) {
      const ds = this.data.dataset;
      const train = this.data.train;
      const [, c, h, w] = train.shape;
      const init = new Generator(seedFor.weights(spec.seed)); // the layers draw their initial weights from it
      const fresh = nn.init.withInitGenerator(init, () => createClassifier(spec.arch, { numClasses: ds.classes.length, inputShape: [c, h, w],
        width: spec.width, normalization: NORMALIZATION[ds.name === "imagefolder" ? "imagenet" : ds.name] }));
      init.dispose();
      this.ctx.log(`training ${mode === "fast-at" ? "fast-AT " : ""}${spec.arch} (width ${spec.width}, ${spec.epochs} epochs) on ${train.shape[0]} images -> ${dir}`);
      await trainModel(fresh, { train, val: ds.splits.val }, {
        epochs: mode === "fast-at" ? fastAt?.epochs ?? spec.epochs : spec.epochs, batchSize: spec.batchSize, optimizer: spec.optimizer,
        lr: spec.lr ?? (mode === "fast-at" ? 0.2 : spec.optimizer === "adam" ? 1e-3 : 0.05), seed: spec.seed, mode, fastAtEps: fastAt?.eps ?? 8 / 255,
        augmentation: augmentationFor(ds.name),
      }, { outDir: dir, resume: true, progress: this.ctx.progress, device: this.ctx.device, signal: this.ctx.signal, dataset: ds.name, classes: ds.classes }, fastAt);
      this.stats.modelsTrained += 1;
    }
    return toDevice(loadClassifier(dir), this.ctx.device);
  }

  /**
   * What training target i's architecture takes (for the variants trained after it, such as Fast
   * AT): its entry, less where a loaded target came from.
   */
  targetSpec(i: number): ModelSpec {
    const { surrogate: _s, from, runAtDataSize: _r, ...spec } = this.config.targets[i];
    if (from !== undefined && spec.arch === "torchscript") {
      throw new Error(`targets.${i}.from: ${from} is a TorchScript model; a model of its architecture cannot be trained here (drop the defenses that train one, such as fast-at)`);
    }
    return spec;
  }

  target(i: number): Promise<Classifier> {
    const loaded = this.data.loaded?.targets[i];
    if (loaded) return this.loadedModel(loaded, this.keys.target(i));
    return this.model(this.targetSpec(i), "standard", this.keys.target(i));
  }

  surrogate(i: number): Promise<Classifier> {
    const loaded = this.data.loaded?.surrogates[i];
    if (loaded) return this.loadedModel(loaded, this.keys.surrogate(i));
    return this.model(this.config.targets[i].surrogate, "standard", this.keys.surrogate(i));
  }

  /** A model loaded from its folder (by loadExperimentData), on the run's device. */
  private loadedModel(loaded: LoadedModel, key: string): Promise<Classifier> {
    let hit = this.models.get(key);
    if (!hit) {
      this.ctx.log(`using the model in ${loaded.dir} (${loaded.model.info.arch}, weights ${loaded.weights})`);
      hit = Promise.resolve(toDevice(loaded.model, this.ctx.device));
      this.models.set(key, hit);
    }
    return hit;
  }

  /** Defense `name` of target i, built by its registry entry (once per run). */
  defense(name: string, i: number): Promise<Defense> {
    const key = this.keys.defense(name, i);
    let hit = this.defenses.get(key);
    if (!hit) {
      hit = this.build(name, i);
      this.defenses.set(key, hit);
    }
    return hit;
  }

  private async build(name: string, i: number): Promise<Defense> {
    const target = await this.target(i);
    const config = this.config;
    const env: DefenseEnv = {
      target,
      targetDir: this.data.loaded?.targets[i]?.dir ?? this.cache.dir("model", this.keys.target(i)),
      targetKey: this.keys.target(i),
      settings: defenseSettings(config, name),
      seed: config.seed,
      dataset: this.data.dataset.name,
      device: this.ctx.device,
      artifactDir: (kind, key) => this.cache.dir(kind, specHash(key)),
      trainImages: async (limit) => limitSet(this.data.train, limit, config.seed),
      valImages: async () => (this.data.dataset.splits.val ? limitSet(this.data.dataset.splits.val, 500, config.seed) : undefined),
      trainVariant: (mode, settings) => {
        const spec = this.targetSpec(i);
        return this.model(spec, mode, specHash({ data: this.data.key, spec, mode, fastAt: settings, seed: config.seed }), settings);
      },
      shared: <T>(key: unknown, make: () => Promise<T>) => {
        const k = specHash(key);
        let hit = this.shared.get(k) as Promise<T> | undefined;
        if (!hit) {
          hit = make();
          this.shared.set(k, hit);
        }
        return hit;
      },
      trained: () => { this.stats.defensesTrained += 1; },
      log: (line) => this.ctx.log(line),
      progress: this.ctx.progress,
    };
    const entry = defenseEntry(name);
    const defense = await entry.create(env);
    // The registry's adaptive mode must say what the attack will do: EOT exactly for random defenses.
    if (defense.stochastic !== (entry.adaptive === "eot")) {
      throw new Error(`defense ${name}: registered with adaptive mode "${entry.adaptive}" but it is ${defense.stochastic ? "random (use \"eot\")" : "deterministic"}`);
    }
    return defense;
  }

  /** The AE set of a cell: read from the cache, or crafted on the model its threat names. */
  async aes(cell: Cell): Promise<{ data: Float32Array; seconds: number }> {
    const src = cell.ae!;
    if (this.lastAes?.key === src.key) return { data: this.lastAes.data, seconds: 0 };
    const path = this.cache.file("aes", src.key, "safetensors");
    if (existsSync(path)) {
      const { tensors } = loadSafetensors(path);
      const t = tensors.get("adversarial")!;
      const data = t.toTypedArray() as Float32Array;
      for (const v of tensors.values()) v.dispose();
      this.lastAes = { key: src.key, data };
      return { data, seconds: 0 };
    }
    const t0 = performance.now();
    const set = src.images === "adaptive" ? this.data.adaptiveSet : this.data.evalSet;
    const device = this.ctx.device;
    const model = src.threat === "transfer" ? cpuFacing(await this.surrogate(cell.targetIndex), device)
      : src.threat === "whitebox" ? cpuFacing(defenseEntry(cell.defenseName).whitebox === "own"
        ? whiteboxModelOf(await this.defense(cell.defenseName, cell.targetIndex)) : await this.target(cell.targetIndex), device)
      : attackedModel({ kind: "adaptive", eotSamples: src.eot }, cpuFacingDefense(await this.defense(cell.defenseName, cell.targetIndex), device));
    const attack = makeAttack(src.attack as AttackName, model, { eps: src.eps, preset: src.preset as never, ...src.options } as never);
    const out = new Float32Array(set.shape[0] * imageSize(set.shape));
    attackImages(attack, set, Array.from({ length: set.shape[0] }, (_, i) => i), out);
    const t = tensor(out, set.shape);
    saveSafetensors(path, { adversarial: t }, { threat: src.threat, attack: src.attack, eps: String(src.eps), preset: src.preset, options: JSON.stringify(src.options) });
    t.dispose();
    this.stats.aeSetsCrafted += 1;
    this.lastAes = { key: src.key, data: out };
    return { data: out, seconds: (performance.now() - t0) / 1000 };
  }
}
