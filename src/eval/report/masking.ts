/**
 * The gradient-masking check: under an attack that sees the whole pipeline, accuracy must fall
 * toward zero as ε grows (at 64/255 little of an image's content is safe). A defense whose
 * adaptive accuracy stays well above zero at the largest radius measured is flagged as possibly
 * masking gradients: its numbers at small ε may rest on an attack that fails, not on robustness.
 */
import type { ResultRecord } from "../results.js";
import { attackLabel, defenseLabel, epsLabel, firstSeen, percent, sortAttacks, sortDefenses, sortPlain, targetLabel, datasetLabel } from "./names.js";
import { WORST_CASE } from "./records.js";

/** Smallest radius at which the check judges (32/255): below it, real robustness may keep accuracy up. */
export const MASKING_MIN_EPS = 32 / 255;
/** Accuracy above which a defense at the largest radius is flagged. */
export const MASKING_THRESHOLD = 0.1;

export interface MaskingRow {
  dataset: string;
  target: string;
  defense: string;
  attack: string;
  eps: number;
  accuracy: number;
  flagged: boolean;
}

/** Per (dataset, target, defense, attack) with adaptive records at ε >= 32/255: the accuracy at the largest ε. */
export function maskingChecks(records: readonly ResultRecord[]): MaskingRow[] {
  const rows: MaskingRow[] = [];
  const adaptive = records.filter((r) => r.threat === "adaptive" && r.attack !== WORST_CASE && r.eps >= MASKING_MIN_EPS - 1e-9);
  for (const dataset of sortPlain(adaptive.map((r) => r.dataset))) {
    for (const target of firstSeen(adaptive.filter((r) => r.dataset === dataset).map((r) => r.target))) {
      const own = adaptive.filter((r) => r.dataset === dataset && r.target === target);
      for (const defense of sortDefenses(own.map((r) => r.defense))) {
        for (const attack of sortAttacks(own.filter((r) => r.defense === defense).map((r) => r.attack))) {
          const at = own.filter((r) => r.defense === defense && r.attack === attack).sort((a, b) => b.eps - a.eps)[0];
          rows.push({ dataset, target, defense, attack, eps: at.eps, accuracy: at.accuracy, flagged: at.accuracy > MASKING_THRESHOLD });
        }
      }
    }
  }
  return rows;
}

/** One sentence per row, for Markdown and HTML. */
export function maskingLine(r: MaskingRow): string {
  const where = `${defenseLabel(r.defense)} (${datasetLabel(r.dataset)}, ${targetLabel(r.target)}), adaptive ${attackLabel(r.attack)} at ε = ${epsLabel(r.eps)}/255: ${percent(r.accuracy)} %`;
  return r.flagged ? `${where} — **possible gradient masking** (accuracy does not fall toward zero)` : `${where} — falls toward zero`;
}

/** The explanation printed above the rows. */
export const MASKING_NOTE = `An attack that sees the whole pipeline should drive accuracy toward zero as ε grows. Flagged: accuracy above ${percent(MASKING_THRESHOLD)} % at the largest radius (at least ${epsLabel(MASKING_MIN_EPS)}/255); such a defense's numbers at small ε may come from an attack that fails rather than from robustness.`;
