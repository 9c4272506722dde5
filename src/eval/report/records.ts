/** Indexing result records for rendering: one record per cell, looked up by its coordinates. */
import type { ResultRecord } from "../results.js";
import { epsLabel } from "./names.js";

/** The coordinates of one table cell. */
export interface CellKey {
  dataset: string;
  target: string;
  defense: string;
  threat: string;
  attack: string;
  eps: number;
}

const keyOf = (k: CellKey): string => [k.dataset, k.target, k.defense, k.threat, k.attack, epsLabel(k.eps)].join("\u0000");

/**
 * Records indexed by cell. ε is compared on the 0..255 scale to one decimal, so 8/255 written by
 * different code still meets. When a cell occurs twice the later record wins, as a rerun would.
 */
export class RecordIndex {
  readonly records: readonly ResultRecord[];
  readonly #cells = new Map<string, ResultRecord>();

  constructor(records: readonly ResultRecord[]) {
    for (const r of records) this.#cells.set(keyOf(r), r);
    this.records = [...this.#cells.values()];
  }

  get(key: CellKey): ResultRecord | undefined {
    return this.#cells.get(keyOf(key));
  }

  /**
   * The clean-input record of a defense as a table of threat `threat` shows it: the one written
   * under that threat if any, else the one under threat "clean" (clean accuracy does not depend on
   * the threat model).
   */
  clean(dataset: string, target: string, defense: string, threat: string): ResultRecord | undefined {
    return this.get({ dataset, target, defense, threat, attack: "none", eps: 0 }) ?? this.get({ dataset, target, defense, threat: "clean", attack: "none", eps: 0 });
  }

  /** Records passing a filter. */
  where(pred: (r: ResultRecord) => boolean): ResultRecord[] {
    return this.records.filter(pred);
  }
}

/** True for records of an attacked cell (not a clean-input one). */
export const isAttacked = (r: ResultRecord): boolean => r.attack !== "none" && r.threat !== "clean";

/** The record name of the per-sample worst case over a defense's adaptive attacks. */
export const WORST_CASE = "worst-case";

/** Records the tables show: all but the masking sweep's extra radii. */
export const inTables = (r: ResultRecord): boolean => r.sweep !== true;

/** Records the averages run over: one attack at one of the config's radii (no sweep radii, no worst case). */
export const inAverages = (r: ResultRecord): boolean => r.sweep !== true && r.attack !== WORST_CASE;
