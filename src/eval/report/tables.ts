/**
 * The paper's table layout as data: rows = defenses, columns = clean accuracy then one column per
 * attack holding "a/b/c" for the ε values (4/8/16 in the paper). One table per (dataset, threat);
 * two targets share a table side by side (Table 1), otherwise each target gets its own.
 */
import type { ResultRecord } from "../results.js";
import { attackLabel, datasetLabel, defenseLabel, epsLabel, firstSeen, percent, sortAttacks, sortDefenses, sortPlain, sortThreats, targetLabel, threatLabel } from "./names.js";
import { inTables, isAttacked, RecordIndex } from "./records.js";

/** A column: clean accuracy or one attack (all ε), for one target. */
export interface TableColumn {
  /** "Clean" or an attack's label with its ε values, e.g. "FGSM (ε = 4/8/16)". */
  group: string;
  /** Attack name, or "none" for the clean column. */
  attack: string;
  target: string;
}

export interface TableRow {
  defense: string;
  label: string;
  /** One string per column: "92.6", "80.3/64.6/46.1"; "–" marks a missing value. */
  cells: string[];
}

export interface ReportTable {
  dataset: string;
  threat: string;
  targets: string[];
  title: string;
  /** ε values of the "a/b/c" cells, in order. */
  epsilons: number[];
  columns: TableColumn[];
  rows: TableRow[];
  /** Smallest and largest number of images behind a cell. */
  n: [number, number];
  /** Largest half-width of a cell's 95 % interval, in percentage points. */
  maxHalfWidth: number;
  /** Per target, the models its transfer AEs were crafted on; and the presets, as found in the records. */
  surrogates: { target: string; models: string[] }[];
  presets: string[];
  /** Most runs behind a repeated adaptive value (config adaptive.runs; 1 when none was repeated). */
  runs: number;
}

/** Marks a value the records do not have. */
export const MISSING = "–";

/** Target groups of a dataset: two targets side by side as in Table 1, else one table each. */
function targetGroups(targets: string[]): string[][] {
  return targets.length === 2 ? [targets] : targets.map((t) => [t]);
}

/** Builds every table the records support, datasets in alphabetical order, threats as in the paper. */
export function buildTables(records: readonly ResultRecord[]): ReportTable[] {
  const index = new RecordIndex(records);
  const tables: ReportTable[] = [];
  for (const dataset of sortPlain(index.records.map((r) => r.dataset))) {
    const ofDataset = index.where((r) => r.dataset === dataset);
    const attacked = ofDataset.filter(isAttacked);
    const threats = attacked.length ? sortThreats(attacked.map((r) => r.threat)) : ["clean"];
    for (const threat of threats) {
      for (const targets of targetGroups(firstSeen(ofDataset.map((r) => r.target)))) {
        const table = buildTable(index, dataset, threat, targets);
        if (table.rows.length) tables.push(table);
      }
    }
  }
  return tables;
}

function buildTable(index: RecordIndex, dataset: string, threat: string, targets: string[]): ReportTable {
  const inScope = index.where((r) => inTables(r) && r.dataset === dataset && targets.includes(r.target) && (r.threat === threat || r.threat === "clean"));
  const attackedCells = inScope.filter((r) => r.threat === threat && isAttacked(r));
  const attacks = sortAttacks(attackedCells.map((r) => r.attack));
  const epsilons = [...new Map(attackedCells.map((r) => [epsLabel(r.eps), r.eps])).values()].sort((a, b) => a - b);
  const epsText = epsilons.map(epsLabel).join("/");
  const columns: TableColumn[] = [
    ...targets.map((target) => ({ group: "Clean", attack: "none", target })),
    ...attacks.flatMap((attack) => targets.map((target) => ({ group: `${attackLabel(attack)} (ε = ${epsText})`, attack, target }))),
  ];
  const used: ResultRecord[] = [];
  const rows: TableRow[] = [];
  for (const defense of sortDefenses(inScope.map((r) => r.defense))) {
    let found = false;
    const cells = columns.map((col) => {
      const cellRecords = col.attack === "none"
        ? [index.clean(dataset, col.target, defense, threat)]
        : epsilons.map((eps) => index.get({ dataset, target: col.target, defense, threat, attack: col.attack, eps }));
      for (const r of cellRecords) if (r) (found = true, used.push(r));
      // A repeated attack shows its mean ± the standard deviation over runs.
      return cellRecords.map((r) => (r ? (r.runs ? `${percent(r.accuracy)}±${percent(r.runs.std)} (${percent(r.runs.everyRun)})` : percent(r.accuracy)) : MISSING)).join("/");
    });
    if (found) rows.push({ defense, label: defenseLabel(defense), cells });
  }
  const ns = used.map((r) => r.n);
  const halfWidths = used.map((r) => ((r.ci95[1] - r.ci95[0]) / 2) * 100);
  const side = targets.length > 1 ? ` — ${targets.map(targetLabel).join(" and ")}` : ` — ${targetLabel(targets[0])}`;
  return {
    dataset, threat, targets,
    title: `${datasetLabel(dataset)}, ${threatLabel(threat)}${side}`,
    epsilons, columns, rows,
    n: ns.length ? [Math.min(...ns), Math.max(...ns)] : [0, 0],
    maxHalfWidth: halfWidths.length ? Math.max(...halfWidths) : 0,
    surrogates: targets.map((target) => ({
      target,
      models: sortPlain(used.flatMap((r) => (r.target === target && r.threat === "transfer" && r.surrogate ? [r.surrogate] : []))),
    })).filter((s) => s.models.length > 0),
    presets: sortPlain(used.flatMap((r) => (r.preset ? [r.preset] : []))),
    runs: Math.max(1, ...used.map((r) => r.runs?.accuracies.length ?? 1)),
  };
}

/** The sentence under a table: sample size, interval width, and where the AEs came from. */
export function tableNote(t: ReportTable): string {
  const n = t.n[0] === t.n[1] ? `n = ${t.n[0]} test images per value` : `n = ${t.n[0]} to ${t.n[1]} test images per value`;
  const parts = [
    `Accuracy in %; ${n}.`,
    `Each value's 95 % Wilson interval reaches at most ±${t.maxHalfWidth.toFixed(1)} points around it; smaller differences are within sampling noise.`,
  ];
  if (t.surrogates.length) {
    const on = t.surrogates.map((s) => (t.targets.length > 1 ? `${s.models.join(", ")} (for ${targetLabel(s.target)})` : s.models.join(", ")));
    parts.push(`Adversarial examples crafted on ${on.join("; ")}.`);
  }
  if (t.presets.length) parts.push(`Preset: ${t.presets.join(", ")}.`);
  if (t.runs > 1) parts.push(`a±s (w): the mean ± standard deviation over ${t.runs} runs of the attack, and in brackets the share of images classified correctly in every run (the worst case).`);
  if (t.rows.some((r) => r.cells.some((c) => c.includes(MISSING)))) parts.push(`${MISSING} = not evaluated.`);
  return parts.join(" ");
}
