/**
 * The averages of the paper's Fig. 3, per (dataset, threat): accuracy with no attack, the
 * undefended target under attack, the average baseline, the worst baseline, and IDFR ("id+fr").
 * Attacked averages run over every attack, ε and target the records hold.
 */
import type { ResultRecord } from "../results.js";
import { datasetLabel, firstSeen, isBaseline, sortPlain, sortThreats, threatShort } from "./names.js";
import { inAverages, isAttacked, RecordIndex } from "./records.js";

/** The five bars of one group, as fractions; a series the records cannot support is absent. */
export interface SummaryGroup {
  dataset: string;
  threat: string;
  /** "CIFAR-10 (Black-box)", as Fig. 3 labels its groups. */
  label: string;
  values: Partial<Record<SummarySeries, number>>;
  /** The baseline with the lowest average, when there are baselines. */
  worstBaseline?: string;
}

export const SUMMARY_SERIES = ["noAttack", "undefended", "baselineMean", "baselineWorst", "idfr"] as const;
export type SummarySeries = (typeof SUMMARY_SERIES)[number];

/** Legend text of each series (Fig. 3's legend, spelled out). */
export const SERIES_LABELS: Record<SummarySeries, string> = {
  noAttack: "No attack (undefended, clean)",
  undefended: "Undefended under attack",
  baselineMean: "Baselines, average",
  baselineWorst: "Baselines, worst",
  idfr: "IDFR (ID+FR)",
};

const mean = (xs: number[]): number | undefined => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined);

/** One group per (dataset, threat) that has attacked records. */
export function summarize(records: readonly ResultRecord[]): SummaryGroup[] {
  const index = new RecordIndex(records);
  const groups: SummaryGroup[] = [];
  for (const dataset of sortPlain(index.records.map((r) => r.dataset))) {
    const attacked = index.where((r) => r.dataset === dataset && isAttacked(r) && inAverages(r));
    for (const threat of sortThreats(attacked.map((r) => r.threat))) {
      const cells = attacked.filter((r) => r.threat === threat);
      const targets = firstSeen(cells.map((r) => r.target));
      const accuracyOf = (defense: string) => mean(cells.filter((r) => r.defense === defense).map((r) => r.accuracy));
      const baselines = sortPlain(cells.map((r) => r.defense).filter(isBaseline))
        .map((defense) => ({ defense, accuracy: accuracyOf(defense) as number }));
      const worst = baselines.reduce<(typeof baselines)[number] | undefined>((w, b) => (w === undefined || b.accuracy < w.accuracy ? b : w), undefined);
      const clean = targets.flatMap((t) => index.clean(dataset, t, "none", threat)?.accuracy ?? []);
      const values: SummaryGroup["values"] = {
        noAttack: mean(clean),
        undefended: accuracyOf("none"),
        baselineMean: mean(baselines.map((b) => b.accuracy)),
        baselineWorst: worst?.accuracy,
        idfr: accuracyOf("id+fr"),
      };
      for (const k of SUMMARY_SERIES) if (values[k] === undefined) delete values[k];
      groups.push({ dataset, threat, label: `${datasetLabel(dataset)} (${threatShort(threat)})`, values, worstBaseline: worst?.defense });
    }
  }
  return groups;
}
