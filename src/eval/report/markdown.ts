/** Markdown rendering of the report: the paper-style tables and the Fig. 3 averages as a table. */
import type { ResultRecord } from "../results.js";
import { defenseLabel, percent, targetLabel } from "./names.js";
import { SERIES_LABELS, SUMMARY_SERIES, summarize } from "./summary.js";
import { buildTables, tableNote, type ReportTable } from "./tables.js";
import { MASKING_NOTE, maskingChecks, maskingLine } from "./masking.js";
import { baselineNotes } from "./baseline-notes.js";

const escapeCell = (s: string): string => s.replace(/\|/g, "\\|");

/** One table in GitHub Markdown; with two targets each header names its target, as Table 1's second header row does. */
export function tableMarkdown(t: ReportTable): string {
  const twoTargets = t.targets.length > 1;
  const header = ["Defense", ...t.columns.map((c) => (twoTargets ? `${c.group} ${targetLabel(c.target)}` : c.group))];
  const lines = [
    `| ${header.map(escapeCell).join(" | ")} |`,
    `| --- |${" ---: |".repeat(t.columns.length)}`,
    ...t.rows.map((r) => `| ${[r.label, ...r.cells].map(escapeCell).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/** The Fig. 3 averages (in %) as a Markdown table, one row per (dataset, threat). */
export function summaryMarkdown(records: readonly ResultRecord[]): string {
  const groups = summarize(records);
  if (!groups.length) return "";
  const lines = [
    `| Setting | ${SUMMARY_SERIES.map((s) => SERIES_LABELS[s]).join(" | ")} |`,
    `| --- |${" ---: |".repeat(SUMMARY_SERIES.length)}`,
    ...groups.map((g) => `| ${g.label} | ${SUMMARY_SERIES.map((s) => {
      const v = g.values[s];
      if (v === undefined) return "–";
      return s === "baselineWorst" && g.worstBaseline ? `${percent(v)} (${defenseLabel(g.worstBaseline)})` : percent(v);
    }).join(" | ")} |`),
  ];
  return lines.join("\n");
}

/**
 * The whole report as Markdown: a table per (dataset, threat[, target]) in the paper's layout, each
 * with its sample size and interval note, then the Fig. 3 averages.
 */
export function renderMarkdown(records: readonly ResultRecord[]): string {
  const tables = buildTables(records);
  const parts = ["# IDFR evaluation report", ""];
  if (!tables.length) {
    parts.push("No result records.", "");
    return parts.join("\n");
  }
  parts.push("Accuracy (%) of each defense on clean test images and on adversarial examples; `a/b/c` are the values at ε = a, b, c on the 0–255 scale (l∞).", "");
  for (const t of tables) parts.push(`## ${t.title}`, "", tableMarkdown(t), "", tableNote(t), "");
  const masking = maskingChecks(records);
  if (masking.length) parts.push("## Gradient-masking check", "", MASKING_NOTE, "", ...masking.map((r) => `- ${maskingLine(r)}`), "");
  const notes = baselineNotes(records);
  if (notes.length) parts.push("## Notes on the baselines", "", ...notes.map((n) => `- ${n}`), "");
  const summary = summaryMarkdown(records);
  if (summary) {
    parts.push("## Averages (as in the paper's Fig. 3)", "", "Mean accuracy (%) over every attack, ε and target of a setting; the worst baseline is the one with the lowest mean.", "", summary, "");
  }
  return parts.join("\n");
}
