/**
 * Executes an experiment config in three steps over the registries, with no list of names of its
 * own: plan (every cell and the key of everything it needs, from the config and the data's
 * fingerprint alone), materialise (train or reuse models and defenses, craft or reuse AE sets, each
 * on demand) and evaluate (each cell not already cached). Every artifact is cached by a hash of
 * everything that produced it (see cache.ts); finished cells survive a crash, so a rerun resumes.
 */
import { join } from "node:path";
import { attackEntry, makeAttack, type AttackName } from "../attacks/presets.js";
import type { AttackSettings } from "../attacks/options.js";
import { runContext, type RunContext } from "../core/context.js";
import { writeFileAtomic } from "../core/atomic-write.js";
import { Progress } from "../core/progress.js";
import { DEFENSE_NAMES, defenseEntry } from "../defenses/registry.js";
import type { ExperimentConfig } from "./config.js";
import { ArtifactCache, specHash } from "./cache.js";
import { Materializer, type RunStats } from "./materialize.js";
import { countCorrect } from "../models/evaluate.js";
import { loadExperimentData, type ExperimentData } from "./experiment-data.js";
import { RESULTS_VERSION, wilson95, type ResultRecord, type Threat } from "./results.js";
import { writeSamples } from "./samples.js";

export type { RunStats } from "./materialize.js";

/** The registered defense names (see defenses/registry.ts). */
export const KNOWN_DEFENSES: readonly string[] = DEFENSE_NAMES;

/** Where and how a run works (a RunContext; outDir is required) and what it reports. */
export interface RunOptions extends Partial<RunContext> {
  outDir: string;
  /** Preset name recorded in each result. */
  preset?: string;
  /** Called after each newly computed cell has been saved. */
  onCell?: (record: ResultRecord) => void;
}

/** Where a cell's adversarial examples come from. */
export interface AeSource {
  threat: Exclude<Threat, "clean">;
  attack: AttackName;
  eps: number;
  preset: string;
  /** Settings overriding the preset (only those the attack takes). */
  options: AttackSettings;
  /** Key of the model (transfer, whitebox) or defense (adaptive) the AEs are made on. */
  on: string;
  eot?: number;
  key: string;
}

/** One result cell: which defense of which target, on which inputs. */
export interface Cell {
  key: string;
  record: Omit<ResultRecord, "n" | "accuracy" | "ci95" | "seconds">;
  defenseName: string;
  targetIndex: number;
  ae: AeSource | null;
}

/** Keys of everything a run can build, each a hash of all that produced it. */
export interface RunKeys {
  /** The evaluated test images: data identity, count and seed. */
  evalKey: string;
  target(i: number): string;
  surrogate(i: number): string;
  /** A defense of target i (its name, its settings section, the target's key). */
  defense(name: string, i: number): string;
}

/** Throws a TypeError naming an unknown defense and listing the registered ones. */
export function checkDefenseNames(names: readonly string[]): void {
  for (const n of names) defenseEntry(n);
}

/** The settings of the config section a defense reads (undefined when it reads none). */
export function defenseSettings(config: ExperimentConfig, name: string): unknown {
  const section = defenseEntry(name).section;
  return section ? (config as unknown as Record<string, unknown>)[section.key] : undefined;
}

/** The keys of a run's models, defenses and evaluated images, from the config and the data's identity. */
export function runKeys(config: ExperimentConfig, data: ExperimentData): RunKeys {
  const evalKey = specHash({ data: data.key, evalImages: config.evalImages, seed: config.seed });
  const targets = config.targets.map((t) => { const { surrogate: _s, ...spec } = t; return specHash({ data: data.key, spec, mode: "standard", seed: config.seed }); });
  const surrogates = config.targets.map((t) => specHash({ data: data.key, spec: t.surrogate, mode: "standard", seed: config.seed }));
  return {
    evalKey,
    target: (i) => targets[i],
    surrogate: (i) => surrogates[i],
    defense: (name, i) => specHash({ defense: name, settings: defenseSettings(config, name), target: targets[i] }),
  };
}

/** Only the settings attack `name` takes (a config's attackOptions apply to several attacks). */
function settingsFor(name: AttackName, settings: AttackSettings): AttackSettings {
  const takes = attackEntry(name).settings as readonly string[];
  return Object.fromEntries(Object.entries(settings).filter(([k, v]) => v !== undefined && takes.includes(k))) as AttackSettings;
}

/** Every cell of the config, with the keys of its AE set and its result. */
export function planCells(config: ExperimentConfig, keys: RunKeys, preset?: string): Cell[] {
  const cells: Cell[] = [];
  config.targets.forEach((t, i) => {
    const base = { dataset: config.dataset.name, target: t.arch, ...(preset ? { preset } : {}) };
    for (const d of config.defenses) {
      cells.push({ key: specHash({ cell: "clean", evalKey: keys.evalKey, d: keys.defense(d, i) }), defenseName: d, targetIndex: i, ae: null,
        record: { ...base, defense: d, threat: "clean", attack: "none", eps: 0 } });
    }
    for (const threat of config.threats) {
      const adaptive = threat === "adaptive";
      const attacks = adaptive ? config.adaptive.attacks : config.attacks;
      const defenses = adaptive && config.adaptive.defenses ? config.defenses.filter((d) => config.adaptive.defenses!.includes(d)) : config.defenses;
      for (const attack of attacks) {
        const options = settingsFor(attack, adaptive ? config.adaptive.attackOptions : config.attackOptions);
        for (const eps of config.eps) {
          for (const d of defenses) {
            const src = adaptive
              ? { threat, attack, eps, preset: config.adaptive.preset, options, on: keys.defense(d, i), eot: config.adaptive.eotSamples }
              : { threat, attack, eps, preset: config.preset, options, on: threat === "transfer" ? keys.surrogate(i) : keys.target(i) };
            const aeKey = specHash({ evalKey: keys.evalKey, ...src });
            cells.push({ key: specHash({ cell: threat, aeKey, d: keys.defense(d, i) }), defenseName: d, targetIndex: i, ae: { ...src, key: aeKey },
              record: { ...base, defense: d, threat, attack, eps, ...(threat === "transfer" ? { surrogate: t.surrogate.arch } : {}) } });
          }
        }
      }
    }
  });
  return cells;
}

/** Plans, materialises what the cells need, evaluates every uncached cell and writes results.json. */
export async function runExperiment(config: ExperimentConfig, o: RunOptions): Promise<{ records: ResultRecord[]; stats: RunStats }> {
  checkDefenseNames(config.defenses);
  const started = performance.now();
  const ctx = runContext({ log: () => {}, ...o });
  const cache = new ArtifactCache(o.outDir);
  const data = await loadExperimentData(config);
  const keys = runKeys(config, data);
  const cells = planCells(config, keys, o.preset);
  const make = new Materializer(config, data, keys, cache, ctx);

  const progress = new Progress({ label: `run ${config.name}`, total: cells.length, mode: ctx.progress });
  const records: ResultRecord[] = [];
  try {
    for (const [k, cell] of cells.entries()) {
      ctx.signal?.throwIfAborted();
      const cached = cache.readCell<ResultRecord>(cell.key);
      if (cached) {
        records.push(cached);
        make.stats.cellsCached += 1;
        progress.update(k + 1, { cell: describe(cell.record), cached: "yes" });
        continue;
      }
      const t0 = performance.now();
      const defense = await make.defense(cell.defenseName, cell.targetIndex);
      const ae = cell.ae ? await make.aes(cell) : null;
      const set = data.evalSet;
      const correct = countCorrect((x) => defense.logits(x), set, ae ? ae.data : null, { device: ctx.device });
      const n = set.shape[0];
      const record: ResultRecord = { ...cell.record, n, accuracy: correct / n, ci95: wilson95(correct, n), seconds: (performance.now() - t0) / 1000 };
      cache.writeCell(cell.key, record);
      records.push(record);
      make.stats.cellsComputed += 1;
      o.onCell?.(record);
      progress.update(k + 1, { cell: describe(cell.record), acc: record.accuracy });
    }
  } finally {
    progress.stop();
  }
  // results.json holds only what the seeds determine, so the same run writes the same bytes; how long
  // each cell took goes to timings.json beside it.
  const results = records.map(({ seconds: _seconds, ...rest }) => rest);
  writeFileAtomic(join(o.outDir, "results.json"), `${JSON.stringify({ version: RESULTS_VERSION, records: results }, null, 2)}\n`);
  writeFileAtomic(join(o.outDir, "timings.json"), `${JSON.stringify(records.map((r) => ({ ...describeKey(r), seconds: r.seconds })), null, 2)}\n`);
  await writeSamples(cache, config, cells, o.outDir, data, make);
  make.stats.seconds = (performance.now() - started) / 1000;
  return { records, stats: make.stats };
}

/** The fields that name a cell (everything but its measurement). */
function describeKey(r: ResultRecord): Record<string, unknown> {
  const { n: _n, accuracy: _a, ci95: _c, seconds: _s, ...key } = r;
  return key;
}

function describe(r: Cell["record"]): string {
  return r.threat === "clean" ? `${r.target}/${r.defense}/clean` : `${r.target}/${r.defense}/${r.threat} ${r.attack} ${(r.eps * 255).toFixed(0)}/255`;
}
