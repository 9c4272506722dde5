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
import { engineSettings, runContext, type RunContext } from "../core/context.js";
import { cpus } from "node:os";
import { deriveSeed } from "../core/seeds.js";
import { summarizeRuns } from "../defenses/adp/repeat.js";
import { writeFileAtomic } from "../core/atomic-write.js";
import { Progress } from "../core/progress.js";
import { DEFENSE_NAMES, defenseEntry } from "../defenses/registry.js";
import type { ExperimentConfig } from "./config.js";
import { ArtifactCache, specHash } from "./cache.js";
import { Materializer, type RunStats } from "./materialize.js";
// With WORLD_SIZE > 1 every rank measures its share of the images; the counts are summed.
import { countCorrectOverRanks, predictOverRanks } from "./distributed.js";
import { getNumThreads, libtorchVersion, type Tensor } from "../torch/index.js";
import { loadExperimentData, type ExperimentData } from "./experiment-data.js";
import { modelKeySpec } from "./model-source.js";
import { RESULTS_VERSION, wilson95, type ResultRecord, type Threat } from "./results.js";
import { writeSamples } from "./samples.js";
import { WORST_CASE } from "./report/records.js";

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
  /** Run r > 0 of a repeated adaptive attack (config adaptive.runs); absent for run 0. */
  run?: number;
  key: string;
  /** The images attacked: the evaluated set, or its adaptive subset (config.adaptive.evalImages). */
  images: "eval" | "adaptive";
}

/** One result cell: which defense of which target, on which inputs. */
export interface Cell {
  key: string;
  record: Omit<ResultRecord, "n" | "accuracy" | "ci95" | "seconds">;
  defenseName: string;
  targetIndex: number;
  ae: AeSource | null;
  /** For a worst-case cell: the AE sets whose per-sample worst case it measures (then `ae` is null). */
  parts?: AeSource[];
  /** For a repeated adaptive attack: the AE set of every run (the first is `ae`). */
  runs?: AeSource[];
  /** The images the cell measures (see AeSource.images). */
  images: "eval" | "adaptive";
}

export { WORST_CASE } from "./report/records.js";

/** Keys of everything a run can build, each a hash of all that produced it. */
export interface RunKeys {
  /** The evaluated test images: data identity, count and seed. */
  evalKey: string;
  /** The adaptive cells' images (evalKey itself when they are all the evaluated images). */
  adaptiveKey: string;
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
  const targets = config.targets.map((t, i) => { const { surrogate: _s, ...spec } = t; return specHash({ data: data.key, spec: modelKeySpec(spec, data.loaded?.targets[i]), mode: "standard", seed: config.seed }); });
  const surrogates = config.targets.map((t, i) => specHash({ data: data.key, spec: modelKeySpec(t.surrogate, data.loaded?.surrogates[i]), mode: "standard", seed: config.seed }));
  const adaptiveImages = config.adaptive.evalImages;
  return {
    evalKey,
    adaptiveKey: adaptiveImages === undefined || adaptiveImages >= config.evalImages ? evalKey : specHash({ evalKey, adaptiveImages }),
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
      cells.push({ key: specHash({ cell: "clean", evalKey: keys.evalKey, d: keys.defense(d, i) }), defenseName: d, targetIndex: i, ae: null, images: "eval",
        record: { ...base, defense: d, threat: "clean", attack: "none", eps: 0 } });
    }
    for (const threat of config.threats) {
      if (threat === "adaptive") {
        cells.push(...adaptiveCells(config, keys, i, base));
        continue;
      }
      for (const attack of config.attacks) {
        const options = settingsFor(attack, config.attackOptions);
        for (const eps of config.eps) {
          for (const d of config.defenses) {
            // White-box AEs are made on the classifier the defense uses: the target, or its own model (Fast AT, SOAP).
            const on = threat === "transfer" ? keys.surrogate(i) : defenseEntry(d).whitebox === "own" ? keys.defense(d, i) : keys.target(i);
            const src = { threat, attack, eps, preset: config.preset, options, on };
            const aeKey = specHash({ evalKey: keys.evalKey, ...src });
            cells.push({ key: specHash({ cell: threat, aeKey, d: keys.defense(d, i) }), defenseName: d, targetIndex: i, ae: { ...src, key: aeKey, images: "eval" }, images: "eval",
              record: { ...base, defense: d, threat, attack, eps, ...(threat === "transfer" ? { surrogate: t.surrogate.arch } : {}) } });
          }
        }
      }
    }
  });
  return cells;
}

/**
 * The adaptive cells of target i: every adaptive attack at every ε against each attacked defense,
 * then each defense's extra attacks, the per-sample worst case over them (when asked), and the
 * sweep attack at the sweep's radii. A cell already planned (same key) is not planned twice.
 */
function adaptiveCells(config: ExperimentConfig, keys: RunKeys, i: number, base: Pick<Cell["record"], "dataset" | "target" | "preset">): Cell[] {
  const a = config.adaptive;
  const defenses = a.defenses ? config.defenses.filter((d) => a.defenses!.includes(d)) : config.defenses;
  const source = (attack: AttackName, eps: number, d: string, run = 0): AeSource => {
    // Run 0 is the one-run cell (same key, same AEs); a later run reseeds the attack where it takes a seed.
    const seeded = run > 0 && (attackEntry(attack).settings as readonly string[]).includes("seed") ? { seed: deriveSeed(config.seed, run) } : {};
    const src = { threat: "adaptive" as const, attack, eps, preset: a.preset, options: { ...settingsFor(attack, a.attackOptions), ...seeded }, on: keys.defense(d, i), eot: a.eotSamples, ...(run > 0 ? { run } : {}) };
    return { ...src, key: specHash({ evalKey: keys.adaptiveKey, ...src }), images: "adaptive" };
  };
  const repeated = (attack: AttackName, eps: number, d: string): AeSource[] | undefined =>
    a.runs > 1 ? Array.from({ length: a.runs }, (_, r) => source(attack, eps, d, r)) : undefined;
  const cells = new Map<string, Cell>();
  const add = (d: string, attack: string, eps: number, ae: AeSource | null, parts?: AeSource[], runs?: AeSource[]): void => {
    const key = specHash({ cell: "adaptive", aeKey: runs?.map((p) => p.key) ?? ae?.key ?? parts!.map((p) => p.key), d: keys.defense(d, i) });
    // Only the sweep plans radii beyond the config's ε list; their records say so.
    const sweep = config.eps.includes(eps) ? {} : { sweep: true };
    if (!cells.has(key)) cells.set(key, { key, defenseName: d, targetIndex: i, ae, ...(parts ? { parts } : {}), ...(runs ? { runs } : {}), images: "adaptive", record: { ...base, defense: d, threat: "adaptive", attack, eps, ...sweep } });
  };
  // Adaptive cells on a subset of the images get the subset's clean accuracy, which their tables and
  // charts show beside them (otherwise a robust accuracy could sit above a clean one from other images).
  if (keys.adaptiveKey !== keys.evalKey) {
    for (const d of defenses) {
      const key = specHash({ cell: "clean", evalKey: keys.adaptiveKey, d: keys.defense(d, i) });
      cells.set(key, { key, defenseName: d, targetIndex: i, ae: null, images: "adaptive", record: { ...base, defense: d, threat: "adaptive", attack: "none", eps: 0 } });
    }
  }
  const attacksOf = (d: string): AttackName[] => [...a.attacks, ...(a.extra[d] ?? []).filter((x) => !a.attacks.includes(x))];
  for (const attack of a.attacks) {
    for (const eps of config.eps) for (const d of defenses) add(d, attack, eps, source(attack, eps, d), undefined, repeated(attack, eps, d));
  }
  for (const d of config.defenses) {
    for (const attack of attacksOf(d).slice(a.attacks.length)) {
      for (const eps of config.eps) add(d, attack, eps, source(attack, eps, d), undefined, repeated(attack, eps, d));
    }
  }
  if (a.worstCase) {
    for (const eps of config.eps) {
      for (const d of new Set([...defenses, ...Object.keys(a.extra)])) {
        const parts = attacksOf(d).map((attack) => source(attack, eps, d));
        if (parts.length > 1) add(d, WORST_CASE, eps, null, parts);
      }
    }
  }
  if (a.sweep) {
    for (const eps of a.sweep.eps) {
      for (const d of defenses) add(d, a.sweep.attack, eps, source(a.sweep.attack, eps, d));
    }
  }
  return [...cells.values()];
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
      const set = cell.images === "adaptive" ? data.adaptiveSet : data.evalSet;
      const logits = (x: Tensor) => defense.logits(x);
      const n = set.shape[0];
      // Per AE set, per image: the defense still classifies it correctly.
      const robustUnder = async (sources: AeSource[]): Promise<boolean[][]> => {
        const out: boolean[][] = [];
        for (const src of sources) {
          const predicted = predictOverRanks(logits, set, (await make.aes({ ...cell, ae: src })).data, { device: ctx.device });
          out.push(Array.from(predicted, (p, k) => p === set.labels[k]));
        }
        return out;
      };
      let correct: number;
      let accuracy: number;
      let runs: ResultRecord["runs"];
      if (cell.runs) {
        // The mean over runs, their spread, and the images that survive every run.
        const robust = await robustUnder(cell.runs);
        const summary = summarizeRuns(robust.map((r, i) => ({ seed: cell.runs![i].options.seed ?? 0, accuracy: r.filter(Boolean).length / n, robust: r })));
        runs = { accuracies: summary.runs.map((r) => r.accuracy), std: summary.std, everyRun: summary.worstCase };
        accuracy = summary.mean;
        correct = Math.round(summary.mean * n);
      } else {
        if (cell.parts) {
          // A sample counts only if the defense classifies it correctly under every part's AE.
          const robust = await robustUnder(cell.parts);
          correct = robust[0].filter((_, k) => robust.every((r) => r[k])).length;
        } else {
          const ae = cell.ae ? await make.aes(cell) : null;
          correct = countCorrectOverRanks(logits, set, ae ? ae.data : null, { device: ctx.device });
        }
        accuracy = correct / n;
      }
      const record: ResultRecord = { ...cell.record, n, accuracy, ci95: wilson95(correct, n), ...(runs ? { runs } : {}), seconds: (performance.now() - t0) / 1000 };
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
  const timings = { machine: machineFacts(), engine: engineSettings(ctx), cells: records.map((r) => ({ ...describeKey(r), seconds: r.seconds })) };
  writeFileAtomic(join(o.outDir, "timings.json"), `${JSON.stringify(timings, null, 2)}\n`);
  await writeSamples(cache, config, cells, o.outDir, data, make);
  make.stats.seconds = (performance.now() - started) / 1000;
  return { records, stats: make.stats };
}

/** Where the run's times were measured: numbers from another CPU or thread count are not comparable. */
function machineFacts(): { cpu: string; cores: number; threads: number; libtorch: string } {
  return { cpu: cpus()[0]?.model.trim() ?? "unknown", cores: cpus().length, threads: getNumThreads(), libtorch: libtorchVersion() };
}

/** The fields that name a cell (everything but its measurement). */
function describeKey(r: ResultRecord): Record<string, unknown> {
  const { n: _n, accuracy: _a, ci95: _c, seconds: _s, ...key } = r;
  return key;
}

function describe(r: Cell["record"]): string {
  return r.threat === "clean" ? `${r.target}/${r.defense}/clean` : `${r.target}/${r.defense}/${r.threat} ${r.attack} ${(r.eps * 255).toFixed(0)}/255`;
}
